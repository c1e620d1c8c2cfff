"""Email is configured from the environment and really leaves through SMTP.

The SMTP server is aiosmtpd, started by the test on a free loopback port; it records every
message it accepts and every login.
"""

import logging
import os
import re
import socket
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from environments.models import Invitation, Role
from environments.team import invitation_by_token
from imgwire_site.env import SMTP_BACKEND, email_settings

EMAIL_VARIABLES = [
    "EMAIL_URL",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
]
SENDER = "Imgwire <noreply@images.example.com>"


@pytest.fixture
def environ(monkeypatch):
    """A clean slate of email variables; ``environ(NAME=value, …)`` sets some."""
    for name in EMAIL_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_variables(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_variables


class Mailbox:
    def __init__(self):
        self.envelopes = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


class LoopbackController(Controller):
    """aiosmtpd's threaded server on port 0: the kernel picks a free port, read back here
    before the controller's own readiness probe connects to it."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp_server(monkeypatch):
    # aiosmtpd logs every SMTP command, and warns about its own deprecated attribute on
    # each login; the assertions say what matters.
    monkeypatch.setattr(logging.getLogger("mail.log"), "level", logging.ERROR)
    mailbox = Mailbox()
    controller = LoopbackController(
        mailbox,
        hostname="127.0.0.1",
        port=0,
        authenticator=mailbox.authenticate,
        auth_require_tls=False,  # loopback only; STARTTLS would need a certificate
    )
    controller.start()
    mailbox.port = controller.port
    yield mailbox
    controller.stop()


@pytest.fixture
def configured(settings):
    """Apply what email_settings() read from the environment, as settings.py does."""

    def apply():
        for name, value in email_settings().items():
            setattr(settings, name, value)

    return apply


# --- real messages through a real SMTP server ---------------------------------------------


def test_the_password_reset_email_reaches_the_smtp_server_email_url_names(
    environ, configured, smtp_server, owner
):
    environ(
        EMAIL_URL=f"smtp://imgwire:p%40ss%2Fword@127.0.0.1:{smtp_server.port}/",
        DEFAULT_FROM_EMAIL=SENDER,
    )
    configured()
    client = Client()
    response = client.post("/accounts/password_reset/", {"email": "owner@example.com"})
    assert response.status_code == 302
    assert smtp_server.logins == [("imgwire", "p@ss/word")]
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "noreply@images.example.com"
    assert envelope.rcpt_tos == ["owner@example.com"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["To"] == "owner@example.com"
    assert message["From"] == SENDER
    body = message.get_body().get_content()
    link = re.search(r"http://testserver(/accounts/reset/[\w-]+/[\w-]+/)", body)
    assert link, body
    form_url = client.get(link.group(1)).url  # Django swaps the token for a session marker
    changed = client.post(
        form_url, {"new_password1": "another-long-phrase", "new_password2": "another-long-phrase"}
    )
    assert changed.url == "/accounts/reset/done/"
    owner.user.refresh_from_db()
    assert owner.user.check_password("another-long-phrase")


def test_an_invitation_goes_out_through_the_smtp_host_the_usual_variables_name(
    environ, configured, smtp_server, owner, django_capture_on_commit_callbacks, settings
):
    environ(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
        DEFAULT_FROM_EMAIL="invites@images.example.com",
    )
    configured()
    client = Client()
    client.force_login(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/dashboard/{owner.environment.id}/team/invite/",
            {"email": "Newcomer@Example.com", "role": Role.DEVELOPER},
        )
    assert response.status_code == 302
    assert smtp_server.logins == []  # no user and password set: no login attempted
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "invites@images.example.com"
    assert envelope.rcpt_tos == ["newcomer@example.com"]
    body = message_from_bytes(envelope.content, policy=policy.default).get_body().get_content()
    link = re.search(
        rf"{re.escape(settings.IMGWIRE_PUBLIC_URL)}/accounts/invitations/([\w-]+)/", body
    )
    assert link, body
    assert invitation_by_token(link.group(1)) == Invitation.objects.get(
        email="newcomer@example.com"
    )


def closed_loopback_port() -> int:
    """A port nothing listens on: bound, read back and released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)  # on_commit runs at once, as in a real request
def test_an_unreachable_smtp_server_is_logged_and_no_page_answers_500(
    environ, configured, owner, caplog
):
    environ(
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(closed_loopback_port()),
        DEFAULT_FROM_EMAIL=SENDER,
    )
    configured()
    client = Client(raise_request_exception=False)
    client.force_login(owner.user)
    invited = client.post(
        f"/dashboard/{owner.environment.id}/team/invite/",
        {"email": "newcomer@example.com", "role": Role.DEVELOPER},
    )
    assert invited.status_code == 302
    assert Invitation.objects.filter(email="newcomer@example.com").exists()
    assert "Could not send 'You are invited to owner on Imgwire' to newcomer@" in caplog.text
    reset = client.post("/accounts/password_reset/", {"email": "owner@example.com"})
    assert reset.status_code == 302
    assert "Failed to send password reset email" in caplog.text


# --- reading the variables ----------------------------------------------------------------


def test_without_any_variable_email_is_printed_to_the_console(environ):
    found = email_settings()
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert found["DEFAULT_FROM_EMAIL"] == "webmaster@localhost"
    assert found["SERVER_EMAIL"] == "webmaster@localhost"
    assert found["EMAIL_TIMEOUT"] == 10


def test_an_smtp_url_with_tls_gives_starttls_on_the_submission_port(environ):
    environ(EMAIL_URL="smtp://user:secret@mail.example.com/?tls=true", DEFAULT_FROM_EMAIL=SENDER)
    found = email_settings()
    assert found["EMAIL_BACKEND"] == SMTP_BACKEND
    assert (found["EMAIL_HOST"], found["EMAIL_PORT"]) == ("mail.example.com", 587)
    assert (found["EMAIL_USE_TLS"], found["EMAIL_USE_SSL"]) == (True, False)
    assert (found["EMAIL_HOST_USER"], found["EMAIL_HOST_PASSWORD"]) == ("user", "secret")
    assert found["SERVER_EMAIL"] == SENDER


def test_an_smtps_url_gives_implicit_tls_on_port_465_and_its_timeout(environ):
    environ(EMAIL_URL="smtps://mail.example.com?timeout=3", DEFAULT_FROM_EMAIL=SENDER)
    found = email_settings()
    assert (found["EMAIL_PORT"], found["EMAIL_USE_SSL"], found["EMAIL_USE_TLS"]) == (
        465,
        True,
        False,
    )
    assert found["EMAIL_TIMEOUT"] == 3


def test_the_usual_variables_override_their_part_of_the_url(environ):
    environ(
        EMAIL_URL="smtp://user:in-the-url@mail.example.com:2525/",
        EMAIL_HOST_PASSWORD="from-a-secret-store",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="true",
        DEFAULT_FROM_EMAIL=SENDER,
        SERVER_EMAIL="errors@images.example.com",
    )
    found = email_settings()
    assert found["EMAIL_HOST_PASSWORD"] == "from-a-secret-store"
    assert (found["EMAIL_PORT"], found["EMAIL_USE_TLS"]) == (587, True)
    assert found["SERVER_EMAIL"] == "errors@images.example.com"


def test_a_console_url_prints_email_and_needs_no_sender(environ):
    environ(EMAIL_URL="console://")
    assert email_settings()["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"EMAIL_URL": "smtps://mail.example.com/?tls=true"}, "exclude each other"),
        ({"EMAIL_HOST": "mail.example.com", "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "one"),
        ({"EMAIL_URL": "smtp://user@mail.example.com/"}, "EMAIL_HOST_USER and EMAIL_HOST_PA"),
        ({"EMAIL_HOST": "h.example.com", "EMAIL_HOST_PASSWORD": "x"}, "go together"),
        ({"EMAIL_URL": "http://mail.example.com/"}, "EMAIL_URL must start with one of"),
        ({"EMAIL_URL": "smtp://mail.example.com/?tsl=true"}, "unknown options tsl"),
        ({"EMAIL_URL": "smtp://mail.example.com/?tls=maybe"}, "tls= must be true or false"),
        ({"EMAIL_URL": "smtp://mail.example.com/?timeout=soon"}, "timeout= must be whole"),
        ({"EMAIL_URL": "smtp://mail.example.com:99999/"}, "port that is not 1 to 65535"),
        ({"EMAIL_URL": "smtp:///?tls=true"}, "must name the SMTP host"),
        ({"EMAIL_HOST": "mail.example.com", "EMAIL_PORT": "70000"}, "at most 65535"),
        ({"EMAIL_HOST": "mail.example.com", "EMAIL_PORT": "smtp"}, "EMAIL_PORT must be a whole"),
        ({"EMAIL_HOST": "mail.example.com", "EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT must be at"),
    ],
)
def test_a_wrong_email_setting_is_refused_naming_it(environ, variables, message):
    environ(DEFAULT_FROM_EMAIL=SENDER, **variables)
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        email_settings()


def test_sending_over_smtp_needs_a_sender_address(environ):
    environ(EMAIL_HOST="mail.example.com")
    with pytest.raises(ImproperlyConfigured, match="DEFAULT_FROM_EMAIL must be set"):
        email_settings()


@pytest.mark.parametrize("sender", ["noreply", "Imgwire <>", "no reply@example.com"])
def test_a_sender_that_is_not_an_address_is_refused(environ, sender):
    environ(EMAIL_HOST="mail.example.com", DEFAULT_FROM_EMAIL=sender)
    with pytest.raises(ImproperlyConfigured, match="DEFAULT_FROM_EMAIL must be an email address"):
        email_settings()


def test_a_wrong_email_url_stops_start_up_with_a_message_naming_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in EMAIL_VARIABLES}
    env.update(IMGWIRE_DATA_DIR=str(tmp_path), EMAIL_URL="smtp://mail.example.com/?tsl=1")
    result = subprocess.run(
        [sys.executable, "-c", "import imgwire_site.settings"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: EMAIL_URL has unknown options tsl" in result.stderr
