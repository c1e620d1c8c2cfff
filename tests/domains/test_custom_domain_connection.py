"""test_connection resolves DNS for real (a DNS server on loopback, real packets) and only
a verified TLS handshake makes a certificate ACTIVE; the TLS front end's hook follows."""

import datetime
import socket
import ssl
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from domains.custom_domains import custom_domain_create, custom_domain_test_connection
from domains.dns import Resolver
from domains.models import CustomDomain
from domains.tls import CertificateProbe
from imgwire_site.api.errors import ResourceNotFoundError

pytestmark = pytest.mark.django_db

TEST = "/api/v1/custom_domain/test_connection"
HOST = "img.customer.test"
TARGET = "cdn.imgwire.test"


class LocalDnsServer:
    """Answers UDP queries on 127.0.0.1 from ``records``: {name: {type: [rdata, …]}}.

    Unknown names answer NXDOMAIN, names in ``servfail`` SERVFAIL, known names without
    the asked type an empty NOERROR, like an authoritative server would.
    """

    def __init__(self):
        self.records: dict[str, dict[str, list[str]]] = {}
        self.servfail: set[str] = set()
        self.questions: list[tuple[str, str]] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.questions.append((name, rdtype))
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif values := self.records[name].get(rdtype):
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", rdtype, *values))
        return response.to_wire()

    def _serve(self):
        while True:
            wire, peer = self._socket.recvfrom(4096)
            if self._stopping:
                return
            self._socket.sendto(self._answer(wire), peer)

    def close(self):
        self._stopping = True
        self._socket.sendto(b"", ("127.0.0.1", self.port))  # wakes the blocked recvfrom
        self._thread.join()
        self._socket.close()


@pytest.fixture
def dns_server(settings):
    server = LocalDnsServer()
    settings.IMGWIRE_DNS_NAMESERVERS = (("127.0.0.1", server.port),)
    settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET = TARGET
    yield server
    server.close()


@pytest.fixture
def domain(owner, dns_server):
    return custom_domain_create(environment=owner.environment, hostname=HOST)


def test_a_cname_to_the_target_connects_the_domain(owner, dns_server, domain):
    dns_server.records[HOST] = {"CNAME": [f"{TARGET}."]}
    response = owner.server.post(TEST)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "CONNECTED"
    assert body["last_verified_at"] is not None
    assert body["status_reason"].startswith(f"{HOST} is a CNAME for {TARGET}.")
    # The target has no address here, so no handshake could prove a certificate.
    assert body["certificate_status"] == "PENDING"
    assert (HOST, "CNAME") in dns_server.questions
    domain.refresh_from_db()
    assert domain.status == "CONNECTED"


def test_a_cname_chain_through_the_customers_own_names_connects(owner, dns_server, domain):
    dns_server.records[HOST] = {"CNAME": ["edge.customer.test."]}
    dns_server.records["edge.customer.test"] = {"CNAME": ["CDN.Imgwire.test."]}
    assert owner.server.post(TEST).json()["status"] == "CONNECTED"


def test_a_cname_to_another_name_fails_saying_where_it_points(owner, dns_server, domain):
    dns_server.records[HOST] = {"CNAME": ["cdn.elsewhere.test."]}
    dns_server.records["cdn.elsewhere.test"] = {"A": ["192.0.2.1"]}
    body = owner.server.post(TEST).json()
    assert body["status"] == "FAILED"
    assert body["last_verified_at"] is not None
    assert "points at cdn.elsewhere.test" in body["status_reason"]
    assert f"change the CNAME record of {HOST} to {TARGET}" in body["status_reason"]


def test_a_missing_name_fails_as_nxdomain(owner, dns_server, domain):
    body = owner.server.post(TEST).json()
    assert body["status"] == "FAILED"
    assert body["certificate_status"] == "PENDING"
    assert "does not exist (NXDOMAIN)" in body["status_reason"]


def test_address_records_instead_of_a_cname_fail(owner, dns_server, domain):
    dns_server.records[HOST] = {"A": ["192.0.2.1"]}
    body = owner.server.post(TEST).json()
    assert body["status"] == "FAILED"
    assert "has no CNAME record" in body["status_reason"]


def test_a_cname_loop_fails_after_a_bounded_number_of_hops(owner, dns_server, domain):
    dns_server.records[HOST] = {"CNAME": ["loop.customer.test."]}
    dns_server.records["loop.customer.test"] = {"CNAME": [f"{HOST}."]}
    body = owner.server.post(TEST).json()
    assert body["status"] == "FAILED"
    assert "loops" in body["status_reason"]
    assert len(dns_server.questions) == 8


def test_fixing_the_record_and_testing_again_connects(owner, dns_server, domain):
    assert owner.server.post(TEST).json()["status"] == "FAILED"
    dns_server.records[HOST] = {"CNAME": [f"{TARGET}."]}
    assert owner.server.post(TEST).json()["status"] == "CONNECTED"
    del dns_server.records[HOST]
    assert owner.server.post(TEST).json()["status"] == "FAILED"


def test_an_inconclusive_lookup_fails_a_pending_domain(owner, dns_server, domain):
    dns_server.servfail.add(HOST)
    body = owner.server.post(TEST).json()
    assert body["status"] == "FAILED"
    assert "did not complete" in body["status_reason"]


def test_an_inconclusive_lookup_leaves_a_connected_domain_connected(owner, dns_server, domain):
    dns_server.records[HOST] = {"CNAME": [f"{TARGET}."]}
    connected = owner.server.post(TEST).json()
    dns_server.servfail.add(HOST)
    body = owner.server.post(TEST).json()
    assert body["status"] == "CONNECTED"
    assert body["last_verified_at"] == connected["last_verified_at"]
    assert "did not complete" in body["status_reason"]


# --- certificates: a real handshake against a TLS server on loopback ------------------


def _certificate(hostname: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


class LocalTlsServer:
    """Completes TLS handshakes on 127.0.0.1 with a self-signed certificate for a name."""

    def __init__(self, hostname: str, tmp_path):
        self.certificate, key = _certificate(hostname)
        (tmp_path / "cert.pem").write_bytes(self.certificate)
        (tmp_path / "key.pem").write_bytes(key)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            connection, _ = self._socket.accept()
            if self._stopping:
                connection.close()
                return
            try:
                with self._context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                connection.close()  # the client refused our certificate

    def trusting_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.certificate.decode())

    def close(self):
        self._stopping = True
        socket.create_connection(("127.0.0.1", self.port)).close()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def connected_dns(dns_server):
    dns_server.records[HOST] = {"CNAME": [f"{TARGET}."]}
    dns_server.records[TARGET] = {"A": ["127.0.0.1"]}
    return dns_server


def _test(owner, dns_server, probe):
    resolver = Resolver([("127.0.0.1", dns_server.port)])
    return custom_domain_test_connection(
        environment=owner.environment, resolver=resolver, probe=probe
    )


def test_a_verified_handshake_makes_the_certificate_active(owner, connected_dns, domain, tmp_path):
    server = LocalTlsServer(HOST, tmp_path)
    try:
        probe = CertificateProbe(port=server.port, context=server.trusting_context())
        checked = _test(owner, connected_dns, probe)
    finally:
        server.close()
    assert checked.status == "CONNECTED"
    assert checked.certificate_status == "ACTIVE"
    assert "valid certificate" in checked.status_reason
    assert (TARGET, "A") in connected_dns.questions


def test_a_certificate_for_another_name_is_failing(owner, connected_dns, domain, tmp_path):
    server = LocalTlsServer("other.customer.test", tmp_path)
    try:
        probe = CertificateProbe(port=server.port, context=server.trusting_context())
        checked = _test(owner, connected_dns, probe)
    finally:
        server.close()
    assert checked.status == "CONNECTED"
    assert checked.certificate_status == "FAILING"
    assert "not valid for it" in checked.status_reason


def test_a_certificate_nobody_trusts_is_failing(owner, connected_dns, domain, tmp_path):
    server = LocalTlsServer(HOST, tmp_path)
    try:
        checked = _test(owner, connected_dns, CertificateProbe(port=server.port))
    finally:
        server.close()
    assert checked.certificate_status == "FAILING"


def test_no_tls_answer_leaves_the_certificate_pending_until_it_was_active(
    owner, connected_dns, domain, tmp_path
):
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there any more: connections are refused at once
    assert _test(owner, connected_dns, CertificateProbe(port=closed_port)).certificate_status == (
        "PENDING"
    )
    server = LocalTlsServer(HOST, tmp_path)
    try:
        probe = CertificateProbe(port=server.port, context=server.trusting_context())
        assert _test(owner, connected_dns, probe).certificate_status == "ACTIVE"
    finally:
        server.close()
    assert _test(owner, connected_dns, CertificateProbe(port=closed_port)).certificate_status == (
        "FAILING"
    )


def test_a_domain_deleted_while_being_tested_is_not_resurrected(owner, connected_dns, domain):
    class DeletingProbe(CertificateProbe):
        def check(self, hostname, addresses):
            CustomDomain.objects.filter(hostname=hostname).delete()
            return super().check(hostname, [])

    with pytest.raises(ResourceNotFoundError, match="deleted while it was being tested"):
        _test(owner, connected_dns, DeletingProbe())
    assert not CustomDomain.objects.exists()


# --- the TLS front end's hook ----------------------------------------------------------


def test_the_tls_hook_allows_only_connected_custom_domains(owner, client, dns_server, domain):
    def ask(name):
        return client.get("/hooks/tls-allowed", {"domain": name}).status_code

    assert ask(HOST) == 404  # PENDING: no certificate may be requested for it yet
    dns_server.records[HOST] = {"CNAME": [f"{TARGET}."]}
    owner.server.post(TEST)
    assert ask(HOST) == 200
    assert ask("IMG.customer.test.") == 200
    for other in ("other.customer.test", "customer.test", "", "https://img.customer.test/x"):
        assert ask(other) == 404, other
    assert client.post("/hooks/tls-allowed", {"domain": HOST}).status_code == 405
    owner.server.delete("/api/v1/custom_domain/")
    assert ask(HOST) == 404
