import json
import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from environments.models import Environment, Organization, Role
from environments.services import environment_create, membership_create, organization_create
from keys.models import ApiKeyType
from keys.services import api_key_authenticate, api_key_create
from keys.signing import signing_secret_reveal

KEYS_FILE = "demo-account.json"


class Command(BaseCommand):
    help = (
        "Create what is missing (organization, environment, user as OWNER), mint a new Server "
        "key and Client key, and print them with the environment's signing secret as one JSON "
        "object on stdout. With --reuse-keys, "
        f"keys an earlier --reuse-keys run kept in the data folder ({KEYS_FILE}) are printed "
        "again while they still work."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True)
        parser.add_argument("--environment", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", default=None)
        parser.add_argument(
            "--operator",
            action="store_true",
            help="Also make the user an operator (Django admin superuser); for the demo.",
        )
        parser.add_argument(
            "--reuse-keys",
            action="store_true",
            help=f"Print the keys kept in IMGWIRE_DATA_DIR/{KEYS_FILE} if they still work; "
            "otherwise mint new ones and keep them there (mode 0600). For `make run`.",
        )

    @transaction.atomic
    def handle(
        self, *args, organization, environment, email, password, operator, reuse_keys, **options
    ):
        if "@" not in email:
            raise CommandError(f"--email must be an email address, got {email!r}")
        User = get_user_model()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_user(username=email, email=email, password=password)
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])

        if operator and not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])

        org = Organization.objects.filter(name=organization, memberships__user=user).first()
        if org is None:
            org = organization_create(name=organization, owner=user, environment_name=environment)
        else:
            membership_create(organization=org, user=user, role=Role.OWNER)
        env = Environment.objects.filter(organization=org, name=environment).first()
        if env is None:
            env = environment_create(organization=org, name=environment)

        keys_file = Path(settings.DATA_DIR) / KEYS_FILE
        account = _kept_account(keys_file, env) if reuse_keys else None
        if account is None:
            account = _mint_account(org, env, user)
        # The current one, whatever was kept: a rotation in the dashboard replaces it.
        account["signing_secret"] = signing_secret_reveal(environment=env)
        if reuse_keys:
            _keep(keys_file, account)
        self.stdout.write(json.dumps(account))


def _mint_account(org, env, user) -> dict:
    server_key, server_secret = api_key_create(
        environment=env, name="bootstrap server key", key_type=ApiKeyType.SERVER
    )
    client_key, client_secret = api_key_create(
        environment=env, name="bootstrap client key", key_type=ApiKeyType.CLIENT
    )
    return {
        "organization_id": str(org.id),
        "environment_id": str(env.id),
        "email": user.email,
        "server_key": server_secret,
        "server_key_id": str(server_key.id),
        "client_key": client_secret,
        "client_key_id": str(client_key.id),
    }


def _kept_account(path: Path, env) -> dict | None:
    """The kept account if both its keys still authenticate in this environment."""
    try:
        account = json.loads(path.read_text())
        secrets = (account["server_key"], account["client_key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for secret, key_type in zip(secrets, (ApiKeyType.SERVER, ApiKeyType.CLIENT), strict=True):
        key = api_key_authenticate(secret) if isinstance(secret, str) else None
        if key is None or key.environment_id != env.id or key.key_type != key_type:
            return None
    return account


def _keep(path: Path, account: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(account, file, indent=2)
