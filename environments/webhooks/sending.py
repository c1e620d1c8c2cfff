"""One HTTP POST to a subscriber, through the remote fetcher's address policy.

The target is resolved once and refused if any address is private, loopback or metadata
(images.remote); redirects are not followed; the whole attempt is bounded by a deadline.
"""

import http.client
import socket
import time
from dataclasses import dataclass

from django.conf import settings

from images.remote import fetcher

EXCERPT = 500


@dataclass
class Outcome:
    status_code: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict, *, timeout: float | None = None) -> Outcome:
    started = time.monotonic()
    timeout = timeout or settings.IMGWIRE_WEBHOOK_TIMEOUT_SECONDS
    # Empty in production; the receiver tests allow loopback explicitly.
    allowed = settings.IMGWIRE_WEBHOOK_ALLOWED_NETWORKS
    limits = fetcher.FetchLimits(
        header_timeout=timeout, total_deadline=timeout, allowed_networks=allowed
    )
    try:
        target, ips = fetcher._checked_hop(url, allowed, socket.getaddrinfo, "The webhook URL")
        clock = fetcher._Clock(limits)
        clock.start_hop()
        sock = fetcher._connect(target, ips, clock)
        try:
            if target.scheme == "https":
                sock.settimeout(clock.timeout())
                sock = fetcher._tls_context(None).wrap_socket(sock, server_hostname=target.tls_name)
            connection = http.client.HTTPConnection(target.tls_name, target.port)
            connection.sock = fetcher._ClockedSocket(sock, clock)
            connection.request(
                "POST",
                target.request_target,
                body=body,
                headers={
                    "Host": target.host_header,
                    "User-Agent": "Imgwire-Webhooks/1.0",
                    "Content-Type": "application/json",
                    "Connection": "close",
                    **headers,
                },
            )
            response = connection.getresponse()
            excerpt = response.read(EXCERPT).decode("utf-8", "replace")
            return Outcome(response.status, _ms(started), excerpt)
        finally:
            sock.close()
    except fetcher.FetchError as error:
        return Outcome(None, _ms(started), error=error.message[:EXCERPT])
    except (OSError, http.client.HTTPException, TimeoutError) as error:
        return Outcome(None, _ms(started), error=f"{type(error).__name__}: {error}"[:EXCERPT])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
