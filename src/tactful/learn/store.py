"""What the learner keeps durably, behind a narrow Protocol (SQL implementation:
``tactful.store.sql_learning``; in-memory one for the simulator and tests: ``MemoryLearningStore``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from tactful.domain import DecisionId, TenantId
from tactful.errors import NotFound
from tactful.learn.rewards import OutcomeFact


@dataclass(frozen=True, slots=True)
class LoggedChoice:
    """One decision as the learner saw it: enough to learn from it later and to evaluate off-policy."""

    tenant_id: TenantId
    decision_id: DecisionId
    decided_at: datetime
    due_at: datetime
    mode: str
    model_version: str
    arms: tuple[str, ...]
    chosen: str
    propensity: float
    rules_arm: str
    greedy_arm: str
    features: dict[str, str]
    closed: bool = False
    reward: float | None = None
    closed_at: datetime | None = None
    #: When its partial reward is due (``learning.reward.early``; None: no early estimate), and
    #: that partial reward once learned.
    early_due_at: datetime | None = None
    partial_reward: float | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    tenant_id: TenantId
    version: int
    model: bytes
    args: str
    learned: int
    note: str
    created_at: datetime


class LearningStore(Protocol):
    def log_choice(self, choice: LoggedChoice) -> None:
        """Idempotent by decision id."""
        ...

    def log_choice_write(self, choice: LoggedChoice) -> Callable[[Any], None] | None:
        """The same row as a write on the decision's own transaction, to be called with that
        transaction's connection (``SqlStore.record_decision``); None when this store cannot join
        it (then ``log_choice`` writes the row after the decision)."""
        ...

    def get_choice(self, tenant_id: TenantId, decision_id: DecisionId) -> LoggedChoice | None: ...

    def due_choices(self, now: datetime, limit: int) -> list[LoggedChoice]:
        """Open choices (every tenant) whose reward window has closed by ``now``, oldest first."""
        ...

    def early_due_choices(self, now: datetime, limit: int) -> list[LoggedChoice]:
        """Open choices (every tenant) whose early horizon has passed by ``now`` and whose partial
        reward is not set yet, oldest first."""
        ...

    def set_partial(self, tenant_id: TenantId, decision_id: DecisionId, partial: float) -> bool:
        """Record its partial reward; False when it was recorded or the choice closed first."""
        ...

    def outcome_facts(self, tenant_id: TenantId, decision_id: DecisionId) -> list[OutcomeFact]: ...

    def close_choice(
        self, tenant_id: TenantId, decision_id: DecisionId, reward: float, now: datetime
    ) -> bool:
        """Mark it closed with its reward; False when another worker closed it first."""
        ...

    def choices(
        self, tenant_id: TenantId, *, closed_only: bool = False, limit: int = 100_000
    ) -> list[LoggedChoice]:
        """Newest first."""
        ...

    def save_snapshot(
        self, tenant_id: TenantId, model: bytes, args: str, learned: int, note: str, now: datetime
    ) -> Snapshot: ...

    def get_snapshot(self, tenant_id: TenantId, version: int | None = None) -> Snapshot | None:
        """A given version, or the newest when ``version`` is None."""
        ...

    def list_snapshots(self, tenant_id: TenantId) -> list[Snapshot]:
        """Newest first, without the model bytes' meaning being interpreted."""
        ...

    def get_mode(self, tenant_id: TenantId) -> str | None: ...
    def set_mode(self, tenant_id: TenantId, mode: str | None, now: datetime) -> None:
        """``None`` removes the override: the policy's ``learning.mode`` applies again."""
        ...


class MemoryLearningStore:
    """In-process ``LearningStore`` for the simulator and unit tests. Outcomes are added directly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._choices: dict[tuple[str, str], LoggedChoice] = {}
        self._outcomes: dict[tuple[str, str], list[OutcomeFact]] = {}
        self._snapshots: dict[str, list[Snapshot]] = {}
        self._modes: dict[str, str] = {}

    def add_outcome(self, tenant_id: TenantId, decision_id: DecisionId, fact: OutcomeFact) -> None:
        with self._lock:
            self._outcomes.setdefault((tenant_id, decision_id), []).append(fact)

    def log_choice(self, choice: LoggedChoice) -> None:
        with self._lock:
            self._choices.setdefault((choice.tenant_id, choice.decision_id), choice)

    def log_choice_write(self, choice: LoggedChoice) -> Callable[[Any], None] | None:
        return None  # in memory: there is no transaction to join

    def get_choice(self, tenant_id: TenantId, decision_id: DecisionId) -> LoggedChoice | None:
        return self._choices.get((tenant_id, decision_id))

    def due_choices(self, now: datetime, limit: int) -> list[LoggedChoice]:
        with self._lock:
            due = [c for c in self._choices.values() if not c.closed and c.due_at <= now]
        return sorted(due, key=lambda c: c.due_at)[:limit]

    def early_due_choices(self, now: datetime, limit: int) -> list[LoggedChoice]:
        with self._lock:
            due = [
                c
                for c in self._choices.values()
                if not c.closed
                and c.partial_reward is None
                and c.early_due_at is not None
                and c.early_due_at <= now
            ]
        return sorted(due, key=lambda c: c.early_due_at or c.due_at)[:limit]

    def set_partial(self, tenant_id: TenantId, decision_id: DecisionId, partial: float) -> bool:
        with self._lock:
            found = self._choices.get((tenant_id, decision_id))
            if found is None or found.closed or found.partial_reward is not None:
                return False
            self._choices[(tenant_id, decision_id)] = replace(found, partial_reward=partial)
            return True

    def outcome_facts(self, tenant_id: TenantId, decision_id: DecisionId) -> list[OutcomeFact]:
        return list(self._outcomes.get((tenant_id, decision_id), ()))

    def close_choice(
        self, tenant_id: TenantId, decision_id: DecisionId, reward: float, now: datetime
    ) -> bool:
        with self._lock:
            found = self._choices.get((tenant_id, decision_id))
            if found is None or found.closed:
                return False
            self._choices[(tenant_id, decision_id)] = replace(
                found, closed=True, reward=reward, closed_at=now
            )
            return True

    def choices(
        self, tenant_id: TenantId, *, closed_only: bool = False, limit: int = 100_000
    ) -> list[LoggedChoice]:
        found = [
            c for c in self._choices.values() if c.tenant_id == tenant_id and (c.closed or not closed_only)
        ]
        return sorted(found, key=lambda c: c.decided_at, reverse=True)[:limit]

    def save_snapshot(
        self, tenant_id: TenantId, model: bytes, args: str, learned: int, note: str, now: datetime
    ) -> Snapshot:
        with self._lock:
            history = self._snapshots.setdefault(tenant_id, [])
            snap = Snapshot(tenant_id, len(history) + 1, model, args, learned, note, now)
            history.append(snap)
            return snap

    def get_snapshot(self, tenant_id: TenantId, version: int | None = None) -> Snapshot | None:
        history = self._snapshots.get(tenant_id, [])
        if version is None:
            return history[-1] if history else None
        return next((s for s in history if s.version == version), None)

    def list_snapshots(self, tenant_id: TenantId) -> list[Snapshot]:
        return list(reversed(self._snapshots.get(tenant_id, [])))

    def get_mode(self, tenant_id: TenantId) -> str | None:
        return self._modes.get(tenant_id)

    def set_mode(self, tenant_id: TenantId, mode: str | None, now: datetime) -> None:
        if mode is None:
            self._modes.pop(tenant_id, None)
        else:
            self._modes[tenant_id] = mode


def require_snapshot(store: LearningStore, tenant_id: TenantId, version: int) -> Snapshot:
    found = store.get_snapshot(tenant_id, version)
    if found is None:
        raise NotFound(f"no learner snapshot version {version} for this tenant", code="snapshot_not_found")
    return found
