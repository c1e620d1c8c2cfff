"""The lean verification forkserver: one new child per job, holding nothing but its own
reply socket and none of the parent's secrets, killed at its deadline, its death reported
with its exit status; one server per process, replaced when it dies, gone with its parent."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest

from images.processing import forkserver, sandbox
from images.processing.forkserver import ChildDied, ChildTimeout, run_fresh
from images.processing.sandbox import SandboxError, inspect_image
from tests import imagegen
from tests.images import forkserver_jobs
from tests.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # dead, not reaped yet
    except FileNotFoundError:
        return True


def server_pid() -> int:
    return forkserver._current_server().process.pid


@pytest.fixture
def fresh_server():
    """Stop this process's server, so that the next job starts another."""
    with forkserver._server_lock:
        server, forkserver._server = forkserver._server, None
    if server is not None:
        server.stop()


def written(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def in_thread(call):
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as error:  # inspected by the test
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_every_job_runs_in_a_new_child_of_the_server():
    pids = {run_fresh(forkserver_jobs.pid, {}, timeout=30) for _ in range(3)}
    server = str(server_pid())
    assert len(pids) == 3 and server not in pids and str(os.getpid()) not in pids


def test_a_child_holds_no_descriptor_but_the_standard_ones_and_its_reply_socket():
    # One more appears in the listing itself: the directory listdir has open.
    assert len(json.loads(run_fresh(forkserver_jobs.descriptors, {}, timeout=30))) == 5


def test_a_child_sees_none_of_the_parents_secrets(fresh_server, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "not-for-decoders")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:password@db/imgwire")
    names = set(json.loads(run_fresh(forkserver_jobs.environment, {}, timeout=30)))
    assert "PYTHONPATH" in names and not names & {"SECRET_KEY", "DATABASE_URL", "HOME"}
    allowed = forkserver.ENVIRONMENT | {"MALLOC_ARENA_MAX"}
    assert [name for name in names if name not in allowed and not name.startswith("LC_")] == []


def test_the_server_runs_a_single_thread_so_that_forking_it_is_safe():
    assert os.listdir(f"/proc/{server_pid()}/task") == [str(server_pid())]


def test_a_child_that_exits_without_a_result_is_reported_with_its_status():
    with pytest.raises(ChildDied) as died:
        run_fresh(forkserver_jobs.exit_with, {"status": 3}, timeout=30)
    assert died.value.exitcode == 3
    assert run_fresh(forkserver_jobs.pid, {}, timeout=30).isdigit()


def test_a_child_past_its_deadline_is_killed(tmp_path):
    pid_path = tmp_path / "pid"
    with pytest.raises(ChildTimeout):
        run_fresh(forkserver_jobs.spin, {"pid_path": str(pid_path), "seconds": 60}, timeout=1)
    child = int(wait_for(lambda: written(pid_path)))
    assert wait_for(lambda: gone(child), timeout=30)


def test_a_child_that_answers_a_byte_at_a_time_is_held_to_one_deadline_for_all_of_it():
    # Each byte comes well within the deadline; the whole answer (~7 s) does not.
    with pytest.raises(ChildTimeout):
        run_fresh(forkserver_jobs.trickle, {"gap": 0.5}, timeout=1.5)


def test_an_answer_over_the_bound_is_refused_not_read(monkeypatch):
    monkeypatch.setattr(forkserver, "MAX_ANSWER", 1000)
    with pytest.raises(ChildDied, match="over 1,000"):
        run_fresh(forkserver_jobs.answer_of, {"size": 1001}, timeout=30)
    assert run_fresh(forkserver_jobs.answer_of, {"size": 1000}, timeout=30) == "x" * 1000


def test_a_server_killed_with_sigkill_takes_its_children_along_and_is_replaced(tmp_path):
    pid_path = tmp_path / "pid"
    killed = server_pid()
    payload = {"pid_path": str(pid_path), "seconds": 60}
    thread, outcome = in_thread(lambda: run_fresh(forkserver_jobs.spin, payload, timeout=60))
    child = int(wait_for(lambda: written(pid_path)))
    os.kill(killed, signal.SIGKILL)
    thread.join(30)
    assert isinstance(outcome.get("error"), ChildDied), outcome
    assert wait_for(lambda: gone(child), timeout=30)
    assert run_fresh(forkserver_jobs.pid, {}, timeout=30).isdigit()
    assert server_pid() != killed


def test_a_file_in_flight_when_the_server_dies_goes_back_for_a_retry(tmp_path, monkeypatch):
    # Not the file's fault: processing hands the image back to PENDING, no quarantine.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the child's log goes
    monkeypatch.setattr(sandbox.sandbox_child, "run_forked", forkserver_jobs.inspect_forever)
    upload = tmp_path / "upload.jpg"
    upload.write_bytes(imagegen.jpeg())
    killed = server_pid()
    thread, outcome = in_thread(lambda: inspect_image(str(upload), "image/jpeg"))
    child = int(wait_for(lambda: next((written(p) for p in tmp_path.glob("*.pid")), "")))
    os.kill(killed, signal.SIGKILL)
    thread.join(30)
    assert isinstance(outcome.get("error"), SandboxError), outcome
    assert wait_for(lambda: gone(child), timeout=30)


def test_a_process_forked_from_its_parent_starts_its_own_server():
    parents = server_pid()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the forked test process)
        try:
            os.close(read)
            run_fresh(forkserver_jobs.pid, {}, timeout=30)
            os.write(write, str(server_pid()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        theirs = answer.read()
    os.waitpid(child, 0)
    assert theirs.isdigit() and int(theirs) != parents
    assert wait_for(lambda: gone(int(theirs)), timeout=30)  # it ended with its parent
    assert run_fresh(forkserver_jobs.pid, {}, timeout=30).isdigit()
    assert server_pid() == parents


def run_parent(script: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip


def test_a_parent_that_exits_stops_its_server_before_it_is_gone(tmp_path):
    out = tmp_path / "server"
    script = """
        import sys
        from images.processing import forkserver
        from tests.images import forkserver_jobs
        forkserver.run_fresh(forkserver_jobs.pid, {}, timeout=30)
        open(sys.argv[1], "w").write(str(forkserver._current_server().process.pid))
    """
    run_parent(script, str(out))
    assert not os.path.exists(f"/proc/{out.read_text()}")  # reaped by its parent already


def test_a_parent_killed_with_sigkill_leaves_no_server_and_no_child(tmp_path):
    pid_path, out = tmp_path / "child", tmp_path / "server"
    script = """
        import os, signal, sys, threading
        from images.processing import forkserver
        from tests.images import forkserver_jobs
        payload = {"pid_path": sys.argv[1], "seconds": 60}
        threading.Thread(
            target=forkserver.run_fresh, args=(forkserver_jobs.spin, payload),
            kwargs={"timeout": 60}, daemon=True,
        ).start()
        while not (os.path.exists(sys.argv[1]) and open(sys.argv[1]).read()):
            pass
        open(sys.argv[2], "w").write(str(forkserver._current_server().process.pid))
        os.kill(os.getpid(), signal.SIGKILL)
    """
    run_parent(script, str(pid_path), str(out))
    server, child = int(out.read_text()), int(pid_path.read_text())
    assert wait_for(lambda: gone(server) and gone(child), timeout=30)
