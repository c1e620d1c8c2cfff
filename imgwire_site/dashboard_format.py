"""How the dashboard writes sizes and dates: one helper each, so every page (and every
email the dashboard sends) says "1.5 MiB" and "2 Dec 2026, 20:45 UTC" the same way.

Sizes are binary (1 MiB = 1024 KiB) and labelled so: Django's ``filesizeformat`` divides by
1024 but prints "MB", which is the mix-up people noticed against their own file managers.
"""

from datetime import UTC, datetime

_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def human_bytes(value) -> str:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return ""
    sign = "-" if number < 0 else ""
    number = abs(number)
    for unit, factor in _UNITS:
        if number >= factor:
            amount = number / factor
            text = f"{amount:.0f}" if amount >= 100 else f"{amount:.1f}".removesuffix(".0")
            return f"{sign}{text} {unit}"
    return f"{sign}{number} byte" + ("" if number == 1 else "s")


def human_datetime(value: datetime | None, *, seconds: bool = False) -> str:
    """``2 Dec 2026, 20:45 UTC`` (always UTC: the dashboard has no per-person time zone;
    the metrics page, which has one, labels its own); ``20:45:07`` with ``seconds``, where
    events a few seconds apart must be told apart (a webhook's attempts)."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return f"{value.day} {value:%b %Y}, {value:{clock}} UTC"


def human_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return f"{value.day} {value:%b %Y}"
