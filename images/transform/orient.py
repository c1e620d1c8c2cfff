"""EXIF orientation, right-angle ``rotate`` and ``flip`` as one transpose.

The eight EXIF orientations, quarter turns and mirrors are the symmetries of a rectangle,
so any sequence of them is a single ``Image.transpose``. The engine composes them and
applies the result *after* crop and resize, to the small output instead of the decoded
source (a phone photo's orientation 6 then costs a transpose of 0.8 MP, not 12 MP), and maps
the planned crop window back into the stored image's coordinates.
"""

from __future__ import annotations

from functools import cache

from PIL import Image

T = Image.Transpose
EXIF = {
    2: T.FLIP_LEFT_RIGHT,
    3: T.ROTATE_180,
    4: T.FLIP_TOP_BOTTOM,
    5: T.TRANSPOSE,
    6: T.ROTATE_270,
    7: T.TRANSVERSE,
    8: T.ROTATE_90,
}
CLOCKWISE = {90.0: T.ROTATE_270, 180.0: T.ROTATE_180, 270.0: T.ROTATE_90}
SWAPS = frozenset({T.ROTATE_90, T.ROTATE_270, T.TRANSPOSE, T.TRANSVERSE})
INVERSE = {T.ROTATE_90: T.ROTATE_270, T.ROTATE_270: T.ROTATE_90}

_PROBE = Image.frombytes("L", (3, 2), bytes(range(6)))  # no symmetry: tells all 8 apart


@cache
def _signatures() -> dict[tuple[bytes, tuple[int, int]], T | None]:
    found: dict[tuple[bytes, tuple[int, int]], T | None] = {(_PROBE.tobytes(), _PROBE.size): None}
    for method in T:
        result = _PROBE.transpose(method)
        found[(result.tobytes(), result.size)] = method
    return found


def compose(*methods: T | None) -> T | None:
    """The single transpose equal to applying ``methods`` in order (None: identity)."""
    probe = _PROBE
    for method in methods:
        if method is not None:
            probe = probe.transpose(method)
    return _signatures()[(probe.tobytes(), probe.size)]


def _point(method: T, x: float, y: float, w: float, h: float) -> tuple[float, float]:
    """Where point (x, y) of a ``w`` x ``h`` image lands after ``method``."""
    return {
        T.FLIP_LEFT_RIGHT: (w - x, y),
        T.FLIP_TOP_BOTTOM: (x, h - y),
        T.ROTATE_180: (w - x, h - y),
        T.ROTATE_90: (y, w - x),
        T.ROTATE_270: (h - y, x),
        T.TRANSPOSE: (y, x),
        T.TRANSVERSE: (h - y, w - x),
    }[method]


def unmap_box(
    method: T, box: tuple[float, float, float, float], size: tuple[float, float]
) -> tuple[float, float, float, float]:
    """The (left, top, right, bottom) box of the source that ``method`` turns into ``box``
    of its ``size`` result."""
    inverse = INVERSE.get(method, method)
    x0, y0 = _point(inverse, box[0], box[1], *size)
    x1, y1 = _point(inverse, box[2], box[3], *size)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
