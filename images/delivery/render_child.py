"""What runs inside a render sandbox child (see images/delivery/sandbox.py).

Each function takes a plain dict and returns a plain dict: sources are read from paths,
and outputs come back in the dict (``data``), or, past INLINE_LIMIT, as the ``path`` of a
temporary file the caller removes.
"""

import contextlib
import io
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageOps

from images.delivery.sanitize import strip_metadata
from images.transform import parse_transform
from images.transform.engine import SourceInfo, _openers, render

# Outputs up to this size go back through the pipe; larger ones through a temporary file,
# so the web process never holds a huge render in memory.
INLINE_LIMIT = 16 * 1024 * 1024

# Imported by the forkserver (images/delivery/sandbox.py preloads this module): registering
# every opener and loading Pillow's plugins once here saves each forked render ~90 ms.
_openers()


def _output(data: bytes, **extra) -> dict:
    if len(data) <= INLINE_LIMIT:
        return {"data": data, "size": len(data), **extra}
    descriptor, path = tempfile.mkstemp(prefix="imgwire-render-output-")
    with os.fdopen(descriptor, "wb") as spill:
        spill.write(data)
    return {"path": path, "size": len(data), **extra}


def render_variant(payload: dict, source: Image.Image | None = None) -> dict:
    """The variant ``payload`` asks for, from ``payload["source_path"]`` or from ``source``
    (an image already decoded)."""
    transform = parse_transform(payload["query"], payload["preset"])
    watermark_path = payload.get("watermark_path")

    def load_watermark(request):
        if not watermark_path:
            return None
        with Image.open(watermark_path) as mark:
            mark.load()
            return ImageOps.exif_transpose(mark)

    with contextlib.ExitStack() as stack:
        if source is None:
            source = stack.enter_context(open(payload["source_path"], "rb"))
        rendered = render(
            source,
            SourceInfo(**payload["info"], focus=payload.get("focus", "")),
            transform,
            accept=payload["accept"],
            watermark_loader=load_watermark,
            max_output_pixels=payload["max_output_pixels"],
        )
    return _output(rendered.data, content_type=rendered.content_type)


def sanitize_original(payload: dict) -> dict | None:
    """The original without metadata, losslessly; None when only a re-encode can do it."""
    with open(payload["source_path"], "rb") as source:
        data = source.read()
    stripped = strip_metadata(data, payload["info"]["mime_type"], payload["info"]["orientation"])
    if stripped is None:
        return None
    return _output(stripped, content_type=payload["info"]["mime_type"])


def decode_intermediate(payload: dict) -> dict:
    """HEIC, JPEG XL and TIFF decode slowly: decode once, upright, into a fast format.

    Opaque images become a JPEG at quality 95 (fast to write and read, visually lossless,
    a fraction of a PNG's size) with the source's chroma: 4:2:0 for a 4:2:0 HEIC (what
    phones write; 4:4:4 would only cost time), 4:4:4 otherwise; images with alpha become a
    PNG. Both keep the colour profile, which the renders convert from.

    With ``payload["variant"]`` (render_variant's payload, without source and info), the
    variant that asked for the intermediate is rendered from the decoded pixels while the
    intermediate is encoded: the two share the image (both only read it) and Pillow
    releases the GIL in both, so on a free core the first variant costs no extra decode.
    Returns ``{"intermediate": output}``, plus ``"variant": output`` when asked.
    """
    with Image.open(payload["source_path"], formats=_openers()) as upright:
        upright.load()
    icc = upright.info.get("icc_profile") or None
    chroma = upright.info.get("chroma")
    # In place and only when needed: each copy of a 12 MP image costs ~35 ms.
    ImageOps.exif_transpose(upright, in_place=True)
    alpha = "A" in upright.getbands() or "transparency" in upright.info
    if upright.mode != ("RGBA" if alpha else "RGB"):
        upright = upright.convert("RGBA" if alpha else "RGB")

    def encode() -> dict:
        buffer = io.BytesIO()
        if alpha:
            upright.save(buffer, format="PNG", compress_level=1, icc_profile=icc)
        else:
            subsampling = 2 if chroma == 420 else 0
            upright.save(
                buffer, format="JPEG", quality=95, subsampling=subsampling, icc_profile=icc
            )
        return _output(buffer.getvalue())

    variant = payload.get("variant")
    if variant is None:
        return {"intermediate": encode()}
    info = {
        "mime_type": "image/png" if alpha else "image/jpeg",
        "width": upright.width,
        "height": upright.height,
        "orientation": 1,
        "is_animated": False,
        "has_alpha": alpha,
    }
    with ThreadPoolExecutor(max_workers=1) as pool:
        intermediate = pool.submit(encode)
        try:
            rendered = render_variant({**variant, "info": info}, source=upright)
        except MemoryError:
            raise
        except Exception as error:  # the intermediate is still good: keep it, report this
            message = getattr(error, "message", None) or f"The render failed: {error}"
            rendered = {"error": (getattr(error, "status", 500), message)}
        return {"intermediate": intermediate.result(), "variant": rendered}
