import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from environments.models import Role
from environments.services import membership_create


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_user(db, owner):
    user = get_user_model().objects.create_user(
        username="admin@example.com", email="admin@example.com", password="pw-admin-admin"
    )
    membership_create(organization=owner.organization, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def as_role(owner, admin_user, developer, outsider):
    """A client per cast member; None is the anonymous visitor."""

    def client_for(role: str) -> Client:
        users = {
            "owner": owner.user,
            "admin": admin_user,
            "developer": developer,
            "outsider": outsider.user,
        }
        return Client() if role == "anonymous" else signed_in(users[role])

    return client_for
