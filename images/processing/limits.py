"""The one decoded-area limit that every process opening an image for Imgwire holds to.

Verification accepts images up to ``IMGWIRE_MAX_PIXELS``. Pillow has its own bomb limit,
``Image.MAX_IMAGE_PIXELS`` (~179 MP by default: a warning above it, an error above twice
it), which is process-global and back at its default in every new interpreter: the web and
worker processes, the render forkserver and its children, the verification children. Left
at the default, an image verified READY above ~179 MP could not be rendered. So each of
them sets Pillow's limit from the one setting through ``apply_pixel_limit``: Django's app
``ready()`` for web and worker processes, every render job (the parent hands the value
over), and the verification child (in its request).

No Django at import time: the sandbox children import this module.
"""

from __future__ import annotations

import warnings


def apply_pixel_limit(max_pixels: int, *, refuse_over: bool = False) -> None:
    """Make Pillow accept images up to ``max_pixels``.

    ``refuse_over`` (verification): anything over the limit is an error, where Pillow would
    only warn up to twice it. Elsewhere the image was verified already, possibly under a
    higher limit an operator has since lowered: Pillow's warning is silenced there, and
    only files over twice the limit are refused.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = int(max_pixels)
    action = "error" if refuse_over else "ignore"
    warnings.simplefilter(action, Image.DecompressionBombWarning)


def configured_max_pixels() -> int:
    """The limit, from the setting (only in processes that have Django configured)."""
    from django.conf import settings

    return int(settings.IMGWIRE_MAX_PIXELS)
