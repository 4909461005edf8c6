"""Fixtures for the store contract suite: one store per backend, a stepping clock, a Decision factory.

Every test that takes ``store`` runs against SQLite (a temp file, WAL) and PostgreSQL (a fresh
schema per test on 127.0.0.1:5432, dropped afterwards). PostgreSQL cases are skipped, with the
reason, only when the server cannot be reached at all.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from tactful.domain import (
    Action,
    ActionType,
    Channel,
    ChannelChoice,
    ConversationId,
    CustomerId,
    Decision,
    DecisionId,
    EventId,
    Explanation,
    Reply,
    TenantId,
    ToneProfile,
)
from tactful.store import SqlStore, open_store
from tests.conftest import postgres_schema

EPOCH = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class SteppingClock:
    """A deterministic clock: each reading is 1 ms after the previous one; ``advance`` jumps ahead."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(milliseconds=1)
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


class SequentialIds:
    """Deterministic ids (``ten_000001``…), safe to call from several threads."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_{next(self._counter):06d}"


@dataclass
class Backend:
    name: str
    url: str

    def raw_engine(self) -> Engine:
        """A separate engine on the same database, for tampering behind the store's back."""
        url = self.url.replace("postgresql://", "postgresql+psycopg://", 1)
        return create_engine(url)


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'tactful.db'}")
        return
    with postgres_schema() as url:
        yield Backend("postgres", url)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def store(backend: Backend, clock: SteppingClock) -> Iterator[SqlStore]:
    opened = open_store(backend.url, clock=clock, make_id=SequentialIds())
    try:
        yield opened
    finally:
        opened.close()


class DecisionFactory:
    """Builds valid, distinct Decisions; override any field by keyword."""

    def __init__(self) -> None:
        self._n = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(
        self,
        tenant_id: str,
        *,
        event_id: str | None = None,
        decision_id: str | None = None,
        customer_id: str = "cus_1",
        conversation_id: str = "conv_1",
        proactive: bool = False,
        decided_at: datetime = EPOCH,
    ) -> Decision:
        with self._lock:
            n = next(self._n)
        return Decision(
            decision_id=DecisionId(decision_id or f"dec_{n:04d}"),
            tenant_id=TenantId(tenant_id),
            event_id=EventId(event_id or f"evt_{n:04d}"),
            customer_id=CustomerId(customer_id),
            conversation_id=ConversationId(conversation_id),
            inbound_channel=Channel.CHAT,
            tone=ToneProfile(
                formality=0.6, warmth=0.7, empathy=0.8, brevity=0.4, directness=0.5, style="warm"
            ),
            channel=ChannelChoice(
                primary=Channel.SMS if proactive else Channel.CHAT, fallbacks=(Channel.EMAIL,)
            ),
            action=Action(type=ActionType.REPLY, reason="routine question", rule_id="r-default"),
            reply=Reply(channel=Channel.CHAT, text="Thanks for getting in touch — here’s what happens next."),
            explanation=Explanation(
                rules_fired=("r-default",), signals={"frustration": 0.25, "intent": "billing"}, notes=("ok",)
            ),
            policy_version="v1+1a2b3c4d",
            model_versions={"sentiment": "vader-3.3.2"},
            latency_ms={"signals": 0.41, "policy": 0.12, "total": 1.0 / 3.0},
            proactive=proactive,
            decided_at=decided_at,
        )


@pytest.fixture
def make_decision() -> DecisionFactory:
    return DecisionFactory()
