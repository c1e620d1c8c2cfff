#!/usr/bin/env python
"""What counting delivery usage costs, and how fast the metrics endpoints answer.

1. Delivery requests/s of one cached variant with counting on against the same server
   with counting off (IMGWIRE_USAGE_COUNTING=false), interleaved rounds, same database.
2. ``GET /api/v1/metrics/datasets`` and ``/stats`` latency for 90 days HOURLY over
   10 million counted delivery events (2160 hourly rows) and 10 000 READY images.

Usage: .venv/bin/python bench/metrics.py [--markdown] [--requests N] [--broker URL]
"""

import argparse
import http.client
import io
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    HOST,
    Deadline,
    Server,
    api_headers,
    base_env,
    bootstrap,
    database_url_from_env,
    request,
    run_manage,
)

SEED = """
import random
from datetime import UTC, datetime, timedelta
from environments.models import Environment
from images.models import Image
from metrics.models import DeliveryUsageHour
environment = Environment.objects.get()
end = datetime(2026, 11, 1, tzinfo=UTC)
start = end - timedelta(days=90)
hours = [start + timedelta(hours=h) for h in range(90 * 24)]
per_hour = 10_000_000 // len(hours) + 1
DeliveryUsageHour.objects.bulk_create(
    [DeliveryUsageHour(environment=environment, hour=h, requests=per_hour,
                       transfer_bytes=per_hour * 20_000, cache_hits=per_hour * 9 // 10,
                       transformations=per_hour // 10) for h in hours], batch_size=1000)
rng = random.Random(0)
Image.objects.bulk_create(
    [Image(environment=environment, original_filename=f"{i}.jpg", extension="jpg",
           mime_type="image/jpeg", status="READY", size_bytes=rng.randrange(10**4, 10**7),
           processed_metadata_at=start + timedelta(seconds=rng.randrange(90 * 86400)))
     for i in range(10_000)], batch_size=1000)
print(sum(DeliveryUsageHour.objects.values_list("requests", flat=True)))
"""


def get_load(port: int, path: str, headers: dict, total: int, clients: int) -> dict:
    """``total`` GETs from ``clients`` keep-alive connections; req/s and latencies."""
    lock = threading.Lock()
    issued = [0]
    latencies: list[float] = []
    errors = [0]

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine = []
        while True:
            with lock:
                if issued[0] >= total:
                    break
                issued[0] += 1
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                with lock:
                    errors[0] += 1
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "errors": errors[0],
    }


def upload_one(port: int, key: str) -> dict:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 200)).save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    _, body = request(
        port,
        "POST",
        "/api/v1/images/standard_upload",
        json.dumps({"file_name": "a.jpg", "content_length": len(data)}),
        api_headers(key),
    )
    created = json.loads(body)
    path = created["upload_url"].split(f"{port}", 1)[1]
    request(port, "PUT", path, data, {"Content-Type": "image/jpeg"})
    for _ in range(200):
        _, body = request(
            port, "GET", f"/api/v1/images/{created['image']['id']}", headers=api_headers(key)
        )
        image = json.loads(body)
        if image["status"] == "READY":
            return image
        time.sleep(0.05)
    raise SystemExit(f"the image did not become READY: {image['status']}")


def timed_gets(port: int, path: str, headers: dict, count: int) -> dict:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        status, _ = request(port, "GET", path, headers=headers)
        samples.append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
    samples.sort()
    return {
        "p50_ms": statistics.median(samples) * 1000,
        "p95_ms": samples[int(len(samples) * 0.95)] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--broker",
        default="",
        help="IMGWIRE_BROKER_URL of both servers (redis://… counts in Redis, amqp://… in "
        "the spool folder; empty: in memory). Nothing is sent to it but counts.",
    )
    args = parser.parse_args()
    deadline = Deadline(900)
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-metrics-"))
    servers = []
    try:
        env = base_env(tmp, database_url_from_env())
        key = bootstrap(env, deadline)
        on = Server(
            {**env, "IMGWIRE_USAGE_COUNTING": "true", "IMGWIRE_BROKER_URL": args.broker},
            tmp,
            workers=2,
            threads=4,
            name="counting-on",
        )
        off = Server(
            {**env, "IMGWIRE_USAGE_COUNTING": "false", "IMGWIRE_BROKER_URL": args.broker},
            tmp,
            workers=2,
            threads=4,
            name="counting-off",
        )
        # Both sides run on the same --broker, so they differ only by counting. The upload is
        # verified by a short-lived server on the embedded broker (no worker needed).
        uploader = Server(env, tmp, workers=1, threads=2, name="uploader")
        servers = [on, off, uploader]
        for server in servers:
            server.start(deadline)
        image = upload_one(uploader.port, key)
        uploader.stop()
        path = "/cdn/" + image["cdn_url"].split("/cdn/", 1)[1] + "?width=200&format=jpg"
        for server in (on, off):  # render once, warm both
            get_load(server.port, path, {}, 50, 2)
        results = {"on": [], "off": []}
        for round_number in range(args.rounds):
            # Alternate which side goes first: the machine drifts during a run.
            order = ("off", "on") if round_number % 2 == 0 else ("on", "off")
            for side in order:
                port = (off if side == "off" else on).port
                results[side].append(get_load(port, path, {}, args.requests, 4))
        summary = {
            side: {
                "rps": statistics.median(r["rps"] for r in runs),
                "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                "p95_ms": statistics.median(r["p95_ms"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
            }
            for side, runs in results.items()
        }
        counted = run_manage(["shell", "-c", SEED], env, deadline).strip().splitlines()[-1]
        query = (
            "interval=HOURLY&tz=Europe/Berlin&date_start=2026-08-03T00:00:00Z"
            "&date_end=2026-11-01T00:00:00Z"
        )
        datasets = timed_gets(on.port, f"/api/v1/metrics/datasets?{query}", api_headers(key), 30)
        stats = timed_gets(on.port, f"/api/v1/metrics/stats?{query}", api_headers(key), 30)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = summary["on"]["rps"] / summary["off"]["rps"]
    lines = [
        "| Measurement | Counting off (floor) | Counting on | Ratio |",
        "|---|---|---|---|",
        f"| Delivery of a cached variant, req/s (median of {args.rounds} rounds x "
        f"{args.requests}) | {summary['off']['rps']:.0f} (p50 {summary['off']['p50_ms']:.1f} ms,"
        f" p95 {summary['off']['p95_ms']:.1f} ms) | {summary['on']['rps']:.0f} (p50 "
        f"{summary['on']['p50_ms']:.1f} ms, p95 {summary['on']['p95_ms']:.1f} ms) | "
        f"{ratio:.2f} |",
        "",
        f"| Endpoint, 90 days HOURLY (2160 buckets) over {int(counted):,} counted events and "
        "10 000 images | p50 | p95 |",
        "|---|---|---|",
        f"| `GET /api/v1/metrics/datasets` | {datasets['p50_ms']:.0f} ms | "
        f"{datasets['p95_ms']:.0f} ms |",
        f"| `GET /api/v1/metrics/stats` | {stats['p50_ms']:.0f} ms | {stats['p95_ms']:.0f} ms |",
    ]
    errors = summary["on"]["errors"] + summary["off"]["errors"]
    print("\n".join(lines))
    print(
        f"\nerrors: {errors}; database: {env.get('DATABASE_URL') or 'SQLite'}; "
        f"counting in: {args.broker.split(':', 1)[0] or 'memory'}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
