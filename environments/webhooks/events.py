"""Which events exist, what each carries, and emitting them from the state changes.

Every ``*_emit`` runs INSIDE the transaction of the change it reports (the outbox): the
event rows commit with the change or not at all. The payload is the object as the Resource
API would return it at that moment (an ``ImageSchema``, an ``ImageDownloadJobSchema``);
the Uploadcare names carry Uploadcare's file info instead, so receivers written for
Uploadcare parse what they know.
"""

from images.models import Image
from imgwire_site.prebuilt_sql import JoinedRead

from .services import subscriptions_wanting, webhook_event_record

IMAGE_READY = "image.ready"
IMAGE_QUARANTINED = "image.quarantined"
IMAGE_DELETED = "image.deleted"
IMAGE_UPDATED = "image.updated"
DOWNLOAD_READY = "download.ready"
DOWNLOAD_FAILED = "download.failed"
TEST = "webhook.test"

# What a subscription with no event list gets: every Imgwire event.
NEUTRAL_TYPES = (
    IMAGE_READY,
    IMAGE_QUARANTINED,
    IMAGE_DELETED,
    IMAGE_UPDATED,
    DOWNLOAD_READY,
    DOWNLOAD_FAILED,
)
# Uploadcare's names, sent only to subscriptions that list them. With Imgwire every file is
# stored once verified, so ``file.uploaded`` and ``file.stored`` come together.
VENDOR_ALIASES = {
    IMAGE_READY: ("file.uploaded", "file.stored"),
    IMAGE_DELETED: ("file.deleted",),
    IMAGE_UPDATED: ("file.info_updated",),
}
VENDOR_TYPES = tuple(name for names in VENDOR_ALIASES.values() for name in names)
SUBSCRIBABLE_TYPES = NEUTRAL_TYPES + VENDOR_TYPES


_image_serializer = None
# What Image.objects.with_environment() joins (cdn_url reads the custom domain).
_IMAGES_WITH_ENVIRONMENT = JoinedRead(Image, "environment", "environment__custom_domain")


def _image_schema(image) -> dict:
    """The image as GET /api/v1/images/{id} returns it. One serializer, built once: a DRF
    ModelSerializer builds its fields per instance (~5 ms here), and ``to_representation``
    keeps no state between calls (ListSerializer reuses its child the same way)."""
    global _image_serializer
    if _image_serializer is None:
        from images.serializers import ImageSerializer

        _image_serializer = ImageSerializer()
    return dict(_image_serializer.to_representation(image))


def _is_stored(image) -> bool:
    from images.compat.uploadcare.models import UploadcareFile

    record = UploadcareFile.objects.filter(image_id=image.id).first()
    # Files uploaded through another door are stored: Imgwire keeps every verified file.
    return record is None or record.stored_at is not None


def images_event_emit(environment, image_ids, type: str, *, now=None) -> None:
    """Record ``type`` (and its Uploadcare names) for each image, as it is now.
    ``environment``: the environment or its id."""
    from images.compat.uploadcare.wire import file_info

    environment = getattr(environment, "pk", environment)
    wanting = subscriptions_wanting(environment, (type, *VENDOR_ALIASES.get(type, ())))
    if not any(wanting.values()):
        return
    # Read as Image.objects.with_environment() would, by SQL built once (prebuilt_sql.py):
    # compiling that query cost ~0.8 ms of CPU inside the state change's transaction.
    for image in _IMAGES_WITH_ENVIRONMENT.by_pks(image_ids, environment_id=environment):
        if wanting[type]:
            webhook_event_record(
                environment=environment,
                type=type,
                payload=_image_schema(image),
                now=now,
                subscriptions=wanting[type],
            )
        stored = None
        for alias in VENDOR_ALIASES.get(type, ()):
            if not wanting[alias]:
                continue
            stored = _is_stored(image) if stored is None else stored
            if alias == "file.stored" and not stored:
                continue  # an Uploadcare upload with UPLOADCARE_STORE=0 is not stored
            webhook_event_record(
                environment=environment,
                type=alias,
                payload=file_info(image, is_stored=stored),
                now=now,
                subscriptions=wanting[alias],
            )


def image_event_emit(image, type: str, *, now=None) -> None:
    images_event_emit(image.environment_id, [image.id], type, now=now)


def download_event_emit(job, type: str) -> None:
    from images.serializers import ImageDownloadJobSerializer

    wanting = subscriptions_wanting(job.environment_id, (type,))[type]
    if wanting:
        job.refresh_from_db()
        webhook_event_record(
            environment=job.environment_id,
            type=type,
            payload=dict(ImageDownloadJobSerializer(job).data),
            subscriptions=wanting,
        )
