"""Entry point for worker processes: ``dramatiq imgwire_site.worker``.

Sets Django up, then imports every app's actors so the worker consumes their queues.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgwire_site.settings")
django.setup()

import environments.webhooks.tasks  # noqa: E402, F401
import images.compat.uploadcare.tasks  # noqa: E402
import images.tasks  # noqa: E402, F401
from imgwire_site.broker import broker  # noqa: E402,F401
