#!/usr/bin/env python
"""Upload benchmarks (``make bench``): ``.venv/bin/python bench/uploads.py [--markdown]``.

Measures, against a floor taken in the same run (the machines are noisy, so only ratios
are comparable between runs):

1. ``POST /api/v1/images/standard_upload`` requests per second against a trivial
   authenticated DRF endpoint served by the same server (gunicorn gthread; ``--server
   granian`` for the recommended one; ``bench.settings`` adds
   ``/api/v1/_bench/ping``; the product's URLs are untouched).
2. Ingest throughput of a 50 MiB ``PUT upload_url`` against ``shutil.copyfile`` of the
   same bytes within the temp dir (median of a few repeats).
3. Peak RSS of the single server worker (``--workers 1``) during that PUT, from
   ``/proc/<pid>/status`` (VmHWM, reset to the current RSS just before the PUT).

Everything runs on 127.0.0.1 in a fresh temp dir (SQLite database and local storage,
unless DATABASE_URL is set in the environment), which is removed at the end, as are the
server processes, also on failure or Ctrl-C. Every loop is bounded in count and time.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.common import (
    HOST,
    LOOPBACK_DB_HOSTS,
    BenchError,
    Deadline,
    MiB,
    Server,
    api_headers,
    base_env,
    describe_db,
    proc_status_kib,
    request,
    reset_peak_rss,
    run_manage,
    versions,
)

PING_PATH = "/api/v1/_bench/ping"
UPLOAD_PATH = "/api/v1/images/standard_upload"
SETTLED = {"READY", "QUARANTINE"}


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def load(port, path, body, headers, total, clients, deadline: Deadline) -> dict:
    """``total`` POSTs from ``clients`` threads, each on its own keep-alive connection."""
    lock = threading.Lock()
    state = {"issued": 0, "errors": 0, "first_error": None}
    latencies: list[float] = []
    barrier = threading.Barrier(clients + 1)

    def take() -> bool:
        with lock:
            if state["issued"] >= total or deadline.expired():
                return False
            state["issued"] += 1
            return True

    def error(message: str) -> None:
        with lock:
            state["errors"] += 1
            state["first_error"] = state["first_error"] or message

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine = []
        try:
            barrier.wait(timeout=30)
            while take():
                started = time.perf_counter()
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()  # http.client reconnects on the next request
                    error(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    error(f"HTTP {response.status}: {data[:300]!r}")
                    continue
                mine.append(elapsed)
        except threading.BrokenBarrierError:
            error("client did not start")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=30)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline.remaining() + 35))
    wall = time.perf_counter() - started
    if any(thread.is_alive() for thread in threads):
        raise BenchError(f"load on {path} did not finish in time")
    return {"latencies": latencies, "wall": wall, **state}


def bench_requests(port, server_key, args, deadline: Deadline) -> dict:
    headers = api_headers(server_key)
    body = json.dumps(
        {"file_name": "bench.jpg", "mime_type": "image/jpeg", "content_length": 1024}
    ).encode()
    endpoints = {"ping": PING_PATH, "upload": UPLOAD_PATH}
    # Warm-up (not counted), then interleaved rounds so drift in the machine's load hits
    # both endpoints alike.
    for path in endpoints.values():
        warm = load(port, path, body, headers, args.warmup, args.clients, deadline)
        if warm["errors"]:
            raise BenchError(f"warm-up of {path} failed: {warm['first_error']}")
    totals = {
        name: {"latencies": [], "wall": 0.0, "errors": 0, "first_error": None} for name in endpoints
    }
    for index in range(args.rounds):
        per_round = args.requests // args.rounds + (index < args.requests % args.rounds)
        order = list(endpoints) if index % 2 == 0 else list(reversed(endpoints))
        for name in order:
            deadline.check(f"round {index + 1} of {name}")
            result = load(port, endpoints[name], body, headers, per_round, args.clients, deadline)
            total = totals[name]
            total["latencies"].extend(result["latencies"])
            total["wall"] += result["wall"]
            total["errors"] += result["errors"]
            total["first_error"] = total["first_error"] or result["first_error"]
    out = {}
    for name, total in totals.items():
        lat = sorted(total["latencies"])
        out[name] = {
            "ok": len(lat),
            "errors": total["errors"],
            "first_error": total["first_error"],
            "rps": len(lat) / total["wall"] if total["wall"] else float("nan"),
            "p50_ms": percentile(lat, 0.50) * 1000,
            "p95_ms": percentile(lat, 0.95) * 1000,
        }
        if total["errors"] > max(1, len(lat) // 100):
            raise BenchError(
                f"{endpoints[name]}: {total['errors']} errors, first: {total['first_error']}"
            )
    out["ratio"] = out["upload"]["rps"] / out["ping"]["rps"]
    out["rows_created"] = args.warmup + out["upload"]["ok"]
    return out


# --- ingest -----------------------------------------------------------------------------


def create_upload(port, server_key, size: int) -> tuple[str, str]:
    body = json.dumps(
        {"file_name": "bench.jpg", "mime_type": "image/jpeg", "content_length": size}
    ).encode()
    status, data = request(port, "POST", UPLOAD_PATH, body, api_headers(server_key))
    if status != 200:
        raise BenchError(f"standard_upload returned {status}: {data[:300]!r}")
    created = json.loads(data)
    url = urlsplit(created["upload_url"])
    return created["image"]["id"], f"{url.path}?{url.query}"


def put_upload(port, server_key, payload: bytes, digest: str) -> tuple[float, str]:
    """One standard_upload + PUT of ``payload``; returns the PUT's seconds and the image id."""
    image_id, path = create_upload(port, server_key, len(payload))
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        started = time.perf_counter()
        conn.request(
            "PUT",
            path,
            body=payload,
            headers={"Content-Type": "image/jpeg", "Content-Length": str(len(payload))},
        )
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    if response.status != 200:
        raise BenchError(f"PUT returned {response.status}: {data[:300]!r}")
    answer = json.loads(data)
    if answer.get("size_bytes") != len(payload) or answer.get("hash_sha256") != digest:
        raise BenchError(f"PUT stored something else: {answer}")
    return elapsed, image_id


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


def copy_once(src: Path, dst: Path) -> float:
    started = time.perf_counter()
    shutil.copyfile(src, dst)
    elapsed = time.perf_counter() - started
    dst.unlink()
    return elapsed


def hash_copy_once(src: Path, dst: Path) -> float:
    """What ingest does minus HTTP: read 1 MiB chunks, sha256 them, write them."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    with open(src, "rb") as source, open(dst, "wb") as target:
        while chunk := source.read(MiB):
            digest.update(chunk)
            target.write(chunk)
    elapsed = time.perf_counter() - started
    dst.unlink()
    return elapsed


class ProcessingWait:
    """Bounded waits for background processing; after one that does not settle, stop
    waiting long (the embedded worker may be failing, e.g. while code is in flux)."""

    def __init__(self, port, server_key, seconds):
        self.port, self.server_key, self.seconds = port, server_key, seconds
        self.statuses: list[str] = []

    def __call__(self, image_id: str) -> str:
        status = wait_processed(self.port, self.server_key, image_id, self.seconds)
        self.statuses.append(status)
        if status not in SETTLED:
            self.seconds = min(self.seconds, 2.0)
        return status


def bench_ingest(port, server_key, payload, digest, src: Path, args, deadline) -> dict:
    dst = src.with_name("bench-copy.bin")
    wait = ProcessingWait(port, server_key, args.processing_wait)
    small = payload[:MiB]
    _, warm_id = put_upload(port, server_key, small, hashlib.sha256(small).hexdigest())
    wait(warm_id)
    copy_once(src, dst)
    copies, hash_copies, puts = [], [], []
    for index in range(args.repeats):
        deadline.check(f"ingest repeat {index + 1}")
        copies.append(copy_once(src, dst))
        hash_copies.append(hash_copy_once(src, dst))
        elapsed, image_id = put_upload(port, server_key, payload, digest)
        puts.append(elapsed)
        wait(image_id)
    size_mib = len(payload) / MiB

    def rates(seconds):
        values = sorted(size_mib / s for s in seconds)
        return {"median": statistics.median(values), "min": values[0], "max": values[-1]}

    out = {
        "copy": rates(copies),
        "hash_copy": rates(hash_copies),
        "put": rates(puts),
        "processing": wait.statuses[1:],
    }
    out["ratio"] = out["put"]["median"] / out["copy"]["median"]
    out["ratio_hash_copy"] = out["put"]["median"] / out["hash_copy"]["median"]
    return out


def bench_memory(server: Server, server_key, payload, digest, args, deadline) -> dict:
    workers = server.worker_pids()
    if len(workers) != 1:
        raise BenchError(f"expected one {server.kind} worker, found {workers}")
    pid = workers[0]
    wait = ProcessingWait(server.port, server_key, args.processing_wait)
    # Warm-up: load every code path the PUT uses before taking the baseline.
    small = payload[:MiB]
    _, warm_id = put_upload(server.port, server_key, small, hashlib.sha256(small).hexdigest())
    wait(warm_id)
    runs = []
    for index in range(args.memory_repeats):
        deadline.check(f"memory repeat {index + 1}")
        before = proc_status_kib(pid)
        reset = reset_peak_rss(pid)
        if reset:
            before = proc_status_kib(pid)
        sampled = [before["VmRSS"]]
        stop = threading.Event()

        def sample(stop=stop, sampled=sampled):
            while not stop.wait(0.005):
                try:
                    sampled.append(proc_status_kib(pid)["VmRSS"])
                except OSError:
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, image_id = put_upload(server.port, server_key, payload, digest)
            after_put = proc_status_kib(pid)
        finally:
            stop.set()
            sampler.join(timeout=5)
        status = wait(image_id)
        after_processing = proc_status_kib(pid)
        runs.append(
            {
                "rss_before": before["VmRSS"],
                "hwm_put": after_put["VmHWM"],
                "sampled_max": max(sampled),
                "hwm_processing": after_processing["VmHWM"],
                "reset": reset,
                "processing": status,
            }
        )
    worst = max(runs, key=lambda r: r["hwm_put"] - r["rss_before"])
    return {"pid": pid, "runs": runs, "worst": worst}


# --- report -----------------------------------------------------------------------------


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def report_text(meta, req, ingest, mem) -> str:
    lines = [
        f"Imgwire upload benchmark, {meta['when']}",
        f"machine: {meta['cpus']} CPUs, {meta['platform']}, Python {meta['python']}, "
        f"Django {meta['django']}, {meta['server']} {meta[meta['server']]}",
        f"server: {meta['server']}, {meta['workers']} workers x {meta['threads']} threads "
        f"on 127.0.0.1, DEBUG=false; database: {meta['db']}; storage: local folder (temp dir)",
        "",
        f"1. Requests: {meta['requests']} per endpoint after {meta['warmup']} warm-up, "
        f"{meta['clients']} keep-alive client threads, {meta['rounds']} interleaved rounds",
        f"   {'endpoint':<42}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}",
    ]
    for name, label in (("ping", f"POST {PING_PATH} (floor)"), ("upload", f"POST {UPLOAD_PATH}")):
        r = req[name]
        lines.append(
            f"   {label:<42}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['errors']:>8}"
        )
    lines += [
        f"   ratio standard_upload / ping: {req['ratio']:.2f}",
        f"   note: every standard_upload inserts an images row ({meta['db_engine']}); "
        f"this run wrote {req['rows_created']} rows.",
        "",
        f"2. Ingest of {meta['size_mib']} MiB of random bytes declared image/jpeg, "
        f"median of {meta['repeats']} (min-max)",
        f"   {'operation':<42}{'MiB/s':>9}{'min':>9}{'max':>9}",
    ]
    for key, label in (
        ("copy", "shutil.copyfile, same temp dir (floor)"),
        ("hash_copy", "read+sha256+write 1 MiB chunks (context)"),
        ("put", f"PUT upload_url through {meta['server']}"),
    ):
        r = ingest[key]
        lines.append(f"   {label:<42}{r['median']:>9.0f}{r['min']:>9.0f}{r['max']:>9.0f}")
    lines += [
        f"   ratio PUT / copyfile: {ingest['ratio']:.2f}   "
        f"(PUT / read+sha256+write: {ingest['ratio_hash_copy']:.2f})",
        f"   background processing after each PUT ended as: {', '.join(ingest['processing'])}",
        "",
        f"3. Worker memory during a {meta['size_mib']} MiB PUT ({meta['server']} --workers 1, "
        f"worker pid {mem['pid']}, {len(mem['runs'])} PUTs)",
        f"   {'run':<6}{'RSS before':>14}{'peak (HWM)':>14}{'increase':>12}"
        f"{'sampled max':>14}{'peak incl. processing':>24}",
    ]
    for index, run in enumerate(mem["runs"], 1):
        lines.append(
            f"   {index:<6}{mib(run['rss_before']):>14}{mib(run['hwm_put']):>14}"
            f"{mib(run['hwm_put'] - run['rss_before']):>12}{mib(run['sampled_max']):>14}"
            f"{mib(run['hwm_processing']):>24}"
        )
    worst = mem["worst"]
    lines.append(
        f"   worst increase: {mib(worst['hwm_put'] - worst['rss_before'])} for a "
        f"{meta['size_mib']} MiB body"
        + ("" if worst["reset"] else " (VmHWM could not be reset: peak is since worker start)")
    )
    return "\n".join(lines)


def report_markdown(meta, req, ingest, mem) -> str:
    worst = mem["worst"]
    up, ping = req["upload"], req["ping"]
    return "\n".join(
        [
            "| Measurement | Floor | Imgwire | Ratio |",
            "|---|---|---|---|",
            f"| Requests/s: `standard_upload` vs authenticated no-op DRF view | "
            f"{ping['rps']:.0f} req/s (p50 {ping['p50_ms']:.1f} ms, p95 {ping['p95_ms']:.1f} ms) | "
            f"{up['rps']:.0f} req/s (p50 {up['p50_ms']:.1f} ms, p95 {up['p95_ms']:.1f} ms) | "
            f"{req['ratio']:.2f} |",
            f"| Ingest of {meta['size_mib']} MiB: `PUT upload_url` vs `shutil.copyfile` "
            f"(median of {meta['repeats']}) | {ingest['copy']['median']:.0f} MiB/s | "
            f"{ingest['put']['median']:.0f} MiB/s | {ingest['ratio']:.2f} |",
            f"| (context) `PUT` vs in-process read + sha256 + write, 1 MiB chunks | "
            f"{ingest['hash_copy']['median']:.0f} MiB/s | {ingest['put']['median']:.0f} MiB/s | "
            f"{ingest['ratio_hash_copy']:.2f} |",
            f"| Worker RSS during a {meta['size_mib']} MiB PUT (`--workers 1`, worst of "
            f"{len(mem['runs'])}) | {mib(worst['rss_before'])} before | "
            f"{mib(worst['hwm_put'])} peak (VmHWM) | "
            f"+{mib(worst['hwm_put'] - worst['rss_before'])} |",
            "",
            f"Setup: {meta['cpus']} CPUs, Python {meta['python']}, Django {meta['django']}, "
            f"{meta['server']} {meta[meta['server']]} ({meta['workers']} workers x "
            f"{meta['threads']} threads, 127.0.0.1), DEBUG=false, {meta['db']}, "
            "local-folder storage; "
            f"{meta['requests']} requests per endpoint after {meta['warmup']} warm-up from "
            f"{meta['clients']} keep-alive client threads in {meta['rounds']} interleaved rounds. "
            f"Every `standard_upload` inserts an images row ({req['rows_created']} in this run).",
        ]
    )


# --- main -------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown section")
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="per endpoint (default 200)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    parser.add_argument(
        "--server", choices=Server.KINDS, default="gunicorn", help="default gunicorn (gthread)"
    )
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (default 2)")
    parser.add_argument("--size-mib", type=int, default=50, help="PUT size (default 50)")
    parser.add_argument("--repeats", type=int, default=7, help="ingest repeats (default 7)")
    parser.add_argument("--memory-repeats", type=int, default=3, help="default 3")
    parser.add_argument(
        "--processing-wait",
        type=float,
        default=30.0,
        help="max seconds to let background processing finish after a PUT",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=1200.0,
        help="give up after this many seconds overall (default 1200)",
    )
    args = parser.parse_args(argv)
    for name in (
        "requests",
        "warmup",
        "clients",
        "rounds",
        "workers",
        "threads",
        "size_mib",
        "repeats",
        "memory_repeats",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.size_mib > 100:
        parser.error("--size-mib is at most 100 (the product's upload limit)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    deadline = Deadline(args.time_limit)
    database_url = os.environ.get("DATABASE_URL", "").strip()
    if database_url and (urlsplit(database_url).hostname or "") not in LOOPBACK_DB_HOSTS:
        raise SystemExit("DATABASE_URL must point at localhost/127.0.0.1 (loopback only)")
    if args.rounds > args.requests:
        args.rounds = args.requests

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-"))
    servers: list[Server] = []
    try:
        env = base_env(tmp, database_url)
        env["IMGWIRE_PUBLIC_URL"] = f"http://{HOST}:8000"  # only for the management commands
        print(f"[bench] temp dir {tmp}; migrating", file=sys.stderr, flush=True)
        run_manage(["migrate", "--noinput", "-v", "0"], env, deadline)
        boot = json.loads(
            run_manage(
                [
                    "bootstrap",
                    "--organization",
                    "Bench",
                    "--environment",
                    "Production",
                    "--email",
                    "bench@example.com",
                ],
                env,
                deadline,
            )
            .strip()
            .splitlines()[-1]
        )
        server_key = boot["server_key"]

        payload = os.urandom(args.size_mib * MiB)
        digest = hashlib.sha256(payload).hexdigest()
        src = tmp / "bench-src.bin"
        src.write_bytes(payload)

        del env["IMGWIRE_PUBLIC_URL"]
        web = Server(
            env, tmp, workers=args.workers, threads=args.threads, name="web", kind=args.server
        )
        servers.append(web)
        print(
            f"[bench] starting {args.server} --workers {args.workers}", file=sys.stderr, flush=True
        )
        web.start(deadline)
        print("[bench] 1/3 requests", file=sys.stderr, flush=True)
        req = bench_requests(web.port, server_key, args, deadline)
        print("[bench] 2/3 ingest", file=sys.stderr, flush=True)
        ingest = bench_ingest(web.port, server_key, payload, digest, src, args, deadline)
        web.stop()

        single = Server(env, tmp, workers=1, threads=args.threads, name="memory", kind=args.server)
        servers.append(single)
        print(f"[bench] 3/3 memory ({args.server} --workers 1)", file=sys.stderr, flush=True)
        single.start(deadline)
        mem = bench_memory(single, server_key, payload, digest, args, deadline)
        single.stop()

        engine = (
            "PostgreSQL"
            if database_url.startswith("postgres")
            else ("SQLite" if not database_url else urlsplit(database_url).scheme)
        )
        meta = {
            "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            **versions(),
            "server": args.server,
            "workers": args.workers,
            "threads": args.threads,
            "db": describe_db(database_url),
            "db_engine": engine,
            "requests": args.requests,
            "warmup": args.warmup,
            "clients": args.clients,
            "rounds": args.rounds,
            "size_mib": args.size_mib,
            "repeats": args.repeats,
        }
        print(report_text(meta, req, ingest, mem))
        if args.markdown:
            print()
            print(report_markdown(meta, req, ingest, mem))
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        for server in servers:
            if server.log_path.exists():
                print(
                    f"--- {server.kind} {server.name} log (tail) ---\n{server.log_tail()}",
                    file=sys.stderr,
                )
        return 1
    except KeyboardInterrupt:
        print("bench interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
