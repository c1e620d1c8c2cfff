#!/usr/bin/env python
"""ImageKit upload API benchmarks (issue #14): ``.venv/bin/python bench/imagekit.py``.

Against a live granian (the embedded defaults: SQLite, local storage, the in-process broker,
in a fresh temp dir), each measured against a floor taken in the same run:

1. ``POST /imagekit/api/v1/files/upload`` of a 2 MB JPEG, shaped as imagekitio sends it
   (multipart: the file part, ``fileName``; Basic auth with the signing secret), against
   ``standard_upload`` + ``PUT upload_url`` of the same file with the Server key; uploads per
   second in interleaved rounds (bench/rounds.py), each round's verification drained before
   the next. An ImageKit answer waits for verification (its width and height are in it), so
   the like-for-like floor also polls ``GET /api/v1/images/{id}`` until READY; the bare
   create + PUT is reported beside it.
2. ``GET /api/v1/images/?tag=sale`` against ``GET /api/v1/images/`` (first page, newest
   first) in an environment of 100 000 images, every tenth tagged ``sale``; the tag query's
   SQLite plan is printed, showing the ImageTag index it reads.

Prints a Markdown table (docs/benchmarks.md, "ImageKit upload API"). Everything is on
127.0.0.1; the temp dir and the server are removed at the end, also on failure or Ctrl-C.
Every loop is bounded in count and time.
"""

import argparse
import base64
import datetime
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.common import (
    BenchError,
    Deadline,
    Server,
    api_headers,
    base_env,
    raise_on_termination,
    run_manage,
    versions,
)
from bench.rounds import Refused, answer, rounds, statuses
from bench.uploadcare import make_jpeg
from bench.uploads import UPLOAD_PATH

FILE_NAME = "photo.jpg"
BOUNDARY = "imgwire-bench-ik-5b2e"
IMAGEKIT_PATH = "/imagekit/api/v1/files/upload"
POLL_SECONDS = 0.02  # the floor's client polls as often as the ImageKit view checks first
TAG = "sale"
RARE = "rare"  # on one image in a thousand: the plan must not walk the newest images

SEED = """
import uuid
from django.utils import timezone
from environments.models import Environment
from images.models import Image, ImageStatus, ImageTag
environment = Environment.objects.get(id={environment!r})
total, every, batch = {total}, {every}, 5000
for start in range(0, total, batch):
    now = timezone.now()
    rows = [
        Image(
            id=uuid.uuid4(), environment=environment, original_filename=f"seed-{{n}}.jpg",
            extension="jpg", mime_type="image/jpeg", status=ImageStatus.READY, width=10,
            height=10, size_bytes=1000, file_name=f"seed-{{n}}.jpg",
            tags=([{tag!r}] if n % every == 0 else []) + ([{rare!r}] if n % 1000 == 7 else []),
        )
        for n in range(start, min(total, start + batch))
    ]
    Image.objects.bulk_create(rows)
    created = {{row.id: row for row in Image.objects.filter(id__in=[r.id for r in rows])}}
    ImageTag.objects.bulk_create(
        [
            ImageTag(environment=environment, image_id=row.id, name=name,
                     image_created_at=created[row.id].created_at)
            for row in rows for name in row.tags
        ]
    )
"""

PLAN = """
from django.db import connection
from environments.models import Environment
from images.models import ImageTag
environment = Environment.objects.get(id={environment!r})
# What GET /api/v1/images/?tag= reads (images/api_library.py tag_page_source).
query = ImageTag.objects.page_of(environment, {tag!r}).values_list("image_id", flat=True)[:20]
sql, params = query.query.sql_with_params()
with connection.cursor() as cursor:
    cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
    for row in cursor.fetchall():
        print(row[-1])
"""


def upload_body(jpeg: bytes) -> tuple[bytes, str]:
    """The multipart form imagekitio's ``files.upload(file=…, file_name=…)`` posts."""
    out = io.BytesIO()
    out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fileName"\r\n\r\n'.encode())
    out.write(f"{FILE_NAME}\r\n".encode())
    out.write(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{FILE_NAME}"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
    )
    out.write(jpeg)
    out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={BOUNDARY}"


def bench_upload(web, keys, jpeg, args, deadline, db) -> dict:
    body, content_type = upload_body(jpeg)
    basic = base64.b64encode(f"{keys['signing_secret']}:do_not_set".encode()).decode()
    imagekit_headers = {"Content-Type": content_type, "Authorization": f"Basic {basic}"}
    create = json.dumps({"file_name": FILE_NAME, "content_length": len(jpeg)}).encode()
    headers = api_headers(keys["server_key"])

    def imagekit(conn):
        uploaded = json.loads(answer(conn, "POST", IMAGEKIT_PATH, body, imagekit_headers))
        if uploaded.get("width") is None:
            raise Refused(f"answered before READY: {uploaded}")

    def put(conn) -> str:
        created = json.loads(answer(conn, "POST", UPLOAD_PATH, create, headers))
        url = urlsplit(created["upload_url"])
        answer(conn, "PUT", f"{url.path}?{url.query}", jpeg, {"Content-Type": "image/jpeg"})
        return created["image"]["id"]

    def put_ready(conn):
        image_id = put(conn)
        limit = Deadline(60)
        while not limit.expired():
            image = json.loads(answer(conn, "GET", f"/api/v1/images/{image_id}", None, headers))
            if image["status"] == "READY":
                return
            time.sleep(POLL_SECONDS)
        raise Refused(f"{image_id} not READY within 60 s")

    ops = {"put": put, "put_ready": put_ready, "imagekit": imagekit}
    per_round = max(1, args.uploads // args.rounds)
    out = rounds(web, ops, per_round, args.warmup, args, deadline, db)
    out["ratio_ready"] = out["imagekit"]["rps"] / out["put_ready"]["rps"]
    out["ratio_put"] = out["imagekit"]["rps"] / out["put"]["rps"]
    out["statuses"] = statuses(db)
    return out


def bench_listing(web, keys, env, args, deadline) -> dict:
    environment = keys["environment_id"]
    script = SEED.format(environment=environment, total=args.images, every=10, tag=TAG, rare=RARE)
    print(f"[bench] seeding {args.images} images", file=sys.stderr, flush=True)
    run_manage(["shell", "-c", script], env, deadline)
    plan = run_manage(["shell", "-c", PLAN.format(environment=environment, tag=TAG)], env, deadline)
    headers = api_headers(keys["server_key"])

    def listing(path):
        def op(conn):
            page = json.loads(answer(conn, "GET", path, None, headers))
            items = page if isinstance(page, list) else page.get("results", page.get("items"))
            if not items:
                raise Refused(f"{path}: an empty page")

        return op

    ops = {
        "plain": listing("/api/v1/images/"),
        "tag": listing(f"/api/v1/images/?tag={TAG}"),
        "rare": listing(f"/api/v1/images/?tag={RARE}"),
    }
    out = rounds(web, ops, max(1, args.lists // args.rounds), 20, args, deadline, None)
    out["ratio"] = out["tag"]["p50_ms"] / out["plain"]["p50_ms"]
    out["rps_ratio"] = out["plain"]["rps"] / out["tag"]["rps"]
    out["rare_ratio"] = out["rare"]["p50_ms"] / out["plain"]["p50_ms"]
    out["plan"] = [line for line in plan.strip().splitlines() if "imported" not in line]
    return out


def rps(r: dict, unit: str = "req/s") -> str:
    return f"{r['rps']:.1f} {unit} (p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms)"


def report(meta, up, listing) -> str:
    mb = meta["jpeg_bytes"] / 1e6
    lines = [
        "| Measurement | Floor | Imgwire | Ratio |",
        "|---|---|---|---|",
        f"| ImageKit upload of a {mb:.1f} MB JPEG (answered READY) vs `standard_upload` + `PUT` "
        f"+ polling until READY, uploads/s ({up['imagekit']['ok']} each) | "
        f"{rps(up['put_ready'], 'uploads/s')} | {rps(up['imagekit'], 'uploads/s')} | "
        f"{up['ratio_ready']:.2f} |",
        f"| (context) vs `standard_upload` + `PUT` alone (answered before verification) | "
        f"{rps(up['put'], 'uploads/s')} | {rps(up['imagekit'], 'uploads/s')} | "
        f"{up['ratio_put']:.2f} |",
        "| ... server CPU per upload, request + its verification (lower is better) | "
        f"{up['put_ready']['cpu_ms']:.1f} ms | {up['imagekit']['cpu_ms']:.1f} ms | "
        f"{up['put_ready']['cpu_ms'] / up['imagekit']['cpu_ms']:.2f} (floor / ImageKit) |",
        f"| `GET /api/v1/images/?tag={TAG}` vs `GET /api/v1/images/` at {meta['images']:,} "
        f"images (1 in 10 tagged), first page | {rps(listing['plain'])} | "
        f"{rps(listing['tag'])} | {listing['ratio']:.2f}x p50 "
        f"({listing['rps_ratio']:.2f}x req/s) |",
        f"| `GET /api/v1/images/?tag={RARE}` (1 in 1000 tagged) vs the same plain listing | "
        f"{rps(listing['plain'])} | {rps(listing['rare'])} | {listing['rare_ratio']:.2f}x p50 |",
        "",
        "The tag queries' plans (SQLite `EXPLAIN QUERY PLAN`, `sale` then `rare`):",
        "",
        "```",
        *listing["plan"],
        "```",
        "",
        f"Setup ({meta['when']}): {meta['cpus']} CPUs, {meta['platform']}, Python "
        f"{meta['python']}, Django {meta['django']}, granian {meta['granian']} "
        f"(`--workers {meta['workers']} --blocking-threads {meta['threads']}`, as `make run`), "
        "DEBUG=false, SQLite, local-folder storage, embedded broker, all in a temp dir; "
        f"{meta['clients']} keep-alive client threads, {meta['rounds']} interleaved rounds; "
        f"{meta['uploads']} uploads and {meta['lists']} listings per side; load average before "
        f"the run {meta['load']}; after the upload rounds the images were "
        f"{', '.join(f'{n} {status}' for status, n in up['statuses'].items())}.",
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=200, help="per side (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="uploads per side (default 10)")
    parser.add_argument("--lists", type=int, default=1000, help="per side (default 1000)")
    parser.add_argument("--images", type=int, default=100_000, help="default 100000")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="granian workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="blocking threads (default 4)")
    parser.add_argument("--jpeg-bytes", type=int, default=2_000_000, help="default 2 MB")
    parser.add_argument("--drain-wait", type=float, default=120.0, help="seconds, per round")
    parser.add_argument("--time-limit", type=float, default=1500.0, help="overall seconds")
    args = parser.parse_args(argv)
    for name in ("uploads", "warmup", "lists", "images", "clients", "rounds", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    deadline = Deadline(args.time_limit)
    raise_on_termination()
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-ik-"))
    web = None
    try:
        env = base_env(tmp, "")  # the embedded defaults only
        setup = {**env, "IMGWIRE_PUBLIC_URL": "http://127.0.0.1:8000"}
        print(f"[bench] temp dir {tmp}; migrating", file=sys.stderr, flush=True)
        run_manage(["migrate", "--noinput", "-v", "0"], setup, deadline)
        boot = ["bootstrap", "--organization", "Bench", "--environment", "Production"]
        output = run_manage([*boot, "--email", "bench@example.com"], setup, deadline)
        keys = json.loads(output.strip().splitlines()[-1])
        jpeg = make_jpeg(args.jpeg_bytes)
        db = tmp / "data" / "imgwire.sqlite3"
        load_avg = "/".join(f"{value:.1f}" for value in os.getloadavg())
        web = Server(
            env, tmp, workers=args.workers, threads=args.threads, name="web", kind="granian"
        )
        web.start(deadline)
        print("[bench] 1/2 ImageKit upload vs standard_upload + PUT", file=sys.stderr, flush=True)
        up = bench_upload(web, keys, jpeg, args, deadline, db)
        print("[bench] 2/2 listing by tag", file=sys.stderr, flush=True)
        listing = bench_listing(web, keys, setup, args, deadline)
        meta = {
            "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            **versions(),
            "workers": args.workers,
            "threads": args.threads,
            "clients": args.clients,
            "rounds": args.rounds,
            "uploads": args.uploads,
            "lists": args.lists,
            "images": args.images,
            "jpeg_bytes": len(jpeg),
            "load": load_avg,
        }
        print(report(meta, up, listing))
        return 0
    except (BenchError, Refused) as exc:
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
