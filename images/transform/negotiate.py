"""Output format negotiation (delivery.md, "Output") and the output format table.

``format=auto`` (or no ``format``) picks, from the request's ``Accept`` header:

1. AVIF when ``image/avif`` is listed with q > 0;
2. else WebP when ``image/webp`` is listed with q > 0;
3. else WebP when the header accepts wildcards (``*/*`` or ``image/*`` with q > 0) and
   names no specific image type with q > 0, as curl's ``*/*`` does;
4. else the browser-safe original family: GIF for animations, PNG when the source has
   alpha, JPEG otherwise. A missing or empty ``Accept`` lands here too: a client that
   says nothing is treated as the most conservative one.

A type excluded with ``q=0`` is never chosen by rule 1-3, even if a wildcard would cover
it. Every ``auto`` answer is ``negotiated`` (the response must carry ``Vary: Accept``),
including those that fell back to the original family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import SourceInfo


@dataclass(frozen=True)
class OutputFormat:
    name: str  # the transform's format value
    pillow: str
    mime: str
    animated: bool  # can carry an animation


FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("jpeg", "JPEG", "image/jpeg", False),
        OutputFormat("png", "PNG", "image/png", False),
        OutputFormat("webp", "WEBP", "image/webp", True),
        OutputFormat("avif", "AVIF", "image/avif", True),
        OutputFormat("gif", "GIF", "image/gif", True),
        OutputFormat("tiff", "TIFF", "image/tiff", False),
    )
}


def parse_accept(header: str | None) -> dict[str, float]:
    """Media range (lowercased, parameters other than q dropped) to its highest q.

    Malformed q values count as 1 (a lenient reading: browsers never send them, and the
    worst outcome is a modern format for a client that listed it anyway)."""
    ranges: dict[str, float] = {}
    for item in (header or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        if "/" not in media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 1.0
        ranges[media] = max(q, ranges.get(media, 0.0))
    return ranges


def original_family(source: SourceInfo) -> str:
    if source.is_animated:
        return "gif"
    return "png" if source.has_alpha else "jpeg"


def negotiate(accept: str | None, source: SourceInfo) -> str:
    ranges = parse_accept(accept)
    for name in ("avif", "webp"):
        if ranges.get(f"image/{name}", 0.0) > 0:
            return name
    specific = [m for m, q in ranges.items() if q > 0 and m.startswith("image/") and m != "image/*"]
    wildcard = ranges.get("*/*", 0.0) > 0 or ranges.get("image/*", 0.0) > 0
    if wildcard and not specific and "image/webp" not in ranges:  # not excluded by q=0
        return "webp"
    return original_family(source)


def choose_format(transform: Any, source: SourceInfo, accept: str | None) -> tuple[str, bool]:
    """``(format, negotiated)``: ``format`` is a key of ``FORMATS`` (``"jpeg"``, ``"webp"``...),
    ``negotiated`` is True when it came from ``format=auto`` (answer with ``Vary: Accept``)."""
    requested = transform.params.get("format")
    if requested in FORMATS:
        return requested, False
    return negotiate(accept, source), True
