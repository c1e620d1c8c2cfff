"""The organization's settings page: owners and admins rename it, anyone but the last owner
leaves it; and environment names are unique whatever their case."""

import pytest
from django.contrib.auth import get_user_model

from environments.models import Environment, Membership, Organization, Role
from environments.services import environment_create, membership_create
from tests.dashboard.conftest import signed_in

MEMBER = {"owner": 200, "admin": 200, "developer": 200, "outsider": 404, "anonymous": 302}
MANAGER = {"owner": 302, "admin": 302, "developer": 403, "outsider": 404, "anonymous": 302}


def url(owner, tail=""):
    return f"/dashboard/{owner.environment.id}/organization/{tail}"


def name_of(owner) -> str:
    return Organization.objects.get(pk=owner.organization.pk).name


@pytest.mark.parametrize("role", list(MEMBER))
def test_the_settings_page_answers_members_only(owner, as_role, role):
    assert as_role(role).get(url(owner)).status_code == MEMBER[role]


def test_the_navigation_links_the_organization_settings_and_the_connections(owner, developer):
    page = signed_in(developer).get(f"/dashboard/{owner.environment.id}/").content.decode()
    nav = page[page.index('<nav class="sections"') : page.index("</nav>")]
    assert f'href="{url(owner)}">Organization</a>' in nav
    assert f'href="/dashboard/{owner.environment.id}/connections/">Connections</a>' in nav


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_rename_the_organization(owner, as_role, role):
    response = as_role(role).post(url(owner, "rename/"), {"name": "  Acme Images  "}, follow=True)
    assert b"The organization is now called Acme Images." in response.content
    assert name_of(owner) == "Acme Images"


@pytest.mark.parametrize("role", list(MANAGER))
def test_only_managers_of_the_organization_may_rename_it(owner, as_role, role):
    response = as_role(role).post(url(owner, "rename/"), {"name": "Taken over"})
    assert response.status_code == MANAGER[role]
    assert (name_of(owner) == "Taken over") == (role in ("owner", "admin"))


def test_a_developer_sees_the_name_but_no_rename_form(owner, developer):
    page = signed_in(developer).get(url(owner)).content.decode()
    assert "Owners and admins can rename the organization." in page
    assert "/organization/rename/" not in page


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_an_empty_or_overlong_name_is_refused_and_says_why(owner, name):
    response = signed_in(owner.user).post(url(owner, "rename/"), {"name": name}, follow=True)
    assert b"a name of 1 to 200 characters" in response.content
    assert name_of(owner) == "owner"


def test_renaming_is_refused_to_an_admin_demoted_since_the_page_loaded(owner, admin_user):
    from environments.services import organization_rename
    from imgwire_site.domain import Refusal

    stale = admin_user.memberships.get()
    Membership.objects.filter(pk=stale.pk).update(role=Role.DEVELOPER)
    with pytest.raises(Refusal):
        organization_rename(organization=owner.organization, name="Mine", actor=stale)
    assert name_of(owner) == "owner"


def test_a_developer_leaves_and_is_sent_home(owner, developer):
    client = signed_in(developer)
    client.get(f"/dashboard/{owner.environment.id}/")  # remembered as the last environment
    response = client.post(url(owner, "leave/"))
    assert response.url == "/dashboard/"
    assert not Membership.objects.filter(user=developer).exists()
    assert client.get("/dashboard/").url == "/dashboard/organizations/new/"
    assert client.get(f"/dashboard/{owner.environment.id}/").status_code == 404


def test_the_last_owner_cannot_leave_and_the_page_says_why(owner):
    client = signed_in(owner.user)
    page = client.get(url(owner)).content.decode()
    assert "You are the last owner of owner" in page
    assert "/organization/leave/" not in page
    response = client.post(url(owner, "leave/"), follow=True)
    assert b"You are the last owner" in response.content
    assert Membership.objects.filter(user=owner.user, role=Role.OWNER).exists()


def test_an_owner_leaves_when_another_owner_stays(owner):
    second = get_user_model().objects.create_user(
        username="second@example.com", email="second@example.com", password="pw-second"
    )
    membership_create(organization=owner.organization, user=second, role=Role.OWNER)
    client = signed_in(owner.user)
    assert "/organization/leave/" in client.get(url(owner)).content.decode()
    assert client.post(url(owner, "leave/")).url == "/dashboard/"
    assert list(
        Membership.objects.filter(organization=owner.organization).values_list("role", flat=True)
    ) == [Role.OWNER]


@pytest.mark.parametrize("role,expected", [("outsider", 404), ("anonymous", 302)])
def test_leaving_is_refused_to_non_members(owner, as_role, role, expected):
    client = as_role(role)
    members = Membership.objects.filter(organization=owner.organization).count()
    assert client.post(url(owner, "leave/")).status_code == expected
    assert Membership.objects.filter(organization=owner.organization).count() == members


def test_leaving_needs_a_post(owner, developer):
    assert signed_in(developer).get(url(owner, "leave/")).status_code == 405
    assert Membership.objects.filter(user=developer).exists()


# --- environment names ----------------------------------------------------------------------


def environments_url(owner, tail=""):
    return f"/dashboard/{owner.environment.id}/environments/{tail}"


def test_an_environment_named_like_another_in_another_case_is_refused(owner):
    response = signed_in(owner.user).post(
        environments_url(owner, "new/"), {"name": "PRODUCTION"}, follow=True
    )
    assert b"An environment named Production already exists." in response.content
    assert Environment.objects.filter(organization=owner.organization).count() == 1


def test_renaming_onto_another_environments_name_in_another_case_is_refused(owner):
    staging = environment_create(organization=owner.organization, name="Staging")
    response = signed_in(owner.user).post(
        environments_url(owner, f"{staging.id}/rename/"), {"name": "production"}, follow=True
    )
    assert b"An environment named Production already exists." in response.content
    staging.refresh_from_db()
    assert staging.name == "Staging"


def test_an_environment_may_change_the_case_of_its_own_name(owner):
    signed_in(owner.user).post(
        environments_url(owner, f"{owner.environment.id}/rename/"), {"name": "PRODUCTION"}
    )
    owner.environment.refresh_from_db()
    assert owner.environment.name == "PRODUCTION"


def test_another_organization_may_use_the_same_name(owner, outsider):
    signed_in(outsider.user).post(
        f"/dashboard/{outsider.environment.id}/environments/new/", {"name": "Staging"}
    )
    signed_in(owner.user).post(environments_url(owner, "new/"), {"name": "staging"})
    assert Environment.objects.filter(name__iexact="staging").count() == 2
