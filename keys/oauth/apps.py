from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "keys.oauth"
    label = "agents"
    verbose_name = "OAuth-linked agents"
    default_auto_field = "django.db.models.BigAutoField"
