"""Schemathesis drives every operation of our own served OpenAPI document, in process
through the WSGI application, with a Server key and with a Client key.

No generated request (valid by the document, or deliberately not) may answer a 5xx, an
undocumented status, or a body that does not conform to what the document says for its
status. The run is bounded and derandomized, so CI sees the same cases every time; nothing
leaves loopback (remote fetches are refused before a connection, DNS questions go to a
server on 127.0.0.1).
"""

import socket
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from environments.models import BillingPlan
from environments.services import organization_update
from images.remote import fetcher
from images.services import remote
from tests.conftest import make_tenant
from tests.domains.test_custom_domain_connection import LocalDnsServer
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db

# About 2000 cases: 60 per operation with the Server key (1200); with the Client key, 300
# for each operation the document says it may call and 10 for each other one, which can
# only be refused (600 + 180). Cases are valid by the document, or deliberately not.
SERVER_KEY_CASES = 60
CLIENT_KEY_CASES = {"server_or_client_key": 300, "server_key": 10}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
RUN = settings(
    derandomize=True,
    database=None,
    deadline=None,
    # No shrinking: every failing case is collected and reported, not just the first.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def app(settings):
    # Schemathesis' WSGI transport sends "Host: localhost".
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    return get_wsgi_application()


@contextmanager
def connection_kept_open():
    """As Django's test client does: the requests run inside the test's transaction, whose
    connection the end-of-request handler must not close."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def no_network(monkeypatch, settings):
    """upload_via_url and test_connection run for real, minus the outside world."""

    def unresolvable(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: no DNS in the fuzz run")

    def refuse(ip, port, timeout):
        raise ConnectionRefusedError(f"no connections to {ip}:{port} in the fuzz run")

    original = remote.open_remote
    monkeypatch.setattr(
        remote, "open_remote", lambda url, limits: original(url, limits, resolver=unresolvable)
    )
    monkeypatch.setattr(fetcher, "_connect_socket", refuse)
    dns = LocalDnsServer()  # knows no names: every question is answered NXDOMAIN
    settings.IMGWIRE_DNS_NAMESERVERS = (("127.0.0.1", dns.port),)
    yield
    dns.close()


@pytest.fixture
def tenant(db):
    """Limits low enough for the run to meet them: the Client key's 21st pending upload
    answers 429, the organization's 31st upload 402, and so does a custom domain."""
    tenant = make_tenant("fuzz", maximum_pending_uploads=20)
    tenant.plan = BillingPlan.objects.create(
        name="Fuzz", upload_limit=30, custom_domain_enabled=False
    )
    return tenant


@pytest.fixture
def existing(tenant, settings):
    """Path ids of real resources, so some cases reach past the 404 of a random id."""
    settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET = "cdn.imgwire.test"
    server = tenant.server
    image = create_upload(server, file_name="seed.jpg").json()["image"]
    cors = server.post(
        "/api/v1/cors_origins/", {"pattern": "https://seed.example.com"}, format="json"
    )
    domain = server.post(
        "/api/v1/custom_domain/", {"hostname": "img.seed.example.com"}, format="json"
    )
    assert (cors.status_code, domain.status_code) == (200, 200), domain.content
    organization_update(organization=tenant.organization, billing_plan=tenant.plan)
    return {"image_id": image["id"], "cors_origin_id": cors.json()["id"]}


# Fewer 200s for a Client key: it may only create uploads and read images.
MINIMUM_SUCCESSES = {"server_key": 300, "client_key": 60}


def _budget(operation, credential: str) -> int:
    if credential == "server_key":
        return SERVER_KEY_CASES
    return CLIENT_KEY_CASES[operation.definition.raw["x-codegen-sdk-auth"]]


@pytest.mark.parametrize("credential", ["server_key", "client_key"])
def test_no_generated_request_gets_a_5xx_or_an_answer_the_document_does_not_describe(
    tenant, app, no_network, existing, credential
):
    with connection_kept_open():
        _fuzz(app, tenant, existing, credential)


def _fuzz(app, tenant, existing, credential):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi-server.json", app)
    headers = {"Authorization": f"Bearer {getattr(tenant, credential)}"}
    failures: list[str] = []
    answered: dict[int, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    # The reference's 20 operations and our additions (the library, webhooks…).
    assert len(operations) >= 20
    # Deletes last, so the other operations still find the resources they would remove;
    # standard uploads late, so the plan's uploads are not used up before upload_via_url
    # (whose fetches all fail here) gets past its quota check.
    operations.sort(
        key=lambda operation: (
            operation.method.upper() == "DELETE",
            operation.path.endswith("/standard_upload"),
        )
    )

    for operation in operations:
        strategies = [
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        ]
        names = {parameter.name for parameter in operation.path_parameters}
        if names and names <= set(existing):
            strategies.append(
                operation.as_strategy(
                    generation_mode=GenerationMode.POSITIVE,
                    path_parameters={name: existing[name] for name in names},
                )
            )

        @settings(RUN, max_examples=_budget(operation, credential))
        @given(st.one_of(strategies))
        def exercise(case):
            response = case.call(headers=headers)
            answered[response.status_code] = answered.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as error:
                failures.append(f"{case.operation.label}: {error}")

        exercise()

    assert not failures, f"{len(failures)} failing cases; the first ones:\n" + "\n".join(
        failures[:5]
    )
    # The run reached past authorisation and validation, not just refusals.
    assert answered.get(200, 0) >= MINIMUM_SUCCESSES[credential], answered
