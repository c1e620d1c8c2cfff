"""Template filters of the dashboard: sizes and dates in one format
(``imgwire_site.dashboard_format``), wrapped in ``<time>`` for machines."""

from django import template
from django.utils.html import format_html

from imgwire_site.dashboard_format import human_bytes, human_date, human_datetime

register = template.Library()


@register.filter(name="bytes")
def bytes_filter(value) -> str:
    return human_bytes(value)


@register.filter
def when(value, precision: str = ""):
    """``{{ at|when }}``; ``{{ at|when:"seconds" }}`` where seconds tell events apart."""
    if not value:
        return ""
    text = human_datetime(value, seconds=precision == "seconds")
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), text)


@register.filter
def day(value):
    if not value:
        return ""
    return format_html('<time datetime="{}">{}</time>', value.isoformat()[:10], human_date(value))
