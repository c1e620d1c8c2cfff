from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "domains"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from corsheaders.signals import check_request_enabled

        from domains.enforcement import cors_request_allowed

        check_request_enabled.connect(cors_request_allowed, dispatch_uid="imgwire-cors-origins")
