"""Sending the emails the product sends (invitations), the way Django's password reset does.

An SMTP server that is down, refuses the login or times out (EMAIL_TIMEOUT) is logged,
not raised: the email is sent after the change it announces has committed, so raising
would only turn a done change into a 500 page.
"""

import logging

from django.core.mail import send_mail

logger = logging.getLogger(__name__)


def send_mail_logged(subject: str, body: str, recipients: list[str]) -> bool:
    """True when the SMTP server accepted the message (from DEFAULT_FROM_EMAIL)."""
    try:
        send_mail(subject, body, None, recipients)
    except OSError:  # smtplib.SMTPException, refused connections and timeouts alike
        logger.exception("Could not send %r to %s", subject, ", ".join(recipients))
        return False
    return True
