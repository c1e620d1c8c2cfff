#!/usr/bin/env python
"""Delivery benchmarks: ``.venv/bin/python bench/delivery.py [--markdown]``.

Measures the CDN view (``/cdn/{org}/{env}/{image}?...``) served by granian (the recommended
server, docs/deployment.md; ``--server gunicorn`` for gunicorn gthread), ``--workers 2``,
against floors taken in the same run (the machines are noisy, so only
ratios are comparable between runs):

1. **Cold render** of ``?width=800&format=jpg&quality=80`` from a 12 MP photo-like JPEG
   (4000x3000, quality 90), one request at a time, every request a cache miss (``--copies``
   uploads of the same bytes, each requested once), against the bare Pillow floor in this
   process: ``Image.open``, ``draft("RGB", (800, 600))``, ``resize((800, 600), LANCZOS)``,
   ``save(JPEG, quality=80)``. The same for the same picture as HEIC (floor: pillow_heif
   decode + resize + encode), both the first variant of an image (which also builds the
   product's decoded intermediate) and a further variant (intermediate already stored).
   Floor and requests are interleaved. A breakdown, in subprocesses with Django set up,
   splits the gap: the engine in-process, the engine in a render child reused as deployed
   (``IMGWIRE_RENDER_CHILD_MAX_JOBS``), and in a fresh child each time.
2. **Warm cache hit**: the same URL again, against the same bytes as a static file through
   Django's ``django.views.static.serve`` on the same server (a bench-only route that
   ``bench/urls.py`` adds when ``IMGWIRE_BENCH_STATIC_ROOT`` is set). req/s, p50, p95 from
   ``--clients`` keep-alive threads, in interleaved rounds; the same hit is also measured
   on a second server of the other kind (gunicorn when the bench serves from granian) on
   the same data, unless ``--no-alt-server``.
3. **thumbor** (the self-hosted alternative), installed on first run into the cached venv
   ``bench/.thumbor-venv`` (git-ignored), run with ``--processes`` equal to the gunicorn
   workers, a file loader on a temp dir holding the same JPEG, unsafe URLs, quality 80,
   baseline JPEG (thumbor always Huffman-optimises), no auto WebP, no source storage:
   ``/unsafe/800x0/filters:format(jpeg):quality(80)/photo.jpg`` cold (a server without
   result storage: every request renders)
   and warm (a second server with file result storage, primed). Imgwire cold under the same
   concurrent load needs a cache miss per request: ``dpi`` (which only writes the JFIF
   density field) varies per request over the copies.
4. **Peak memory** of a cold ``?width=800&format=jpg`` render of a 24 MP JPEG (6000x4000):
   VmHWM of both gunicorn workers (reset just before the request), and, in a subprocess
   that runs the product's ``ensure_delivered`` for another copy with ``run_sandboxed``
   wrapped, the render child's own VmHWM (reset when the child starts) - the same for the
   12 MP HEIC's intermediate decode.

Everything runs on 127.0.0.1 in a fresh temp dir (SQLite and local-folder storage unless
DATABASE_URL is set), removed at the end with every server and subprocess, also on failure
or Ctrl-C; only the thumbor venv is kept for the next run. Every loop is bounded in count
and time. The servers and their render forkservers import the product when they start, so
``PYTHONPYCACHEPREFIX`` points at the temp dir (compiled bytecode, as an installed
deployment has; the bench environment otherwise sets PYTHONDONTWRITEBYTECODE):
``--no-bytecode`` turns that off.
"""

import argparse
import contextlib
import datetime
import http.client
import importlib
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.common import (
    HOST,
    ROOT,
    BenchError,
    Deadline,
    Server,
    api_headers,
    base_env,
    bootstrap,
    child_pids,
    database_url_from_env,
    describe_db,
    free_port,
    proc_status_kib,
    raise_on_termination,
    request,
    reset_peak_rss,
    stop_process_group,
    tree_cpu_seconds,
    versions,
)

UPLOAD_PATH = "/api/v1/images/standard_upload"
SETTLED = {"READY", "QUARANTINE", "FAILED"}
COLD_QUERY = "width=800&format=jpg&quality=80"
MEMORY_QUERY = "width=800&format=jpg"
FLOOR_SIZE = (800, 600)
THUMBOR_VENV = ROOT / "bench" / ".thumbor-venv"
THUMBOR_PATH = "/unsafe/800x0/filters:format(jpeg):quality(80)/photo.jpg"
STATIC_PATH = "/_bench/static/variant.jpg"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def summary_ms(seconds: list[float]) -> dict:
    values = sorted(s * 1000 for s in seconds)
    return {
        "n": len(values),
        "median": statistics.median(values) if values else float("nan"),
        "min": values[0] if values else float("nan"),
        "max": values[-1] if values else float("nan"),
    }


# --- inputs -----------------------------------------------------------------------------


def photo(width: int, height: int, seed: int = 1):
    """A photo-like picture: soft gradients, blurred shapes, blotchy texture and grain, so it
    compresses like a photo (about 3 MiB for 12 MP at JPEG quality 90)."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rng = random.Random(seed)
    ramp = Image.linear_gradient("L")
    channels = [
        ramp.rotate(30, resample=Image.BICUBIC).resize((width, height), Image.BICUBIC),
        Image.radial_gradient("L").resize((width, height), Image.BICUBIC),
        ramp.rotate(200, resample=Image.BICUBIC).resize((width, height), Image.BICUBIC),
    ]
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(width // 40, width // 6)
        fill = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r // 2), fill=fill)
        else:
            points = [(x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(5)]
            draw.polygon(points, fill=fill)
    image = image.filter(ImageFilter.GaussianBlur(6))
    blots = [Image.effect_noise((width // 16, height // 16), 40) for _ in range(3)]
    image = Image.blend(
        image, Image.merge("RGB", blots).resize((width, height), Image.BICUBIC), 0.25
    )
    grain = Image.effect_noise((width, height), 5).convert("RGB")
    return ImageChops.add(image, grain, 1.0, -128)


def make_inputs(folder: Path, heic_quality: int) -> dict:
    import pillow_heif

    pillow_heif.register_heif_opener()
    inputs = {}
    picture = photo(4000, 3000)
    inputs["jpeg"] = folder / "photo-12mp.jpg"
    picture.save(inputs["jpeg"], "JPEG", quality=90)
    started = time.perf_counter()
    inputs["heic"] = folder / "photo-12mp.heic"
    picture.save(inputs["heic"], "HEIF", quality=heic_quality)
    log(f"HEIC encoded in {time.perf_counter() - started:.0f} s")
    del picture
    inputs["jpeg24"] = folder / "photo-24mp.jpg"
    photo(6000, 4000, seed=2).save(inputs["jpeg24"], "JPEG", quality=90)
    return inputs


# --- floors -----------------------------------------------------------------------------


def floor_jpeg(path: Path) -> tuple[float, bytes]:
    from PIL import Image

    started = time.perf_counter()
    with Image.open(path) as im:
        im.draft("RGB", FLOOR_SIZE)
        out = im.resize(FLOOR_SIZE, Image.LANCZOS)
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=80)
    return time.perf_counter() - started, buffer.getvalue()


def floor_heic(path: Path) -> tuple[float, bytes]:
    import pillow_heif
    from PIL import Image

    started = time.perf_counter()
    heif = pillow_heif.open_heif(str(path))
    im = heif.to_pillow()
    out = im.resize(FLOOR_SIZE, Image.LANCZOS)
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=80)
    return time.perf_counter() - started, buffer.getvalue()


# --- HTTP -------------------------------------------------------------------------------


def get(port: int, path: str, timeout: float = 60.0) -> tuple[float, int, object, bytes]:
    """(seconds, status, headers (case-insensitive: servers differ in case), body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        return elapsed, response.status, response.headers, body
    finally:
        conn.close()


def get_ok(port: int, path: str, what: str, timeout: float = 60.0) -> tuple[float, bytes]:
    elapsed, status, headers, body = get(port, path, timeout)
    if status != 200:
        raise BenchError(f"{what}: GET {path} answered {status}: {body[:300]!r}")
    if not headers.get("Content-Type", "").startswith("image/jpeg"):
        raise BenchError(f"{what}: GET {path} answered {headers.get('Content-Type')}")
    return elapsed, body


def load(port, path_for, total, clients, deadline: Deadline) -> dict:
    """``total`` GETs of ``path_for(i)`` from ``clients`` threads on keep-alive connections."""
    lock = threading.Lock()
    state = {"issued": 0, "errors": 0, "first_error": None, "bytes": 0}
    latencies: list[float] = []
    barrier = threading.Barrier(clients + 1)

    def take() -> int | None:
        with lock:
            if state["issued"] >= total or deadline.expired():
                return None
            state["issued"] += 1
            return state["issued"] - 1

    def error(message: str) -> None:
        with lock:
            state["errors"] += 1
            state["first_error"] = state["first_error"] or message

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        mine, received = [], 0
        try:
            barrier.wait(timeout=30)
            while (index := take()) is not None:
                path = path_for(index)
                started = time.perf_counter()
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()  # http.client reconnects on the next request
                    error(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - started
                if response.status != 200 or not data:
                    error(f"GET {path}: HTTP {response.status}: {data[:300]!r}")
                    continue
                mine.append(elapsed)
                received += len(data)
        except threading.BrokenBarrierError:
            error("client did not start")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                state["bytes"] += received

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=30)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline.remaining() + 65))
    wall = time.perf_counter() - started
    if any(thread.is_alive() for thread in threads):
        raise BenchError("load did not finish in time")
    return {"latencies": latencies, "wall": wall, **state}


def local_postgres_pid() -> int | None:
    """The local PostgreSQL's postmaster (a ``postgres`` process whose parent is not one),
    if /proc shows one: its tree is every backend."""
    names = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as stat:
                head, _, rest = stat.read().rpartition(")")
                names[int(entry)] = (head.partition("(")[2], int(rest.split()[1]))
    postmasters = [
        pid
        for pid, (name, parent) in names.items()
        if name == "postgres" and names.get(parent, ("",))[0] != "postgres"
    ]
    return postmasters[0] if len(postmasters) == 1 else None


def interleaved(
    port_paths: dict,
    total: int,
    rounds: int,
    clients: int,
    deadline,
    server_pids=None,
    database_pid=None,
) -> dict:
    """``total`` requests per endpoint in ``rounds`` rounds of alternating order.

    ``port_paths``: name -> (port, path_for); path_for gets a per-endpoint running index.
    ``server_pids``: name -> the serving process, whose tree's CPU is read around each load
    (``server_cpu_ms`` per request: steadier than req/s on a noisy machine).
    ``database_pid``: a local database server's main process, whose tree's CPU is read the
    same way for every endpoint (``database_cpu_ms``: what the server CPU leaves out).
    """
    server_pids = server_pids or {}
    totals = {
        name: {
            "latencies": [],
            "wall": 0.0,
            "errors": 0,
            "first_error": None,
            "bytes": 0,
            "cpu": 0.0,
            "database_cpu": 0.0,
        }
        for name in port_paths
    }
    issued = dict.fromkeys(port_paths, 0)
    for index in range(rounds):
        per_round = total // rounds + (index < total % rounds)
        names = list(port_paths)
        names = names[index % len(names) :] + names[: index % len(names)]  # rotate the order
        for name in names:
            deadline.check(f"round {index + 1} of {name}")
            port, path_for = port_paths[name]
            offset = issued[name]
            pid = server_pids.get(name)
            cpu_before = tree_cpu_seconds(pid) if pid else 0.0
            database_before = tree_cpu_seconds(database_pid) if database_pid else 0.0
            result = load(
                port, lambda i, f=path_for, o=offset: f(o + i), per_round, clients, deadline
            )
            if pid:
                totals[name]["cpu"] += tree_cpu_seconds(pid) - cpu_before
            if database_pid:
                totals[name]["database_cpu"] += tree_cpu_seconds(database_pid) - database_before
            issued[name] += per_round
            total_ = totals[name]
            total_["latencies"].extend(result["latencies"])
            total_["wall"] += result["wall"]
            total_["errors"] += result["errors"]
            total_["bytes"] += result["bytes"]
            total_["first_error"] = total_["first_error"] or result["first_error"]
    out = {}
    for name, total_ in totals.items():
        lat = sorted(total_["latencies"])
        if total_["errors"] > max(1, len(lat) // 100):
            raise BenchError(f"{name}: {total_['errors']} errors, first: {total_['first_error']}")
        out[name] = {
            "ok": len(lat),
            "errors": total_["errors"],
            "rps": len(lat) / total_["wall"] if total_["wall"] else float("nan"),
            "p50_ms": percentile(lat, 0.50) * 1000,
            "p95_ms": percentile(lat, 0.95) * 1000,
            "avg_bytes": total_["bytes"] / len(lat) if lat else 0,
        }
        if name in server_pids and lat:
            out[name]["server_cpu_ms"] = total_["cpu"] / len(lat) * 1000
        if database_pid and lat:
            out[name]["database_cpu_ms"] = total_["database_cpu"] / len(lat) * 1000
    return out


# --- uploads ----------------------------------------------------------------------------


def upload(port: int, server_key: str, path: Path, mime: str) -> str:
    payload = path.read_bytes()
    body = json.dumps(
        {"file_name": path.name, "mime_type": mime, "content_length": len(payload)}
    ).encode()
    status, data = request(port, "POST", UPLOAD_PATH, body, api_headers(server_key))
    if status != 200:
        raise BenchError(f"standard_upload returned {status}: {data[:300]!r}")
    created = json.loads(data)
    url = urlsplit(created["upload_url"])
    status, data = request(
        port,
        "PUT",
        f"{url.path}?{url.query}",
        payload,
        {"Content-Type": mime, "Content-Length": str(len(payload))},
        timeout=120,
    )
    if status != 200:
        raise BenchError(f"PUT returned {status}: {data[:300]!r}")
    return created["image"]["id"]


def wait_ready(port: int, server_key: str, image_ids: list[str], deadline: Deadline) -> dict:
    """Poll until every image is READY (bounded); return id -> CDN path."""
    pending, paths = list(image_ids), {}
    limit = Deadline(min(deadline.remaining(), 60 + 15 * len(image_ids)))
    while pending:
        image_id = pending[0]
        status, data = request(
            port, "GET", f"/api/v1/images/{image_id}", headers=api_headers(server_key)
        )
        record = json.loads(data) if status == 200 else {}
        state = record.get("status")
        if state == "READY":
            paths[image_id] = urlsplit(record["cdn_url"]).path
            pending.pop(0)
            continue
        if state in SETTLED:
            raise BenchError(f"image {image_id} ended {state}: {record.get('status_reason')}")
        if limit.expired():
            raise BenchError(f"{len(pending)} images still not READY (last: {state})")
        time.sleep(0.25)
    return paths


def upload_all(port, server_key, plan: dict, inputs: dict, deadline) -> dict:
    """plan: name -> (input key, mime, count). Returns name -> list of CDN paths."""
    ids: dict[str, list[str]] = {}
    for name, (key, mime, count) in plan.items():
        ids[name] = []
        for _ in range(count):
            deadline.check(f"upload of {name}")
            ids[name].append(upload(port, server_key, inputs[key], mime))
    everything = [i for group in ids.values() for i in group]
    log(f"uploaded {len(everything)} images; waiting for processing")
    paths = wait_ready(port, server_key, everything, deadline)
    return {name: [paths[i] for i in group] for name, group in ids.items()} | {"_ids": ids}


# --- thumbor ----------------------------------------------------------------------------


def ensure_thumbor_venv(deadline: Deadline) -> Path:
    """``bench/.thumbor-venv`` with thumbor from PyPI, created on first run and then reused."""
    thumbor = THUMBOR_VENV / "bin" / "thumbor"
    if thumbor.exists():
        return thumbor
    python = shutil.which("python3.11") or (
        sys.executable if sys.version_info[:2] == (3, 11) else None
    )
    if python is None:
        raise BenchError("python3.11 not found: needed for bench/.thumbor-venv")
    log(f"creating {THUMBOR_VENV} and installing thumbor (first run only)")
    try:
        subprocess.run(
            [python, "-m", "venv", str(THUMBOR_VENV)],
            check=True,
            timeout=120,
            capture_output=True,
        )
        subprocess.run(
            [str(THUMBOR_VENV / "bin" / "pip"), "install", "-q", "thumbor"],
            check=True,
            timeout=max(60.0, min(900.0, deadline.remaining())),
            capture_output=True,
            text=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(THUMBOR_VENV, ignore_errors=True)  # a half-made venv: retry next run
        detail = getattr(exc, "stderr", "") or ""
        raise BenchError(f"could not install thumbor: {exc}\n{detail[-2000:]}") from None
    if not thumbor.exists():
        shutil.rmtree(THUMBOR_VENV, ignore_errors=True)
        raise BenchError("thumbor installed, but bin/thumbor is missing")
    return thumbor


def thumbor_version(thumbor: Path) -> dict:
    out = {}
    for package in ("thumbor", "pillow"):
        result = subprocess.run(
            [
                str(thumbor.parent / "python"),
                "-c",
                f"from importlib.metadata import version; print(version('{package}'))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        out[package] = result.stdout.strip() or "?"
    return out


THUMBOR_CONF = """\
# Generated by bench/delivery.py for one run.
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = {result_storage!r}
RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = {results!r}
RESULT_STORAGE_STORES_UNSAFE = True
RESULT_STORAGE_EXPIRATION_SECONDS = 0
ALLOW_UNSAFE_URL = True
ENGINE = 'thumbor.engines.pil'
QUALITY = 80
PROGRESSIVE_JPEG = False
AUTO_WEBP = False
RESPECT_ORIENTATION = False
PRESERVE_EXIF_INFO = False
MAX_AGE = 31536000
"""


class Thumbor:
    def __init__(self, executable: Path, tmp: Path, name: str, processes: int, result_storage):
        self.executable, self.tmp, self.name = executable, tmp, name
        self.processes, self.result_storage = processes, result_storage
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = tmp / f"thumbor-{name}.log"

    def start(self, source_root: Path, deadline: Deadline) -> None:
        results = self.tmp / f"thumbor-{self.name}-results"
        results.mkdir(exist_ok=True)
        conf = self.tmp / f"thumbor-{self.name}.conf"
        conf.write_text(
            THUMBOR_CONF.format(
                root=str(source_root), result_storage=self.result_storage, results=str(results)
            )
        )
        env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
        env.update(HOME=str(self.tmp), TMPDIR=str(self.tmp), PYTHONDONTWRITEBYTECODE="1")
        for _attempt in range(3):
            self.port = free_port()
            with open(self.log_path, "ab") as log_file:
                self.proc = subprocess.Popen(
                    [
                        str(self.executable),
                        "--ip",
                        HOST,
                        "--port",
                        str(self.port),
                        "--conf",
                        str(conf),
                        "--processes",
                        str(self.processes),
                        "--log-level",
                        "warning",
                    ],
                    cwd=self.tmp,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    start_new_session=True,
                )
            limit = Deadline(min(60.0, deadline.remaining()))
            while not limit.expired() and self.proc.poll() is None:
                try:
                    status, _ = request(self.port, "GET", "/healthcheck", timeout=5)
                    forked = len(child_pids(self.proc.pid))
                    if status == 200 and forked >= (self.processes if self.processes > 1 else 0):
                        return
                except OSError:
                    pass
                time.sleep(0.25)
            self.stop()
        raise BenchError(f"thumbor ({self.name}) did not start; log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_process_group(proc)


# --- subprocess measurements (Django set up, bench.settings) ----------------------------


def _self_kib() -> dict:
    return proc_status_kib(os.getpid())


def measured_call(payload: dict) -> dict:
    """Runs in a render sandbox child: the product's function, with the child's memory."""
    module, _, name = payload.pop("_bench_target").partition(":")
    function = getattr(importlib.import_module(module), name)
    start = _self_kib()
    reset = reset_peak_rss(os.getpid())
    result = function(payload)
    end = _self_kib()
    return {"result": result, "start_rss": start["VmRSS"], "peak": end["VmHWM"], "reset": reset}


def _django():
    import django

    django.setup()


def child_breakdown(spec: dict) -> dict:
    """Cold-render costs without HTTP: engine in-process, then in the render sandbox."""
    _django()
    from django.conf import settings

    from images.delivery import render_child, sandbox
    from images.transform import parse_transform
    from images.transform.engine import SourceInfo, render

    query = [tuple(p.split("=", 1)) for p in COLD_QUERY.split("&")]
    jpeg, heic, work = spec["jpeg"], spec["heic"], Path(spec["work"])
    info = {
        "mime_type": "image/jpeg",
        "width": 4000,
        "height": 3000,
        "orientation": 1,
        "is_animated": False,
        "has_alpha": False,
    }
    out: dict[str, list[float]] = {}

    def timed(name, function, repeats):
        function()  # warm-up: imports, forkserver start
        out[name] = []
        for _ in range(repeats):
            started = time.perf_counter()
            function()
            out[name].append(time.perf_counter() - started)

    def sandboxed(function, payload, max_jobs=settings.IMGWIRE_RENDER_CHILD_MAX_JOBS):
        return sandbox.run_sandboxed(
            function,
            payload,
            memory_bytes=settings.IMGWIRE_RENDER_MEMORY_BYTES,
            timeout=settings.IMGWIRE_RENDER_TIMEOUT_SECONDS,
            max_jobs=max_jobs,
        )

    def engine_inprocess():
        transform = parse_transform(query, None)
        with open(jpeg, "rb") as source:
            render(source, SourceInfo(**info), transform, max_output_pixels=50_000_000)

    payload = {
        "source_path": jpeg,
        "info": info,
        "query": query,
        "preset": None,
        "accept": None,
        "max_output_pixels": settings.IMGWIRE_MAX_OUTPUT_PIXELS,
        "watermark_path": None,
    }
    repeats = spec["repeats"]
    timed("sandboxed_jpeg", lambda: sandboxed(render_child.render_variant, payload), repeats)
    if spec.get("jpeg_only"):  # a what-if: only the JPEG render
        return {name: summary_ms(values) for name, values in out.items()}
    timed(
        "fresh_child_jpeg",
        lambda: sandboxed(render_child.render_variant, payload, max_jobs=1),
        repeats,
    )
    timed("engine_inprocess", engine_inprocess, repeats)
    timed("sandbox_noop", lambda: sandboxed(len, {}), repeats)  # a job's round trip
    result = {}

    def decode():
        decoded = sandboxed(render_child.decode_intermediate, {"source_path": heic})
        result.update(decoded["intermediate"])

    timed("sandboxed_heic_decode", decode, max(3, repeats // 3))
    intermediate = str(work / "intermediate")
    if "data" in result:
        Path(intermediate).write_bytes(result["data"])
    else:
        shutil.move(result["path"], intermediate)
    intermediate_info = {**info, "mime_type": "image/jpeg"}
    timed(
        "sandboxed_png_render",
        lambda: sandboxed(
            render_child.render_variant,
            {**payload, "source_path": intermediate, "info": intermediate_info},
        ),
        max(3, repeats // 3),
    )
    return {name: summary_ms(values) for name, values in out.items()} | {
        "intermediate_bytes": os.path.getsize(intermediate)
    }


def child_memory(spec: dict) -> dict:
    """The product's ensure_delivered for images nobody requested yet, with the render
    children's own peak memory recorded (run_sandboxed wrapped by measured_call)."""
    _django()
    from images.delivery import service
    from images.models import Image
    from images.transform import parse_transform

    real = service.run_sandboxed
    records = []

    def recording(function, payload, **limits):
        target = f"{function.__module__}:{function.__name__}"
        value = real(measured_call, {**payload, "_bench_target": target}, **limits)
        records.append(
            {"function": function.__name__, **{k: v for k, v in value.items() if k != "result"}}
        )
        return value["result"]

    service.run_sandboxed = recording
    out = {}
    for name, image_id, query in spec["jobs"]:
        records.clear()
        image = Image.objects.select_related("environment").get(id=image_id)
        pairs = [tuple(p.split("=", 1)) for p in query.split("&")]
        plan = service.plan_delivery(image, parse_transform(pairs, None), None)
        before = _self_kib()
        reset = reset_peak_rss(os.getpid())
        started = time.perf_counter()
        delivered = service.ensure_delivered(plan, query=pairs, preset=None, accept=None)
        elapsed = time.perf_counter() - started
        delivered.body.close()
        after = _self_kib()
        out[name] = {
            "children": list(records),
            "process_before": before["VmRSS"],
            "process_peak": after["VmHWM"],
            "reset": reset,
            "rendered": delivered.rendered,
            "seconds": elapsed,
        }
    for pid in child_pids(os.getpid()):  # the forkserver and multiprocessing's resource tracker
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"forkserver" in cmdline:
                out["forkserver_rss"] = proc_status_kib(pid)["VmRSS"]
    return out


def run_child(mode: str, spec: dict, env: dict, deadline: Deadline) -> dict:
    result = subprocess.run(
        # -c, not this file as __main__: multiprocessing would re-run a __main__ script in
        # every render child (gunicorn's children do not), which the breakdown would time.
        [
            sys.executable,
            "-c",
            "import sys; from bench.delivery import main; sys.exit(main(sys.argv[1:]))",
            "--_child",
            mode,
            json.dumps(spec),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=max(10.0, min(600.0, deadline.remaining())),
        check=False,
        start_new_session=True,
    )
    if result.returncode != 0:
        raise BenchError(f"{mode} subprocess failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the phases -------------------------------------------------------------------------


def warm_up_workers(web: Server, paths: dict, deadline: Deadline) -> None:
    """Start each worker's render forkserver and load every code path, off the books."""
    jpeg = paths["warmup_jpeg"][0]
    counter = iter(range(10_000))
    for attempt in range(6):
        result = load(
            web.port, lambda i: f"{jpeg}?{COLD_QUERY}&dpi={450 + next(counter)}", 8, 4, deadline
        )
        if result["errors"]:
            raise BenchError(f"warm-up render failed: {result['first_error']}")
        workers = web.worker_pids()
        if all(child_pids(pid) for pid in workers) or attempt == 5:
            break
    heic = paths["warmup_heic"][0]
    get_ok(web.port, f"{heic}?{COLD_QUERY}", "HEIC warm-up")
    get_ok(web.port, f"{heic}?{COLD_QUERY}&dpi=300", "HEIC warm-up")


def bench_cold_sequential(web: Server, paths: dict, inputs: dict, deadline) -> dict:
    floors = {"jpeg": [], "heic": []}
    product = {"jpeg": [], "heic_first": [], "heic_next": []}
    sizes = {}
    for index, (jpeg, heic) in enumerate(zip(paths["cold_jpeg"], paths["cold_heic"], strict=True)):
        deadline.check(f"cold render {index + 1}")
        elapsed, data = floor_jpeg(inputs["jpeg"])
        floors["jpeg"].append(elapsed)
        sizes["floor_jpeg"] = len(data)
        elapsed, data = get_ok(web.port, f"{jpeg}?{COLD_QUERY}", "cold JPEG")
        product["jpeg"].append(elapsed)
        sizes["jpeg"] = len(data)
        elapsed, data = floor_heic(inputs["heic"])
        floors["heic"].append(elapsed)
        sizes["floor_heic"] = len(data)
        elapsed, data = get_ok(web.port, f"{heic}?{COLD_QUERY}", "cold HEIC")
        product["heic_first"].append(elapsed)
        sizes["heic"] = len(data)
        elapsed, _ = get_ok(web.port, f"{heic}?{COLD_QUERY}&dpi=300", "cold HEIC variant")
        product["heic_next"].append(elapsed)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as check:
        if check.size != FLOOR_SIZE:
            raise BenchError(f"the CDN rendered {check.size}, expected {FLOOR_SIZE}")
    out = {f"floor_{k}": summary_ms(v) for k, v in floors.items()}
    out |= {k: summary_ms(v) for k, v in product.items()}
    out["sizes"] = sizes
    return out


def check_rendered(data_dir: Path, ids: dict) -> None:
    """Every cold request rendered: each image holds exactly the variants it was asked for
    (JPEG: one; HEIC: the intermediate and two variants), so none was served from cache."""
    expected = {"cold_jpeg": 1, "cold_heic": 3}
    for group, count in expected.items():
        for image_id in ids[group]:
            found = [p for p in data_dir.glob(f"media/variants/*/{image_id}/*") if p.is_file()]
            if len(found) != count:
                raise BenchError(f"{group} image {image_id} has {len(found)} variants, not {count}")


def bench_memory_http(web: Server, path: str, deadline) -> dict:
    workers = web.worker_pids()
    before = {}
    for pid in workers:
        reset_peak_rss(pid)
        before[pid] = proc_status_kib(pid)
    elapsed, _ = get_ok(web.port, f"{path}?{MEMORY_QUERY}", "24 MP cold render", timeout=120)
    after = {pid: proc_status_kib(pid) for pid in workers}
    rows = [
        {"pid": pid, "before": before[pid]["VmRSS"], "peak": after[pid]["VmHWM"]} for pid in workers
    ]
    return {"workers": rows, "seconds": elapsed}


# --- report -----------------------------------------------------------------------------


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def ms(summary: dict) -> str:
    return f"{summary['median']:.0f} ms"


def rate(row: dict) -> str:
    def num(value: float) -> str:
        return f"{value:.0f}" if value >= 100 else f"{value:.1f}"

    return f"{num(row['rps'])} req/s (p50 {num(row['p50_ms'])} ms, p95 {num(row['p95_ms'])} ms)"


def server_label(meta) -> str:
    if meta["server"] == "granian":
        return f"granian {meta['granian']} (WSGI)"
    return f"gunicorn {meta['gunicorn']} (gthread)"


def report_text(meta, cold, breakdown, loads, mem) -> str:
    lines = [
        f"Imgwire delivery benchmark, {meta['when']}",
        f"machine: {meta['cpus']} CPUs, {meta['platform']}, Python {meta['python']}, "
        f"Django {meta['django']}, granian {meta['granian']}, gunicorn {meta['gunicorn']}, "
        f"Pillow {meta['pillow']}, pillow_heif {meta['pillow_heif']}",
        f"server: {server_label(meta)}, {meta['workers']} workers x {meta['threads']} threads on "
        f"127.0.0.1, DEBUG=false; database: {meta['db']}; storage: local folder; "
        f"bytecode cache: {meta['bytecode']}",
        f"inputs: 12 MP JPEG q90 {meta['jpeg_mib']:.1f} MiB, same as HEIC "
        f"q{meta['heic_quality']} {meta['heic_mib']:.1f} MiB, 24 MP JPEG q90 "
        f"{meta['jpeg24_mib']:.1f} MiB",
        "",
        f"1. Cold render ?{COLD_QUERY}, one request at a time, median of {meta['copies']} "
        "(min-max), interleaved with the floor",
        f"   {'':<58}{'median':>9}{'min':>9}{'max':>9}",
    ]

    def row(label, s):
        lines.append(f"   {label:<58}{s['median']:>7.0f}ms{s['min']:>7.0f}ms{s['max']:>7.0f}ms")

    row("floor: Pillow open+draft+resize+save, JPEG", cold["floor_jpeg"])
    row("CDN cold JPEG", cold["jpeg"])
    lines.append(
        f"   ratio: {cold['jpeg']['median'] / cold['floor_jpeg']['median']:.2f} (aim <= 1.3)"
    )
    row("floor: pillow_heif decode+resize+save, HEIC", cold["floor_heic"])
    row("CDN cold HEIC, first variant (builds the intermediate)", cold["heic_first"])
    row("CDN cold HEIC, further variant (intermediate stored)", cold["heic_next"])
    lines.append(
        f"   ratios: first {cold['heic_first']['median'] / cold['floor_heic']['median']:.2f}, "
        f"further {cold['heic_next']['median'] / cold['floor_heic']['median']:.2f} (aim <= 1.3)"
    )
    lines += ["", "   breakdown without HTTP (subprocess, median ms):"]
    for key, label in (
        ("engine_inprocess", "engine render() in-process, warm imports"),
        ("sandbox_noop", "render sandbox round trip, trivial function"),
        ("sandboxed_jpeg", "render_variant in a render child (reused, as deployed)"),
        ("fresh_child_jpeg", "  ... in a fresh child each time (max_jobs=1)"),
        ("no_bytecode", "  ... reused child, no compiled bytecode (-B)"),
        ("sandboxed_heic_decode", "HEIC decode_intermediate in the sandbox"),
        ("sandboxed_png_render", "render_variant of the intermediate (JPEG q95)"),
    ):
        if key in breakdown:
            row(label, breakdown[key])
    lines.append(f"   intermediate: {breakdown['intermediate_bytes'] / 2**20:.1f} MiB")
    warm, vs = loads["warm"], loads["vs"]
    lines += [
        "",
        f"2. Warm cache hit, {meta['warm_requests']} requests per endpoint after "
        f"{meta['warm_warmup']} warm-up, {meta['clients']} keep-alive clients, "
        f"{meta['rounds']} interleaved rounds",
    ]
    for name, label in (
        ("static", f"static serve {STATIC_PATH} (floor)"),
        ("imgwire_warm", "CDN warm hit"),
        ("imgwire_warm_alt", f"CDN warm hit, served by {meta['alt_server']}"),
        ("thumbor_warm", "thumbor warm (result storage)"),
    ):
        if name in warm:
            r = warm[name]
            lines.append(
                f"   {label:<44}{r['rps']:>9.1f} req/s  p50 {r['p50_ms']:>6.1f} ms  "
                f"p95 {r['p95_ms']:>6.1f} ms  {r['avg_bytes'] / 1024:.0f} KiB  "
                f"server CPU {r.get('server_cpu_ms', float('nan')):.2f} ms/request"
                + (f" + database {r['database_cpu_ms']:.2f} ms" if "database_cpu_ms" in r else "")
            )
    lines.append(
        f"   ratio CDN warm / static: {warm['imgwire_warm']['rps'] / warm['static']['rps']:.2f}"
    )
    if vs:
        lines += [
            "",
            f"3. Cold under load, {meta['cold_requests']} requests per endpoint, "
            f"{meta['clients']} clients, {meta['rounds']} interleaved rounds "
            f"(thumbor {meta['thumbor']}, --processes {meta['workers']})",
        ]
        for name, label in (
            ("imgwire_cold", "CDN cold (distinct dpi per request)"),
            ("thumbor_cold", "thumbor cold (no result storage)"),
        ):
            r = vs[name]
            lines.append(
                f"   {label:<44}{r['rps']:>9.1f} req/s  p50 {r['p50_ms']:>6.1f} ms  "
                f"p95 {r['p95_ms']:>6.1f} ms  {r['avg_bytes'] / 1024:.0f} KiB"
            )
        lines.append(
            f"   Imgwire / thumbor req/s: cold "
            f"{vs['imgwire_cold']['rps'] / vs['thumbor_cold']['rps']:.2f}, warm "
            f"{warm['imgwire_warm']['rps'] / warm['thumbor_warm']['rps']:.2f}"
        )
    lines += ["", f"4. Memory, cold ?{MEMORY_QUERY} of the 24 MP JPEG"]
    for worker in mem["http"]["workers"]:
        lines.append(
            f"   {meta['server']} worker {worker['pid']}: RSS {mib(worker['before'])} before, "
            f"VmHWM {mib(worker['peak'])} after (+{mib(worker['peak'] - worker['before'])})"
        )
    for name, label in (("jpeg24", "24 MP JPEG"), ("heic12", "12 MP HEIC, first variant")):
        job = mem["child"][name]
        lines.append(
            f"   {label}: delivering process RSS {mib(job['process_before'])}, "
            f"VmHWM {mib(job['process_peak'])}"
        )
        for child in job["children"]:
            lines.append(
                f"     render child {child['function']}: start RSS "
                f"{mib(child['start_rss'])}, peak {mib(child['peak'])}"
            )
    if "forkserver_rss" in mem["child"]:
        lines.append(f"   forkserver RSS: {mib(mem['child']['forkserver_rss'])}")
    return "\n".join(lines)


def report_markdown(meta, cold, breakdown, loads, mem) -> str:
    warm, vs = loads["warm"], loads["vs"]
    jr = cold["jpeg"]["median"] / cold["floor_jpeg"]["median"]
    hf = cold["heic_first"]["median"] / cold["floor_heic"]["median"]
    hn = cold["heic_next"]["median"] / cold["floor_heic"]["median"]
    worst = max(mem["http"]["workers"], key=lambda w: w["peak"] - w["before"])
    job = mem["child"]["jpeg24"]
    render = next(c for c in job["children"] if c["function"] == "render_variant")
    heic = mem["child"]["heic12"]
    decode = [c for c in heic["children"] if c["function"] == "decode_intermediate"]
    lines = [
        "| Measurement | Floor | Imgwire | Ratio |",
        "|---|---|---|---|",
        f"| Cold render, 12 MP JPEG → `?{COLD_QUERY}` (ms/image, median of {meta['copies']}) | "
        f"Pillow: {ms(cold['floor_jpeg'])} | {ms(cold['jpeg'])} | {jr:.2f} |",
        f"| Cold render, 12 MP HEIC, first variant (builds the intermediate) | "
        f"pillow_heif: {ms(cold['floor_heic'])} | {ms(cold['heic_first'])} | {hf:.2f} |",
        f"| Cold render, 12 MP HEIC, further variant (intermediate stored) | "
        f"pillow_heif: {ms(cold['floor_heic'])} | {ms(cold['heic_next'])} | {hn:.2f} |",
        f"| Warm cache hit ({meta['clients']} clients) vs `django.views.static.serve` of the same "
        f"bytes | {rate(warm['static'])} | {rate(warm['imgwire_warm'])} | "
        f"{warm['imgwire_warm']['rps'] / warm['static']['rps']:.2f} |",
        f"| ... server CPU per request ({meta['server']} and its children, `/proc`; lower is "
        "better) | "
        f"{warm['static']['server_cpu_ms']:.2f} ms | {warm['imgwire_warm']['server_cpu_ms']:.2f} ms"
        f" | {warm['static']['server_cpu_ms'] / warm['imgwire_warm']['server_cpu_ms']:.2f}"
        " (static / Imgwire) |",
        "",
    ]
    if vs:
        lines += [
            f"| Against thumbor {meta['thumbor']} ({meta['clients']} clients, 2 vs 2 processes) "
            "| thumbor | Imgwire | Imgwire / thumbor (req/s) |",
            "|---|---|---|---|",
            f"| Cold, 800 px JPEG q80 from the 12 MP JPEG ({meta['cold_requests']} requests "
            f"each) | {rate(vs['thumbor_cold'])} | "
            f"{rate(vs['imgwire_cold'])} | "
            f"{vs['imgwire_cold']['rps'] / vs['thumbor_cold']['rps']:.2f} |",
            f"| Warm (thumbor: file result storage; Imgwire: variant cache; "
            f"{meta['warm_requests']} each) | "
            f"{rate(warm['thumbor_warm'])} | {rate(warm['imgwire_warm'])} | "
            f"{warm['imgwire_warm']['rps'] / warm['thumbor_warm']['rps']:.2f} |",
            f"| Warm, server CPU per request (every server process, `/proc`; lower is "
            f"better) | {warm['thumbor_warm']['server_cpu_ms']:.2f} ms | "
            f"{warm['imgwire_warm']['server_cpu_ms']:.2f} ms | "
            f"{warm['thumbor_warm']['server_cpu_ms'] / warm['imgwire_warm']['server_cpu_ms']:.2f}"
            " (thumbor / Imgwire) |",
        ]
        if "database_cpu_ms" in warm["imgwire_warm"]:
            both = warm["imgwire_warm"]["server_cpu_ms"] + warm["imgwire_warm"]["database_cpu_ms"]
            theirs = warm["thumbor_warm"]["server_cpu_ms"] + warm["thumbor_warm"]["database_cpu_ms"]
            lines.append(
                f"| Warm, server + local database CPU per request (PostgreSQL's processes, "
                f"`/proc`) | {theirs:.2f} ms | {both:.2f} ms | {theirs / both:.2f}"
                " (thumbor / Imgwire) |"
            )
        if "imgwire_warm_alt" in warm:
            alt = warm["imgwire_warm_alt"]
            lines += [
                f"| Warm, Imgwire served by {meta['alt_server']} instead | "
                f"{rate(warm['thumbor_warm'])} | {rate(alt)} | "
                f"{alt['rps'] / warm['thumbor_warm']['rps']:.2f} |",
                f"| ... server CPU per request | {warm['thumbor_warm']['server_cpu_ms']:.2f} ms | "
                f"{alt['server_cpu_ms']:.2f} ms | "
                f"{warm['thumbor_warm']['server_cpu_ms'] / alt['server_cpu_ms']:.2f}"
                " (thumbor / Imgwire) |",
            ]
        lines.append("")
    lines += [
        f"| Where a cold 12 MP JPEG render goes (sequential, median of "
        f"{meta['breakdown_repeats']}) | ms |",
        "|---|---|",
        f"| Pillow floor (bench process) | {cold['floor_jpeg']['median']:.0f} |",
        f"| engine `render()` in-process, imports warm | "
        f"{breakdown['engine_inprocess']['median']:.0f} |",
        f"| a render child's round trip of a trivial job | "
        f"{breakdown['sandbox_noop']['median']:.0f} |",
        f"| `render_variant` in a render child (reused, as deployed) | "
        f"{breakdown['sandboxed_jpeg']['median']:.0f} |",
        f"| ... in a fresh child each time (`IMGWIRE_RENDER_CHILD_MAX_JOBS=1`) | "
        f"{breakdown['fresh_child_jpeg']['median']:.0f} |",
    ]
    if "no_bytecode" in breakdown:
        lines.append(
            f"| (context) `render_variant` in a reused child without compiled bytecode | "
            f"{breakdown['no_bytecode']['median']:.0f} |"
        )
    lines += [
        f"| the CDN request end to end | {cold['jpeg']['median']:.0f} |",
        "",
        "| Memory, cold render | Before | Peak (VmHWM) |",
        "|---|---|---|",
        f"| {meta['server']} worker, `?{MEMORY_QUERY}` of a 24 MP JPEG (both workers reset) | "
        f"{mib(worst['before'])} | "
        f"{mib(worst['peak'])} (+{mib(worst['peak'] - worst['before'])}) |",
        f"| its render child (`render_variant`, VmHWM reset in the child) | "
        f"{mib(render['start_rss'])} at job start | "
        f"{mib(render['peak'])} |",
    ]
    if decode:
        lines.append(
            f"| HEIC decode child (`decode_intermediate`, 12 MP) | "
            f"{mib(decode[0]['start_rss'])} at job start | {mib(decode[0]['peak'])} |"
        )
    lines += [
        "",
        f"Setup: {meta['cpus']} CPUs, Python {meta['python']}, Django {meta['django']}, "
        f"{server_label(meta)} ({meta['workers']} workers x {meta['threads']} threads, "
        f"127.0.0.1), DEBUG=false, {meta['db']}, local-folder storage, Pillow {meta['pillow']}"
        + (f" (thumbor's venv: Pillow {meta['thumbor_pillow']})" if vs else "")
        + f"; inputs {meta['jpeg_mib']:.1f} MiB JPEG q90, {meta['heic_mib']:.1f} MiB HEIC "
        f"q{meta['heic_quality']}; warm: {meta['warm_requests']} requests per endpoint after "
        f"{meta['warm_warmup']} warm-up; cold under load: {meta['cold_requests']} per endpoint; "
        f"{meta['rounds']} interleaved rounds; bytecode cache: {meta['bytecode']}.",
    ]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown section")
    parser.add_argument(
        "--copies",
        type=int,
        default=20,
        help="uploads per format for sequential cold renders (default 20)",
    )
    parser.add_argument(
        "--cold-requests",
        type=int,
        default=80,
        help="cold requests per endpoint under load (default 80)",
    )
    parser.add_argument("--warm-requests", type=int, default=1000, help="default 1000")
    parser.add_argument("--warmup", type=int, default=100, help="warm-hit warm-up (default 100)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    parser.add_argument("--server", choices=Server.KINDS, default="granian", help="default granian")
    parser.add_argument(
        "--no-alt-server",
        action="store_true",
        help="skip the warm hit on the other server kind",
    )
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (default 2)")
    parser.add_argument("--heic-quality", type=int, default=50, help="default 50")
    parser.add_argument("--breakdown-repeats", type=int, default=15, help="default 15")
    parser.add_argument("--no-thumbor", action="store_true", help="skip the thumbor comparison")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="no compiled-bytecode cache for the servers (PYTHONDONTWRITEBYTECODE)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=1800.0,
        help="give up after this many seconds overall (default 1800)",
    )
    parser.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        return args
    for name in (
        "copies",
        "cold_requests",
        "warm_requests",
        "warmup",
        "clients",
        "rounds",
        "workers",
        "threads",
        "breakdown_repeats",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.cold_requests + 8 > args.copies * 300:
        parser.error("--cold-requests needs more --copies (300 distinct dpi values per copy)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args._child:
        mode, spec = args._child
        function = {"breakdown": child_breakdown, "memory": child_memory}[mode]
        print(json.dumps(function(json.loads(spec))))
        return 0
    deadline = Deadline(args.time_limit)
    database_url = database_url_from_env()
    raise_on_termination()
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-"))
    servers: list = []
    try:
        env = base_env(tmp, database_url)
        if not args.no_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        static_root = tmp / "static"
        thumbor_root = tmp / "thumbor-src"
        work = tmp / "work"
        for folder in (static_root, thumbor_root, work):
            folder.mkdir()
        thumbor = None
        if not args.no_thumbor:
            thumbor = ensure_thumbor_venv(deadline)
        log(f"temp dir {tmp}; migrating")
        server_key = bootstrap(env, deadline)
        log("making the inputs")
        inputs = make_inputs(tmp, args.heic_quality)
        shutil.copyfile(inputs["jpeg"], thumbor_root / "photo.jpg")

        web = Server(
            {**env, "IMGWIRE_BENCH_STATIC_ROOT": str(static_root)},
            tmp,
            workers=args.workers,
            threads=args.threads,
            name="web",
            kind=args.server,
        )
        servers.append(web)
        log(f"starting {args.server} --workers {args.workers}")
        web.start(deadline)
        thumbors = {}
        if thumbor:
            for name, storage in (("cold", None), ("warm", "thumbor.result_storages.file_storage")):
                thumbors[name] = Thumbor(thumbor, tmp, name, args.workers, storage)
                servers.append(thumbors[name])
                thumbors[name].start(thumbor_root, deadline)

        paths = upload_all(
            web.port,
            server_key,
            {
                "warmup_jpeg": ("jpeg", "image/jpeg", 1),
                "warmup_heic": ("heic", "image/heic", 1),
                "cold_jpeg": ("jpeg", "image/jpeg", args.copies),
                "cold_heic": ("heic", "image/heic", args.copies),
                "memory_http": ("jpeg24", "image/jpeg", 1),
                "memory_child": ("jpeg24", "image/jpeg", 1),
                "memory_heic": ("heic", "image/heic", 1),
            },
            inputs,
            deadline,
        )
        log("warming up both workers")
        warm_up_workers(web, paths, deadline)

        log(f"1/4 cold renders, {args.copies} of each, interleaved with the floors")
        cold = bench_cold_sequential(web, paths, inputs, deadline)
        check_rendered(tmp / "data", paths["_ids"])
        log("1/4 breakdown subprocesses")
        spec = {
            "jpeg": str(inputs["jpeg"]),
            "heic": str(inputs["heic"]),
            "work": str(work),
            "repeats": args.breakdown_repeats,
        }
        breakdown = run_child("breakdown", spec, env, deadline)
        if not args.no_bytecode:  # and the product's preload without compiled bytecode
            plain = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
            plain["PYTHONDONTWRITEBYTECODE"] = "1"
            what_if = run_child("breakdown", {**spec, "jpeg_only": True}, plain, deadline)
            breakdown["no_bytecode"] = what_if["sandboxed_jpeg"]

        loads = {"vs": {}, "warm": {}}
        if thumbors:
            log("2/4 cold under load: Imgwire vs thumbor")
            copies = paths["cold_jpeg"]

            def cold_path(i, copies=copies):
                return f"{copies[i % len(copies)]}?{COLD_QUERY}&dpi={1 + i // len(copies)}"

            get_ok(thumbors["cold"].port, THUMBOR_PATH, "thumbor warm-up")
            loads["vs"] = interleaved(
                {
                    "imgwire_cold": (web.port, cold_path),
                    "thumbor_cold": (thumbors["cold"].port, lambda i: THUMBOR_PATH),
                },
                args.cold_requests,
                args.rounds,
                args.clients,
                deadline,
            )

        log("3/4 warm hits")
        warm_path = f"{paths['cold_jpeg'][0]}?{COLD_QUERY}"
        _, variant = get_ok(web.port, warm_path, "warm hit")
        (static_root / "variant.jpg").write_bytes(variant)
        _, static = get_ok(web.port, STATIC_PATH, "static floor")
        if static != variant:
            raise BenchError("the static floor does not serve the variant's bytes")
        endpoints = {
            "static": (web.port, lambda i: STATIC_PATH),
            "imgwire_warm": (web.port, lambda i: warm_path),
        }
        if thumbors:
            _, thumbed = get_ok(thumbors["warm"].port, THUMBOR_PATH, "thumbor warm prime")
            from PIL import Image

            with Image.open(io.BytesIO(thumbed)) as check:
                if check.size != FLOOR_SIZE:
                    raise BenchError(f"thumbor rendered {check.size}, expected {FLOOR_SIZE}")
            endpoints["thumbor_warm"] = (thumbors["warm"].port, lambda i: THUMBOR_PATH)
        for port, path_for in endpoints.values():
            warm = load(port, path_for, args.warmup, args.clients, deadline)
            if warm["errors"]:
                raise BenchError(f"warm-up failed: {warm['first_error']}")
        pids = {"static": web.proc.pid, "imgwire_warm": web.proc.pid}
        if not args.no_alt_server:
            alt_kind = next(kind for kind in Server.KINDS if kind != args.server)
            log(f"starting {alt_kind} for the same warm hit")
            alt = Server(
                web.base_env,
                tmp,
                workers=args.workers,
                threads=args.threads,
                name="alt",
                kind=alt_kind,
            )
            servers.append(alt)
            alt.start(deadline)
            _, again = get_ok(alt.port, warm_path, f"warm hit on {alt_kind}")
            if again != variant:
                raise BenchError(f"{alt_kind} served other bytes for the warm hit")
            endpoints["imgwire_warm_alt"] = (alt.port, lambda i: warm_path)
            pids["imgwire_warm_alt"] = alt.proc.pid
            warm = load(alt.port, lambda i: warm_path, args.warmup, args.clients, deadline)
            if warm["errors"]:
                raise BenchError(f"warm-up failed: {warm['first_error']}")
        if thumbors:
            pids["thumbor_warm"] = thumbors["warm"].proc.pid
        loads["warm"] = interleaved(
            endpoints,
            args.warm_requests,
            args.rounds,
            args.clients,
            deadline,
            pids,
            database_pid=local_postgres_pid() if database_url else None,
        )
        stored = tmp / "thumbor-warm-results"
        if thumbors and not any(p.is_file() for p in stored.rglob("*")):
            log("warning: thumbor's result storage folder has no files")

        log("4/4 memory")
        mem = {"http": bench_memory_http(web, paths["memory_http"][0], deadline)}
        ids = paths["_ids"]
        mem["child"] = run_child(
            "memory",
            {
                "jobs": [
                    ("jpeg24", ids["memory_child"][0], MEMORY_QUERY),
                    ("heic12", ids["memory_heic"][0], COLD_QUERY),
                ]
            },
            env,
            deadline,
        )
        for server in servers:
            server.stop()

        from importlib.metadata import version

        meta = {
            "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            **versions(),
            "pillow": version("pillow"),
            "pillow_heif": version("pillow_heif"),
            "server": args.server,
            "alt_server": None
            if args.no_alt_server
            else next(kind for kind in Server.KINDS if kind != args.server),
            "workers": args.workers,
            "threads": args.threads,
            "db": describe_db(database_url),
            "copies": args.copies,
            "cold_requests": args.cold_requests,
            "warm_requests": args.warm_requests,
            "warm_warmup": args.warmup,
            "clients": args.clients,
            "breakdown_repeats": args.breakdown_repeats,
            "rounds": args.rounds,
            "heic_quality": args.heic_quality,
            "bytecode": "off (PYTHONDONTWRITEBYTECODE)"
            if args.no_bytecode
            else "on (PYTHONPYCACHEPREFIX in the temp dir)",
            "jpeg_mib": inputs["jpeg"].stat().st_size / 2**20,
            "heic_mib": inputs["heic"].stat().st_size / 2**20,
            "jpeg24_mib": inputs["jpeg24"].stat().st_size / 2**20,
        }
        if thumbor:
            tv = thumbor_version(thumbor)
            meta["thumbor"] = tv["thumbor"]
            meta["thumbor_pillow"] = tv["pillow"]
        print(report_text(meta, cold, breakdown, loads, mem))
        if args.markdown:
            print()
            print(report_markdown(meta, cold, breakdown, loads, mem))
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        for server in servers:
            if server.log_path.exists():
                print(f"--- {server.name} log (tail) ---\n{server.log_tail()}", file=sys.stderr)
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
