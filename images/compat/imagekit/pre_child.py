"""What runs inside a render sandbox child for ``transformation.pre`` (like
images/delivery/render_child.py: plain dicts in and out, nothing that needs Django)."""


def render_pre(payload: dict) -> dict:
    """Inside a render sandbox child: the source rendered by the pre transformation."""
    from PIL import Image as PILImage

    from images.delivery.render_child import _output
    from images.transform import parse_transform
    from images.transform.engine import SourceInfo, _openers, render

    with PILImage.open(payload["source_path"], formats=_openers()) as image:
        info = SourceInfo(
            mime_type=payload["mime_type"],
            width=image.width,
            height=image.height,
            is_animated=bool(getattr(image, "is_animated", False)),
            has_alpha=image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info,
        )
        rendered = render(
            image,
            info,
            parse_transform(payload["query"], payload["preset"]),
            accept=None,
            max_output_pixels=payload["max_output_pixels"],
        )
    return _output(rendered.data, content_type=rendered.content_type)
