"""Keep-alive load in interleaved rounds, with the server's CPU per request, for
``bench/uploadcare.py`` (and any bench comparing operations made of several requests).

``load`` runs an operation (a function of one keep-alive ``http.client`` connection, which
may send several requests) from client threads; ``rounds`` alternates operations so that
drift in the machine's load hits them alike, optionally letting the embedded worker drain
its verification backlog after each round. Nothing here is imported by the product.
"""

import contextlib
import http.client
import os
import sqlite3
import threading
import time
from pathlib import Path

from bench.common import HOST, BenchError, Deadline, Server, tree_cpu_seconds
from bench.uploads import percentile


class Refused(Exception):
    """A wrong answer: ``load`` counts it as an error and carries on."""


def answer(conn, method, path, body=None, headers=None, expect=200) -> bytes:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    if response.status != expect:
        raise Refused(f"{method} {path[:60]}: HTTP {response.status}: {data[:300]!r}")
    return data


def load(port, op, total, clients, deadline: Deadline) -> dict:
    """``total`` calls of ``op(conn)`` from ``clients`` threads on keep-alive connections;
    ``op`` returns the image id it created (or None) and raises on a wrong answer."""
    lock = threading.Lock()
    state = {"issued": 0, "errors": 0, "first_error": None}
    latencies, ids = [], []
    barrier = threading.Barrier(clients + 1)

    def take() -> bool:
        with lock:
            if state["issued"] >= total or deadline.expired():
                return False
            state["issued"] += 1
            return True

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            barrier.wait(timeout=30)
            while take():
                started = time.perf_counter()
                try:
                    made = op(conn)
                except (OSError, http.client.HTTPException, Refused, ValueError) as exc:
                    conn.close()  # http.client reconnects on the next request
                    with lock:
                        state["errors"] += 1
                        state["first_error"] = state["first_error"] or f"{exc}"
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if made:
                        ids.append(made)
        except threading.BrokenBarrierError:
            with lock:
                state["errors"] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=30)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline.remaining() + 65))
    if any(thread.is_alive() for thread in threads):
        raise BenchError("a load did not finish in time")
    return {"latencies": latencies, "ids": ids, "wall": time.perf_counter() - started, **state}


def own_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes themselves (all their threads, none of their
    children): the web processes' share, without the verification and render children."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def unsettled(db: Path) -> int:
    """Images still waiting for verification, read from the SQLite file itself so that
    watching the backlog costs the server nothing."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        query = "SELECT count(*) FROM images_image WHERE status IN ('PENDING', 'PROCESSING')"
        return conn.execute(query).fetchone()[0]


def statuses(db: Path) -> dict[str, int]:
    """How many images ended in each status (to check what the uploads became)."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        query = "SELECT status, count(*) FROM images_image GROUP BY status ORDER BY status"
        return dict(conn.execute(query).fetchall())


def drain(db: Path, seconds: float) -> bool:
    """Let the embedded worker finish verifying (bounded), so one round's backlog does not
    slow the next; the polling interval is not part of any measurement."""
    limit = Deadline(seconds)
    while unsettled(db):
        if limit.expired():
            return False
        time.sleep(0.1)
    return True


def rounds(web: Server, ops: dict, per_round: int, warmup: int, args, deadline, db) -> dict:
    """Warm-up, then ``args.rounds`` rounds alternating which op goes first, so drift in the
    machine's load hits them alike. With ``db``, each round's verification is drained and
    the server's CPU (request + background verification) is charged to its op."""
    totals = {
        name: {"lat": [], "wall": 0.0, "errors": 0, "cpu": 0.0, "own": 0.0, "first": None}
        for name in ops
    }
    for name, op in ops.items():
        warm = load(web.port, op, warmup, args.clients, deadline)
        if warm["errors"]:
            raise BenchError(f"warm-up of {name} failed: {warm['first_error']}")
    if db is not None and not drain(db, args.drain_wait):
        raise BenchError("verification of the warm-up did not finish")
    for index in range(args.rounds):
        order = list(ops) if index % 2 == 0 else list(reversed(ops))
        for name in order:
            deadline.check(f"round {index + 1} of {name}")
            web_pids = [web.proc.pid, *web.worker_pids()]
            cpu, own = tree_cpu_seconds(web.proc.pid), own_cpu_seconds(web_pids)
            result = load(web.port, ops[name], per_round, args.clients, deadline)
            if db is not None and not drain(db, args.drain_wait):
                raise BenchError(f"verification after {name} did not finish")
            total = totals[name]
            total["cpu"] += tree_cpu_seconds(web.proc.pid) - cpu
            total["own"] += own_cpu_seconds(web_pids) - own
            total["lat"].extend(result["latencies"])
            total["wall"] += result["wall"]
            total["errors"] += result["errors"]
            total["first"] = total["first"] or result["first_error"]
    out = {}
    for name, total in totals.items():
        lat = sorted(total["lat"])
        if total["errors"] > max(1, len(lat) // 100):
            raise BenchError(f"{name}: {total['errors']} errors, first: {total['first']}")
        out[name] = {
            "ok": len(lat),
            "errors": total["errors"],
            "rps": len(lat) / total["wall"],
            "p50_ms": percentile(lat, 0.5) * 1000,
            "p95_ms": percentile(lat, 0.95) * 1000,
            "cpu_ms": total["cpu"] / max(1, len(lat)) * 1000,
            "own_ms": total["own"] / max(1, len(lat)) * 1000,
        }
    return out
