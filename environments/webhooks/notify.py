"""Telling an environment's managers that their webhook subscription was disabled."""

from environments.models import MANAGING_ROLES, Membership
from imgwire_site.mail import send_mail_logged


def subscription_notify_disabled(*, subscription) -> bool:
    organization = subscription.environment.organization
    recipients = sorted(
        m.user.email
        for m in Membership.objects.filter(
            organization=organization, role__in=MANAGING_ROLES
        ).select_related("user")
        if m.user.email
    )
    if not recipients:
        return False
    return send_mail_logged(
        f"Imgwire: webhook to {subscription.url} was disabled",
        f"The webhook subscription to {subscription.url} in environment "
        f"{subscription.environment} was disabled: {subscription.disabled_reason}\n"
        "Fix the endpoint, then re-enable the subscription in the dashboard or the API.",
        recipients,
    )
