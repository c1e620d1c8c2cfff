"""A function the pixel-limit tests run in a render child (importable by the forkserver)."""


def pixel_limit(payload):
    from PIL import Image

    return Image.MAX_IMAGE_PIXELS
