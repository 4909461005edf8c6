"""Rows for issue 14's channels: sealed provider credentials and the outbound delivery outbox.

This module sees ciphertexts only (``tactful.channels.credentials`` seals and opens them). Every
statement is scoped by tenant, except the worker's claim of due deliveries, which spans tenants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tactful.store.database import Database
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import channel_credentials, deliveries

_cred = channel_credentials.c
_d = deliveries.c

#: Delivery states. ``sending`` is a lease: a worker that died mid-send leaves the row to be
#: claimed again once the lease ends.
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class SqlCredentialRows:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock

    @translate_driver_errors
    def put(self, tenant_id: str, provider: str, sealed: bytes) -> None:
        now = self._clock()
        with self._db.write() as conn:
            done = conn.execute(
                update(channel_credentials)
                .where(_cred.tenant_id == tenant_id, _cred.provider == provider)
                .values(sealed=sealed, updated_at=now)
            ).rowcount
            if not done:
                conn.execute(
                    insert(channel_credentials).values(
                        tenant_id=tenant_id, provider=provider, sealed=sealed, updated_at=now
                    )
                )

    @translate_driver_errors
    def get(self, tenant_id: str, provider: str) -> bytes | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(_cred.sealed).where(_cred.tenant_id == tenant_id, _cred.provider == provider)
            ).first()
        return None if row is None else bytes(row.sealed)

    @translate_driver_errors
    def providers(self, tenant_id: str) -> list[tuple[str, datetime]]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(_cred.provider, _cred.updated_at)
                .where(_cred.tenant_id == tenant_id)
                .order_by(_cred.provider)
            ).all()
        return [(r.provider, r.updated_at) for r in rows]

    @translate_driver_errors
    def delete(self, tenant_id: str, provider: str) -> bool:
        with self._db.write() as conn:
            gone = conn.execute(
                delete(channel_credentials).where(_cred.tenant_id == tenant_id, _cred.provider == provider)
            ).rowcount
        return bool(gone)


@dataclass(frozen=True)
class DeliveryRow:
    tenant_id: str
    decision_id: str
    customer_id: str
    channel: str
    state: str
    attempts: int
    next_attempt_at: datetime
    reply: str  # the stored (tokenised) reply, JSON
    recipients: bytes  # sealed JSON {channel: address}
    fallback_from: str | None
    notes: str  # JSON list of plain-language lines
    provider_message_id: str | None
    created_at: datetime
    sent_at: datetime | None


def _row(r: object) -> DeliveryRow:
    values = {name: getattr(r, name) for name in DeliveryRow.__dataclass_fields__}
    values["recipients"] = bytes(values["recipients"])
    return DeliveryRow(**values)


class SqlDeliveries:
    """The outbound outbox: one row per decision, claimed by the delivery worker when due."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock

    @translate_driver_errors
    def add(self, row: DeliveryRow) -> tuple[DeliveryRow, bool]:
        """Insert the row unless the decision has one already; returns the stored row and whether
        it was created (a second enqueue of the same decision changes nothing)."""
        try:
            with self._db.write() as conn:
                conn.execute(insert(deliveries).values(**row.__dict__))
            return row, True
        except IntegrityError:
            existing = self.get(row.tenant_id, row.decision_id)
            if existing is None:  # pragma: no cover - the conflicting row cannot vanish (no deletes)
                raise
            return existing, False

    @translate_driver_errors
    def get(self, tenant_id: str, decision_id: str) -> DeliveryRow | None:
        with self._db.read() as conn:
            r = conn.execute(
                select(deliveries).where(_d.tenant_id == tenant_id, _d.decision_id == decision_id)
            ).first()
        return None if r is None else _row(r)

    @translate_driver_errors
    def by_provider_message(self, tenant_id: str, provider_message_id: str) -> DeliveryRow | None:
        with self._db.read() as conn:
            r = conn.execute(
                select(deliveries).where(
                    _d.tenant_id == tenant_id, _d.provider_message_id == provider_message_id
                )
            ).first()
        return None if r is None else _row(r)

    @translate_driver_errors
    def claim_due(self, limit: int, lease: timedelta) -> list[DeliveryRow]:
        """Rows due now (pending, or sending with an expired lease), leased to the caller: each is
        set to ``sending`` until ``now + lease`` so two workers never send the same row at once."""
        now = self._clock()
        due = or_(
            and_(_d.state == PENDING, _d.next_attempt_at <= now),
            and_(_d.state == SENDING, _d.next_attempt_at <= now),
        )
        claimed: list[DeliveryRow] = []
        with self._db.write() as conn:
            rows = conn.execute(select(deliveries).where(due).order_by(_d.next_attempt_at).limit(limit)).all()
            for r in rows:
                # Compare-and-set on the state and time read, so a concurrent claim loses cleanly.
                won = conn.execute(
                    update(deliveries)
                    .where(
                        _d.tenant_id == r.tenant_id,
                        _d.decision_id == r.decision_id,
                        _d.state == r.state,
                        _d.next_attempt_at == r.next_attempt_at,
                    )
                    .values(state=SENDING, next_attempt_at=now + lease)
                ).rowcount
                if won:
                    claimed.append(_row(r))
        return claimed

    @translate_driver_errors
    def settle(
        self,
        tenant_id: str,
        decision_id: str,
        *,
        state: str,
        attempts: int,
        next_attempt_at: datetime,
        channel: str,
        fallback_from: str | None,
        notes: str,
        provider_message_id: str | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(deliveries)
                .where(_d.tenant_id == tenant_id, _d.decision_id == decision_id)
                .values(
                    state=state,
                    attempts=attempts,
                    next_attempt_at=next_attempt_at,
                    channel=channel,
                    fallback_from=fallback_from,
                    notes=notes,
                    provider_message_id=provider_message_id,
                    sent_at=sent_at,
                )
            )

    @translate_driver_errors
    def pending_count(self) -> int:
        with self._db.read() as conn:
            count = conn.execute(
                select(func.count()).select_from(deliveries).where(_d.state.in_((PENDING, SENDING)))
            ).scalar_one()
        return int(count)
