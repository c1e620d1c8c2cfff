"""Bench-only settings: the product's settings plus a trivial endpoint to measure against.

Used only by bench/uploads.py (``DJANGO_SETTINGS_MODULE=bench.settings``); never in production.
"""

from imgwire_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
