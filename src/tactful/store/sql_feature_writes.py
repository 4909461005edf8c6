"""A decision's own feature write: its two events and the customer's folded state, inside the
decision's transaction, in as few round trips as the statements allow.

- The events are new by construction (their ids derive from the event id and the decision id the
  decision's own insert just claimed), so they are inserted with ``ON CONFLICT DO NOTHING`` rather
  than looked up first.
- The customer's state rows are read (``FOR UPDATE`` on PostgreSQL: concurrent decisions of one
  customer fold one after the other) with the live definition versions, *sent* before the audit
  head is read, so on PostgreSQL's pipeline all three reads share one round trip. The state the
  context read fetched before the transaction is folded ahead of time; inside, when the locked row
  is still that state (nothing folded in meanwhile), the pre-folded result is written as is.
- No advisory lock: the other feature writers (outcome ingest, rebuild) lock the customers' state
  rows too before they read state or log (``SqlFeatureStore._lock_states``), so they never
  interleave with a decision's fold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, literal_column, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from tactful.context.aggregations import State, advance, parse_state, state_text
from tactful.context.definitions import Level
from tactful.context.events import FeatureEvent
from tactful.domain.events import Envelope
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.schema import events, feature_definitions, feature_state, outbox
from tactful.store.sql_feature_definitions import as_utc

if TYPE_CHECKING:
    from tactful.store.sql_features import SqlFeatureStore

# Built once (``json.dumps`` with options builds an encoder per call; two per decision): the
# same options, so the same text.
_PAYLOAD_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True)

LIVE = ("backfilling", "ready", "active")

_LIVE_VERSIONS = select(feature_definitions.c.version, feature_definitions.c.status).where(
    feature_definitions.c.tenant_id == bindparam("b_tenant_id"),
    or_(*(feature_definitions.c.status == literal_column(f"'{status}'") for status in LIVE)),
)
_CUSTOMER_LOG = (
    select(events.c.event_id, events.c.type, events.c.occurred_at, events.c.payload)
    .where(events.c.tenant_id == bindparam("b_tenant_id"), events.c.customer_id == bindparam("b_customer_id"))
    .order_by(events.c.occurred_at, events.c.event_id)
)


def _states_query(backend: str) -> Any:
    query = select(
        feature_state.c.version,
        feature_state.c.consent_state,
        feature_state.c.personal_state,
        feature_state.c.seq,
    ).where(
        feature_state.c.tenant_id == bindparam("b_tenant_id"),
        feature_state.c.customer_id == bindparam("b_customer_id"),
    )
    return query.with_for_update() if backend == "postgresql" else query


def _upserts(backend: str) -> tuple[Any, Any]:
    dialect_insert = postgresql.insert if backend == "postgresql" else sqlite.insert
    event_insert = (
        dialect_insert(events)
        .values({c.name: bindparam(c.name, type_=c.type) for c in events.columns})
        .on_conflict_do_nothing(index_elements=["tenant_id", "event_id"])
    )
    state = dialect_insert(feature_state).values(
        {c.name: bindparam(c.name, type_=c.type) for c in feature_state.columns}
    )
    state_upsert = state.on_conflict_do_update(
        index_elements=["tenant_id", "customer_id", "version"],
        set_={
            "consent_state": state.excluded.consent_state,
            "personal_state": state.excluded.personal_state,
            "computed_at": state.excluded.computed_at,
            "seq": state.excluded.seq,
        },
    )
    return event_insert, state_upsert


class DecisionFeatureStatements:
    """The statements, prepared once per database."""

    def __init__(self, database: Database) -> None:
        self.live = PreparedQuery(_LIVE_VERSIONS, database.engine)
        self.states = PreparedQuery(_states_query(database.backend), database.engine)
        self.log = PreparedQuery(_CUSTOMER_LOG, database.engine)
        event_insert, state_upsert = _upserts(database.backend)
        self.insert_event = PreparedQuery(event_insert, database.engine)
        self.upsert_state = PreparedQuery(state_upsert, database.engine)
        self.insert_outbox = PreparedQuery(
            insert(outbox).values(
                {c.name: bindparam(c.name, type_=c.type) for c in outbox.columns if c.name != "id"}
            ),
            database.engine,
        )


class DecisionFeatureWrite:
    """A phased side write (``SqlStore.record_decision``): ``send`` the reads, then ``complete``."""

    def __init__(
        self,
        store: SqlFeatureStore,
        statements: DecisionFeatureStatements,
        batch: list[FeatureEvent],
        *,
        personal: bool,
        seen: tuple[int, str | None, str | None] | None,
        recorded_at: Callable[[], datetime],
        publish: bool = False,
    ) -> None:
        self._store = store
        #: Also write one ``feature.recorded`` outbox row for the batch (a bus other than the
        #: in-process one is configured): off, the embedded default pays no extra write.
        self._publish = publish
        self._q = statements
        self._events = sorted(batch, key=lambda e: e.order_key)
        self._tenant = self._events[0].tenant_id
        self._customer = self._events[0].customer_id
        if any(e.tenant_id != self._tenant or e.customer_id != self._customer for e in batch):
            raise ValueError("a decision's feature write covers one tenant's customer")
        self._personal = personal
        self._clock = recorded_at
        self._key = {"b_tenant_id": self._tenant, "b_customer_id": self._customer}
        self._sent: tuple[RawTransaction, RawTransaction] | None = None
        # Folded before the transaction from the state the context read fetched (the active
        # version's row as text): reused inside when the locked row is still that text.
        self._seen = seen
        self._prefolded = None if seen is None else self._fold(seen[0], seen[1], seen[2], None)
        # ... and serialised here too: the locked section only runs statements.
        self._prefolded_text = None if self._prefolded is None else _state_texts(self._prefolded)
        #: The state rows ``complete`` wrote, for the hot store once the transaction commits.
        self.written: list[dict[str, Any]] = []
        self._payloads = {e.event_id: _PAYLOAD_JSON.encode(e.payload) for e in self._events}

    def send(self, tx: RawTransaction) -> None:
        self._sent = (
            tx.send(self._q.live, {"b_tenant_id": self._tenant}),
            tx.send(self._q.states, self._key),
        )

    def __call__(self, tx: RawTransaction) -> None:
        if self._sent is None:
            self.send(tx)
        self.complete(tx)

    def complete(self, tx: RawTransaction) -> None:
        assert self._sent is not None, "send() first"
        live_rows, state_rows = (sent.rows() for sent in self._sent)
        self._sent = None
        versions = sorted(int(v) for v, _ in live_rows)
        if not any(status == "active" for _, status in live_rows):
            versions.insert(0, 0)  # the shipped default is live until a tenant activates its own
        stored = {int(v): (consent, personal) for v, consent, personal, _ in state_rows}
        seqs = {int(v): int(seq) for v, _, _, seq in state_rows}  # the rows are locked: +1 is ours
        now = self._clock()
        tx.execute_many(
            self._q.insert_event,
            [
                {
                    "tenant_id": e.tenant_id,
                    "event_id": e.event_id,
                    "customer_id": e.customer_id,
                    "type": e.type,
                    "occurred_at": e.occurred_at,
                    "recorded_at": now,
                    "payload": self._payloads[e.event_id],
                }
                for e in self._events
            ],
        )
        cached: list[FeatureEvent] = []

        def log() -> list[FeatureEvent]:  # read at most once, and only when a recompute needs it
            if not cached:
                cached.extend(self._log(tx))
            return cached

        rows = []
        for version in versions:
            consent_text, personal_text = stored.get(version, (None, None))
            seen = self._seen
            if (
                self._prefolded is not None
                and seen is not None
                and seen[0] == version
                and seen[1] == consent_text
                and (seen[2] == personal_text or not self._personal)
            ):
                assert self._prefolded_text is not None  # set with ``_prefolded``
                consent_json, personal_json = self._prefolded_text
            else:
                folded = self._fold(version, consent_text, personal_text, log)
                assert folded is not None  # with the log at hand a fold always succeeds
                consent_json, personal_json = _state_texts(folded)
            rows.append(
                {
                    "tenant_id": self._tenant,
                    "customer_id": self._customer,
                    "version": version,
                    "consent_state": consent_json,
                    "personal_state": personal_json,
                    "computed_at": now,
                    "seq": seqs.get(version, 0) + 1,
                }
            )
        tx.execute_many(self._q.upsert_state, rows)
        self.written = rows
        if self._publish:
            tx.execute(self._q.insert_outbox, feature_outbox_row(self._events, self._payloads, now))

    def _fold(
        self,
        version: int,
        consent_text: str | None,
        personal_text: str | None,
        log: Callable[[], list[FeatureEvent]] | None,
    ) -> tuple[State, State | None] | None:
        """The state after this batch; None when that needs the log and ``log`` is None (the
        pre-fold outside the transaction does not read)."""
        defs = self._store.definitions(self._tenant, version)

        def no_log() -> list[FeatureEvent]:
            raise _NeedsLog

        try:
            consent = advance(
                defs.plan(Level.CONSENT),
                None if consent_text is None else parse_state(consent_text),
                self._events,
                log or no_log,
            )
            personal = None
            if self._personal:
                previous = None if personal_text is None else parse_state(personal_text)
                personal = advance(defs.plan(Level.PERSONAL), previous, self._events, log or no_log)
        except _NeedsLog:
            return None
        return consent, personal

    def _log(self, tx: RawTransaction) -> list[FeatureEvent]:
        return [
            FeatureEvent(
                tenant_id=self._tenant,
                event_id=event_id,
                customer_id=self._customer,
                type=kind,
                occurred_at=as_utc(occurred_at),
                payload=json.loads(payload),
            )
            for event_id, kind, occurred_at, payload in tx.fetch_all(self._q.log, self._key)
        ]


def feature_envelope_id(event_ids: list[str]) -> str:
    """Derived from the batch's event ids: a re-published row carries the same ``Nats-Msg-Id``
    and JetStream stores it once."""
    return "features." + hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:32]


def feature_outbox_row(batch: list[FeatureEvent], payloads: dict[str, str], now: datetime) -> dict[str, Any]:
    """One outbox row per decision: its feature events as one ``feature.recorded`` batch event,
    keyed by the customer (whose events the features fold in order)."""
    first = batch[0]
    envelope = Envelope(
        event_id=feature_envelope_id([e.event_id for e in batch]),
        type="feature.recorded",
        tenant_id=first.tenant_id,
        key=first.customer_id,
        occurred_at=max(e.occurred_at for e in batch),
        payload={
            "customer_id": first.customer_id,
            "events": [
                {
                    "event_id": e.event_id,
                    "type": e.type,
                    "occurred_at": e.occurred_at.isoformat(),
                    "payload": json.loads(payloads[e.event_id]),
                }
                for e in batch
            ],
        },
    )
    return {
        "tenant_id": first.tenant_id,
        "event": envelope.model_dump_json(),
        "decision_id": None,  # (carries its payload: see outbox.decision_id)
        "created_at": now,
        "claimed_at": None,
        "published_at": None,
    }


class _NeedsLog(Exception):
    pass


def _state_texts(folded: tuple[State, State | None]) -> tuple[str, str | None]:
    consent, personal = folded
    return state_text(consent), None if personal is None else state_text(personal)
