from django.core.management.base import BaseCommand

from keys.signing import signing_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored signing secret under the first of IMGWIRE_ENCRYPTION_KEYS. "
        "Run it after putting a new key in front, before removing the old one."
    )

    def handle(self, *args, **options):
        count = signing_secrets_reencrypt()
        self.stdout.write(f"Re-encrypted {count} signing secret(s) under the newest key.")
