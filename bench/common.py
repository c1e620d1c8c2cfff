"""What every benchmark script shares: time limits, /proc readings, a gunicorn or granian
serving ``bench.settings`` on 127.0.0.1, ``manage.py`` in a temp data dir, and small HTTP helpers.

Imported by ``bench/uploads.py``, ``bench/zip_downloads.py`` and ``bench/remote_ingest.py``
(run as scripts: each puts the repository root on ``sys.path`` first). Nothing here is
imported by the product.
"""

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MiB = 1024 * 1024
LOOPBACK_DB_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


class BenchError(Exception):
    pass


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end

    def check(self, what: str) -> None:
        if self.expired():
            raise BenchError(f"time limit reached during {what}")


# --- /proc helpers ----------------------------------------------------------------------


def proc_status_kib(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (KiB) of a process, from /proc/<pid>/status."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, same user). False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def child_pids(pid: int) -> list[int]:
    pids = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                pids.extend(int(p) for p in children.read().split())
        return pids
    except OSError:
        pass
    for entry in os.listdir("/proc"):  # fallback: scan for processes whose parent is pid
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and every live descendant, plus what their reaped
    children used: a server's CPU, read before and after a load to get CPU per request."""
    total, pending, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15]) / tick  # utime stime cutime cstime
        pending.extend(child_pids(current))
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- the server -------------------------------------------------------------------------


class Server:
    """gunicorn (gthread) or granian (``kind``) serving bench.settings on 127.0.0.1, in its
    own process group, with ``workers`` processes of ``threads`` threads."""

    KINDS = ("gunicorn", "granian")

    def __init__(
        self,
        base_env: dict,
        tmp: Path,
        *,
        workers: int,
        threads: int,
        name: str,
        kind: str = "gunicorn",
    ):
        if kind not in self.KINDS:
            raise ValueError(f"unknown server kind {kind!r}")
        self.base_env = base_env
        self.tmp = tmp
        self.workers = workers
        self.threads = threads
        self.name = name
        self.kind = kind
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = tmp / f"{kind}-{name}.log"

    def env(self) -> dict:
        return {**self.base_env, "IMGWIRE_PUBLIC_URL": f"http://{HOST}:{self.port}"}

    def command(self) -> list[str]:
        if self.kind == "granian":  # as docs/deployment.md runs it
            return [
                *(sys.executable, "-m", "granian", "--interface", "wsgi"),
                *("--host", HOST, "--port", str(self.port)),
                *("--workers", str(self.workers), "--blocking-threads", str(self.threads)),
                *("--log-level", "warning", "--working-dir", str(ROOT)),
                "imgwire_site.wsgi:application",
            ]
        config = self.tmp / "gunicorn.conf.py"  # empty: never pick up a ./gunicorn.conf.py
        config.touch()
        return [
            *(sys.executable, "-m", "gunicorn", "--config", str(config)),
            *("--bind", f"{HOST}:{self.port}", "--workers", str(self.workers)),
            *("--worker-class", "gthread", "--threads", str(self.threads)),
            *("--keep-alive", "30", "--timeout", "120", "--log-level", "warning"),
            *("--no-control-socket", "--chdir", str(ROOT)),
            "imgwire_site.wsgi:application",
        ]

    def start(self, deadline: Deadline) -> None:
        for _attempt in range(3):  # a port taken between free_port() and bind: retry
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self.command(),
                    cwd=ROOT,
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            if self._wait_ready(deadline):
                return
            self.stop()
        raise BenchError(f"{self.kind} ({self.name}) did not start; log:\n{self.log_tail()}")

    def _wait_ready(self, deadline: Deadline) -> bool:
        """Ready when /health answers 200 and every worker has booted."""
        limit = Deadline(min(90.0, deadline.remaining()))
        while not limit.expired():
            if self.proc.poll() is not None:
                return False
            try:
                status, _ = request(self.port, "GET", "/health", timeout=5)
                if status == 200 and len(self.worker_pids()) == self.workers:
                    return True
            except OSError:
                pass
            time.sleep(0.25)
        return False

    def worker_pids(self) -> list[int]:
        return child_pids(self.proc.pid) if self.proc else []

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the group we created: master + workers
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything left in that group
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def run_manage(args: list[str], env: dict, deadline: Deadline) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=max(1.0, min(300.0, deadline.remaining())),
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout


# --- HTTP -------------------------------------------------------------------------------


def request(port, method, path, body=None, headers=None, timeout=30.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def api_headers(server_key: str) -> dict:
    return {"Authorization": f"Bearer {server_key}", "Content-Type": "application/json"}


# --- environment ------------------------------------------------------------------------


def base_env(tmp: Path, database_url: str) -> dict:
    """A clean environment: only what the bench sets (no IMGWIRE_STORAGE_URL/BROKER from the
    caller's shell, so nothing leaves the machine), plus DATABASE_URL if given."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL") if key in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
            "TMPDIR": str(tmp),
            "IMGWIRE_DATA_DIR": str(tmp / "data"),
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "IMGWIRE_KEY_PEPPER": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": HOST,
            "LOG_LEVEL": "WARNING",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("django", "gunicorn", "granian"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "?"
    return out


def describe_db(url: str) -> str:
    if not url:
        return "SQLite (file in the temp dir)"
    parts = urlsplit(url)
    return f"{parts.scheme} via DATABASE_URL (host {parts.hostname or 'local socket'})"


def database_url_from_env() -> str:
    """DATABASE_URL from the caller's environment, refused unless it is on loopback."""
    database_url = os.environ.get("DATABASE_URL", "").strip()
    if database_url and (urlsplit(database_url).hostname or "") not in LOOPBACK_DB_HOSTS:
        raise SystemExit("DATABASE_URL must point at localhost/127.0.0.1 (loopback only)")
    return database_url


def raise_on_termination() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so ``finally`` blocks stop servers and remove dirs."""

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)


def bootstrap(env: dict, deadline: Deadline) -> str:
    """Migrate the temp database and create an account; return its Server key."""
    env = {**env, "IMGWIRE_PUBLIC_URL": env.get("IMGWIRE_PUBLIC_URL", f"http://{HOST}:8000")}
    run_manage(["migrate", "--noinput", "-v", "0"], env, deadline)
    output = run_manage(
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
    return json.loads(output.strip().splitlines()[-1])["server_key"]


def stop_process_group(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, the process group a ``start_new_session=True`` child leads."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
