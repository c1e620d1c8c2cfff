from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from keys import schema  # noqa: F401  (registers the OpenAPI auth extensions)
