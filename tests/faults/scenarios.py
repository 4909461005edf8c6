"""The fault scenarios, each a function of the rig returning its ``Report`` (tests assert on it,
``bench/faults.py`` prints it). Every fault lasts a fixed number of answered requests, not a fixed
time, and each scenario ends with every dependency healthy again."""

from __future__ import annotations

import time

import httpx

from tactful.api.process import ServerProcess
from tests.faults.harness import Load, Report, Rig

#: Acknowledged events before a fault, and after the repair.
BEFORE, AFTER = 20, 20
#: Requests answered while a dependency is down or frozen.
DURING = 8


def _baseline(load: Load) -> None:
    load.wait_for(lambda: len(load.acked) >= BEFORE)


def _after_repair(load: Load, repaired: float) -> None:
    load.wait_for(lambda: load.answers_since(repaired, ok=True) >= AFTER)
    load.finish()


def _readyz(rig: Rig, server: ServerProcess) -> dict[str, object]:
    status, body, took = rig.readyz(server.base_url)
    return {"status": status, "checks": body.get("checks"), "seconds": round(took, 3)}


def _healthz_seconds(server: ServerProcess) -> float:
    started = time.monotonic()
    httpx.get(f"{server.base_url}/healthz", timeout=5.0).raise_for_status()
    return round(time.monotonic() - started, 3)


def pg_stopped(rig: Rig, server: ServerProcess) -> Report:
    with Load(lambda: server.base_url, rig.api_key, "pg-stop") as load:
        _baseline(load)
        stopped = time.monotonic()
        rig.cluster.stop_immediately()
        load.wait_for(lambda: load.answers_since(stopped) >= DURING)
        readyz = _readyz(rig, server)
        rig.cluster.start()
        repaired = time.monotonic()
        _after_repair(load, repaired)
    report = load.report("PostgreSQL stopped", rig.dsn, rig.tenant_id, repaired)
    report.notes["readyz while down"] = readyz
    return report


def pg_restarted(rig: Rig, server: ServerProcess) -> Report:
    """Stop and start between two requests: the pool is full of connections the server closed."""
    with Load(lambda: server.base_url, rig.api_key, "pg-restart") as load:
        _baseline(load)
        rig.cluster.stop_immediately()
        rig.cluster.start()
        repaired = time.monotonic()
        _after_repair(load, repaired)
    report = load.report("PostgreSQL restarted", rig.dsn, rig.tenant_id, repaired)
    report.notes["503 after the restart"] = sum(
        1 for a in load.attempts if a.sent >= repaired and a.status == 503
    )
    return report


def pg_frozen(rig: Rig, server: ServerProcess) -> Report:
    with Load(lambda: server.base_url, rig.api_key, "pg-freeze") as load:
        _baseline(load)
        frozen_at = time.monotonic()
        rig.cluster.freeze()
        try:
            load.wait_for(lambda: load.answers_since(frozen_at) >= DURING)
            readyz = _readyz(rig, server)
            healthz = _healthz_seconds(server)
        finally:
            rig.cluster.thaw()
        repaired = time.monotonic()
        _after_repair(load, repaired)
    report = load.report("PostgreSQL frozen (SIGSTOP)", rig.dsn, rig.tenant_id, repaired)
    report.notes["readyz while frozen"] = readyz
    report.notes["healthz seconds while frozen"] = healthz
    return report


def redis_stopped(rig: Rig, server: ServerProcess) -> Report:
    with Load(lambda: server.base_url, rig.api_key, "redis-stop") as load:
        _baseline(load)
        stopped = time.monotonic()
        rig.redis.kill()
        load.wait_for(lambda: load.answers_since(stopped) >= DURING)
        readyz = _readyz(rig, server)
        rig.redis.start()
        repaired = time.monotonic()
        _after_repair(load, repaired)
        ready_again = _wait_ready(rig, server, load)
    report = load.report("Redis stopped", rig.dsn, rig.tenant_id, repaired)
    report.notes["readyz while down"] = readyz
    report.notes["seconds until readyz says ready again"] = round(ready_again - repaired, 2)
    return report


def redis_frozen(rig: Rig, server: ServerProcess) -> Report:
    assert rig.redis.alive
    with Load(lambda: server.base_url, rig.api_key, "redis-freeze") as load:
        _baseline(load)
        frozen_at = time.monotonic()
        rig.redis.freeze()
        try:
            load.wait_for(lambda: load.answers_since(frozen_at) >= DURING)
            readyz = _readyz(rig, server)
            healthz = _healthz_seconds(server)
        finally:
            rig.redis.thaw()
        repaired = time.monotonic()
        _after_repair(load, repaired)
        ready_again = _wait_ready(rig, server, load)
    report = load.report("Redis frozen (SIGSTOP)", rig.dsn, rig.tenant_id, repaired)
    report.notes["readyz while frozen"] = readyz
    report.notes["healthz seconds while frozen"] = healthz
    report.notes["seconds until readyz says ready again"] = round(ready_again - repaired, 2)
    return report


def _wait_ready(rig: Rig, server: ServerProcess, load: Load) -> float:
    """The limiter re-probes Redis on its own clock (``retry_after``): ask /readyz until it is back."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body, _ = rig.readyz(server.base_url)
        if status == 200 and body.get("status") == "ready":
            return time.monotonic()
        # Readiness only changes when a request probes Redis: send one, then ask again.
        with Load(lambda: server.base_url, rig.api_key, f"{load.prefix}-probe-{int(time.monotonic() * 1000)}",
                  workers=1) as probe:  # fmt: skip
            probe.wait_for(lambda: len(probe.acked) >= 1)
            probe.finish()
    raise AssertionError("readyz did not report ready within 30 s of the repair")


def api_killed(rig: Rig, first: ServerProcess) -> Report:
    """kill -9 of the API process ``first`` mid-stream (it is dead afterwards); a new process takes
    over; the client re-sends everything unacknowledged to it."""
    current = [first.base_url]
    with Load(lambda: current[-1], rig.api_key, "api-kill") as load:
        _baseline(load)
        killed = time.monotonic()
        first.process.kill()
        first.process.wait()
        load.wait_for(lambda: load.answers_since(killed) + _no_answers_since(load, killed) >= DURING)
        with rig.api() as second:
            current.append(second.base_url)
            repaired = time.monotonic()
            _after_repair(load, repaired)
    report = load.report("API process kill -9", rig.dsn, rig.tenant_id, repaired)
    report.notes["restart (new process ready) seconds"] = round(repaired - killed, 2)
    return report


def _no_answers_since(load: Load, moment: float) -> int:
    return sum(1 for a in load.attempts if a.sent >= moment and a.status is None)
