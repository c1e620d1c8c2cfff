"""The systemd units and Procfile in docs/deploy/ run what they say: each unit's ExecStart
(with this checkout's virtualenv for /opt/imgwire/venv, and a local port) is started
against a temporary configuration, the way docs/deployment.md says, and comes up.

The code is the checkout's (on PYTHONPATH), and `imgwire-manage` runs as the module its
console script calls; tests/test_packaging.py runs the installed package and its script."""

import configparser
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.services.recovery_support import free_port, wait_until_listening
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "docs" / "deploy"
VENV_BIN = str(Path(sys.executable).parent)
# What the installed `imgwire-manage` script runs (pyproject.toml's [project.scripts]).
MANAGE = [sys.executable, "-m", "imgwire_site.cli"]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / name)
    return parser


def exec_start(name: str, port: int) -> list[str]:
    argv = shlex.split(unit(name)["Service"]["ExecStart"])
    if argv[0] == "/opt/imgwire/venv/bin/imgwire-manage":
        argv[:1] = MANAGE
    else:
        argv[0] = argv[0].replace("/opt/imgwire/venv/bin", VENV_BIN)
    return [str(port) if a == "8000" else a for a in argv]


@pytest.fixture
def unit_env(tmp_path):
    environment = dict(
        line.split("=", 1)
        for line in unit("imgwire-web.service")["Service"].get("Environment", "").split()
    )
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "IMGWIRE_"))},
        **environment,
        "IMGWIRE_DATA_DIR": str(tmp_path),
        "DEBUG": "false",
    }


def start(argv: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        argv,
        cwd=env["IMGWIRE_DATA_DIR"],  # not the checkout: the installed package is run
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_every_unit_restarts_on_failure_and_stops_its_whole_group():
    for name in ("imgwire-web.service", "imgwire-worker@.service", "imgwire-scheduler.service"):
        service = unit(name)["Service"]
        assert service["Restart"] == "on-failure", name
        assert service["KillMode"] == "control-group", name
        assert service["EnvironmentFile"] == "/etc/imgwire/imgwire.env", name
        # The installed package runs, not a checkout put on the path.
        assert "PYTHONPATH" not in service.get("Environment", ""), name
        assert shlex.split(service["ExecStart"])[0].startswith("/opt/imgwire/venv/bin/"), name
    worker = shlex.split(unit("imgwire-worker@.service")["Service"]["ExecStart"])
    assert worker[worker.index("--processes") + 1] == "1"  # a dead child takes no sibling


def test_the_procfile_runs_the_same_commands_as_the_units():
    procfile = dict(
        line.split(": ", 1) for line in (DEPLOY / "Procfile").read_text().splitlines() if line
    )
    for kind, name in (
        ("worker", "imgwire-worker@.service"),
        ("scheduler", "imgwire-scheduler.service"),
    ):
        program, command = unit(name)["Service"]["ExecStart"].split(" ", 1)
        assert procfile[kind].split(" ", 1) == [Path(program).name, command]


def test_the_units_commands_start_and_serve(unit_env):
    env = unit_env
    subprocess.run(
        [*MANAGE, "migrate", "--noinput", "-v0"],  # `imgwire-manage migrate`, as documented
        cwd=env["IMGWIRE_DATA_DIR"],
        env={**env, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    port = free_port()
    web = start(exec_start("imgwire-web.service", port), {**env, "ALLOWED_HOSTS": "127.0.0.1"})
    worker = start(exec_start("imgwire-worker@.service", port), env)
    scheduler = start(exec_start("imgwire-scheduler.service", port), env)
    try:
        wait_until_listening(port, process=web)
        live = wait_for(
            lambda: requests.get(f"http://127.0.0.1:{port}/health/live", timeout=5),
            timeout=60,
            interval=0.1,
        )
        assert live.json() == {"status": "ok"}
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        report = scheduler.stdout.readline()  # the first full reconcile, as JSON
        assert report.startswith("{"), report
        assert worker.poll() is None
    finally:
        for process in (web, worker, scheduler):
            process.terminate()
        for process in (web, worker, scheduler):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(timeout=10)
