"""The storage interfaces. Backends (``sqlite:///``, ``postgresql://``) implement all of them.

Each Protocol is narrow on purpose; ``Store`` bundles them so a caller opens one URL and gets
every interface backed by the same database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tactful.domain import Customer, CustomerId, Decision, DecisionId, EventId, Outcome, Preferences, TenantId
from tactful.store.database import SideWrite


@dataclass(frozen=True)
class Tenant:
    tenant_id: TenantId
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    tenant_id: TenantId
    role: str  # "admin" | "decide" | "auditor"
    revoked: bool


@dataclass(frozen=True)
class PolicyVersion:
    """An immutable, published policy. ``version`` counts up per tenant; ``content_hash`` is sha256."""

    tenant_id: TenantId
    version: int
    content_hash: str
    source: str  # the YAML text as published
    created_at: datetime
    created_by: str
    active: bool

    @property
    def label(self) -> str:
        """How decisions name it: ``v3+1a2b3c4d``."""
        return f"v{self.version}+{self.content_hash[:8]}"


@dataclass(frozen=True)
class AuditEntry:
    tenant_id: TenantId
    seq: int
    kind: str  # "decision", "policy.publish", "policy.activate", ...
    payload: dict[str, Any]
    created_at: datetime
    prev_hash: str
    hash: str
    shard: int = 0  # which of the tenant's chains (store/signing.py)


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    checked: int
    tenant_id: TenantId | None = None
    first_bad_seq: int | None = None  # the first entry that fails, when not ok
    reason: str = ""
    shard: int | None = None  # which of the tenant's chains failed (see store/signing.py)
    decisions_checked: int = 0  # stored decisions found equal to the entry that vouches for them


class TenantStore(Protocol):
    def create_tenant(self, name: str) -> Tenant: ...
    def get_tenant(self, tenant_id: TenantId) -> Tenant | None: ...
    def find_tenant_by_name(self, name: str) -> Tenant | None: ...
    def add_api_key(self, tenant_id: TenantId, key_hash: str, role: str) -> ApiKeyRecord: ...
    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None: ...


class CustomerStore(Protocol):
    def get_customer(self, tenant_id: TenantId, customer_id: CustomerId) -> Customer | None: ...
    def put_customer(self, customer: Customer) -> Customer:
        """Insert or replace; returns the stored customer with its version incremented."""
        ...


class PolicyStore(Protocol):
    def publish_policy(self, tenant_id: TenantId, source: str, content_hash: str, by: str) -> PolicyVersion:
        """Store a new immutable version (audited). Publishing identical content returns the existing one."""
        ...

    def get_policy(self, tenant_id: TenantId, version: int | None = None) -> PolicyVersion | None:
        """A given version, or the active one when ``version`` is None."""
        ...

    def active_policy_ref(self, tenant_id: TenantId) -> tuple[int, str] | None:
        """``(version, content_hash)`` of the active policy: a cheap check on the decision path."""
        ...

    def list_policies(self, tenant_id: TenantId) -> list[PolicyVersion]: ...
    def activate_policy(self, tenant_id: TenantId, version: int, by: str) -> PolicyVersion: ...


class DecisionStore(Protocol):
    def record_decision(
        self, decision: Decision, snapshot: dict[str, Any], side_writes: Sequence[SideWrite] = ()
    ) -> tuple[Decision, bool]:
        """Atomically store the decision, append it to the audit chain and queue its event.

        ``side_writes`` (vault values, feature events, the learning log) run in the same
        transaction. Idempotent by ``(tenant_id, event_id)``: a second call with the same event id
        stores nothing, runs no side write and returns ``(original_decision, False)``.
        """
        ...

    def get_decision(self, tenant_id: TenantId, decision_id: DecisionId) -> Decision | None: ...
    def get_decision_by_event(self, tenant_id: TenantId, event_id: EventId) -> Decision | None: ...
    def count_proactive_since(self, tenant_id: TenantId, customer_id: CustomerId, since: datetime) -> int: ...


class OutcomeStore(Protocol):
    def record_outcome(self, outcome: Outcome) -> tuple[Outcome, bool]:
        """Idempotent by ``(tenant_id, event_id)``; the decision must exist for that tenant."""
        ...


#: ``(tenant, shard) -> (seq, hash)``: chain heads recorded outside the database (an anchor file).
AnchorPins = Mapping[tuple[str, int], tuple[int, str]]


class AuditLog(Protocol):
    """A tenant's log is several hash chains (``shard``); entries about one customer share one."""

    def append(
        self, tenant_id: TenantId, kind: str, payload: dict[str, Any], subject: str | None = None
    ) -> AuditEntry: ...
    def entries(
        self, tenant_id: TenantId, after_seq: int = 0, limit: int = 1000, shard: int = 0
    ) -> list[AuditEntry]: ...
    def shards(self, tenant_id: TenantId) -> list[int]:
        """The chains the tenant has (0 always), for reading every entry."""
        ...

    def verify(
        self, tenant_id: TenantId | None = None, anchor: AnchorPins | None = None
    ) -> list[AuditVerification]:
        """Check every tenant's chains (or one's) and the decisions against them, and against an
        anchor's ``(tenant, shard) -> (seq, hash)`` when given; a result per tenant."""
        ...


class Outbox(Protocol):
    """Events written in the same transaction as the state they announce (the outbox pattern)."""

    def claim_outbox(self, limit: int, published: Sequence[int] = ()) -> list[tuple[int, str]]:
        """Up to ``limit`` unpublished events, oldest first, as ``(id, envelope JSON as stored)``;
        first marks ``published`` (the previous chunk's ids) as published, in the same transaction."""
        ...

    def mark_published(self, ids: list[int]) -> None: ...

    def release_outbox(self, ids: Sequence[int], published: Sequence[int] = ()) -> None:
        """Give back claimed events a relay could not publish (the bus is away), after marking
        ``published``: the next pass takes them at once instead of after their lease."""
        ...


class ConsentStore(Protocol):
    def change(
        self,
        tenant_id: TenantId,
        customer_id: CustomerId,
        apply: Callable[[Preferences], Preferences],
        *,
        source: str,
        actor: str,
        change_id: str | None = None,
    ) -> tuple[Preferences, bool]:
        """Apply ``apply`` to the stored preferences, record and audit the change (once per
        ``change_id``); the preferences now stored and whether they changed."""
        ...


class Store(TenantStore, CustomerStore, PolicyStore, DecisionStore, OutcomeStore, Outbox, Protocol):
    """Everything durable, behind one URL."""

    @property
    def audit(self) -> AuditLog: ...
    @property
    def consent(self) -> ConsentStore: ...
    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        ...

    def close(self) -> None: ...
