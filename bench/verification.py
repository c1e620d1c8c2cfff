#!/usr/bin/env python
"""What verifying an upload costs: ``.venv/bin/python bench/verification.py [--markdown]``.

Verification throughput per core for photo-like JPEGs of ~200 KB (1280x960) and 12 MP
(4000x3000, quality 90), against a floor taken in the same run: a bare in-process loop that,
per file, reads it, hashes it (sha256), ``Image.open`` + ``verify()``, then opens it again
and ``load()``s it. The product's path per file is what ``image_process`` does around
storage: a chunked sha256 of the bytes, then ``inspect_image`` (a fresh child forked from
the lean verification forkserver, images/processing/forkserver.py, with its resource
limits, decoding and describing the image). "Render forkserver" is the same child forked
from the render forkserver instead (``run_sandboxed(..., fresh=True)``, how verification
ran before), in the same rounds.

Per core: the whole process is pinned to one CPU before the forkserver starts (it and its
children inherit the pin), and throughput is files per CPU-second of this process tree
(this process, the forkserver and every child it reaped; ``bench.common.tree_cpu_seconds``),
so other load on the machine does not count. Wall time per file on that core is shown too,
and the minor page faults of a verification child (the lean server's ``cminflt``).
Floor and product alternate for ``--rounds`` rounds; the medians are reported. For
comparison, ``--before`` files also go through the command-line child
(``python -m images.processing.sandbox_child``: a new interpreter per file, as before).

No server, no Django: everything runs in this process and its children, in a temp dir
removed at the end. Bounded: ``--small`` and ``--large`` files per round.
"""

import argparse
import hashlib
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, tree_cpu_seconds

CHUNK = 1024 * 1024


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def photo(width: int, height: int, seed: int = 1):
    """A photo-like picture (gradients, blurred shapes, grain): compresses like a photo."""
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
        draw.ellipse(
            (x - r, y - r, x + r, y + r // 2), fill=tuple(rng.randrange(256) for _ in "rgb")
        )
    image = image.filter(ImageFilter.GaussianBlur(6))
    grain = Image.effect_noise((width, height), 5).convert("RGB")
    return ImageChops.add(image, grain, 1.0, -128)


def make_files(folder: Path, name: str, size: tuple[int, int], quality: int, count: int):
    buffer = io.BytesIO()
    photo(*size).save(buffer, "JPEG", quality=quality)
    data = buffer.getvalue()
    paths = []
    for index in range(count):  # distinct files with the same bytes (all in the page cache)
        path = folder / f"{name}-{index}.jpg"
        path.write_bytes(data)
        paths.append(str(path))
    return paths, len(data)


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def floor(paths: list[str]) -> None:
    from PIL import Image

    for path in paths:
        with open(path, "rb") as source:
            data = source.read()
        hashlib.sha256(data).hexdigest()
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()


def product(paths: list[str]) -> None:
    from images.processing.sandbox import inspect_image

    for path in paths:
        sha256_file(path)
        result = inspect_image(path, "image/jpeg")
        if not result.ok:
            raise SystemExit(f"verification refused a bench file: {result.reason}")


def render_forkserver(paths: list[str]) -> None:
    from images.delivery.sandbox import run_sandboxed
    from images.processing import sandbox_child
    from images.processing.sandbox import DEFAULT_MAX_PIXELS, DEFAULT_MEMORY_BYTES

    for path in paths:
        sha256_file(path)
        descriptor, log_path = tempfile.mkstemp(prefix="imgwire-bench-", suffix=".log")
        os.close(descriptor)
        request = {
            "path": path, "declared_mime": "image/jpeg", "max_pixels": DEFAULT_MAX_PIXELS,
            "memory_bytes": DEFAULT_MEMORY_BYTES, "cpu_seconds": 120, "log_path": log_path,
        }  # fmt: skip
        line = run_sandboxed(
            sandbox_child.run_forked, request, memory_bytes=DEFAULT_MEMORY_BYTES, timeout=60,
            max_jobs=1, fresh=True,
        )  # fmt: skip
        os.unlink(log_path)
        if not json.loads(line)["ok"]:
            raise SystemExit("the render forkserver's child refused a bench file")


def before(paths: list[str]) -> None:
    from images.processing.sandbox import DEFAULT_MAX_PIXELS, DEFAULT_MEMORY_BYTES

    env = {**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_ARENA_MAX": "2"}
    for path in paths:
        sha256_file(path)
        request = {
            "path": path, "declared_mime": "image/jpeg", "max_pixels": DEFAULT_MAX_PIXELS,
            "memory_bytes": DEFAULT_MEMORY_BYTES, "cpu_seconds": 120,
        }  # fmt: skip
        completed = subprocess.run(
            [sys.executable, "-m", "images.processing.sandbox_child", json.dumps(request)],
            cwd=ROOT, env=env, capture_output=True, timeout=120, check=True,
        )  # fmt: skip
        if not json.loads(completed.stdout)["ok"]:
            raise SystemExit("the command-line child refused a bench file")


def children_faults() -> int:
    """Minor page faults of the lean forkserver's reaped children so far (cminflt)."""
    from images.processing import forkserver

    with open(f"/proc/{forkserver._current_server().process.pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[8])


def measured(function, paths: list[str]) -> dict:
    faults = children_faults()
    cpu, wall = tree_cpu_seconds(os.getpid()), time.perf_counter()
    function(paths)
    wall = time.perf_counter() - wall
    cpu = tree_cpu_seconds(os.getpid()) - cpu
    return {
        "per_cpu_second": len(paths) / max(cpu, 1e-9),
        "wall_ms": wall / len(paths) * 1e3,
        # Of the lean server's children: a verification child's, for ``product`` only.
        "child_faults": (children_faults() - faults) / len(paths),
    }


def bench(paths: list[str], rounds: int, before_count: int) -> dict:
    runs = {"floor": [], "product": [], "render": []}
    for _ in range(rounds):
        runs["floor"].append(measured(floor, paths))
        runs["product"].append(measured(product, paths))
        runs["render"].append(measured(render_forkserver, paths))
    out = {
        name: {key: statistics.median(run[key] for run in values) for key in values[0]}
        for name, values in runs.items()
    }
    for key, name in (("ratio", "product"), ("render_ratio", "render")):
        out[key] = statistics.median(
            p["per_cpu_second"] / f["per_cpu_second"]
            for f, p in zip(runs["floor"], runs[name], strict=True)
        )
    if before_count:
        out["before"] = measured(before, paths[:before_count])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=300, help="200 KB files per round")
    parser.add_argument("--large", type=int, default=20, help="12 MP files per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=int, default=20, help="files through the old child")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    cpu = sorted(os.sched_getaffinity(0))[-1]
    os.sched_setaffinity(0, {cpu})  # before the forkserver starts: it inherits the pin
    from images.processing.sandbox import inspect_image

    results = {}
    with tempfile.TemporaryDirectory(prefix="imgwire-bench-verify-") as name:
        folder = Path(name)
        cases = {
            "200 KB JPEG (1280x960)": make_files(folder, "small", (1280, 960), 85, args.small),
            "12 MP JPEG (4000x3000)": make_files(folder, "large", (4000, 3000), 90, args.large),
        }  # fmt: skip
        warm = cases["200 KB JPEG (1280x960)"][0][:1]
        inspect_image(warm[0], "image/jpeg")  # both forkservers start
        render_forkserver(warm)
        for name, (paths, size) in cases.items():
            log(f"{name}: {len(paths)} files of {size:,} bytes, {args.rounds} rounds")
            results[name] = {"bytes": size, **bench(paths, args.rounds, args.before)}

    rows = [
        "| file | floor, files/CPU-s | verification, files/CPU-s | ratio | render forkserver, "
        "files/CPU-s (ratio) | new interpreter, files/CPU-s | wall ms/file on the core: "
        "floor / verification / render forkserver / new interpreter | page faults per "
        "verification child |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        old = result.get("before")
        old_rate = f"{old['per_cpu_second']:.1f}" if old else "-"
        old_wall = f"{old['wall_ms']:.0f}" if old else "-"
        rows.append(
            f"| {name}, {result['bytes'] / 1024:,.0f} KiB "
            f"| {result['floor']['per_cpu_second']:.1f} "
            f"| {result['product']['per_cpu_second']:.1f} | **{result['ratio']:.2f}** "
            f"| {result['render']['per_cpu_second']:.1f} ({result['render_ratio']:.2f}) "
            f"| {old_rate} "
            f"| {result['floor']['wall_ms']:.1f} / {result['product']['wall_ms']:.1f} / "
            f"{result['render']['wall_ms']:.1f} / {old_wall} "
            f"| {result['product']['child_faults']:,.0f} |"
        )
    print(f"CPU: {platform.processor() or platform.machine()}, pinned to CPU {cpu}; "
          f"Python {platform.python_version()}")  # fmt: skip
    print("\n".join(rows))
    if not args.markdown:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
