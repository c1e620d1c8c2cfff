from django.apps import AppConfig


class UploadcareConfig(AppConfig):
    """An app of its own only for its tables (stored flags, settings); the images are
    Imgwire's, created and verified by the images services."""

    name = "images.compat.uploadcare"
    label = "uploadcare"
    default_auto_field = "django.db.models.BigAutoField"
