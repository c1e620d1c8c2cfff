#!/usr/bin/env python
"""Webhook benchmarks (issue #16): ``.venv/bin/python bench/webhooks.py [--markdown]``.

Two ratios, each against a peer measured in the same run (the machines are noisy):

1. Event throughput, commit → receiver: N events recorded each in its own transaction (the
   outbox rows) and delivered by the worker (claim, sign, POST through the SSRF-safe
   sender, record the attempt), against a bare loop POSTing the same body with the same
   headers to the same loopback receiver (a new connection each, as the sender makes).
   The events are committed first; the clock runs from the worker's start until the
   receiver has them all. The worker has as many threads as the bare loop has senders
   (``--threads``, 2: the embedded default). Aim ≥ 0.5.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script

from bench.common import database_url_from_env, tree_cpu_seconds  # noqa: E402


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with self.server.received.get_lock():
            self.server.received.value += 1


def _serve(received, ready) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.received = received
    ready.send(server.server_address[1])
    server.serve_forever(0.05)


class _Receiver:
    """A threaded HTTP receiver on 127.0.0.1 in a process of its own, as a subscriber's
    server is: in the bench's process it would compete with the worker for the
    interpreter lock and charge its own work to the side that sends more (the worker).
    Forked before Django is set up; it counts what it received in shared memory."""

    def __init__(self):
        context = multiprocessing.get_context("fork")
        self._received = context.Value("q", 0)
        ours, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(self._received, theirs), daemon=True)
        self._process.start()
        self.port = ours.recv()

    def our_cpu(self) -> float:
        """CPU seconds of this process and its children (the verification forkserver and
        its reaped children), without the receiver's: the subscriber's work is not ours."""
        return tree_cpu_seconds(os.getpid()) - tree_cpu_seconds(self._process.pid)

    @property
    def count(self) -> int:
        return self._received.value

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def shutdown(self) -> None:
        self._process.terminate()
        self._process.join(5)


def _setup(tmp: Path):
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
    from images.models import Image
    from images.serializers import ImageSerializer

    return dict(ImageSerializer(Image.objects.filter(status="READY").first()).data)


def _bare_posts(port: int, body: bytes, headers: dict, count: int, threads: int) -> float:
    """``count`` POSTs from ``threads`` senders, a new connection each; returns seconds."""
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

    shares = [count // threads + (i < count % threads) for i in range(threads)]
    started = time.perf_counter()
    senders = [threading.Thread(target=sender, args=(n,)) for n in shares]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    return time.perf_counter() - started


def bench_throughput(keys, receiver, events: int, rounds: int, threads: int) -> dict:
    """From commit: the events are committed (their messages queued) first, then a worker
    with ``threads`` threads starts and the clock runs until the receiver has them all."""
    import dramatiq
    from django.db import transaction
    from django.utils import timezone

    from environments.models import Environment
    from environments.webhooks.models import Delivery, Subscription
    from environments.webhooks.services import webhook_event_record
    from environments.webhooks.signing import signed_request
    from imgwire_site.broker import broker, stop_worker

    environment = Environment.objects.get(id=keys["environment_id"])
    Subscription.objects.filter(environment=environment).update(enabled=True)
    payload, port = _sample_payload(keys), receiver.port
    ours, bare = [], []
    for _ in range(rounds):
        for _ in range(events):
            with transaction.atomic():
                webhook_event_record(environment=environment, type="image.ready", payload=payload)
        before = receiver.count
        started = time.perf_counter()
        worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=20)
        worker.start()
        try:
            if not receiver.wait_for(before + events, 120):
                raise SystemExit("events did not reach the receiver in time")
            ours.append(events / (time.perf_counter() - started))
        finally:
            stop_worker(worker)
        delivery = Delivery.objects.select_related("event", "subscription").last()
        body, headers = signed_request(delivery, timezone.now())
        bare.append(events / _bare_posts(port, body, headers, events, threads))
    ours_rate, bare_rate = statistics.median(ours), statistics.median(bare)
    return {"ours": ours_rate, "bare": bare_rate, "ratio": ours_rate / bare_rate}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="worker threads = senders")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-webhooks-"))
    receiver = _Receiver()
    try:
        keys = _setup(tmp)
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
        print("| measure | Imgwire | peer | ratio | aim |")
        print("|---|---|---|---|---|")
        print(
            f"| events, commit → receiver (per s) | {rate['ours']:.0f} | "
            f"{rate['bare']:.0f} (bare POST loop) | **{rate['ratio']:.2f}** | ≥ 0.5 |"
        )
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
