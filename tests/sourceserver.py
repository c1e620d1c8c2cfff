"""A misbehaving image source on 127.0.0.1 for the remote-fetch tests.

Routes cover the good case and every way a source can be slow, big, lying or redirecting.
Handlers that stall wait on ``release`` (set at teardown), never on a timer, so nothing
outlives the test.
"""

from __future__ import annotations

import io
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

CAP = 10_000  # the max_bytes the size tests use
BIG = 64 * 1024  # bigger than CAP


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PNG = png_bytes()


class SourceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls_context: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), SourceHandler)
        self.release = threading.Event()
        self.requests: list[dict] = []  # headers of every request, in arrival order
        if tls_context is not None:
            self.socket = tls_context.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls_context else "http"
        self.port = self.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def handle_error(self, request, client_address):
        pass  # clients hang up mid-body on purpose; tests must not print

    def start(self) -> SourceServer:
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


class SourceHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SourceServer

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.server.requests.append({k.lower(): v for k, v in self.headers.items()})
        path = self.path.split("?")[0]
        if path.startswith("/redirect/"):
            return self.redirect_chain(int(path.rsplit("/", 1)[1]))
        route = ROUTES.get(path)
        if route is None:
            return self.send(404, b"not here", "text/plain")
        return route(self)

    # --- helpers ---

    def send(self, status, body, content_type="image/png", **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def head(self, status=200, content_type="image/png", **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def redirect(self, location, status=302):
        self.send(status, b"", "text/plain", Location=location)

    # --- routes ---

    def image(self):
        self.send(200, PNG)

    def redirect_chain(self, hops):
        # Alternate the statuses and the Location forms (absolute URL, absolute path).
        status = (301, 302, 303, 307, 308)[hops % 5]
        if hops <= 1:
            return self.redirect("/image.png", status)
        if hops % 2:
            return self.redirect(self.server.url(f"/redirect/{hops - 1}"), status)
        return self.redirect(f"/redirect/{hops - 1}", status)

    def loop(self):
        self.redirect("/loop")

    def to_private_ip(self):
        self.redirect("http://10.0.0.1/image.png")

    def to_internal_name(self):
        self.redirect(f"http://internal.example:{self.server.port}/image.png")

    def to_ftp(self):
        self.redirect("ftp://example.com/image.png")

    def to_credentials(self):
        self.redirect(f"http://user:secret@127.0.0.1:{self.server.port}/image.png")

    def relative(self):
        self.redirect("../image.png", 307)

    def no_location(self):
        self.send(302, b"", "text/plain")

    def server_error(self):
        self.send(503, b"busy", "text/plain")

    def too_large_honest(self):
        self.send(200, b"\0" * BIG)

    def streamed_too_large(self):
        # No Content-Length: the body ends when the connection closes.
        self.head(Connection="close")
        self.close_connection = True
        for _ in range(BIG // 1024):
            self.wfile.write(b"\0" * 1024)

    def chunked_too_large(self):
        self.head(Transfer_Encoding="chunked")
        for _ in range(BIG // 1024):
            self.wfile.write(b"400\r\n" + b"\0" * 1024 + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def lying_small_length(self):
        self.head(Content_Length="10", Connection="close")
        self.close_connection = True
        self.wfile.write(PNG[:10] + b"\0" * BIG)

    def lying_large_length(self):
        self.head(Content_Length="5000", Connection="close")
        self.close_connection = True
        self.wfile.write(b"\0" * 100)

    def exactly_cap(self):
        self.send(200, b"\0" * CAP)

    def stalled_headers(self):
        self.server.release.wait()

    def dripped_headers(self):
        # A byte every 50 ms: each read succeeds quickly, so only a total budget stops it.
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.wfile.flush()
        for _ in range(2000):
            self.wfile.write(b"X")
            self.wfile.flush()
            if self.server.release.wait(0.05):
                return

    def stalled_body(self):
        self.head(Content_Length="1000")
        self.wfile.write(b"\x89")
        self.wfile.flush()
        self.server.release.wait()

    def dripped_body(self):
        self.head(Content_Length="2000")
        for _ in range(2000):
            self.wfile.write(b"\0")
            self.wfile.flush()
            if self.server.release.wait(0.05):
                return

    def html(self):
        self.send(200, b"<!doctype html><title>Sign in</title>", "text/html; charset=utf-8")

    def png_labelled_text(self):
        self.send(200, PNG, "text/plain")

    def gzip(self):
        self.send(200, b"\x1f\x8b\x08\0\0\0\0\0", "image/png", Content_Encoding="gzip")

    def attachment(self):
        self.send(200, PNG, Content_Disposition='attachment; filename="holiday.png"')

    def attachment_utf8(self):
        self.send(
            200,
            PNG,
            Content_Disposition=(
                "attachment; filename=\"fallback.png\"; filename*=UTF-8''f%C3%BCr%20dich.png"
            ),
        )

    def attachment_path(self):
        self.send(200, PNG, Content_Disposition='attachment; filename="../../etc/passwd"')

    def echo(self):
        body = json.dumps(self.server.requests[-1]).encode()
        self.send(200, body, "application/octet-stream")


ROUTES = {
    "/image.png": SourceHandler.image,
    "/photos/summer%20day.png": SourceHandler.image,
    "/loop": SourceHandler.loop,
    "/to-private-ip": SourceHandler.to_private_ip,
    "/to-internal-name": SourceHandler.to_internal_name,
    "/to-ftp": SourceHandler.to_ftp,
    "/to-credentials": SourceHandler.to_credentials,
    "/nested/relative": SourceHandler.relative,
    "/no-location": SourceHandler.no_location,
    "/server-error": SourceHandler.server_error,
    "/too-large-honest": SourceHandler.too_large_honest,
    "/streamed-too-large": SourceHandler.streamed_too_large,
    "/chunked-too-large": SourceHandler.chunked_too_large,
    "/lying-small-length": SourceHandler.lying_small_length,
    "/lying-large-length": SourceHandler.lying_large_length,
    "/exactly-cap": SourceHandler.exactly_cap,
    "/stalled-headers": SourceHandler.stalled_headers,
    "/dripped-headers": SourceHandler.dripped_headers,
    "/stalled-body": SourceHandler.stalled_body,
    "/dripped-body": SourceHandler.dripped_body,
    "/page.html": SourceHandler.html,
    "/png-labelled-text": SourceHandler.png_labelled_text,
    "/gzip": SourceHandler.gzip,
    "/attachment": SourceHandler.attachment,
    "/attachment-utf8": SourceHandler.attachment_utf8,
    "/attachment-path": SourceHandler.attachment_path,
    "/echo": SourceHandler.echo,
}


@pytest.fixture
def source_server():
    server = SourceServer().start()
    yield server
    server.stop()


def tls_context_for(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def make_test_pki(directory, host_name: str) -> dict[str, str]:
    """A throwaway CA and a server certificate for ``host_name``; returns the PEM paths."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)

    def certificate(subject, issuer, key, signing_key, issuer_key, *extensions):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
            )
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical)
        return builder.sign(signing_key, hashes.SHA256())

    def name(common_name):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate(
        name("Imgwire test CA"),
        name("Imgwire test CA"),
        ca_key,
        ca_key,
        ca_key,
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        ),
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate(
        name(host_name),
        ca.subject,
        leaf_key,
        ca_key,
        ca_key,
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.SubjectAlternativeName([x509.DNSName(host_name)]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    )
    paths = {name: str(directory / f"{name}.pem") for name in ("ca", "cert", "key")}
    pem = serialization.Encoding.PEM
    with open(paths["ca"], "wb") as out:
        out.write(ca.public_bytes(pem))
    with open(paths["cert"], "wb") as out:
        out.write(leaf.public_bytes(pem))
    with open(paths["key"], "wb") as out:
        out.write(
            leaf_key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return paths
