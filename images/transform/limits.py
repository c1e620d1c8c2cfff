"""The render error and the output limits every stage checks before it allocates pixels."""

from __future__ import annotations

from dataclasses import dataclass

MAX_SIDE = 8192


class RenderError(Exception):
    """A render that cannot be produced: answer ``status`` with ``message``.

    4xx: the request asks for more than the limits allow (or names something unusable);
    5xx: the stored original or a dependency failed, or a budget ran out.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __reduce__(self):
        return (type(self), (self.status, self.message))


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 50_000_000
    max_side: int = MAX_SIDE
    max_frames: int = 100

    def check(self, width: float, height: float, what: str, frames: int = 1) -> None:
        """Raise a 400 naming the limit when a ``width`` x ``height`` image (per frame,
        ``frames`` of them) would be over it. Called with planned sizes, before allocating."""
        w, h = round(width), round(height)
        if w > self.max_side or h > self.max_side:
            raise RenderError(
                400,
                f"the {what} would be {w}x{h} pixels; at most {self.max_side} pixels per side "
                "are allowed",
            )
        if w * h * frames > self.max_pixels:
            area = f"{w}x{h}" if frames == 1 else f"{frames} frames of {w}x{h}"
            raise RenderError(
                400,
                f"the {what} would be {area} = {w * h * frames:,} pixels; the output area "
                f"limit is {self.max_pixels:,} pixels",
            )
