"""Dashboard-session clients shared by the domains API tests."""

import pytest
from django.contrib.auth import get_user_model

from environments.models import Role
from environments.services import membership_create


def member_client(tenant, user):
    client = tenant.client()
    client.force_login(user)
    client.credentials(HTTP_X_ENVIRONMENT_ID=str(tenant.environment.id))
    return client


@pytest.fixture
def admin(owner):
    user = get_user_model().objects.create_user(
        username="admin@example.com", email="admin@example.com", password="pw-admin-admin"
    )
    membership_create(organization=owner.organization, user=user, role=Role.ADMIN)
    return member_client(owner, user)
