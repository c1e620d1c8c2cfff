"""transformation.post: the variants an upload asks for, rendered ahead of the first
request for them, through the delivery service (same sandbox, same cache keys)."""

import contextlib
import logging

from images.delivery.service import DeliveryError, ensure_delivered, plan_delivery
from images.models import Image, ImageStatus
from images.transform.imagekit_syntax import to_query, to_transform

logger = logging.getLogger(__name__)


class NotReadyYet(Exception):
    """The image is still being verified: the actor retries later."""


def imagekit_post_render(image_id, transformations: list[str]) -> int:
    """Render each variant into the cache (idempotent: a cached one is left as it is);
    returns how many were rendered now."""
    image = Image.objects.alive().with_environment().filter(id=image_id).first()
    if image is None or image.status == ImageStatus.QUARANTINE:
        return 0
    if image.status != ImageStatus.READY:
        raise NotReadyYet(str(image_id))
    rendered = 0
    for value in transformations:
        query, preset = to_query(value)
        plan = plan_delivery(image, to_transform(value), None)
        try:
            delivered = ensure_delivered(plan, query=query, preset=preset, accept=None)
        except DeliveryError as error:  # over the output limits, say: the URL will say so too
            logger.info("post transformation %s of %s not rendered: %s", value, image_id, error)
            continue
        with contextlib.closing(delivered.body):
            rendered += 0 if delivered.cache_hit else 1
    return rendered
