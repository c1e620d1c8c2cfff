#!/usr/bin/env python
"""Remote ingest benchmark: ``.venv/bin/python bench/remote_ingest.py [--markdown]``.

Times ``POST /api/v1/images/upload_via_url`` end to end (request sent until response read:
the product fetches the URL inside the request, through ``images.remote.fetcher.open_remote``,
and streams it into storage) for a 50 MiB body, against floors taken in the same run (the
machines are noisy, so only ratios are comparable between runs):

* the floor: the same URL downloaded in this process with the same HTTP client,
  ``open_remote`` (same ``FetchLimits`` as the product's settings), read in 1 MiB reads,
  as the ingest path reads it, to nothing: no storage, no hashing, no Django;
* context: a plain ``http.client`` GET of the same URL read to nothing, and ``open_remote``
  plus sha256 plus a write to a file in the temp dir (ingest minus HTTP serving and Django).

The source is a small HTTP/1.1 server in its own process on 127.0.0.1 serving the body from
memory (so neither the floor's client nor gunicorn shares a GIL with it): 50 MiB that start
with a PNG signature and are otherwise random, so processing quarantines them afterwards (we
wait for that before each measurement). Medians of a few repeats in rotating order. The
gunicorn worker's peak RSS during each ``upload_via_url`` is read from /proc (VmHWM, reset
just before the request, on every worker).

gunicorn serves ``bench.settings`` as ``bench/uploads.py`` starts it, with
``IMGWIRE_URL_FETCH_ALLOWED_NETWORKS=127.0.0.0/8`` (the address policy refuses loopback
otherwise) and ``IMGWIRE_URL_FETCH_MAX_BYTES`` at least the body size. Everything runs on
127.0.0.1 in a fresh temp dir which is removed at the end, as are the servers, also on failure
or Ctrl-C. Every loop is bounded in count and time.
"""

import argparse
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.common import (
    HOST,
    ROOT,
    BenchError,
    Deadline,
    MiB,
    Server,
    api_headers,
    base_env,
    bootstrap,
    database_url_from_env,
    describe_db,
    free_port,
    proc_status_kib,
    raise_on_termination,
    request,
    reset_peak_rss,
    stop_process_group,
    versions,
)

VIA_URL_PATH = "/api/v1/images/upload_via_url"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SETTLED = {"READY", "QUARANTINE"}
ALLOWED_NETWORKS = "127.0.0.0/8"
DEFAULT_FETCH_MAX_BYTES = 100 * MiB  # the product's default IMGWIRE_URL_FETCH_MAX_BYTES
FETCH_HEADER_TIMEOUT = 10  # the product's defaults, used by the floor's FetchLimits too
FETCH_TOTAL_DEADLINE = 30

OPS = {
    "open_remote": "open_remote, 1 MiB reads to nothing (floor)",
    "http_client": "http.client GET to nothing (context)",
    "hash_write": "open_remote + sha256 + write file (context)",
    "via_url": "POST upload_via_url through gunicorn",
}


# --- the source server (a child process) ------------------------------------------------


def serve_source(payload_path: str, port: int) -> int:
    """Serve /bench.png (the whole file) and /warm.png (its first MiB) from memory."""
    payload = Path(payload_path).read_bytes()
    bodies = {"/bench.png": payload, "/warm.png": payload[:MiB], "/health": b""}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = bodies.get(self.path.split("?", 1)[0])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)  # unbuffered: one sendall, without the GIL

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.daemon_threads = True
    with ThreadingHTTPServer((HOST, port), Handler) as server:
        server.serve_forever()
    return 0


class Source:
    def __init__(self, tmp: Path, payload_path: Path):
        self.tmp = tmp
        self.payload_path = payload_path
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = tmp / "source.log"

    def url(self, name: str = "bench.png") -> str:
        return f"http://{HOST}:{self.port}/{name}"

    def start(self, env: dict, deadline: Deadline) -> None:
        for _attempt in range(3):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--serve-source",
                        str(self.payload_path),
                        "--port",
                        str(self.port),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            limit = Deadline(min(30.0, deadline.remaining()))
            while not limit.expired() and self.proc.poll() is None:
                try:
                    status, _ = request(self.port, "GET", "/health", timeout=2)
                    if status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            self.stop()
        raise BenchError(f"the source server did not start; see {self.log_path}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_process_group(proc)


# --- the measurements -------------------------------------------------------------------


def fetch_limits(max_bytes: int):
    from images.remote import FetchLimits

    return FetchLimits(
        max_bytes=max_bytes,
        header_timeout=FETCH_HEADER_TIMEOUT,
        total_deadline=FETCH_TOTAL_DEADLINE,
        max_redirects=5,
        allowed_networks=(ALLOWED_NETWORKS,),
    )


def download_open_remote(url: str, size: int, limits) -> float:
    from images.remote import open_remote

    started = time.perf_counter()
    received = 0
    with open_remote(url, limits) as body:
        while chunk := body.read(MiB):
            received += len(chunk)
    elapsed = time.perf_counter() - started
    if received != size:
        raise BenchError(f"open_remote read {received} bytes, expected {size}")
    return elapsed


def download_http_client(port: int, size: int) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    received = 0
    try:
        conn.request("GET", "/bench.png")
        response = conn.getresponse()
        while chunk := response.read(MiB):
            received += len(chunk)
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    if response.status != 200 or received != size:
        raise BenchError(f"http.client got {response.status}, {received} of {size} bytes")
    return elapsed


def download_hash_write(url: str, size: int, digest: str, limits, path: Path) -> float:
    from images.remote import open_remote

    started = time.perf_counter()
    sha256 = hashlib.sha256()
    with open_remote(url, limits) as body, open(path, "wb") as target:
        while chunk := body.read(MiB):
            sha256.update(chunk)
            target.write(chunk)
    elapsed = time.perf_counter() - started
    path.unlink()
    if sha256.hexdigest() != digest:
        raise BenchError("open_remote + sha256 saw other bytes than the source serves")
    return elapsed


def via_url(port: int, server_key: str, url: str) -> tuple[float, dict]:
    body = json.dumps({"url": url}).encode()
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        started = time.perf_counter()
        conn.request("POST", VIA_URL_PATH, body=body, headers=api_headers(server_key))
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    if response.status != 200:
        raise BenchError(f"upload_via_url returned {response.status}: {data[:400]!r}")
    return elapsed, json.loads(data)


def wait_processed(port, server_key, image_id, seconds: float) -> str:
    """Let the embedded worker finish with an image (bounded), so it does not compete with
    the next measurement. Returns the last status seen."""
    limit = Deadline(seconds)
    status = "?"
    while True:
        code, data = request(
            port, "GET", f"/api/v1/images/{image_id}", headers=api_headers(server_key)
        )
        if code == 200:
            status = json.loads(data).get("status", "?")
        if status in SETTLED or limit.expired():
            return status
        time.sleep(0.2)


class WorkerPeak:
    """VmHWM of every gunicorn worker, reset before a request, read after it."""

    def __init__(self, server: Server):
        self.pids = server.worker_pids()

    def reset(self) -> dict:
        before = {}
        self.was_reset = all(reset_peak_rss(pid) for pid in self.pids)
        for pid in self.pids:
            before[pid] = proc_status_kib(pid)
        return before

    def increase(self, before: dict) -> tuple[int, int, int]:
        """(RSS before, VmHWM after, increase) of the worker whose peak rose most."""
        best = (0, 0, -1)
        for pid, start in before.items():
            with contextlib.suppress(OSError):
                after = proc_status_kib(pid)
                rise = after["VmHWM"] - start["VmRSS"]
                if rise > best[2]:
                    best = (start["VmRSS"], after["VmHWM"], rise)
        return best


def bench_ingest(server: Server, source: Source, server_key, size, digest, args, deadline):
    limits = fetch_limits(args.fetch_max_bytes)
    url = source.url()
    scratch = server.tmp / "bench-fetch.bin"
    statuses: list[str] = []
    wait_seconds = args.processing_wait

    def settle(image_id: str) -> None:
        nonlocal wait_seconds
        status = wait_processed(server.port, server_key, image_id, wait_seconds)
        statuses.append(status)
        if status not in SETTLED:
            wait_seconds = min(wait_seconds, 2.0)  # the worker may be failing: stop waiting long

    peaks = WorkerPeak(server)
    memory = []

    def run(op: str) -> float:
        if op == "open_remote":
            return download_open_remote(url, size, limits)
        if op == "http_client":
            return download_http_client(source.port, size)
        if op == "hash_write":
            return download_hash_write(url, size, digest, limits, scratch)
        before = peaks.reset()
        elapsed, image = via_url(server.port, server_key, url)
        memory.append(peaks.increase(before))
        if image.get("size_bytes") != size or image.get("hash_sha256") != digest:
            raise BenchError(f"upload_via_url stored something else: {image}")
        settle(image["id"])
        return elapsed

    # Warm-up, not counted: a small upload_via_url (loads every code path in the workers)
    # and one full pass of each floor.
    _, warm = via_url(server.port, server_key, source.url("warm.png"))
    settle(warm["id"])
    for op in ("open_remote", "http_client", "hash_write"):
        run(op)
    statuses.clear()
    memory.clear()

    ops = list(OPS)
    seconds: dict[str, list[float]] = {op: [] for op in ops}
    for index in range(args.repeats):
        deadline.check(f"repeat {index + 1}")
        for op in ops[index % len(ops) :] + ops[: index % len(ops)]:
            seconds[op].append(run(op))
    size_mib = size / MiB
    out = {}
    for op, values in seconds.items():
        rates = sorted(size_mib / s for s in values)
        out[op] = {"median": statistics.median(rates), "min": rates[0], "max": rates[-1]}
        out[op]["median_s"] = statistics.median(values)
    out["ratio"] = out["via_url"]["median"] / out["open_remote"]["median"]
    out["ratio_http_client"] = out["via_url"]["median"] / out["http_client"]["median"]
    out["ratio_hash_write"] = out["via_url"]["median"] / out["hash_write"]["median"]
    out["ratio_floor_http_client"] = out["open_remote"]["median"] / out["http_client"]["median"]
    out["processing"] = statuses
    out["memory"] = memory
    out["memory_reset"] = peaks.was_reset
    return out


# --- report -----------------------------------------------------------------------------


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def report_text(meta, result) -> str:
    lines = [
        f"Imgwire remote ingest benchmark, {meta['when']}",
        f"machine: {meta['cpus']} CPUs, {meta['platform']}, Python {meta['python']}, "
        f"Django {meta['django']}, gunicorn {meta['gunicorn']}",
        f"server: gunicorn gthread, {meta['workers']} workers x {meta['threads']} threads "
        f"on 127.0.0.1, DEBUG=false; database: {meta['db']}; storage: local folder (temp dir)",
        f"source: HTTP/1.1 server in its own process on 127.0.0.1, {meta['size_mib']} MiB "
        f"(PNG signature + random bytes, image/png, Content-Length)",
        "",
        f"Fetch of {meta['size_mib']} MiB, median of {meta['repeats']} (min-max), rotating order",
        f"   {'operation':<46}{'MiB/s':>9}{'min':>9}{'max':>9}{'median s':>10}",
    ]
    for op, label in OPS.items():
        r = result[op]
        lines.append(
            f"   {label:<46}{r['median']:>9.0f}{r['min']:>9.0f}{r['max']:>9.0f}"
            f"{r['median_s']:>10.3f}"
        )
    worst = max(result["memory"], key=lambda m: m[2])
    lines += [
        f"   ratio upload_via_url / open_remote: {result['ratio']:.2f}   (/ http.client: "
        f"{result['ratio_http_client']:.2f}; / open_remote+sha256+write: "
        f"{result['ratio_hash_write']:.2f}; open_remote / http.client: "
        f"{result['ratio_floor_http_client']:.2f})",
        f"   background processing after each upload_via_url ended as: "
        f"{', '.join(result['processing'])}",
        f"   worker peak RSS during upload_via_url (worst of {len(result['memory'])}): "
        f"{mib(worst[0])} before, {mib(worst[1])} VmHWM, +{mib(worst[2])}"
        + ("" if result["memory_reset"] else " (VmHWM could not be reset: since worker start)"),
    ]
    return "\n".join(lines)


def report_markdown(meta, result) -> str:
    def rate(op):
        return f"{result[op]['median']:.0f} MiB/s"

    via = result["via_url"]
    worst = max(result["memory"], key=lambda m: m[2])
    size = f"{meta['size_mib']} MiB"
    return "\n".join(
        [
            "| Measurement | Floor | Imgwire | Ratio |",
            "|---|---|---|---|",
            f"| Remote ingest of {size}: `POST upload_via_url` (request to response) vs "
            f"`open_remote` download read to nothing (median of {meta['repeats']}) | "
            f"{rate('open_remote')} | {rate('via_url')} (range {via['min']:.0f}-"
            f"{via['max']:.0f}) | {result['ratio']:.2f} |",
            f"| (context) vs plain `http.client` GET read to nothing | {rate('http_client')} | "
            f"{rate('via_url')} | {result['ratio_http_client']:.2f} |",
            f"| (context) vs in-process `open_remote` + sha256 + write to a file | "
            f"{rate('hash_write')} | {rate('via_url')} | {result['ratio_hash_write']:.2f} |",
            f"| Worker RSS during a {size} `upload_via_url` (worst of {len(result['memory'])}) | "
            f"{mib(worst[0])} before | {mib(worst[1])} peak (VmHWM) | +{mib(worst[2])} |",
            "",
            f"Setup: {meta['cpus']} CPUs, Python {meta['python']}, Django {meta['django']}, "
            f"gunicorn {meta['gunicorn']} (gthread, {meta['workers']} workers x "
            f"{meta['threads']} threads, 127.0.0.1), DEBUG=false, {meta['db']}, local-folder "
            f"storage, `IMGWIRE_URL_FETCH_ALLOWED_NETWORKS={ALLOWED_NETWORKS}`, "
            f"`IMGWIRE_URL_FETCH_MAX_BYTES={meta['fetch_max_bytes']}`. Source: an HTTP/1.1 "
            f"server in its own process on 127.0.0.1 serving {size} from memory (PNG signature "
            f"+ random bytes, so processing quarantines it; each measurement waits for that). "
            f"The floors run in the bench process with the product's `FetchLimits`.",
        ]
    )


# --- main -------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown section")
    parser.add_argument("--size-mib", type=int, default=50, help="body size (default 50)")
    parser.add_argument("--repeats", type=int, default=5, help="default 5")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="gthread threads (default 2)")
    parser.add_argument(
        "--processing-wait",
        type=float,
        default=30.0,
        help="max seconds to let background processing finish after each upload_via_url",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=900.0,
        help="give up after this many seconds overall (default 900)",
    )
    parser.add_argument("--serve-source", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("size_mib", "repeats", "workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.size_mib > 100:
        parser.error("--size-mib is at most 100 (the product's upload limit)")
    args.fetch_max_bytes = max(DEFAULT_FETCH_MAX_BYTES, args.size_mib * MiB)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.serve_source:
        return serve_source(args.serve_source, args.port)
    deadline = Deadline(args.time_limit)
    database_url = database_url_from_env()
    raise_on_termination()
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-remote-"))
    server: Server | None = None
    source: Source | None = None
    try:
        env = base_env(tmp, database_url)
        env["IMGWIRE_URL_FETCH_ALLOWED_NETWORKS"] = ALLOWED_NETWORKS
        env["IMGWIRE_URL_FETCH_MAX_BYTES"] = str(args.fetch_max_bytes)
        print(f"[bench] temp dir {tmp}; migrating", file=sys.stderr, flush=True)
        server_key = bootstrap(env, deadline)

        size = args.size_mib * MiB
        payload = PNG_SIGNATURE + os.urandom(size - len(PNG_SIGNATURE))
        digest = hashlib.sha256(payload).hexdigest()
        payload_path = tmp / "source.png"
        payload_path.write_bytes(payload)
        del payload

        source = Source(tmp, payload_path)
        source.start(env, deadline)
        server = Server(env, tmp, workers=args.workers, threads=args.threads, name="web")
        print(f"[bench] starting gunicorn --workers {args.workers}", file=sys.stderr, flush=True)
        server.start(deadline)
        print(f"[bench] {args.repeats} repeats", file=sys.stderr, flush=True)
        result = bench_ingest(server, source, server_key, size, digest, args, deadline)
        server.stop()
        source.stop()
        meta = {
            "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            **versions(),
            "workers": args.workers,
            "threads": args.threads,
            "db": describe_db(database_url),
            "size_mib": args.size_mib,
            "repeats": args.repeats,
            "fetch_max_bytes": args.fetch_max_bytes,
        }
        print(report_text(meta, result))
        if args.markdown:
            print()
            print(report_markdown(meta, result))
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        if server is not None and server.log_path.exists():
            print(f"--- gunicorn log (tail) ---\n{server.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        if source is not None:
            source.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
