from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "images"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from images.processing.limits import apply_pixel_limit, configured_max_pixels

        # Web and worker processes open images too (delivery probes an intermediate's
        # header); render and verification children get the same value handed to them.
        apply_pixel_limit(configured_max_pixels())
