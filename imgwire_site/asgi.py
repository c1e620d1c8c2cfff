import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgwire_site.settings")
application = get_asgi_application()

from imgwire_site.broker import start_embedded_worker  # noqa: E402

start_embedded_worker()
