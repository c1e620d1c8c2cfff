"""The Dramatiq broker, chosen by IMGWIRE_BROKER_URL.

Empty (the embedded default): an in-process StubBroker whose worker threads run inside the
process that serves the app (see wsgi.py/asgi.py). redis:// or amqp://: a real broker, with
separate ``dramatiq imgwire_site.worker`` processes. Every queue name goes through
``queue_name`` so that IMGWIRE_QUEUE_PREFIX keeps installs sharing a broker apart.
"""

import logging
import threading

import dramatiq
from django.conf import settings
from django.db import close_old_connections
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class DjangoDbConnections(Middleware):
    """Workers are long-lived: drop connections Django would consider stale around every
    message, as a request cycle does for web processes."""

    def before_process_message(self, broker, message):
        close_old_connections()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        close_old_connections()

    def after_skip_message(self, broker, message):
        close_old_connections()


REDIS_HEARTBEAT_TIMEOUT_MS = 15_000
REDIS_MAINTENANCE_CHANCE = 20_000  # per million commands


def _make_broker() -> dramatiq.Broker:
    url = settings.IMGWIRE_BROKER_URL
    if not url:
        broker = StubBroker()
        broker.emit_after("process_boot")
    elif url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        # A killed worker's prefetched messages wait in Redis until the broker finds the
        # worker dead: dramatiq's defaults (no heartbeat for 60 s, checked on ~0.1 % of
        # commands) left them for ~2 minutes (bench/scale_out.py). 15 s, checked on 2 % of
        # commands, brings them back within ~20 s; a live worker taken for dead only costs
        # a redelivery, which the claims (leases) turn into a no-op.
        broker = RedisBroker(
            url=url,
            heartbeat_timeout=REDIS_HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=REDIS_MAINTENANCE_CHANCE,
        )
    else:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    broker.add_middleware(DjangoDbConnections())
    broker.logger.addFilter(_one_worker_middleware_per_worker)
    return broker


def _one_worker_middleware_per_worker(record: logging.LogRecord) -> bool:
    """Drop the broker's "adding a middleware of the same type twice" warning when the
    middleware is a worker's own: every Worker registers one on start, so two workers on
    one broker (the embedded default's image and webhook workers) print it at every start,
    although each only adds consumers for its own queues (dramatiq allows duplicates)."""
    args = record.args if isinstance(record.args, tuple) else ()
    return not (
        str(record.msg).startswith("You're adding a middleware of the same type twice")
        and args
        and type(args[0]).__name__ == "_WorkerMiddleware"
    )


broker = _make_broker()
dramatiq.set_broker(broker)


def queue_name(name: str) -> str:
    """The broker queue for ``name`` in this install (``<prefix>.<name>``, or ``name``)."""
    prefix = settings.IMGWIRE_QUEUE_PREFIX
    return f"{prefix}.{name}" if prefix else name


_embedded_lock = threading.Lock()
_embedded_worker: dramatiq.Worker | None = None
_embedded_webhook_worker: dramatiq.Worker | None = None


def is_embedded() -> bool:
    return isinstance(broker, StubBroker)


def start_embedded_worker() -> dramatiq.Worker | None:
    """Start worker threads in this process when the broker is the in-process one.

    Webhook deliveries get threads of their own (IMGWIRE_EMBEDDED_WEBHOOK_THREADS): a
    delivery mostly waits on someone else's server, up to its timeout, and must not hold
    one of the few threads that verify and process images meanwhile. (With a real broker,
    the same split is a worker unit started with ``--queues`` for the webhooks queue.)"""
    global _embedded_worker, _embedded_webhook_worker
    if not is_embedded():
        return None
    with _embedded_lock:
        if _embedded_worker is None:
            import imgwire_site.worker  # noqa: F401  (declares every actor)

            webhooks = queue_name("webhooks")
            _embedded_worker = dramatiq.Worker(
                broker,
                queues={name for name in broker.get_declared_queues() if name != webhooks},
                worker_threads=settings.IMGWIRE_EMBEDDED_WORKER_THREADS,
                worker_timeout=100,
            )
            _embedded_webhook_worker = dramatiq.Worker(
                broker,
                queues={webhooks},
                worker_threads=settings.IMGWIRE_EMBEDDED_WEBHOOK_THREADS,
                worker_timeout=100,
            )
            _embedded_worker.start()
            _embedded_webhook_worker.start()
            _start_embedded_scheduler(settings.IMGWIRE_RECONCILE_INTERVAL_SECONDS)
            logger.info(
                "embedded worker started with %d threads (+%d for webhooks)",
                settings.IMGWIRE_EMBEDDED_WORKER_THREADS,
                settings.IMGWIRE_EMBEDDED_WEBHOOK_THREADS,
            )
    return _embedded_worker


def embedded_webhook_worker() -> dramatiq.Worker | None:
    """The embedded worker of the webhooks queue, if started (a benchmark pauses it)."""
    return _embedded_webhook_worker


def stop_embedded_worker() -> None:
    """Stop both embedded workers (a benchmark or a test that started them)."""
    global _embedded_worker, _embedded_webhook_worker
    with _embedded_lock:
        for worker in (_embedded_worker, _embedded_webhook_worker):
            if worker is not None:
                stop_worker(worker)
        _embedded_worker = _embedded_webhook_worker = None


def stop_worker(worker: dramatiq.Worker) -> None:
    """Stop worker threads and detach them from the broker.

    ``Worker.start()`` registers a middleware on the broker that ``stop()`` leaves behind;
    a stopped worker's middleware would still add consumers for queues declared later, and
    each one logs "adding a middleware of the same type twice" when the next worker starts.
    """
    worker.stop()
    broker.middleware[:] = [
        m for m in broker.middleware if getattr(m, "worker", None) is not worker
    ]


def _start_embedded_scheduler(interval: int) -> None:
    """The embedded default has no scheduler process, so it ticks the reconciler itself:
    the cheap recovery step (lost messages, lapsed claims) every
    IMGWIRE_RECOVER_INTERVAL_SECONDS, the full reconcile every ``interval``."""
    from images.tasks import reconcile_images, recover_jobs

    recover_every = settings.IMGWIRE_RECOVER_INTERVAL_SECONDS
    if interval <= 0 and recover_every <= 0:
        return
    tick_every = min(t for t in (interval, recover_every) if t > 0)

    def tick():
        stop = threading.Event()
        elapsed = 0
        while not stop.wait(tick_every):
            elapsed += tick_every
            full = interval > 0 and elapsed % interval < tick_every
            try:
                if full:
                    reconcile_images.send()  # it recovers too
                elif recover_every > 0:
                    recover_jobs.send()
            except Exception:
                logger.exception("could not enqueue the reconciler")

    threading.Thread(target=tick, name="imgwire-reconcile", daemon=True).start()
