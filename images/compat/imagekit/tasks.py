"""ImageKit's actors: thin, taking ids, each safe to run twice."""

import dramatiq

from images.compat.imagekit.post import imagekit_post_render
from images.tasks import IMAGES_QUEUE  # (the broker must exist before actors)


# On the images queue, which every worker consumes: a queue of its own would need every
# worker's start-up to know it.
@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=5, min_backoff=1000, time_limit=300_000)
def render_post_transformations(image_id: str, transformations: list) -> None:
    imagekit_post_render(image_id, transformations)
