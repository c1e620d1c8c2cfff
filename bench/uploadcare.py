#!/usr/bin/env python
"""Uploadcare Upload API benchmarks (issue #13): ``.venv/bin/python bench/uploadcare.py``.

Against a live granian (the embedded defaults: SQLite, local storage, the in-process broker,
in a fresh temp dir), each measured against a floor taken in the same run:

1. ``POST /uploadcare/base/`` of a 2 MB JPEG, shaped as pyuploadcare sends it (multipart
   form: ``UPLOADCARE_STORE=auto``, ``UPLOADCARE_PUB_KEY``, ``expire``, ``signature``, the
   file part named by its basename), against ``standard_upload`` + ``PUT upload_url`` of the
   same file with the same Client key: uploads per second in interleaved rounds
   (bench/rounds.py), each round's verification drained before the next, and the server's
   CPU per upload (verification included, then the web processes' own share).
2. A multipart upload (``multipart/start/``, 5 MiB parts PUT 4 at a time as upload-client
   does, ``multipart/complete/``) of the largest file a Client key may take (100 MiB, the
   product's cap; the bench raises the key's ``maximum_upload_bytes`` to it) against
   ``shutil.copyfile`` of the same bytes, with each web process's peak RSS growth
   (VmHWM, reset just before).
3. ``GET /uploadcare/from_url/status/`` polls against the authenticated no-op DRF view
   ``GET /api/v1/_bench/ping`` (bench.settings, with the Server key) on the same server,
   for a token whose fetch succeeded (the file info) and one whose fetch failed.

Prints a Markdown table (docs/benchmarks.md, "Uploadcare upload API"). Only the embedded
defaults are measured: DATABASE_URL is not used (the backlog is read from the SQLite file).

Everything is on 127.0.0.1; the temp dir and the server are removed at the end, also on
failure or Ctrl-C. Every loop is bounded in count and time.
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import http.server
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.common import (
    HOST,
    BenchError,
    Deadline,
    MiB,
    Server,
    api_headers,
    base_env,
    proc_status_kib,
    raise_on_termination,
    request,
    reset_peak_rss,
    run_manage,
    versions,
)
from bench.rounds import Refused, answer, drain, rounds, statuses
from bench.uploads import PING_PATH, UPLOAD_PATH, copy_once

FILE_NAME = "photo.jpg"
BOUNDARY = "imgwire-bench-7d9f3c1a"
PART_SIZE = 5 * MiB  # pyuploadcare's and upload-client's default chunk size
PARALLEL_PARTS = 4  # upload-client's default maxConcurrentRequests


def make_jpeg(target: int) -> bytes:
    """A JPEG of about ``target`` bytes (noise, so the size is easy to hit)."""
    from PIL import Image

    side = int((target / 1.3) ** 0.5)
    for _ in range(8):
        noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=85)
        data = out.getvalue()
        if abs(len(data) - target) < target * 0.03:
            break
        side = int(side * (target / len(data)) ** 0.5)
    return data


def base_body(client_key: str, secret: str, jpeg: bytes) -> tuple[bytes, str]:
    """The multipart form pyuploadcare's ``upload()`` posts (signed, as it signs by default)."""
    expire = str(int(time.time()) + 3600)
    fields = {
        "UPLOADCARE_STORE": "auto",
        "UPLOADCARE_PUB_KEY": client_key,
        "expire": expire,
        "signature": hmac.new(secret.encode(), expire.encode(), hashlib.sha256).hexdigest(),
    }
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(f"{value}\r\n".encode())
    out.write(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{FILE_NAME}"; '
        f'filename="{FILE_NAME}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
    )
    out.write(jpeg)
    out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={BOUNDARY}"


# --- 1. base/ against standard_upload + PUT ----------------------------------------------


def bench_base(web, keys, jpeg, args, deadline, db) -> dict:
    body, content_type = base_body(keys["client_key"], keys["signing_secret"], jpeg)
    create = json.dumps({"file_name": FILE_NAME, "content_length": len(jpeg)}).encode()
    headers = api_headers(keys["client_key"])

    def base(conn):
        data = answer(conn, "POST", "/uploadcare/base/", body, {"Content-Type": content_type})
        return json.loads(data)[FILE_NAME]

    def standard(conn):
        created = json.loads(answer(conn, "POST", UPLOAD_PATH, create, headers))
        url = urlsplit(created["upload_url"])
        put = {"Content-Type": "image/jpeg"}
        stored = json.loads(answer(conn, "PUT", f"{url.path}?{url.query}", jpeg, put))
        if stored.get("size_bytes") != len(jpeg):
            raise Refused(f"PUT stored something else: {stored}")
        return created["image"]["id"]

    per_round = max(1, args.uploads // args.rounds)
    out = rounds(
        web, {"standard": standard, "base": base}, per_round, args.warmup, args, deadline, db
    )
    out["ratio"] = out["base"]["rps"] / out["standard"]["rps"]
    out["statuses"] = statuses(db)  # the 2 MB JPEGs should all be READY
    out["cpu_ratio"] = out["standard"]["cpu_ms"] / out["base"]["cpu_ms"]
    out["own_ratio"] = out["standard"]["own_ms"] / out["base"]["own_ms"]
    return out


# --- 2. multipart against a file copy -----------------------------------------------------


def multipart_upload(port, client_key, payload: bytes) -> dict:
    """One multipart upload; answers how long its parts and its ``complete`` took."""
    form = {
        "filename": "photos/large.jpg",  # pyuploadcare sends the path it was given
        "size": str(len(payload)),
        "content_type": "image/jpeg",
        "UPLOADCARE_PUB_KEY": client_key,
        "UPLOADCARE_STORE": "auto",
        "part_size": str(PART_SIZE),
    }
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        started = json.loads(
            answer(conn, "POST", "/uploadcare/multipart/start/", urlencode(form), urlencoded)
        )
    finally:
        conn.close()
    local, opened = threading.local(), []
    view = memoryview(payload)

    def put(numbered):
        number, url = numbered
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection(HOST, port, timeout=300)
            opened.append(local.conn)
        part = view[(number - 1) * PART_SIZE : number * PART_SIZE]
        target = urlsplit(url)
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(part))}
        answer(local.conn, "PUT", f"{target.path}?{target.query}", part, headers)

    parts_started = time.perf_counter()
    try:
        with ThreadPoolExecutor(PARALLEL_PARTS) as pool:
            list(pool.map(put, enumerate(started["parts"], 1)))  # re-raises a part's failure
    finally:
        for part_conn in opened:
            part_conn.close()
    complete_started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        done = urlencode({"UPLOADCARE_PUB_KEY": client_key, "uuid": started["uuid"]})
        info = json.loads(answer(conn, "POST", "/uploadcare/multipart/complete/", done, urlencoded))
    finally:
        conn.close()
    if info.get("size") != len(payload):
        raise BenchError(f"multipart/complete answered another size: {info}")
    finished = time.perf_counter()
    return {"parts": complete_started - parts_started, "complete": finished - complete_started}


def single_put(port, client_key, payload: bytes) -> None:
    """The context row: the same bytes as one standard_upload + one PUT."""
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        create = json.dumps({"file_name": "large.jpg", "content_length": len(payload)}).encode()
        created = json.loads(answer(conn, "POST", UPLOAD_PATH, create, api_headers(client_key)))
        url = urlsplit(created["upload_url"])
        answer(conn, "PUT", f"{url.path}?{url.query}", payload, {"Content-Type": "image/jpeg"})
    finally:
        conn.close()


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def bench_multipart(web, keys, payload, src: Path, args, deadline, db) -> dict:
    client_key = keys["client_key"]
    workers = web.worker_pids()
    dst = src.with_name("copy.bin")
    multipart_upload(web.port, client_key, payload)  # warm-up: every code path loaded
    drain(db, args.drain_wait)
    copies, multiparts, puts, memory, phases = [], [], [], [], []
    for index in range(args.repeats):
        deadline.check(f"multipart repeat {index + 1}")
        copies.append(copy_once(src, dst))
        before = {pid: proc_status_kib(pid)["VmRSS"] for pid in workers if reset_peak_rss(pid)}
        started = time.perf_counter()
        phases.append(multipart_upload(web.port, client_key, payload))
        multiparts.append(time.perf_counter() - started)
        upload_peak = {pid: proc_status_kib(pid)["VmHWM"] for pid in before}
        drain(db, args.drain_wait)
        settled_peak = {pid: proc_status_kib(pid)["VmHWM"] for pid in before}
        memory.extend(
            {
                "before": before[pid],
                "upload": upload_peak[pid] - before[pid],
                "settled": settled_peak[pid] - before[pid],
            }
            for pid in before
        )
        puts.append(timed(lambda: single_put(web.port, client_key, payload)))
        drain(db, args.drain_wait)
    size = len(payload) / MiB

    def rate(seconds):
        values = sorted(size / s for s in seconds)
        return {"median": statistics.median(values), "min": values[0], "max": values[-1]}

    out = {"copy": rate(copies), "multipart": rate(multiparts), "put": rate(puts)}
    out["parts_s"] = statistics.median(p["parts"] for p in phases)
    out["complete_s"] = statistics.median(p["complete"] for p in phases)
    out["total_s"] = statistics.median(multiparts)
    out["ratio"] = out["multipart"]["median"] / out["copy"]["median"]
    out["ratio_put"] = out["multipart"]["median"] / out["put"]["median"]
    if not memory:
        raise BenchError("VmHWM could not be reset (/proc/<pid>/clear_refs): no peak to read")
    out["memory"] = memory
    out["worst"] = max(memory, key=lambda m: m["upload"])
    return out


# --- 3. from_url/status/ polls against the no-op view --------------------------------------


class Source(http.server.ThreadingHTTPServer):
    """The from_url source: the JPEG at /photo.jpg, 404 for anything else."""

    daemon_threads = True

    def __init__(self, jpeg: bytes):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                found = self.path == "/photo.jpg"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "image/jpeg" if found else "text/plain")
                self.send_header("Content-Length", str(len(jpeg) if found else 0))
                self.end_headers()
                if found:
                    self.wfile.write(jpeg)

            def log_message(self, *args):
                pass

        super().__init__((HOST, 0), Handler)


def from_url_token(port, client_key, source_url: str, want: str, seconds: float) -> str:
    form = urlencode({"pub_key": client_key, "source_url": source_url, "store": "auto"})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, data = request(port, "POST", "/uploadcare/from_url/", form, headers)
    if status != 200:
        raise BenchError(f"from_url/ answered {status}: {data[:300]!r}")
    token = json.loads(data)["token"]
    limit = Deadline(seconds)
    while not limit.expired():
        _, data = request(port, "GET", f"/uploadcare/from_url/status/?token={token}")
        if json.loads(data)["status"] == want:
            return token
        time.sleep(0.1)
    raise BenchError(f"from_url of {source_url} did not reach {want}: {data[:300]!r}")


def bench_status(web, keys, jpeg, args, deadline, db) -> dict:
    source = Source(jpeg)
    threading.Thread(target=source.serve_forever, daemon=True).start()
    try:
        base_url = f"http://{HOST}:{source.server_address[1]}"
        key = keys["client_key"]
        tokens = {
            "success": from_url_token(web.port, key, f"{base_url}/photo.jpg", "success", 60),
            "error": from_url_token(web.port, key, f"{base_url}/missing.jpg", "error", 60),
        }
    finally:
        source.shutdown()
        source.server_close()
    drain(db, args.drain_wait)
    ping_headers = api_headers(keys["server_key"])  # Client keys may not call it

    def poller(token):
        def poll(conn):
            answer(conn, "GET", f"/uploadcare/from_url/status/?token={token}")

        return poll

    def ping(conn):
        answer(conn, "GET", PING_PATH, headers=ping_headers)

    ops = {"ping": ping, "success": poller(tokens["success"]), "error": poller(tokens["error"])}
    out = rounds(web, ops, max(1, args.polls // args.rounds), 100, args, deadline, None)
    out["ratio"] = out["success"]["rps"] / out["ping"]["rps"]
    out["ratio_error"] = out["error"]["rps"] / out["ping"]["rps"]
    return out


# --- report -------------------------------------------------------------------------------


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def rps(r: dict, unit: str = "req/s") -> str:
    return f"{r['rps']:.1f} {unit} (p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms)"


def report(meta, base, multi, status) -> str:
    worst = multi["worst"]
    jpeg_mb = meta["jpeg_bytes"] / 1e6
    size = meta["size_mib"]
    lines = [
        "| Measurement | Floor | Imgwire | Ratio |",
        "|---|---|---|---|",
        f"| `base/` of a {jpeg_mb:.1f} MB JPEG vs `standard_upload` + `PUT` of it, uploads/s "
        f"({base['base']['ok']} each) | {rps(base['standard'], 'uploads/s')} | "
        f"{rps(base['base'], 'uploads/s')} | "
        f"{base['ratio']:.2f} |",
        f"| ... server CPU per upload, request + its verification (`/proc`; lower is better) | "
        f"{base['standard']['cpu_ms']:.1f} ms | {base['base']['cpu_ms']:.1f} ms | "
        f"{base['cpu_ratio']:.2f} (floor / `base/`) |",
        "| ... of which the web processes' own CPU (no verification children) | "
        f"{base['standard']['own_ms']:.1f} ms | {base['base']['own_ms']:.1f} ms | "
        f"{base['own_ratio']:.2f} (floor / `base/`) |",
        f"| Multipart upload of {size} MiB ({size * MiB // PART_SIZE} parts of 5 MiB, "
        f"{PARALLEL_PARTS} in parallel) vs `shutil.copyfile` (median of {meta['repeats']}) | "
        f"{multi['copy']['median']:.0f} MiB/s | {multi['multipart']['median']:.0f} MiB/s "
        f"(range {multi['multipart']['min']:.0f}-{multi['multipart']['max']:.0f}) | "
        f"{multi['ratio']:.2f} |",
        f"| (context) vs `standard_upload` + one `PUT` of the same {size} MiB | "
        f"{multi['put']['median']:.0f} MiB/s | {multi['multipart']['median']:.0f} MiB/s | "
        f"{multi['ratio_put']:.2f} |",
        f"| (context) where a multipart upload's time goes (medians) | | "
        f"parts {multi['parts_s'] * 1000:.0f} ms, `complete` {multi['complete_s'] * 1000:.0f} ms "
        f"of {multi['total_s'] * 1000:.0f} ms | |",
        f"| Web-process RSS during the multipart upload (worst of {len(multi['memory'])} "
        f"process-uploads) | {mib(worst['before'])} before | "
        f"{mib(worst['before'] + worst['upload'])} peak (VmHWM) | +{mib(worst['upload'])} |",
        f"| ... until its verification settled (worst) | | | "
        f"+{mib(max(m['settled'] for m in multi['memory']))} |",
        f"| `from_url/status/` poll (`success`, with the file info) vs `GET {PING_PATH}` | "
        f"{rps(status['ping'])} | {rps(status['success'])} | {status['ratio']:.2f} |",
        f"| `from_url/status/` poll (`error`) vs `GET {PING_PATH}` | {rps(status['ping'])} | "
        f"{rps(status['error'])} | {status['ratio_error']:.2f} |",
        f"| ... server CPU per request, `success` / `error` / floor (`/proc`; lower is better) "
        f"| {status['ping']['cpu_ms']:.2f} ms | {status['success']['cpu_ms']:.2f} ms / "
        f"{status['error']['cpu_ms']:.2f} ms | "
        f"{status['ping']['cpu_ms'] / status['success']['cpu_ms']:.2f} / "
        f"{status['ping']['cpu_ms'] / status['error']['cpu_ms']:.2f} (floor / poll) |",
        "",
        f"Setup ({meta['when']}): {meta['cpus']} CPUs, {meta['platform']}, Python "
        f"{meta['python']}, Django {meta['django']}, granian {meta['granian']} "
        f"(`--workers {meta['workers']} --blocking-threads {meta['threads']}`, as `make run`), "
        "DEBUG=false, SQLite, local-folder storage, embedded broker, all in a temp dir; "
        f"{meta['clients']} keep-alive client threads, {meta['rounds']} interleaved rounds; "
        f"{meta['uploads']} uploads and {meta['polls']} polls per side; "
        f"load average before the run {meta['load']}; after the `base/` rounds the images "
        f"were {', '.join(f'{n} {status}' for status, n in base['statuses'].items())}.",
    ]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=400, help="per side (default 400)")
    parser.add_argument("--warmup", type=int, default=20, help="uploads per side (default 20)")
    parser.add_argument("--polls", type=int, default=2000, help="per side (default 2000)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="granian workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="blocking threads (default 4)")
    parser.add_argument("--jpeg-bytes", type=int, default=2_000_000, help="default 2 MB")
    parser.add_argument("--size-mib", type=int, default=100, help="multipart size (max 100)")
    parser.add_argument("--repeats", type=int, default=5, help="multipart repeats (default 5)")
    parser.add_argument("--drain-wait", type=float, default=120.0, help="seconds, per round")
    parser.add_argument("--time-limit", type=float, default=1500.0, help="overall seconds")
    args = parser.parse_args(argv)
    for name in ("uploads", "warmup", "polls", "clients", "rounds", "workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.repeats < 1 or args.jpeg_bytes < 10_000:
        parser.error("--repeats must be at least 1 and --jpeg-bytes at least 10000")
    if not 10 < args.size_mib <= 100:
        parser.error("--size-mib is over 10 (multipart's minimum) and at most 100 (the cap)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    deadline = Deadline(args.time_limit)
    raise_on_termination()
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-uc-"))
    web = None
    try:
        # The embedded defaults only: DATABASE_URL is ignored, the backlog is read from SQLite.
        env = base_env(tmp, "")
        env["IMGWIRE_URL_FETCH_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the from_url source
        setup = {**env, "IMGWIRE_PUBLIC_URL": f"http://{HOST}:8000"}
        print(f"[bench] temp dir {tmp}; migrating", file=sys.stderr, flush=True)
        run_manage(["migrate", "--noinput", "-v", "0"], setup, deadline)
        boot = ["bootstrap", "--organization", "Bench", "--environment", "Production"]
        output = run_manage([*boot, "--email", "bench@example.com"], setup, deadline)
        keys = json.loads(output.strip().splitlines()[-1])
        raise_limit = (
            "from keys.models import ApiKey, MAX_UPLOAD_BYTES\n"
            "from keys.services import api_key_policy_update\n"
            f"key = ApiKey.objects.get(pk={keys['client_key_id']!r})\n"
            "api_key_policy_update(key=key, maximum_upload_bytes=MAX_UPLOAD_BYTES)\n"
        )
        run_manage(["shell", "-c", raise_limit], setup, deadline)
        jpeg = make_jpeg(args.jpeg_bytes)
        payload = b"\xff\xd8\xff\xe0" + os.urandom(args.size_mib * MiB - 4)
        src = tmp / "large.bin"
        src.write_bytes(payload)
        db = tmp / "data" / "imgwire.sqlite3"
        load_avg = "/".join(f"{value:.1f}" for value in os.getloadavg())

        web = Server(
            env, tmp, workers=args.workers, threads=args.threads, name="web", kind="granian"
        )
        print(f"[bench] starting granian --workers {args.workers}", file=sys.stderr, flush=True)
        web.start(deadline)
        print("[bench] 1/3 base/ vs standard_upload + PUT", file=sys.stderr, flush=True)
        base = bench_base(web, keys, jpeg, args, deadline, db)
        print(f"[bench] 2/3 multipart of {args.size_mib} MiB", file=sys.stderr, flush=True)
        multi = bench_multipart(web, keys, payload, src, args, deadline, db)
        print("[bench] 3/3 from_url/status/ polls", file=sys.stderr, flush=True)
        status = bench_status(web, keys, jpeg, args, deadline, db)
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
            "polls": args.polls,
            "jpeg_bytes": len(jpeg),
            "size_mib": args.size_mib,
            "repeats": args.repeats,
            "load": load_avg,
        }
        print(report(meta, base, multi, status))
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
