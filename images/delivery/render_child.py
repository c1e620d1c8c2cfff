"""What runs inside a render sandbox child (see images/delivery/sandbox.py).

Each function takes a plain dict and returns a plain dict, so nothing but paths and small
metadata crosses the process boundary; the image bytes go through temporary files.
"""

from PIL import Image, ImageOps

from images.delivery.sanitize import strip_metadata


def _source_info(payload: dict):
    from images.transform.engine import SourceInfo

    info = payload["info"]
    return SourceInfo(
        mime_type=info["mime_type"],
        width=info["width"],
        height=info["height"],
        orientation=info["orientation"],
        is_animated=info["is_animated"],
        has_alpha=info["has_alpha"],
    )


def render_variant(payload: dict) -> dict:
    from images.transform import parse_transform
    from images.transform.engine import render

    transform = parse_transform(payload["query"], payload["preset"])
    watermark_path = payload.get("watermark_path")

    def load_watermark(request):
        if not watermark_path:
            return None
        with Image.open(watermark_path) as mark:
            mark.load()
            return ImageOps.exif_transpose(mark)

    with open(payload["source_path"], "rb") as source:
        rendered = render(
            source,
            _source_info(payload),
            transform,
            accept=payload["accept"],
            watermark_loader=load_watermark,
            max_output_pixels=payload["max_output_pixels"],
        )
    with open(payload["output_path"], "wb") as output:
        output.write(rendered.data)
    return {"content_type": rendered.content_type, "size": len(rendered.data)}


def sanitize_original(payload: dict) -> dict | None:
    """The original without metadata, losslessly; None when only a re-encode can do it."""
    with open(payload["source_path"], "rb") as source:
        data = source.read()
    stripped = strip_metadata(data, payload["info"]["mime_type"], payload["info"]["orientation"])
    if stripped is None:
        return None
    with open(payload["output_path"], "wb") as output:
        output.write(stripped)
    return {"content_type": payload["info"]["mime_type"], "size": len(stripped)}


def decode_intermediate(payload: dict) -> dict:
    """HEIC, JPEG XL and TIFF decode slowly: decode once, upright, into a fast PNG."""
    import pillow_heif
    import pillow_jxl  # noqa: F401  (registers JPEG XL)

    pillow_heif.register_heif_opener()
    with Image.open(payload["source_path"]) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
        if upright.mode not in ("RGB", "RGBA", "L", "LA"):
            upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
        upright.save(payload["output_path"], format="PNG", compress_level=1)
        return {
            "width": upright.width,
            "height": upright.height,
            "has_alpha": "A" in upright.getbands(),
        }
