#!/usr/bin/env python
"""Signed delivery URLs (issue #14): ``.venv/bin/python bench/private_delivery.py``.

Against a live granian (the embedded defaults: SQLite, local storage, in a fresh temp dir):
a **warm cache hit** of a signed URL (``?width=320&ik-t=…&ik-s=…``, ImageKit's scheme, of a
private image) against a warm hit of the same variant's unsigned URL (a public copy of the
same bytes), req/s from ``--clients`` keep-alive threads in interleaved rounds, so drift in
the machine's load hits both alike. Aim: signed / unsigned >= 0.9. Prints a Markdown table
(docs/benchmarks.md, "Private images and signed URLs").

Everything is on 127.0.0.1; the temp dir and the server are removed at the end, also on
failure or Ctrl-C. Every loop is bounded in count and time.
"""

import argparse
import datetime
import hashlib
import hmac
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BenchError,
    Deadline,
    Server,
    base_env,
    bootstrap,
    raise_on_termination,
    run_manage,
    versions,
)
from bench.delivery import get_ok, load, percentile, upload, wait_ready


def sign_url(url: str, *, endpoint: str, secret: str, expires_in: int) -> str:
    """ImageKit's URL signature (docs/delivery.md), written out: the bench process has no
    Django, which images.delivery.signing needs."""
    expiry = int(time.time()) + expires_in
    text = url.removeprefix(endpoint + "/") + str(expiry)
    signature = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return f"{url}{'&' if '?' in url else '?'}ik-t={expiry}&ik-s={signature}"


SETUP = """
from images.models import Image
from keys.signing import signing_secret_reveal
image = Image.objects.get(id={private!r})
Image.objects.filter(id=image.id).update(is_private=True)
print(signing_secret_reveal(environment=image.environment))
"""


def jpeg(path: Path) -> None:
    from PIL import Image

    picture = Image.radial_gradient("L").resize((1600, 1200)).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())


def bench_hits(web: Server, paths: dict, args, deadline: Deadline) -> dict:
    results: dict[str, list[float]] = {name: [] for name in paths}
    latencies: dict[str, list[float]] = {name: [] for name in paths}
    for name, path in paths.items():  # warm: rendered once, cached from then on
        get_ok(web.port, path, f"{name} warm-up")
        load(web.port, lambda i, p=path: p, args.requests // 4, args.clients, deadline)
    for round_number in range(args.rounds):
        order = list(paths) if round_number % 2 == 0 else list(reversed(paths))
        for name in order:
            run = load(web.port, lambda i, p=paths[name]: p, args.requests, args.clients, deadline)
            if run["errors"]:
                raise BenchError(f"{name}: {run['errors']} errors, first: {run['first_error']}")
            results[name].append(len(run["latencies"]) / run["wall"])
            latencies[name].extend(run["latencies"])
    return {
        name: {
            "rps": statistics.median(results[name]),
            "p50": percentile(sorted(latencies[name]), 0.5) * 1000,
            "p95": percentile(sorted(latencies[name]), 0.95) * 1000,
        }
        for name in paths
    }


def report(meta: dict, hits: dict) -> str:
    ratio = hits["signed"]["rps"] / hits["unsigned"]["rps"]
    lines = [
        f"Run {meta['when']} on {meta['cpus']} CPUs ({meta['platform']}, Python "
        f"{meta['python']}), granian --workers {meta['workers']}, {meta['clients']} keep-alive "
        f"clients, {meta['rounds']} interleaved rounds of {meta['requests']} requests, load "
        f"average {meta['load']}.",
        "",
        "| warm hit of `?width=320` | req/s (median of rounds) | p50 ms | p95 ms |",
        "|---|---|---|---|",
    ]
    labels = (
        ("unsigned", "unsigned, public image"),
        ("signed_public", "signed, public image"),
        ("signed", "signed, private image"),
    )
    for name, label in labels:
        row = hits[name]
        lines.append(f"| {label} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p95']:.2f} |")
    public = hits["signed_public"]["rps"] / hits["unsigned"]["rps"]
    lines += [
        "",
        f"signed private / unsigned = **{ratio:.2f}** (aim >= 0.9); "
        f"signed public / unsigned = {public:.2f}",
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=600.0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    deadline = Deadline(args.time_limit)
    raise_on_termination()
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-private-"))
    web = None
    try:
        env = base_env(tmp, "")
        print(f"[bench] temp dir {tmp}; migrating", file=sys.stderr, flush=True)
        server_key = bootstrap(env, deadline)
        source = tmp / "photo.jpg"
        jpeg(source)
        web = Server(env, tmp, workers=args.workers, threads=args.threads, name="web",
                     kind="granian")  # fmt: skip
        web.start(deadline)
        ids = [upload(web.port, server_key, source, "image/jpeg") for _ in range(2)]
        cdn = wait_ready(web.port, server_key, ids, deadline)
        public, private = ids
        secret = run_manage(["shell", "-c", SETUP.format(private=private)], env, deadline)
        secret = secret.strip().splitlines()[-1]
        private_path = cdn[private]
        signed = sign_url(
            f"{private_path}?width=320",
            endpoint=private_path.rsplit("/", 1)[0],
            secret=secret,
            expires_in=86400,
        )
        public_signed = sign_url(
            f"{cdn[public]}?width=320",
            endpoint=cdn[public].rsplit("/", 1)[0],
            secret=secret,
            expires_in=86400,
        )
        paths = {
            "unsigned": f"{cdn[public]}?width=320",
            "signed": signed,
            "signed_public": public_signed,
        }
        print("[bench] warm hits, signed vs unsigned", file=sys.stderr, flush=True)
        hits = bench_hits(web, paths, args, deadline)
        meta = {
            "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            **versions(),
            "workers": args.workers,
            "clients": args.clients,
            "rounds": args.rounds,
            "requests": args.requests,
            "load": "/".join(f"{value:.1f}" for value in os.getloadavg()),
        }
        print(report(meta, hits))
        print(json.dumps({"ratio": hits["signed"]["rps"] / hits["unsigned"]["rps"]}))
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        if web is not None and web.log_path.exists():
            print(f"--- granian log (tail) ---\n{web.log_tail()}", file=sys.stderr)
        return 1
    finally:
        if web is not None:
            web.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
