from django.apps import AppConfig


class ImageKitConfig(AppConfig):
    """An app of its own only for its table (the spent client-side tokens); the images are
    Imgwire's, created and verified by the images services."""

    name = "images.compat.imagekit"
    label = "imagekit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The actor must be registered wherever messages are sent or consumed (web
        # processes, their embedded workers, and `dramatiq imgwire_site.worker`).
        from images.compat.imagekit import tasks  # noqa: F401
