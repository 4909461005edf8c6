"""The measured fault suite (issue 11): a real API process on its own PostgreSQL cluster and its own
redis-server, a stream of decisions with unique event ids, and each fault injected for real —
kill -9 of the API, PostgreSQL stopped / restarted / frozen (SIGSTOP), Redis stopped / frozen.

Every answer is 2xx or 503 with a problem code (no other status), no event is lost or decided
twice, and the service recovers on its own. ``bench/faults.py`` prints the same runs as a table.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tactful.api.process import ServerProcess
from tests.faults import scenarios
from tests.faults.harness import Report, Rig, rig

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
    pytest.mark.skipif(
        not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")), reason="no PostgreSQL server binaries"
    ),
]


@pytest.fixture(scope="module")
def faults_rig() -> Iterator[Rig]:
    with rig() as made:
        yield made


@pytest.fixture(scope="module")
def api(faults_rig: Rig) -> Iterator[ServerProcess]:
    with faults_rig.api() as server:
        yield server


def clean(report: Report) -> None:
    assert report.other == 0, report.other_samples
    assert report.lost == 0 and report.duplicated == 0, report
    assert report.recovery_s is not None, "no request succeeded after the repair"


def test_postgres_stopped(faults_rig: Rig, api: ServerProcess) -> None:
    report = scenarios.pg_stopped(faults_rig, api)
    clean(report)
    assert report.unavailable >= scenarios.DURING  # the outage was seen, as 503 store_unavailable
    assert report.no_answer == 0  # no resets: every request got an answer
    readyz = report.notes["readyz while down"]
    assert isinstance(readyz, dict) and readyz["status"] == 503
    assert readyz["checks"] == {"store": "unavailable", "rate_limit": "ok"}


def test_postgres_restarted_between_two_requests(faults_rig: Rig, api: ServerProcess) -> None:
    report = scenarios.pg_restarted(faults_rig, api)
    clean(report)
    assert report.notes["503 after the restart"] == 0  # the stale pool is replaced, not served from
    assert report.no_answer == 0


def test_postgres_frozen(faults_rig: Rig, api: ServerProcess) -> None:
    report = scenarios.pg_frozen(faults_rig, api)
    clean(report)
    assert report.unavailable >= 1 and report.no_answer == 0  # bounded: 503s, not hangs
    readyz = report.notes["readyz while frozen"]
    assert isinstance(readyz, dict) and readyz["status"] == 503
    assert isinstance(readyz["checks"], dict) and readyz["checks"]["store"] in ("timeout", "unavailable")


def test_redis_stopped_degrades_to_local_limits(faults_rig: Rig, api: ServerProcess) -> None:
    report = scenarios.redis_stopped(faults_rig, api)
    clean(report)
    assert report.ok == report.sent  # nothing failed: the limiter degraded instead
    assert report.notes["readyz while down"] == {
        "status": 200,
        "checks": {"store": "ok", "rate_limit": "degraded"},
        "seconds": report.notes["readyz while down"]["seconds"],  # type: ignore[index]
    }


def test_redis_frozen_stalls_nothing(faults_rig: Rig, api: ServerProcess) -> None:
    report = scenarios.redis_frozen(faults_rig, api)
    clean(report)
    assert report.ok == report.sent
    readyz = report.notes["readyz while frozen"]
    assert isinstance(readyz, dict) and readyz["status"] == 200
    assert readyz["checks"] == {"store": "ok", "rate_limit": "degraded"}


def test_api_killed_with_minus_9_loses_and_duplicates_nothing(faults_rig: Rig, api: ServerProcess) -> None:
    report = scenarios.api_killed(faults_rig, api)  # last: the module's API process dies here
    clean(report)
    assert report.no_answer >= 1  # the kill happened mid-stream
