import pytest

from environments.models import Environment
from environments.services import environment_create
from images.models import Image
from tests.dashboard.conftest import signed_in


def url(owner, tail=""):
    return f"/dashboard/{owner.environment.id}/environments/{tail}"


def test_an_admin_creates_renames_and_marks_an_environment_default(owner, admin_user):
    client = signed_in(admin_user)
    client.post(url(owner, "new/"), {"name": "Staging"})
    staging = Environment.objects.get(name="Staging")
    client.post(url(owner, f"{staging.id}/rename/"), {"name": "QA"})
    client.post(url(owner, f"{staging.id}/default/"))
    staging.refresh_from_db()
    owner.environment.refresh_from_db()
    assert staging.name == "QA" and staging.is_default
    assert not owner.environment.is_default


def test_names_stay_unique_within_an_organization(owner):
    client = signed_in(owner.user)
    response = client.post(url(owner, "new/"), {"name": "Production"}, follow=True)
    assert b"already exists" in response.content
    assert Environment.objects.filter(organization=owner.organization).count() == 1


def test_deleting_needs_the_typed_name_and_never_removes_the_last_one(owner):
    client = signed_in(owner.user)
    staging = environment_create(organization=owner.organization, name="Staging")
    Image.objects.create(
        environment=staging, original_filename="a.png", extension="png", mime_type="image/png"
    )
    client.post(url(owner, f"{staging.id}/delete/"), {"confirm_name": "staging"})
    assert Environment.objects.filter(pk=staging.pk).exists()
    client.post(url(owner, f"{staging.id}/delete/"), {"confirm_name": "Staging"})
    assert not Environment.objects.filter(pk=staging.pk).exists()
    response = client.post(
        url(owner, f"{owner.environment.id}/delete/"), {"confirm_name": "Production"}, follow=True
    )
    assert b"at least one environment" in response.content


def test_deleting_the_default_environment_makes_another_the_default(owner):
    staging = environment_create(organization=owner.organization, name="Staging")
    response = signed_in(owner.user).post(
        url(owner, f"{owner.environment.id}/delete/"), {"confirm_name": "Production"}
    )
    assert response.url == "/dashboard/"
    staging.refresh_from_db()
    assert staging.is_default


@pytest.mark.parametrize(
    "role,expected", [("developer", 403), ("outsider", 404), ("anonymous", 302)]
)
def test_environment_actions_are_refused_to_non_managers(owner, as_role, role, expected):
    client = as_role(role)
    env = owner.environment
    assert client.post(url(owner, "new/"), {"name": "X"}).status_code == expected
    assert client.post(url(owner, f"{env.id}/rename/"), {"name": "X"}).status_code == expected
    assert client.post(url(owner, f"{env.id}/default/")).status_code == expected
    assert client.get(url(owner, f"{env.id}/delete/")).status_code == expected
    assert Environment.objects.get(pk=env.pk).name == "Production"


def test_environments_of_another_organization_cannot_be_touched(owner, outsider):
    response = signed_in(owner.user).post(
        url(owner, f"{outsider.environment.id}/rename/"), {"name": "Mine"}
    )
    assert response.status_code == 404
