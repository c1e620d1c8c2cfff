"""Scale-out run (issue #18): 2 granian web processes and 2 dramatiq workers behind a
round-robin TCP proxy, a scheduler, bounded upload load, and faults injected (a worker
killed mid-job, the broker cut off for a while). Reports requests, errors, p50/p99 and,
per fault, how long until every image it concerned was READY (the images not READY when
the worker was killed; the images uploaded while the broker was away), read from the
database. Needs PostgreSQL, S3 and a broker in the environment,
as the services tests do (DATABASE_URL, IMGWIRE_STORAGE_URL, IMGWIRE_BROKER_URL, ...):

    python bench/scale_out.py --seconds 60 --clients 4
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import imagegen  # noqa: E402
from tests.services.recovery_support import (  # noqa: E402
    Relay,
    broker_address,
    broker_url_through,
    free_port,
    scheduler_process,
    wait_until_listening,
    web_process,
    worker_process,
)


def account(env: dict) -> str:
    run = [sys.executable, "manage.py"]
    subprocess.run([*run, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    stamp = str(time.time_ns())
    email = f"--email=bench-{stamp}@example.com"
    out = subprocess.run(
        [*run, "bootstrap", f"--organization=bench-{stamp}", "--environment=Production", email],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["server_key"]


def snapshot(uploaded: list, lock) -> list:
    with lock:
        return list(uploaded)


def not_ready(ids: list) -> list:
    """The ids (of this run's uploads) not READY yet, read from the database directly."""
    if not ids:
        return []
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        ready = {
            str(row[0])
            for row in connection.execute(
                "SELECT id FROM images_image WHERE id = ANY(%s) AND status = 'READY'",
                ([uuid.UUID(i) for i in ids],),
            )
        }
    return [i for i in ids if i not in ready]


def heal(ids: list, since: float, into: dict, name: str, limit: float = 300.0) -> None:
    """How long after ``since`` every one of ``ids`` is READY (None: not within ``limit``)."""
    pending = list(ids)
    while pending and time.monotonic() < since + limit:
        pending = not_ready(pending)
        if pending:
            time.sleep(0.25)
    into[f"{name}_images"] = len(ids)
    into[f"{name}_recovered_seconds"] = None if pending else round(time.monotonic() - since, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    base_env = {**os.environ, "LOG_LEVEL": "WARNING", "IMGWIRE_LEASE_SECONDS": "10"}
    broker_relay = Relay(broker_address(os.environ["IMGWIRE_BROKER_URL"])).start()
    env = {
        **base_env,
        "IMGWIRE_BROKER_URL": broker_url_through(
            os.environ["IMGWIRE_BROKER_URL"], broker_relay.port
        ),
    }
    key = account(env)
    ports = [free_port(), free_port()]
    lb = Relay(*[("127.0.0.1", p) for p in ports])
    public = {**env, "IMGWIRE_PUBLIC_URL": f"http://127.0.0.1:{lb.port}"}
    webs = [web_process(public, p) for p in ports]
    for web in webs:  # each serves with the balancer's public URL
        web.env["IMGWIRE_PUBLIC_URL"] = public["IMGWIRE_PUBLIC_URL"]
        web.start()
    workers = [worker_process(env).start(), worker_process(env).start()]
    scheduler = scheduler_process(env, recover_interval=2).start()
    for port, web in zip(ports, webs, strict=True):
        wait_until_listening(port, process=web.process)
    lb.start()
    api = f"http://127.0.0.1:{lb.port}/api/v1"
    headers = {"Authorization": f"Bearer {key}"}
    data = imagegen.jpeg(640, 480)
    latencies, errors, uploaded = [], [], []
    lock = threading.Lock()
    stop = time.monotonic() + args.seconds

    def client():
        session = requests.Session()
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                created = session.post(
                    f"{api}/images/standard_upload",
                    json={"file_name": "b.jpg", "content_length": len(data)},
                    headers=headers,
                    timeout=30,
                )
                put = session.put(
                    created.json()["upload_url"],
                    data=data,
                    headers={"Content-Type": "image/jpeg"},
                    timeout=30,
                )
                ok = created.ok and put.ok
                with lock:
                    latencies.append(time.monotonic() - started)
                    (uploaded if ok else errors).append(created.json()["image"]["id"])
            except Exception as error:
                with lock:
                    errors.append(repr(error))

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    recoveries = {}
    time.sleep(args.seconds / 4)
    # A worker dies mid-load (its unit would restart it): what was not READY then is what it
    # may have held; the fault has healed when all of that is READY.
    stuck = not_ready(snapshot(uploaded, lock))
    workers[0].kill()
    killed_at = time.monotonic()
    workers[0] = worker_process(env).start()
    watch = threading.Thread(target=heal, args=(stuck, killed_at, recoveries, "worker_killed"))
    watch.start()
    time.sleep(args.seconds / 4)
    broker_relay.stop()  # the broker is away for 10 s
    away_from = len(snapshot(uploaded, lock))
    time.sleep(10)
    during = snapshot(uploaded, lock)[away_from:]  # uploaded while it was away
    broker_relay.start()
    back_at = time.monotonic()
    outage = threading.Thread(target=heal, args=(during, back_at, recoveries, "broker_away"))
    outage.start()
    for thread in threads:
        thread.join()
    watch.join()
    outage.join()

    ended = time.monotonic()
    settled_at = None
    deadline = ended + 180
    while time.monotonic() < deadline:
        if not not_ready(snapshot(uploaded, lock)):
            settled_at = time.monotonic()
            break
        time.sleep(0.5)
    ordered = sorted(latencies)
    report = {
        "requests": len(latencies) * 2,
        "uploads": len(uploaded),
        "errors": len(errors),
        "p50_ms": round(statistics.median(ordered) * 1000, 1) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1) if ordered else None,
        "all_ready_seconds_after_load": None
        if settled_at is None
        else round(settled_at - ended, 1),
        # Seconds from the fault's end (the kill; the broker's return) until every image it
        # concerned was READY, and how many images that was.
        **recoveries,
    }
    print(json.dumps(report, indent=2))
    for process in [*webs, *workers, scheduler]:
        process.stop()
    lb.stop()
    broker_relay.stop()


if __name__ == "__main__":
    main()
