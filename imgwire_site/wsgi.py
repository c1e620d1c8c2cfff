import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgwire_site.settings")
application = get_wsgi_application()

# CDN requests skip Django's middleware and URL resolving (images/delivery/fastpath.py).
from images.delivery.fastpath import DeliveryFastPath  # noqa: E402

application = DeliveryFastPath(application)

# Servers that copy the process environment into each request's (granian) must not make
# it look like request headers (imgwire_site/serving.py),
# and bodies a view left unread must not cost the client its keep-alive connection.
from imgwire_site.serving import ReadsLeftoverBody, WithoutProcessEnvironment  # noqa: E402

application = WithoutProcessEnvironment(ReadsLeftoverBody(application))

# On the embedded default the broker lives in this process: start its worker threads
# wherever the app is served (runserver, gunicorn, the README's command).
from imgwire_site.broker import start_embedded_worker  # noqa: E402

start_embedded_worker()

# Everything imported so far lives as long as the process: freeze it, so the cyclic
# garbage collector's full passes (every ~1000 requests) no longer walk Django's objects.
gc.freeze()
