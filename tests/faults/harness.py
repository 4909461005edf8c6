"""The fault rig: a real uvicorn process on a real PostgreSQL cluster and redis-server of its own,
a stream of decision requests with unique event ids, and the checks made after each fault.

The client behaves as a careful integration should: every event keeps its ``event_id`` until a 2xx
acknowledges it, and anything else (a 503, a reset, a timeout) is sent again with the same id. After
the stream, the database is read directly: every event id must have exactly one decision and one
``decision`` audit entry (lost = 0, duplicated = 0), and the decision the client was given must be
the stored one.

Used by ``tests/faults`` (assertions) and ``bench/faults.py`` (the table in docs/performance.md).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import psycopg

from tactful.api.process import ServerProcess, server_process
from tactful.store import open_store
from tactful.tenants import create_tenant
from tests.support.servers import PostgresCluster, RedisServer

#: Seconds the API may wait on PostgreSQL for anything (``?timeout=`` of the store URL).
STORE_TIMEOUT = 1.0
#: What a client waits for an answer before it gives up and re-sends.
CLIENT_TIMEOUT = 10.0
#: A client's pause after a 503 (or after no answer at all) before it re-sends; it would honour
#: Retry-After in production. Keeps a dead dependency from being hammered in a tight loop.
CLIENT_BACKOFF, NO_ANSWER_BACKOFF = 0.05, 0.2

TEXTS = (
    "Where is my parcel? It was due on Monday.",
    "I was charged twice for my order, please refund it.",
    "Your app keeps logging me out, this is really annoying",
    "Can I change the delivery address for order 1234?",
)


@dataclass(frozen=True)
class Attempt:
    event_id: str
    sent: float  # monotonic seconds
    done: float
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    code: str | None  # the problem's code, for a 4xx/5xx problem+json


@dataclass
class Report:
    scenario: str
    sent: int
    ok: int
    unavailable: int  # 503 with a problem code
    other: int  # any other status, or a 503 without a code
    no_answer: int  # no HTTP answer at all (only expected while the API process itself is down)
    lost: int
    duplicated: int
    recovery_s: float | None  # repair → first 2xx to a request sent after the repair
    other_samples: list[str] = field(default_factory=list)
    #: What the scenario saw besides the stream: /readyz answers and their latency, and so on.
    notes: dict[str, object] = field(default_factory=dict)

    def row(self) -> str:
        recovery = "-" if self.recovery_s is None else f"{self.recovery_s:.2f}"
        return (f"| {self.scenario} | {self.sent} | {self.ok} | {self.unavailable} | {self.other} | "
                f"{self.no_answer} | {self.lost} | {self.duplicated} | {recovery} |")  # fmt: skip


HEADER = (
    "| scenario | requests sent | 2xx | 503 with code | other status | no answer | lost | duplicated"
    " | recovery (s) |\n|---|---|---|---|---|---|---|---|---|"
)


class Load:
    """``workers`` threads sending events; see the module docstring for the client's rules."""

    def __init__(self, target: Callable[[], str], api_key: str, prefix: str, *, workers: int = 4) -> None:
        self._target = target
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self.prefix = prefix
        self._workers = workers
        self._numbers = itertools.count()
        self._retry: deque[str] = deque()
        self._in_flight: set[str] = set()
        self._issuing = True
        self._stopping = False
        self._changed = threading.Condition()
        self._stopped = threading.Event()  # only for the pause between re-sends (see _work)
        self.attempts: list[Attempt] = []
        self.acked: dict[str, str] = {}  # event id -> decision id the client was given
        self._threads: list[threading.Thread] = []

    # -- driving --------------------------------------------------------------------------------------

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self._workers)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)

    def wait_for(self, condition: Callable[[], bool], *, within: float = 60.0) -> None:
        """Block until ``condition`` holds (checked after every answer) or fail after ``within`` s."""
        deadline = time.monotonic() + within
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.prefix}: condition not reached within {within} s")
                self._changed.wait(remaining)

    def answers_since(self, moment: float, *, ok: bool = False) -> int:
        """Answers to requests sent after ``moment`` (2xx only with ``ok``)."""
        return sum(
            1
            for a in self.attempts
            if a.sent >= moment and a.status is not None and (not ok or 200 <= a.status < 300)
        )

    def finish(self, *, within: float = 60.0) -> None:
        """Stop issuing new events and re-send until every issued event is acknowledged."""
        with self._changed:
            self._issuing = False
            self._changed.notify_all()
        self.wait_for(lambda: not self._retry and not self._in_flight, within=within)

    # -- one worker -----------------------------------------------------------------------------------

    def _next(self) -> str | None:
        with self._changed:
            while True:
                if self._stopping:
                    return None
                if self._retry:
                    event_id = self._retry.popleft()
                elif self._issuing:
                    event_id = f"{self.prefix}-{next(self._numbers):05d}"
                else:
                    self._changed.wait()
                    continue
                self._in_flight.add(event_id)
                return event_id

    def _work(self) -> None:
        with httpx.Client(timeout=CLIENT_TIMEOUT) as http:
            while (event_id := self._next()) is not None:
                number = int(event_id.rsplit("-", 1)[1])
                body = {
                    "customer_id": f"cust-{number % 50}",
                    "conversation_id": f"{self.prefix}-conv-{number}",
                    "channel": "chat",
                    "text": TEXTS[number % len(TEXTS)],
                    "event_id": event_id,
                }
                sent = time.monotonic()
                status: int | None = None
                code: str | None = None
                decision_id: str | None = None
                try:
                    response = http.post(f"{self._target()}/v1/messages", json=body, headers=self._headers)
                    status = response.status_code
                    if 200 <= status < 300:
                        decision_id = response.json()["decision_id"]
                    elif response.headers.get("content-type", "").startswith("application/problem+json"):
                        code = response.json().get("code")
                except httpx.TransportError:
                    pass
                self._record(Attempt(event_id, sent, time.monotonic(), status, code), decision_id)
                if decision_id is None:  # a paced re-send (an Event, not the condition every answer wakes)
                    self._stopped.wait(CLIENT_BACKOFF if status is not None else NO_ANSWER_BACKOFF)

    def _record(self, attempt: Attempt, decision_id: str | None) -> None:
        with self._changed:
            self.attempts.append(attempt)
            self._in_flight.discard(attempt.event_id)
            if decision_id is None:
                self._retry.append(attempt.event_id)
            else:
                previous = self.acked.setdefault(attempt.event_id, decision_id)
                assert previous == decision_id, f"{attempt.event_id} got two decisions"
            self._changed.notify_all()

    # -- the verdict ----------------------------------------------------------------------------------

    def report(self, scenario: str, store_dsn: str, tenant_id: str, repaired: float | None) -> Report:
        stored, audited = _stored(store_dsn, tenant_id, self.prefix)
        issued = {a.event_id for a in self.attempts}
        lost = sum(1 for e in issued if e not in self.acked or stored.get(e, [None])[0] != self.acked[e])
        duplicated = sum(1 for e in issued if len(stored.get(e, ())) > 1 or audited.get(e, 0) > 1)
        lost += sum(1 for e in issued if e in self.acked and audited.get(e, 0) == 0)
        ok = [a for a in self.attempts if a.status is not None and 200 <= a.status < 300]
        unavailable = [a for a in self.attempts if a.status == 503 and a.code]
        other = [a for a in self.attempts if a.status is not None and a not in ok and a not in unavailable]
        recovery = None
        if repaired is not None:
            after = [a.done for a in ok if a.sent >= repaired]
            recovery = (min(after) - repaired) if after else None
        return Report(
            scenario=scenario,
            sent=len(self.attempts),
            ok=len(ok),
            unavailable=len(unavailable),
            other=len(other),
            no_answer=sum(1 for a in self.attempts if a.status is None),
            lost=lost,
            duplicated=duplicated,
            recovery_s=recovery,
            other_samples=[f"{a.status} {a.code}" for a in other[:5]],
        )


def _stored(dsn: str, tenant_id: str, prefix: str) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Decision ids per event id, and ``decision`` audit entries per event id, for this stream."""
    decisions: dict[str, list[str]] = {}
    audited: dict[str, int] = {}
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT event_id, decision_id FROM decisions WHERE tenant_id = %s AND event_id LIKE %s",
            (tenant_id, f"{prefix}-%"),
        ).fetchall()
        for event_id, decision_id in rows:
            decisions.setdefault(event_id, []).append(decision_id)
        for (payload,) in conn.execute(
            "SELECT payload FROM audit_log WHERE tenant_id = %s AND kind = 'decision'", (tenant_id,)
        ):
            event_id = json.loads(payload)["decision"]["event_id"]
            if event_id.startswith(f"{prefix}-"):
                audited[event_id] = audited.get(event_id, 0) + 1
    return decisions, audited


@dataclass
class Rig:
    """One PostgreSQL cluster, one redis-server (with a password), a tenant, and the API's env."""

    cluster: PostgresCluster
    redis: RedisServer
    dsn: str  # for direct checks
    store_url: str  # what the API uses
    tenant_id: str
    api_key: str
    env: dict[str, str]

    @contextmanager
    def api(self) -> Iterator[ServerProcess]:
        with server_process(self.env) as server:
            yield server

    def readyz(self, base_url: str) -> tuple[int, dict[str, object], float]:
        started = time.monotonic()
        response = httpx.get(f"{base_url}/readyz", timeout=5.0)
        return response.status_code, response.json(), time.monotonic() - started


@contextmanager
def rig() -> Iterator[Rig]:
    """The servers (tests/support/servers.py) keep their own temporary directories and ports."""
    with PostgresCluster.running() as cluster, RedisServer.running(password="fault-suite-secret") as redis:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE faults")
        dsn = cluster.url.rsplit("/", 1)[0] + "/faults?sslmode=disable"
        store_url = f"{dsn}&timeout={STORE_TIMEOUT:g}"
        store = open_store(store_url)
        try:
            created = create_tenant(store, "faults")
        finally:
            store.close()
        env = {
            **os.environ,
            "TACTFUL_DATABASE_URL": store_url,
            "TACTFUL_RATE_LIMIT_URL": redis.url,
            "TACTFUL_RATE_LIMIT_PER_SECOND": "100000",
            "TACTFUL_RATE_LIMIT_BURST": "100000",
            "TACTFUL_SIGNAL_TIERS": "fast",  # the heavy tiers only add start-up time here
            "TACTFUL_MASTER_KEY": base64.b64encode(b"f" * 32).decode(),
        }
        yield Rig(cluster, redis, dsn, store_url, created.tenant.tenant_id, created.api_key, env)
