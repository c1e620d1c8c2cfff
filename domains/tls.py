"""What the install can honestly say about a custom domain's certificate: it looks.

Imgwire does not terminate TLS; the operator's front end does (Caddy with on-demand TLS,
asking ``/hooks/tls-allowed``; docs/custom-domains.md). So the only evidence the install
has is a handshake like a visitor's: connect to the CNAME target's addresses with SNI set
to the custom host name and verify the certificate for that name against the system's
trust store. Only that makes a certificate ACTIVE.
"""

import enum
import socket
import ssl
import time
from dataclasses import dataclass

# One probe, all addresses included. On-demand TLS issues the certificate during the first
# handshake, which can take longer than this: test_connection is simply run again.
PROBE_DEADLINE_SECONDS = 10.0
MAX_ADDRESSES = 4


class Certificate(enum.Enum):
    VALID = "valid"  # a handshake completed and the certificate verified for the host name
    INVALID = "invalid"  # a certificate was presented that does not verify for it
    UNREACHABLE = "unreachable"  # no handshake completed (refused, timed out, no address)


@dataclass(frozen=True)
class Probe:
    result: Certificate
    detail: str = ""


@dataclass(frozen=True)
class CertificateProbe:
    """Tests point ``port`` and ``context`` at a local TLS server; production uses 443."""

    port: int = 443
    deadline_seconds: float = PROBE_DEADLINE_SECONDS
    context: ssl.SSLContext | None = None

    def check(self, hostname: str, addresses: list[str]) -> Probe:
        context = self.context or ssl.create_default_context()
        deadline = time.monotonic() + self.deadline_seconds
        probe = Probe(Certificate.UNREACHABLE, "no address to connect to")
        for address in addresses[:MAX_ADDRESSES]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                with (
                    socket.create_connection((address, self.port), timeout=remaining) as raw,
                    context.wrap_socket(raw, server_hostname=hostname),
                ):
                    return Probe(Certificate.VALID)
            except ssl.SSLCertVerificationError as error:
                probe = Probe(Certificate.INVALID, error.verify_message or str(error))
            except (OSError, ValueError) as error:
                if probe.result is not Certificate.INVALID:
                    probe = Probe(Certificate.UNREACHABLE, str(error) or type(error).__name__)
        return probe
