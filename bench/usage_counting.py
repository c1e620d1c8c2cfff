#!/usr/bin/env python
"""What counting one delivery request costs in the web process, per counting store.

Calls ``metrics.usage.record_delivery`` N times in a loop for each store (memory, Redis,
the spool folder) and reports wall and CPU microseconds per call. The background flusher
is not started: this is the per-request part only. The full-server comparison (req/s with
counting on and off) is bench/metrics.py --broker.

Usage: .venv/bin/python bench/usage_counting.py [--redis URL] [--calls N]
(the Redis URL must be on loopback; its keys imgwire:usage:* are deleted afterwards).
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    if urlsplit(args.redis).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("--redis must point at loopback")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["IMGWIRE_DATA_DIR"] = tempfile.mkdtemp(prefix="imgwire-bench-usage-")
    import django

    django.setup()
    from django.conf import settings

    from metrics import usage

    usage._ensure_flusher = lambda: None  # per-request cost only: no merging thread
    environment = str(uuid.uuid4())
    stores = {
        "memory": "",
        "redis": args.redis,
        "spool": "amqp://guest:guest@127.0.0.1:5672/%2F",  # chooses the spool; never dialled
    }
    print("| store | wall µs per request | CPU µs per request |\n|---|---|---|")
    for name, url in stores.items():
        settings.IMGWIRE_BROKER_URL = url
        usage.record_delivery(environment, bytes_sent=1, cache_hit=True, rendered=False)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.calls):
            usage.record_delivery(environment, bytes_sent=1234, cache_hit=True, rendered=False)
        wall = (time.perf_counter() - wall) / args.calls * 1e6
        cpu = (time.process_time() - cpu) / args.calls * 1e6
        print(f"| {name} | {wall:.1f} | {cpu:.1f} |")
        usage.discard_pending()
    return 0


if __name__ == "__main__":
    sys.exit(main())
