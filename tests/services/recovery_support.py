"""What the recovery tests (and bench/scale_out.py) run: web processes started the way
docs/deployment.md starts them, and a TCP relay that stands for the network between the
processes and the broker (stopped to take the broker away, started to bring it back,
without touching the broker other installs use)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, timeout: float = 60.0, process=None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process for port {port} exited ({process.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on {port} after {timeout} s")
        time.sleep(0.05)


class Relay:
    """A TCP relay from a local port to ``target`` (host, port) or, given several targets,
    round-robin over them per connection (a small load balancer). ``stop()`` closes the
    listener and every connection through it, as a network outage would."""

    def __init__(self, *targets: tuple[str, int], port: int | None = None):
        self.targets = list(targets)
        self.port = port or free_port()
        self._next = 0
        self._listener = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> "Relay":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                target = self.targets[self._next % len(self.targets)]
                self._next += 1
            try:
                upstream = socket.create_connection(target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._sockets.discard(source)


def broker_url_through(url: str, port: int) -> str:
    """``url`` (redis:// or amqp://) with its host and port replaced by the relay's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def broker_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    default = 6379 if parts.scheme.startswith("redis") else 5672
    return parts.hostname or "127.0.0.1", parts.port or default


def pids_in_group(pgid: int) -> list[int]:
    """Processes of a process group (a granian or dramatiq parent and its children)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(entry.name))
    return sorted(pids)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


class Process:
    """A command run in its own session (so a kill takes its children too)."""

    def __init__(self, argv: list[str], env: dict):
        self.argv, self.env = argv, env
        self.process: subprocess.Popen | None = None

    def start(self) -> "Process":
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # children left behind
            os.killpg(self.process.pid, signal.SIGKILL)


def web_process(env: dict, port: int, workers: int = 1) -> Process:
    """granian as docs/deployment.md runs it (one worker process unless told)."""
    argv = [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers), "--blocking-threads", "4"]
    argv += ["--respawn-failed-workers", "imgwire_site.wsgi:application"]
    return Process(argv, {**env, "IMGWIRE_PUBLIC_URL": f"http://127.0.0.1:{port}"})


def worker_process(env: dict, threads: int = 2) -> Process:
    argv = [str(BIN / "dramatiq"), "imgwire_site.worker", "--processes", "1"]
    return Process([*argv, "--threads", str(threads)], env)


def scheduler_process(env: dict, recover_interval: int = 1) -> Process:
    argv = [str(BIN / "python"), "manage.py", "reconcile", "--loop", "--interval", "300"]
    return Process([*argv, "--recover-interval", str(recover_interval)], env)


@contextlib.contextmanager
def web_worker_scheduler_through_relay(workers, broker_url: str, **extra_env):
    """Web, worker and scheduler processes (as docs/deployment.md starts them) whose broker
    is reached through a Relay; yields (relay, base URL). ``workers`` (the services
    fixture) is stopped first: its worker would reach the broker directly."""
    relay = Relay(broker_address(broker_url)).start()
    env = {
        **workers.env,
        **extra_env,
        "IMGWIRE_BROKER_URL": broker_url_through(broker_url, relay.port),
    }
    workers.stop()
    port = free_port()
    processes = [
        web_process(env, port).start(),
        worker_process(env).start(),
        scheduler_process(env, recover_interval=1).start(),
    ]
    try:
        wait_until_listening(port, process=processes[0].process)
        yield relay, f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.stop()
        relay.stop()
