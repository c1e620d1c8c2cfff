#!/usr/bin/env python
"""Webhook benchmarks (issue #16): ``.venv/bin/python bench/webhooks.py [--markdown]``.

Two ratios, each against a peer measured in the same run (the machines are noisy):

1. Event throughput, commit → receiver: N events recorded each in its own transaction (the
   outbox rows) and delivered by the worker (claim, sign, POST through the SSRF-safe
   sender, record the attempt), against a bare loop POSTing the same body with the same
   headers to the same loopback receiver (a new connection each, as the sender makes).
   The events are committed first, then the worker starts; both sides are timed at the
   receiver, from the first arrival to the last (one clock for every sender, whatever
   each needs to start). The embedded shape: a worker of ``--threads`` threads (2, the
   embedded default) in this process against as many bare sender threads. The
   production shape (``--broker-url redis://127.0.0.1:6379/N``, throughput only):
   ``dramatiq imgwire_site.worker --queues <webhooks>`` with ``--processes`` processes
   of one thread on the real broker, against as many forked bare sender processes.
   Aim ≥ 0.5.
2. The cost a subscription adds to ``standard_upload`` + PUT + processing to READY:
   batches of uploads with the environment's subscription disabled and enabled,
   interleaved. Aim ≤ 1.1x. Two readings, both printed:
   - the upload path: a subscribed batch ends when every image is READY, its deliveries
     held meanwhile (the webhooks queue's worker paused, as if it ran on cores of its
     own, the production shape: docs/webhooks.md) and sent once the clock has stopped;
     what the batch pays is the outbox rows in the READY transaction;
   - everything in one process: a subscribed batch ends when every image is READY *and*
     its ``image.ready`` has reached the receiver, the deliveries running on the embedded
     webhook threads beside the processing (the embedded default on one core's worth of
     interpreter lock).

In-process: Django on the embedded defaults (SQLite in a temp dir, or PostgreSQL with a
loopback DATABASE_URL; local storage; the in-process broker and its worker threads), the
Django test client for the API; the receiver is a threaded HTTP server on 127.0.0.1 in a
process of its own (a subscriber's server is never in ours). The temp dir is removed at
the end.
"""

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script

from bench.common import (  # noqa: E402
    LOOPBACK_DB_HOSTS,
    database_url_from_env,
    tree_cpu_seconds,
)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        received, wanted, times = self.server.received, self.server.wanted, self.server.times
        with received.get_lock():
            received.value += 1
            now = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process
            if received.value == 1:
                times[0] = now
            times[1] = now
            if received.value >= wanted.value:
                self.server.reached.set()


def _serve(received, wanted, times, reached, ready) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.received, server.wanted, server.times = received, wanted, times
    server.reached = reached
    ready.send(server.server_address[1])
    server.serve_forever(0.05)


class _Receiver:
    """A threaded HTTP receiver on 127.0.0.1 in a process of its own, as a subscriber's
    server is: in the bench's process it would compete with the worker for the
    interpreter lock and charge its own work to the side that sends more (the worker).
    Forked before Django is set up; it counts what it received in shared memory and sets
    an event when the count reaches what the bench waits for, so the waiting thread sleeps
    instead of polling (a poll every millisecond would take the interpreter lock from the
    worker under test, and the bare loop's timing has no such observer)."""

    def __init__(self):
        context = multiprocessing.get_context("fork")
        self._received, self._wanted = context.Value("q", 0), context.Value("q", 0)
        self._times = context.Array("d", 2)  # first and last arrival since reset()
        self._reached = context.Event()
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(self._received, self._wanted, self._times, self._reached, theirs),
            daemon=True,
        )
        self._process.start()
        self.port = ours.recv()

    def our_cpu(self) -> float:
        """CPU seconds of this process and its children (the verification forkserver and
        its reaped children), without the receiver's: the subscriber's work is not ours."""
        return tree_cpu_seconds(os.getpid()) - tree_cpu_seconds(self._process.pid)

    @property
    def count(self) -> int:
        return self._received.value

    def reset(self) -> None:
        with self._received.get_lock():
            self._received.value = 0

    def rate(self) -> float:
        """Requests per second between the first and the last arrival since reset(): the
        same clock, at the receiver, for every sender, whatever each needs to start."""
        with self._received.get_lock():
            count, (first, last) = self._received.value, self._times[:]
        return (count - 1) / (last - first)

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._received.get_lock():  # the handler sets the event under the same lock
            self._reached.clear()
            self._wanted.value = count
            if self._received.value >= count:
                return True
        return self._reached.wait(timeout)

    def shutdown(self) -> None:
        self._process.terminate()
        self._process.join(5)


def _setup(tmp: Path, broker_url: str = ""):
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "imgwire_site.settings",
            "IMGWIRE_DATA_DIR": str(tmp / "data"),
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "IMGWIRE_KEY_PEPPER": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "testserver,127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "IMGWIRE_WEBHOOK_ALLOW_HTTP": "1",
            "IMGWIRE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "IMGWIRE_EMBEDDED_WORKER_THREADS": "2",
        }
    )
    for name in ("IMGWIRE_STORAGE_URL", "IMGWIRE_BROKER_URL"):
        os.environ.pop(name, None)
    database_url = database_url_from_env()  # loopback only; SQLite in the temp dir if unset
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    if broker_url:
        if (urlsplit(broker_url).hostname or "") not in LOOPBACK_DB_HOSTS:
            raise SystemExit("--broker-url must point at localhost/127.0.0.1 (loopback only)")
        os.environ["IMGWIRE_BROKER_URL"] = broker_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    out = io.StringIO()
    with redirect_stdout(out):
        call_command(
            "bootstrap", organization="Bench", environment="Production", email="b@example.com"
        )
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _upload_batch(client, headers, data: bytes, count: int) -> list[str]:
    from urllib.parse import urlsplit

    from django.test import Client

    ids = []
    for n in range(count):
        created = client.post(
            "/api/v1/images/standard_upload",
            {"file_name": f"b{n}.jpg", "mime_type": "image/jpeg", "content_length": len(data)},
            content_type="application/json",
            **headers,
        ).json()
        parts = urlsplit(created["upload_url"])
        put = Client().generic(
            "PUT", f"{parts.path}?{parts.query}", data, content_type="image/jpeg"
        )
        assert put.status_code == 200, put.content
        ids.append(created["image"]["id"])
    return ids


def _wait_ready(ids, timeout: float) -> None:
    from images.models import Image

    deadline = time.monotonic() + timeout
    while Image.objects.filter(id__in=ids, status="READY").count() < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit("uploads did not reach READY in time")
        time.sleep(0.005)


def bench_upload_cost(keys, receiver, batch: int, rounds: int) -> dict:
    from django.test import Client

    from environments.models import Environment
    from environments.webhooks.services import subscription_create, subscription_update
    from imgwire_site.broker import embedded_webhook_worker

    environment = Environment.objects.get(id=keys["environment_id"])
    url = f"http://127.0.0.1:{receiver.port}/hook"
    subscription, _ = subscription_create(environment=environment, url=url)
    client, data = Client(), _jpeg()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {keys['server_key']}"}
    _wait_ready(_upload_batch(client, headers, data, 5), 60)  # warm-up, subscribed
    receiver.wait_for(5, 60)
    webhooks = embedded_webhook_worker()
    times = {"without": [], "held": [], "with": []}
    cpu = {mode: [] for mode in times}
    for _ in range(rounds):
        for mode in times:
            subscription_update(subscription=subscription, enabled=mode != "without")
            if mode == "held":
                webhooks.pause()
            before = receiver.count
            started, cpu_started = time.perf_counter(), receiver.our_cpu()
            ids = _upload_batch(client, headers, data, batch)
            _wait_ready(ids, 120)
            if mode == "with" and not receiver.wait_for(before + batch, 60):
                raise SystemExit("events did not reach the receiver in time")
            times[mode].append((time.perf_counter() - started) / batch)
            cpu[mode].append((receiver.our_cpu() - cpu_started) / batch)
            if mode == "held":
                webhooks.resume()  # the held events are sent off the clock, and must arrive
                if not receiver.wait_for(before + batch, 60):
                    raise SystemExit("held events did not reach the receiver in time")
    without, held, with_ = (statistics.median(times[mode]) for mode in times)
    cpu_without, cpu_held, cpu_with = (statistics.median(cpu[mode]) for mode in cpu)
    return {
        "without_ms": without * 1000,
        "held_ms": held * 1000,
        "with_ms": with_ * 1000,
        "held_ratio": held / without,
        "ratio": with_ / without,
        "cpu_without_ms": cpu_without * 1000,
        "cpu_held_ms": cpu_held * 1000,
        "cpu_with_ms": cpu_with * 1000,
        "cpu_held_ratio": cpu_held / cpu_without,
        "cpu_ratio": cpu_with / cpu_without,
    }


def _sample_payload(keys) -> dict:
    """An ImageSchema: of a READY image, or of an upload created for the purpose (the
    production shape runs no processing)."""
    from django.test import Client

    from images.models import Image
    from images.serializers import ImageSerializer

    image = Image.objects.filter(status="READY").first()
    if image is None:
        created = (
            Client()
            .post(
                "/api/v1/images/standard_upload",
                {"file_name": "sample.jpg", "mime_type": "image/jpeg", "content_length": 1000},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {keys['server_key']}",
            )
            .json()
        )
        image = Image.objects.get(id=created["image"]["id"])
    return dict(ImageSerializer(image).data)


def _bare_posts(port: int, body: bytes, headers: dict, count: int, threads: int) -> None:
    """``count`` POSTs from ``threads`` senders in this process, a new connection each."""
    import http.client

    def sender(n: int) -> None:
        for _ in range(n):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request(
                "POST",
                "/hook",
                body=body,
                headers={"Content-Type": "application/json", "Connection": "close", **headers},
            )
            connection.getresponse().read()
            connection.close()

    senders = [threading.Thread(target=sender, args=(n,)) for n in _shares(count, threads)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()


def _shares(count: int, parts: int) -> list[int]:
    return [count // parts + (i < count % parts) for i in range(parts)]


def _bare_rate(receiver, request, count: int, processes: int, threads: int) -> float:
    """The bare loop: ``threads`` senders in this process, or in each of ``processes``
    forked ones (the production shape's peer). Timed at the receiver."""
    body, headers = request
    receiver.reset()
    if not processes:
        _bare_posts(receiver.port, body, headers, count, threads)
    else:
        context = multiprocessing.get_context("fork")
        senders = [
            context.Process(target=_bare_posts, args=(receiver.port, body, headers, n, threads))
            for n in _shares(count, processes)
        ]
        for process in senders:
            process.start()
        for process in senders:
            process.join()
    if not receiver.wait_for(count, 60):
        raise SystemExit("the bare loop's requests did not all arrive")
    return receiver.rate()


def _record_events(keys, receiver, events: int):
    """``events`` image.ready events, each in its own transaction (their messages queued),
    for the environment's one subscription (created here if the upload measure did not);
    returns the signed request of the last one, for the bare loop to send."""
    from django.db import transaction
    from django.utils import timezone

    from environments.models import Environment
    from environments.webhooks.models import Delivery, Subscription
    from environments.webhooks.services import subscription_create, webhook_event_record
    from environments.webhooks.signing import signed_request

    environment = Environment.objects.get(id=keys["environment_id"])
    if not Subscription.objects.filter(environment=environment).exists():
        subscription_create(environment=environment, url=f"http://127.0.0.1:{receiver.port}/hook")
    Subscription.objects.filter(environment=environment).update(enabled=True)
    payload = _sample_payload(keys)
    for _ in range(events):
        with transaction.atomic():
            webhook_event_record(environment=environment, type="image.ready", payload=payload)
    delivery = Delivery.objects.select_related("event", "subscription").last()
    return signed_request(delivery, timezone.now())


def _throughput(keys, receiver, events: int, rounds: int, worker, processes: int, threads: int):
    """Rounds of: ``events`` committed, delivered while ``worker()`` (a context manager) runs,
    then the bare loop with ``processes`` x ``threads`` senders; medians, at the receiver."""
    ours, bare = [], []
    for _ in range(rounds):
        request = _record_events(keys, receiver, events)
        receiver.reset()
        with worker():
            if not receiver.wait_for(events, 120):
                raise SystemExit("events did not reach the receiver in time")
            ours.append(receiver.rate())
        bare.append(_bare_rate(receiver, request, events, processes, threads))
    ours_rate, bare_rate = statistics.median(ours), statistics.median(bare)
    return {"ours": ours_rate, "bare": bare_rate, "ratio": ours_rate / bare_rate}


def bench_throughput(keys, receiver, events: int, rounds: int, threads: int) -> dict:
    """The embedded shape: the events are committed (their messages queued) first, then a
    worker with ``threads`` threads starts in this process, against ``threads`` bare
    senders in this process. Both timed at the receiver, first arrival to last."""
    import dramatiq

    from imgwire_site.broker import broker, stop_worker

    @contextlib.contextmanager
    def worker():
        running = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=20)
        running.start()
        try:
            yield
        finally:
            stop_worker(running)

    return _throughput(keys, receiver, events, rounds, worker, 0, threads)


def bench_throughput_processes(keys, receiver, events: int, rounds: int, processes: int) -> dict:
    """The production shape (docs/webhooks.md): the events are committed with their
    messages in the real broker, then ``dramatiq imgwire_site.worker --queues <webhooks>``
    with ``processes`` processes of one thread each delivers them, against ``processes``
    forked bare senders. Timed at the receiver, so the workers' start-up is not counted."""
    import signal
    import subprocess

    from environments.webhooks.tasks import WEBHOOKS_QUEUE
    from imgwire_site.broker import broker

    broker.flush_all()
    dramatiq_bin = Path(sys.executable).parent / "dramatiq"
    argv = [str(dramatiq_bin), "imgwire_site.worker", "--queues", WEBHOOKS_QUEUE]
    argv += ["--processes", str(processes), "--threads", "1"]

    @contextlib.contextmanager
    def worker():
        running = subprocess.Popen(argv, cwd=ROOT, env=dict(os.environ), start_new_session=True)
        try:
            yield
        finally:
            os.killpg(running.pid, signal.SIGTERM)
            running.wait(30)

    return _throughput(keys, receiver, events, rounds, worker, processes, 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="worker threads = senders")
    parser.add_argument(
        "--broker-url",
        default="",
        help="the production shape: throughput only, through this loopback Redis or "
        "RabbitMQ, with --processes worker processes (1 thread each) against as many "
        "bare sender processes",
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-webhooks-"))
    receiver = _Receiver()
    cost = None
    try:
        keys = _setup(tmp, args.broker_url)
        if args.broker_url:
            rate = bench_throughput_processes(
                keys, receiver, args.events, args.rounds, args.processes
            )
        else:
            from imgwire_site.broker import start_embedded_worker, stop_embedded_worker

            start_embedded_worker()
            try:
                cost = bench_upload_cost(keys, receiver, args.batch, args.rounds)
            finally:
                stop_embedded_worker()
            rate = bench_throughput(keys, receiver, args.events, args.rounds, args.threads)
    finally:
        receiver.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.markdown:
        shape = (
            f"{args.processes} worker processes x 1 thread vs {args.processes} sender processes"
            if args.broker_url
            else f"{args.threads} worker threads vs {args.threads} sender threads"
        )
        print("| measure | Imgwire | peer | ratio | aim |")
        print("|---|---|---|---|---|")
        print(
            f"| events, commit → receiver (per s; {shape}) | {rate['ours']:.0f} | "
            f"{rate['bare']:.0f} (bare POST loop) | **{rate['ratio']:.2f}** | ≥ 0.5 |"
        )
        if cost is None:
            return 0
        print(
            f"| standard_upload + PUT + READY (ms per image), deliveries held | "
            f"{cost['held_ms']:.1f} (subscribed) | {cost['without_ms']:.1f} (no subscription) | "
            f"**{cost['held_ratio']:.2f}x** | ≤ 1.1x |"
        )
        print(
            f"| ... until the receiver has each event, deliveries in this process | "
            f"{cost['with_ms']:.1f} (subscribed) | {cost['without_ms']:.1f} (no subscription) | "
            f"**{cost['ratio']:.2f}x** | (context) |"
        )
        print(
            f"| CPU per image (this process tree, not the receiver's), deliveries held | "
            f"{cost['cpu_held_ms']:.1f} | {cost['cpu_without_ms']:.1f} | "
            f"**{cost['cpu_held_ratio']:.2f}x** | ≤ 1.1x |"
        )
        print(
            f"| ... deliveries in this process | {cost['cpu_with_ms']:.1f} | "
            f"{cost['cpu_without_ms']:.1f} | **{cost['cpu_ratio']:.2f}x** | (context) |"
        )
    else:
        print(json.dumps({"throughput": rate, "upload_cost": cost}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
