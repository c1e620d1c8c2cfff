import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from environments.models import Environment, Organization, Role
from environments.services import environment_create, membership_create, organization_create
from keys.models import ApiKeyType
from keys.services import api_key_create


class Command(BaseCommand):
    help = (
        "Create what is missing (organization, environment, user as OWNER), mint a new Server "
        "key and Client key, and print them as one JSON object on stdout."
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

    @transaction.atomic
    def handle(self, *args, organization, environment, email, password, operator, **options):
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

        server_key, server_secret = api_key_create(
            environment=env, name="bootstrap server key", key_type=ApiKeyType.SERVER
        )
        client_key, client_secret = api_key_create(
            environment=env, name="bootstrap client key", key_type=ApiKeyType.CLIENT
        )
        self.stdout.write(
            json.dumps(
                {
                    "organization_id": str(org.id),
                    "environment_id": str(env.id),
                    "email": user.email,
                    "server_key": server_secret,
                    "server_key_id": str(server_key.id),
                    "client_key": client_secret,
                    "client_key_id": str(client_key.id),
                }
            )
        )
