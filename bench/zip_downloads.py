#!/usr/bin/env python
"""Zip download benchmarks: ``.venv/bin/python bench/zip_downloads.py [--markdown]``.

Measures ``images.downloads.archive.write_archive`` (what the ``build_download`` actor runs)
over 200 objects of 2 MiB random bytes, against floors taken in the same run (the machines
are noisy, so only ratios are comparable between runs):

1. Local-folder storage (the product's default ``FileSystemStorage``, in a temp dir):
   MiB/s of ``write_archive`` against a plain copy of the same objects' bytes into one
   file through the same storage's ``open()`` and a 1 MiB read loop (median of a few
   repeats, in rotating order). Two context rows split the gap: the same copy plus
   ``zlib.crc32`` (the least a zip has to do with every byte), and ``zipfile`` writing
   straight into a file, without the product's pipe and save thread.
2. Peak memory of the process doing the build: each size (50, 200 and 1000 entries of
   2 MiB, the last being the product's maximum entry count) is built in a fresh
   subprocess; VmHWM is reset just before the build (``/proc/self/clear_refs``) and read
   after it, and a second build of the same size reports the ``tracemalloc`` peak.
3. Optionally (default on) the same against S3, served by ``moto_server`` on 127.0.0.1 and
   configured exactly as the product configures S3 (``IMGWIRE_STORAGE_URL``: its
   ``TransferConfig`` with 8 MiB parts, 2 in memory). The floor is one
   ``storage.save()`` of the 400 MiB concatenation from a local file. moto keeps objects
   in an in-memory Python server, so its MiB/s mean nothing; only the ratio does.

Every build and copy runs in a child process with Django set up (``bench.settings``) against
a temp ``IMGWIRE_DATA_DIR``; nothing touches the database. Each throughput child first
allocates and frees one 4 MiB block (``prime_allocator``), so that glibc serves the 1 MiB
chunks from its heap as in a long-running worker rather than by mmap and page faults as in a
fresh process; ``--fresh-malloc`` skips that. The memory children are never primed: a primed
heap keeps the warm-up's chunks, which would hide the build's own working set.

Everything runs on 127.0.0.1 in a fresh temp dir which is removed at the end, as are moto
and the children, also on failure or Ctrl-C. Every loop is bounded in count and time.
"""

import argparse
import datetime
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
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from bench.common import (
    HOST,
    ROOT,
    BenchError,
    Deadline,
    MiB,
    base_env,
    free_port,
    proc_status_kib,
    raise_on_termination,
    reset_peak_rss,
    stop_process_group,
    versions,
)

BUCKET = "imgwire-bench"
SOURCE_PREFIX = "bench/src"
TARGET_KEY = "bench/out/archive.zip"
FLOOR_KEY = "bench/out/floor.bin"
CHUNK = MiB  # write_archive's default chunk_size, as download_job_build calls it

LOCAL_OPS = {
    "floor": "storage.open + 1 MiB reads into one file (floor)",
    "crc": "same + zlib.crc32 (context: a zip's minimum)",
    "zip_direct": "zipfile straight into a file, no pipe (context)",
    "archive": "write_archive (product)",
}
S3_OPS = {
    "floor": "storage.save of the concatenation (floor)",
    "get": "GET every object, open_stream to nothing (context)",
    "archive": "write_archive (product)",
}


# --- child process: Django set up, one task, a JSON line on stdout ----------------------


def source_key(index: int) -> str:
    return f"{SOURCE_PREFIX}/{index:04d}.bin"


def entries_for(count: int, sources: int):
    """``count`` entries; past ``sources`` they reuse the objects under new names."""
    from images.downloads.archive import ArchiveEntry

    return [
        ArchiveEntry(name=f"image-{i:04d}.jpg", key=source_key(i % sources)) for i in range(count)
    ]


def child_prepare(storage, spec) -> dict:
    from django.core.files.base import ContentFile

    if spec.get("create_bucket"):
        storage.connection.meta.client.create_bucket(Bucket=BUCKET)
    concat = open(spec["concat_path"], "wb") if spec.get("concat_path") else None  # noqa: SIM115
    try:
        for index in range(spec["sources"]):
            data = os.urandom(spec["object_bytes"])
            storage.save(source_key(index), ContentFile(data))
            if concat is not None:
                concat.write(data)
    finally:
        if concat is not None:
            concat.close()
    return {"sources": spec["sources"]}


def _copy_into(storage, entries, path: str, crc: bool) -> None:
    import zlib

    from images.storage import open_stream

    with open(path, "wb") as target:
        for entry in entries:
            source, _ = open_stream(entry.key, storage)
            with source:
                value = 0
                while chunk := source.read(CHUNK):
                    if crc:
                        value = zlib.crc32(chunk, value)
                    target.write(chunk)


def _zip_direct(storage, entries, path: str) -> None:
    """What write_archive writes, by zipfile into a plain file: no pipe, no save thread."""
    import zipfile

    from images.storage import open_stream

    with open(path, "wb") as target, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for entry in entries:
            source, size = open_stream(entry.key, storage)
            with source:
                info = zipfile.ZipInfo(entry.name, date_time=(2026, 11, 21, 0, 0, 0))
                info.file_size = size or 0
                with archive.open(info, "w") as member:
                    while chunk := source.read(CHUNK):
                        member.write(chunk)


def _get_all(storage, entries) -> None:
    from images.storage import open_stream

    for entry in entries:
        source, _ = open_stream(entry.key, storage)
        with source:
            while source.read(CHUNK):
                pass


def child_throughput(storage, spec) -> dict:
    from django.core.files import File

    from images.downloads.archive import write_archive

    entries = entries_for(spec["entries"], spec["sources"])
    s3 = spec["mode"] == "s3"
    scratch = spec["scratch"]

    def run(op: str, some_entries) -> float:
        started = time.perf_counter()
        if op == "archive":
            write_archive(TARGET_KEY, some_entries, storage=storage, chunk_size=CHUNK)
        elif op == "floor" and s3:
            with open(spec["concat_path"], "rb") as concat:
                storage.save(FLOOR_KEY, File(concat, name="floor.bin"))
        elif op == "floor":
            _copy_into(storage, some_entries, scratch, crc=False)
        elif op == "crc":
            _copy_into(storage, some_entries, scratch, crc=True)
        elif op == "zip_direct":
            _zip_direct(storage, some_entries, scratch)
        elif op == "get":
            _get_all(storage, some_entries)
        elapsed = time.perf_counter() - started
        for key in (TARGET_KEY, FLOOR_KEY):
            storage.delete(key)
        if os.path.exists(scratch):
            os.unlink(scratch)
        return elapsed

    ops = list(S3_OPS if s3 else LOCAL_OPS)
    # Warm-up, not counted: code paths, connections, and (locally) the page cache.
    warm_entries = entries[:5] if s3 else entries
    for op in ops:
        if not (s3 and op == "floor"):
            run(op, warm_entries)
    # One untimed check that the archive is what the product promises.
    size = write_archive(TARGET_KEY, entries, storage=storage, chunk_size=CHUNK)
    check = verify_archive(storage, entries, size, spec, full=not s3)
    storage.delete(TARGET_KEY)

    seconds: dict[str, list[float]] = {op: [] for op in ops}
    deadline = Deadline(spec["time_limit"])
    for index in range(spec["repeats"]):
        if deadline.expired():
            break
        order = ops[index % len(ops) :] + ops[: index % len(ops)]  # rotate the order
        for op in order:
            seconds[op].append(run(op, entries))
    return {"seconds": seconds, "archive_bytes": size, "check": check}


def verify_archive(storage, entries, size: int, spec, full: bool) -> str:
    import zipfile

    stored = storage.size(TARGET_KEY)
    payload = spec["entries"] * spec["object_bytes"]
    if stored != size or size < payload:
        raise RuntimeError(f"archive is {stored} bytes, write_archive said {size}")
    if not full:
        return f"{size} bytes stored"
    with storage.open(TARGET_KEY, "rb") as handle, zipfile.ZipFile(handle) as archive:
        names = archive.namelist()
        if names != [entry.name for entry in entries]:
            raise RuntimeError("archive entries differ from the request")
        bad = archive.testzip()
        if bad is not None:
            raise RuntimeError(f"CRC mismatch in {bad}")
    return f"{size} bytes, {len(names)} entries, CRCs verified"


def child_memory(storage, spec) -> dict:
    import gc
    import tracemalloc

    from images.downloads.archive import write_archive

    pid = os.getpid()
    warm = entries_for(2, spec["sources"])
    write_archive(TARGET_KEY, warm, storage=storage, chunk_size=CHUNK)  # load every code path
    storage.delete(TARGET_KEY)
    entries = entries_for(spec["entries"], spec["sources"])
    gc.collect()
    reset = reset_peak_rss(pid)
    before = proc_status_kib(pid)
    started = time.perf_counter()
    size = write_archive(TARGET_KEY, entries, storage=storage, chunk_size=CHUNK)
    elapsed = time.perf_counter() - started
    after = proc_status_kib(pid)
    storage.delete(TARGET_KEY)
    traced = None
    if spec["tracemalloc"]:
        gc.collect()
        tracemalloc.start()
        write_archive(TARGET_KEY, entries, storage=storage, chunk_size=CHUNK)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        storage.delete(TARGET_KEY)
    return {
        "entries": spec["entries"],
        "archive_bytes": size,
        "seconds": elapsed,
        "rss_before": before["VmRSS"],
        "hwm_before": before["VmHWM"],
        "hwm_after": after["VmHWM"],
        "reset": reset,
        "tracemalloc_peak": traced,
    }


def prime_allocator() -> None:
    """Allocate and free one 4 MiB block, as any long-running worker has at some point.

    glibc serves blocks above its mmap threshold (128 KiB at start) with mmap/munmap, so in
    a fresh process every 1 MiB ``read()`` returns freshly faulted pages; freeing a larger
    block raises the threshold (and the heap trim threshold), after which 1 MiB chunks come
    from the heap. The floor copy is the most sensitive: over two times slower in a fresh
    process. ``--fresh-malloc`` measures without this.
    """
    block = bytearray(4 * MiB)
    del block


def child_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    if spec.get("prime_malloc"):
        prime_allocator()
    import django

    django.setup()
    from django.core.files.storage import default_storage

    task = {"prepare": child_prepare, "throughput": child_throughput, "memory": child_memory}
    result = task[spec["task"]](default_storage, spec)
    print(json.dumps(result))
    return 0


# --- parent: temp dir, moto, children, report -------------------------------------------


def run_child(spec: dict, env: dict, deadline: Deadline, log: Path, limit: float = 900.0) -> dict:
    timeout = max(1.0, min(limit, deadline.remaining()))
    with open(log, "ab") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process_group(proc)
            what = f"{spec['task']} ({spec['mode']})"
            raise BenchError(f"{what} did not finish in {timeout:.0f} s") from None
        except BaseException:
            stop_process_group(proc)
            raise
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise BenchError(f"{spec['task']} ({spec['mode']}) failed:\n{tail}")
    return json.loads(out.decode().strip().splitlines()[-1])


class Moto:
    """moto_server on 127.0.0.1 in its own process group (objects kept in its memory)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = tmp / "moto.log"

    def start(self, deadline: Deadline) -> None:
        binary = Path(sys.executable).parent / "moto_server"
        command = [str(binary)] if binary.exists() else [sys.executable, "-m", "moto.server"]
        for _attempt in range(3):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [*command, "-H", HOST, "-p", str(self.port)],
                    cwd=self.tmp,
                    env={
                        **{k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ},
                        "TMPDIR": str(self.tmp),
                    },
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            limit = Deadline(min(30.0, deadline.remaining()))
            while not limit.expired() and self.proc.poll() is None:
                try:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                    conn.request("GET", "/moto-api/")
                    conn.getresponse().read()
                    conn.close()
                    return
                except OSError:
                    time.sleep(0.2)
            self.stop()
        raise BenchError(f"moto_server did not start; see {self.log_path}")

    def storage_url(self) -> str:
        query = urlencode(
            {
                "endpoint_url": f"http://{HOST}:{self.port}",
                "region": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
            }
        )
        return f"s3://{BUCKET}?{query}"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_process_group(proc)


def rates(seconds: list[float], mib: float) -> dict:
    values = sorted(mib / s for s in seconds)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1]}


def bench_storage(mode, env, args, tmp, deadline, log) -> dict:
    object_bytes = args.object_mib * MiB
    prime = not args.fresh_malloc
    concat = str(tmp / "concat.bin") if mode == "s3" else None
    print(f"[bench] {mode}: writing {args.objects} x {args.object_mib} MiB", file=sys.stderr)
    run_child(
        {
            "task": "prepare",
            "mode": mode,
            "sources": args.objects,
            "object_bytes": object_bytes,
            "create_bucket": mode == "s3",
            "concat_path": concat,
        },
        env,
        deadline,
        log,
    )
    repeats = args.s3_repeats if mode == "s3" else args.repeats
    print(f"[bench] {mode}: throughput, {repeats} repeats", file=sys.stderr, flush=True)
    result = run_child(
        {
            "task": "throughput",
            "mode": mode,
            "sources": args.objects,
            "entries": args.objects,
            "object_bytes": object_bytes,
            "repeats": repeats,
            "concat_path": concat,
            "scratch": str(tmp / "scratch.bin"),
            "prime_malloc": prime,
            "time_limit": max(1.0, deadline.remaining() - 120),
        },
        env,
        deadline,
        log,
        limit=3600.0,
    )
    mib = result["archive_bytes"] / MiB
    payload_mib = args.objects * args.object_mib
    throughput = {}
    for op, seconds in result["seconds"].items():
        if not seconds:
            raise BenchError(f"{mode}: no timed repeat of {op} finished in time")
        # Copies move the payload; zips move the payload plus headers: rate over what moved.
        throughput[op] = rates(seconds, mib if op in ("archive", "zip_direct") else payload_mib)
        throughput[op]["n"] = len(seconds)
    out = {"throughput": throughput, "archive_bytes": result["archive_bytes"]}
    out["check"] = result["check"]
    out["ratio"] = throughput["archive"]["median"] / throughput["floor"]["median"]
    if "crc" in throughput:
        out["ratio_crc"] = throughput["archive"]["median"] / throughput["crc"]["median"]
        out["ratio_zip_direct"] = (
            throughput["archive"]["median"] / throughput["zip_direct"]["median"]
        )
        out["ratio_crc_floor"] = throughput["crc"]["median"] / throughput["floor"]["median"]
    if "get" in throughput:
        out["ratio_get"] = throughput["archive"]["median"] / throughput["get"]["median"]
    memory = []
    sizes = args.memory_entries if mode == "local" else args.s3_memory_entries
    for entries in sizes:
        print(f"[bench] {mode}: memory, {entries} entries", file=sys.stderr, flush=True)
        memory.append(
            run_child(
                {
                    "task": "memory",
                    "mode": mode,
                    "sources": args.objects,
                    "entries": entries,
                    "object_bytes": object_bytes,
                    "tracemalloc": mode == "local",
                    "prime_malloc": False,  # fresh: the increase is then the build's own
                },
                env,
                deadline,
                log,
                limit=1800.0,
            )
        )
    out["memory"] = memory
    return out


# --- report -----------------------------------------------------------------------------


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def report_text(meta, local, s3) -> str:
    lines = [
        f"Imgwire zip download benchmark, {meta['when']}",
        f"machine: {meta['cpus']} CPUs, {meta['platform']}, Python {meta['python']}, "
        f"Django {meta['django']}",
        f"archive: {meta['objects']} objects x {meta['object_mib']} MiB of random bytes "
        f"(stored, not deflated), 1 MiB chunks; every build in a child process",
        f"allocator for throughput: {meta['malloc']}; memory runs: fresh processes",
        "",
        f"1. Local-folder storage (FileSystemStorage in a temp dir), MiB/s, median of "
        f"{meta['repeats']} (min-max), rotating order",
        f"   {'operation':<52}{'MiB/s':>9}{'min':>9}{'max':>9}",
    ]
    for op, label in LOCAL_OPS.items():
        r = local["throughput"][op]
        lines.append(f"   {label:<52}{r['median']:>9.0f}{r['min']:>9.0f}{r['max']:>9.0f}")
    lines += [
        f"   ratio write_archive / floor: {local['ratio']:.2f}   "
        f"(/ copy+crc32: {local['ratio_crc']:.2f}; / zipfile direct: "
        f"{local['ratio_zip_direct']:.2f}; copy+crc32 / floor: {local['ratio_crc_floor']:.2f})",
        f"   archive check: {local['check']}",
        "",
        "2. Peak memory of the process building the archive (fresh process per size; VmHWM "
        "reset just before the build)",
        f"   {'storage':<8}{'entries':>8}{'archive':>12}{'RSS before':>13}{'VmHWM after':>13}"
        f"{'increase':>11}{'tracemalloc peak':>18}{'MiB/s':>8}",
    ]
    for name, result in (("local", local), ("s3", s3)):
        if result is None:
            continue
        for run in result["memory"]:
            traced = run["tracemalloc_peak"]
            lines.append(
                f"   {name:<8}{run['entries']:>8}{run['archive_bytes'] / MiB:>8.0f} MiB"
                f"{mib(run['rss_before']):>13}{mib(run['hwm_after']):>13}"
                f"{mib(run['hwm_after'] - run['rss_before']):>11}"
                f"{(f'{traced / MiB:.1f} MiB' if traced is not None else '-'):>18}"
                f"{run['archive_bytes'] / MiB / run['seconds']:>8.0f}"
            )
    if not all(run["reset"] for r in (local, s3) if r for run in r["memory"]):
        lines.append("   note: VmHWM could not be reset; peaks are since process start")
    if s3 is not None:
        lines += [
            "",
            f"3. S3 via moto_server on 127.0.0.1 (in-memory Python: only the ratio means "
            f"anything), product TransferConfig, median of {meta['s3_repeats']} (min-max)",
            f"   {'operation':<52}{'MiB/s':>9}{'min':>9}{'max':>9}",
        ]
        for op, label in S3_OPS.items():
            r = s3["throughput"][op]
            lines.append(f"   {label:<52}{r['median']:>9.1f}{r['min']:>9.1f}{r['max']:>9.1f}")
        lines += [
            f"   ratio write_archive / storage.save: {s3['ratio']:.2f}   "
            f"(/ GET only: {s3['ratio_get']:.2f})",
            f"   archive check: {s3['check']}",
        ]
    return "\n".join(lines)


def report_markdown(meta, local, s3) -> str:
    t = local["throughput"]

    def rate(r, digits=0):
        return f"{r['median']:.{digits}f} MiB/s"

    payload = f"{meta['objects']} x {meta['object_mib']} MiB"
    lines = [
        "| Measurement | Floor | Imgwire | Ratio |",
        "|---|---|---|---|",
        f"| Local storage, {payload}: `write_archive` vs `storage.open` + 1 MiB read loop "
        f"into one file (median of {meta['repeats']}) | {rate(t['floor'])} | "
        f"{rate(t['archive'])} (range {t['archive']['min']:.0f}-{t['archive']['max']:.0f}) | "
        f"{local['ratio']:.2f} |",
        f"| (context) same copy + `zlib.crc32`, the least a zip does per byte | "
        f"{rate(t['crc'])} | {rate(t['archive'])} | {local['ratio_crc']:.2f} |",
        f"| (context) `zipfile` straight into a file, no pipe or save thread | "
        f"{rate(t['zip_direct'])} | {rate(t['archive'])} | {local['ratio_zip_direct']:.2f} |",
    ]
    for run in local["memory"]:
        lines.append(
            f"| Build process memory, local, {run['entries']} x {meta['object_mib']} MiB "
            f"({run['archive_bytes'] / MiB:.0f} MiB zip) | {mib(run['rss_before'])} before | "
            f"{mib(run['hwm_after'])} peak (VmHWM); tracemalloc peak "
            f"{run['tracemalloc_peak'] / MiB:.1f} MiB | "
            f"+{mib(run['hwm_after'] - run['rss_before'])} |"
        )
    if s3 is not None:
        s = s3["throughput"]
        lines += [
            f"| S3 (moto), {payload}: `write_archive` vs `storage.save` of the "
            f"{meta['objects'] * meta['object_mib']} MiB concatenation (median of "
            f"{meta['s3_repeats']}) | {rate(s['floor'], 1)} | {rate(s['archive'], 1)} | "
            f"{s3['ratio']:.2f} |",
            f"| (context) S3 (moto): GET of every object, read to nothing | "
            f"{rate(s['get'], 1)} | {rate(s['archive'], 1)} | {s3['ratio_get']:.2f} |",
        ]
        for run in s3["memory"]:
            lines.append(
                f"| Build process memory, S3 (moto), {run['entries']} x {meta['object_mib']} "
                f"MiB | {mib(run['rss_before'])} before | {mib(run['hwm_after'])} peak (VmHWM) | "
                f"+{mib(run['hwm_after'] - run['rss_before'])} |"
            )
    lines += [
        "",
        f"Setup: {meta['cpus']} CPUs, Python {meta['python']}, Django {meta['django']}; "
        f"{payload} of random bytes (stored, not deflated), `chunk_size` 1 MiB as "
        f"`download_job_build` uses it; every build runs in a child process with Django set "
        f"up (`bench.settings`) against a temp `IMGWIRE_DATA_DIR`; timed operations rotate "
        f"their order each repeat. Memory: a fresh process per size, VmHWM reset just before "
        f"the build, allocator not primed; above {meta['objects']} entries the objects are "
        f"reused under new names. Throughput allocator: {meta['malloc']}."
        + (
            " S3: `moto_server` on 127.0.0.1 through the product's `IMGWIRE_STORAGE_URL` "
            "configuration (8 MiB parts, 2 in memory); moto is an in-memory Python server, so "
            "only its ratios mean anything."
            if s3 is not None
            else ""
        ),
    ]
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------


def entry_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of entry counts") from None
    if not counts or min(counts) < 1 or max(counts) > 1000:
        raise argparse.ArgumentTypeError("entry counts are between 1 and 1000")
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown section")
    parser.add_argument("--objects", type=int, default=200, help="default 200")
    parser.add_argument("--object-mib", type=int, default=2, help="default 2")
    parser.add_argument("--repeats", type=int, default=7, help="local repeats (default 7)")
    parser.add_argument(
        "--memory-entries",
        type=entry_counts,
        default=[50, 200, 1000],
        help="local memory runs (default 50,200,1000)",
    )
    parser.add_argument("--no-s3", action="store_true", help="skip the moto_server part")
    parser.add_argument(
        "--fresh-malloc",
        action="store_true",
        help="measure in fresh processes as they start (see prime_allocator)",
    )
    parser.add_argument("--s3-repeats", type=int, default=3, help="default 3")
    parser.add_argument(
        "--s3-memory-entries",
        type=entry_counts,
        default=[50, 200],
        help="S3 memory runs (default 50,200)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=1800.0,
        help="give up after this many seconds overall (default 1800)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("objects", "object_mib", "repeats", "s3_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.objects > 1000 or args.object_mib > 100:
        parser.error("at most 1000 objects of at most 100 MiB")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args.child)
    deadline = Deadline(args.time_limit)
    raise_on_termination()
    tmp = Path(tempfile.mkdtemp(prefix="imgwire-bench-zip-"))
    log = tmp / "children.log"
    moto = Moto(tmp)
    try:
        env = base_env(tmp, "")
        env["IMGWIRE_PUBLIC_URL"] = f"http://{HOST}:8000"  # required setting; never served
        print(f"[bench] temp dir {tmp}", file=sys.stderr, flush=True)
        local = bench_storage("local", env, args, tmp, deadline, log)
        s3 = None
        if not args.no_s3:
            print("[bench] starting moto_server", file=sys.stderr, flush=True)
            moto.start(deadline)
            s3_env = {**env, "IMGWIRE_STORAGE_URL": moto.storage_url()}
            s3 = bench_storage("s3", s3_env, args, tmp, deadline, log)
            moto.stop()
        meta = {
            "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            **versions(),
            "objects": args.objects,
            "object_mib": args.object_mib,
            "repeats": min(r["n"] for r in local["throughput"].values()),
            "s3_repeats": min(r["n"] for r in s3["throughput"].values()) if s3 else 0,
            "malloc": (
                "fresh processes (--fresh-malloc)"
                if args.fresh_malloc
                else "primed (a 4 MiB block freed before measuring, as in a long-running worker)"
            ),
        }
        print(report_text(meta, local, s3))
        if args.markdown:
            print()
            print(report_markdown(meta, local, s3))
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
