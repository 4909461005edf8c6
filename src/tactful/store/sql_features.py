"""``SqlFeatureStore``: the event log, feature definitions and materialised feature state in SQL.

Writers of one tenant's feature state are serialised — by SQLite's single writer (``BEGIN
IMMEDIATE``) or a PostgreSQL transaction-scoped advisory lock on the tenant — so an incremental
update and a rebuild batch never interleave: a rebuild is safe while traffic continues, and the
state always equals a fold of the log in event-time order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from tactful.context.aggregations import State, advance, compute, new_state, parse_state, read, state_text
from tactful.context.definitions import DefinitionSet, Level, default_definitions, parse_definitions
from tactful.context.events import FeatureEvent
from tactful.context.feature_store import (
    CustomerFacts,
    DefinitionRecord,
    FeatureVector,
    Progress,
    RebuildReport,
)
from tactful.domain import PersonalisationIntensity, Preferences
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import customers, events, feature_definitions, feature_state
from tactful.store.sql_feature_writes import (
    DecisionFeatureStatements,
    DecisionFeatureWrite,
    feature_outbox_row,
)

#: Statuses whose state is kept up to date incrementally.
LIVE = ("backfilling", "ready", "active")
SMALL_BATCH = 8  # up to this many events per tenant, replays are looked up one by one (prepared)
REBUILD_BATCH = 500  # customers per rebuild transaction: bounds how long live traffic waits


@lru_cache(maxsize=4096)
def _preferences(document: str) -> Preferences:
    """Parsed preferences by their stored JSON: immutable, and most customers share a few documents."""
    return Preferences.model_validate_json(document)


def _as_utc(value: Any) -> datetime:
    """A raw driver timestamp (SQLite text, PostgreSQL datetime) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _state_query(personal: bool) -> Any:
    active = (
        select(feature_definitions.c.version)
        .where(
            feature_definitions.c.tenant_id == bindparam("b_tenant_id"),
            feature_definitions.c.status == "active",
        )
        .scalar_subquery()
    )
    columns: list[Any] = [feature_state.c.version, feature_state.c.consent_state, feature_state.c.computed_at]
    columns.append(feature_state.c.personal_state if personal else null())
    columns.append(feature_state.c.seq)
    return select(*columns).where(
        feature_state.c.tenant_id == bindparam("b_tenant_id"),
        feature_state.c.customer_id == bindparam("b_customer_id"),
        feature_state.c.version == func.coalesce(active, 0),
    )


def decision_query(backend: str, *extra: ColumnElement[Any], state: bool = True) -> Any:
    """Everything one decision reads, in one round trip: the consent-level facts always; the
    profile and the personal feature state only when personalisation is not ``off`` — decided in
    the database, so an off customer's profile and personal features never leave it. ``extra``
    columns follow (the store's combined read adds the event-id check and version refs).
    ``state=False`` (a hot store holds the state): not the state's JSON but which state is
    current — its version, and its write counter ``seq`` in the consent state's place — for the
    hot copy's freshness check (context/hot.py)."""
    time_zone: ColumnElement[Any]
    needs: ColumnElement[Any]
    intensity: ColumnElement[Any]
    if backend == "postgresql":
        time_zone = literal_column("(customers.profile::json ->> 'time_zone')")
        needs = literal_column("(customers.profile::json -> 'accessibility_needs')::text")
        intensity = literal_column("(customers.preferences::json ->> 'personalisation')")
    else:  # SQLite's JSON functions read the TEXT column directly
        time_zone = func.json_extract(customers.c.profile, literal_column("'$.time_zone'"))
        needs = func.json_extract(customers.c.profile, literal_column("'$.accessibility_needs'"))
        intensity = func.json_extract(customers.c.preferences, literal_column("'$.personalisation'"))
    off = intensity == literal_column("'off'")
    active = (
        select(feature_definitions.c.version)
        .where(
            feature_definitions.c.tenant_id == bindparam("b_tenant_id"),
            feature_definitions.c.status == "active",
        )
        .scalar_subquery()
    )
    anchor = select(literal(1).label("one")).subquery()  # one row whether or not the others exist
    joined = anchor.outerjoin(
        customers,
        and_(
            customers.c.tenant_id == bindparam("b_tenant_id"),
            customers.c.customer_id == bindparam("b_customer_id"),
        ),
    ).outerjoin(
        feature_state,
        and_(
            feature_state.c.tenant_id == bindparam("b_tenant_id"),
            feature_state.c.customer_id == bindparam("b_customer_id"),
            feature_state.c.version == func.coalesce(active, 0),
        ),
    )
    return select(
        customers.c.preferences,
        time_zone,
        needs,
        case((off, null()), else_=customers.c.profile),
        feature_state.c.version,
        feature_state.c.consent_state if state else feature_state.c.seq,
        feature_state.c.computed_at,
        case((off, null()), else_=feature_state.c.personal_state) if state else null(),
        func.coalesce(active, 0),  # the version a customer without state reads defaults from
        *extra,
    ).select_from(joined)


#: How many columns of ``decision_query`` are the context's (``SqlFeatureStore.from_row``).
CONTEXT_COLUMNS = 9


_KNOWN_EVENT = select(events.c.event_id).where(
    events.c.tenant_id == bindparam("b_tenant_id"), events.c.event_id == bindparam("b_event_id")
)
_INSERT_EVENT = insert(events).values({c.name: bindparam(c.name, type_=c.type) for c in events.columns})
_LIVE_VERSIONS = select(feature_definitions.c.version, feature_definitions.c.status).where(
    feature_definitions.c.tenant_id == bindparam("b_tenant_id"),
    # Spelled out rather than IN (...): an IN list compiles to an expanding parameter, which a
    # statement prepared once (PreparedQuery) cannot take.
    or_(*(feature_definitions.c.status == literal_column(f"'{status}'") for status in LIVE)),
)

_STATE_KEY = (
    feature_state.c.tenant_id == bindparam("b_tenant_id"),
    feature_state.c.version == bindparam("b_version"),
    feature_state.c.customer_id == bindparam("b_customer_id"),
)
_STATE_OF = select(feature_state.c.consent_state, feature_state.c.personal_state).where(*_STATE_KEY)
#: Every write of a state row counts up its ``seq`` (the hot store's freshness check).
_INSERT_STATE = insert(feature_state).values(
    {c.name: bindparam(c.name, type_=c.type) for c in feature_state.columns}
)
_UPDATE_STATE = (
    update(feature_state)
    .where(*_STATE_KEY)
    .values(
        consent_state=bindparam("v_consent", type_=feature_state.c.consent_state.type),
        personal_state=bindparam("v_personal", type_=feature_state.c.personal_state.type),
        computed_at=bindparam("v_computed", type_=feature_state.c.computed_at.type),
        seq=feature_state.c.seq + 1,
    )
)


class SqlFeatureStore:
    """Implements ``FeatureStore``, ``FeatureDefinitionStore`` and the loader's ``CustomerFactsReader``."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock
        prepare = partial(PreparedQuery, engine=database.engine)
        self._q_personal = prepare(_state_query(personal=True))
        self._q_consent = prepare(_state_query(personal=False))
        self._q_decision = prepare(decision_query(database.backend))
        # Every decision ingests its two events inside its own transaction: the statements that
        # take one value each are prepared once (~0.1 ms less apiece than through Core).
        self._q_known = prepare(_KNOWN_EVENT)
        self._q_insert_event = prepare(_INSERT_EVENT)
        self._q_live = prepare(_LIVE_VERSIONS)
        self._q_state_of = prepare(_STATE_OF)
        self._q_insert_state = prepare(_INSERT_STATE)
        self._q_update_state = prepare(_UPDATE_STATE)
        self._decision_statements = DecisionFeatureStatements(database)
        #: Publish each decision's feature events as a ``feature.recorded`` outbox event; the engine
        #: turns it on only for a bus other than the in-process one (issue 13).
        self.publish_events = False
        # Published sets never change, so a parsed set can be cached forever by (tenant, version).
        self._sets: dict[tuple[str, int], DefinitionSet] = {}

    # -- reads on the decision path ------------------------------------------------------------

    @translate_driver_errors
    def read_for_decision(
        self, tenant_id: str, customer_id: str, now: datetime
    ) -> tuple[CustomerFacts | None, FeatureVector]:
        row = self._db.fetch_one(self._q_decision, {"b_tenant_id": tenant_id, "b_customer_id": customer_id})
        assert row is not None  # the anchor row always exists
        return self.from_row(tenant_id, row, now)

    def from_row(
        self, tenant_id: str, row: Sequence[Any], now: datetime
    ) -> tuple[CustomerFacts | None, FeatureVector]:
        """The facts and features of ``decision_query``'s first ``CONTEXT_COLUMNS`` columns (the
        store's combined read hands its row over, so the context costs no read of its own)."""
        _, _, _, _, version, consent_json, computed_raw, personal_json, active = row[:CONTEXT_COLUMNS]
        facts, personal = self.facts_of(row)
        if version is None:  # no event yet for this customer: every feature takes its default
            vector = self._vector(tenant_id, int(active), new_state(), None, personal, now, None)
        else:
            vector = self._vector(
                tenant_id,
                int(version),
                parse_state(consent_json),
                parse_state(personal_json) if personal and personal_json is not None else None,
                personal,
                now,
                _as_utc(computed_raw),
            )
        return facts, vector

    @staticmethod
    def facts_of(row: Sequence[Any]) -> tuple[CustomerFacts | None, bool]:
        """The customer's facts from ``decision_query``'s row, and whether personal features apply."""
        prefs_json, time_zone, needs, profile = row[:4]
        facts = None
        if prefs_json is not None:
            if isinstance(needs, str):
                needs = json.loads(needs)
            facts = CustomerFacts(
                preferences=_preferences(prefs_json),
                time_zone=time_zone or "UTC",
                accessibility_needs=tuple(needs or ()),
                profile_json=profile,
            )
        personal = facts is None or facts.preferences.personalisation is not PersonalisationIntensity.OFF
        return facts, personal

    def vector_of(
        self,
        tenant_id: str,
        version: int,
        consent_json: str | None,
        personal_json: str | None,
        personal: bool,
        now: datetime,
        computed_at: datetime | None,
    ) -> FeatureVector:
        """The values at ``now`` of stored state texts (None: no state yet, every default)."""
        return self._vector(
            tenant_id,
            version,
            new_state() if consent_json is None else parse_state(consent_json),
            parse_state(personal_json) if personal and personal_json is not None else None,
            personal,
            now,
            computed_at,
        )

    @translate_driver_errors
    def state_texts(self, tenant_id: str, customer_id: str, *, personal: bool) -> dict[str, Any] | None:
        """The active version's stored state row as the hot store keeps it (tenant_id,
        customer_id, version, consent_state, personal_state — None unless ``personal`` —,
        computed_at, seq); None when the customer has none yet."""
        query = self._q_personal if personal else self._q_consent
        row = self._db.fetch_one(query, {"b_tenant_id": tenant_id, "b_customer_id": customer_id})
        if row is None:
            return None
        return {
            "tenant_id": tenant_id,
            "customer_id": customer_id,
            "version": int(row[0]),
            "consent_state": row[1],
            "personal_state": row[3],
            "computed_at": _as_utc(row[2]),
            "seq": int(row[4]),
        }

    @translate_driver_errors
    def read(self, tenant_id: str, customer_id: str, now: datetime, *, personal: bool) -> FeatureVector:
        query = self._q_personal if personal else self._q_consent
        row = self._db.fetch_one(query, {"b_tenant_id": tenant_id, "b_customer_id": customer_id})
        if row is None:  # no event yet for this customer: every feature takes its default
            version = self._active_version(tenant_id)
            consent, personal_state, computed_at = new_state(), None, None
        else:
            version, consent_json, computed_raw = int(row[0]), row[1], row[2]
            consent, computed_at = parse_state(consent_json), _as_utc(computed_raw)
            personal_state = parse_state(row[3]) if personal and row[3] is not None else None
        return self._vector(tenant_id, version, consent, personal_state, personal, now, computed_at)

    def _vector(
        self,
        tenant_id: str,
        version: int,
        consent: State,
        personal_state: State | None,
        personal: bool,
        now: datetime,
        computed_at: datetime | None,
    ) -> FeatureVector:
        defs = self.definitions(tenant_id, version)
        values = read(defs.plan(Level.CONSENT), consent, now, computed_at)
        if personal:
            values |= read(defs.plan(Level.PERSONAL), personal_state or new_state(), now, computed_at)
        return FeatureVector(
            version=version, definitions=defs.label, values=values, personal=personal, read_at=now
        )

    # -- incremental updates -------------------------------------------------------------------

    @translate_driver_errors
    def ingest(self, batch: Sequence[FeatureEvent], *, personal: bool | None = None) -> int:
        new = 0
        for tenant_id in sorted({e.tenant_id for e in batch}):
            todo = {e.event_id: e for e in batch if e.tenant_id == tenant_id}  # duplicates in the batch
            if not self._unknown(tenant_id, list(todo)):
                # All replays (e.g. a decision's own ``decision.made`` coming back from the bus after
                # the decision wrote its events): answered by a read, without a write transaction.
                continue
            with self._db.write() as conn:
                new += self._ingest_tenant(conn, tenant_id, todo, personal)
        return new

    def ingest_in(self, conn: Connection, batch: Sequence[FeatureEvent], *, personal: bool | None) -> int:
        """``ingest`` inside the caller's write transaction (the decision's: see
        ``SqlStore.record_decision``), so the events commit or roll back with it."""
        new = 0
        for tenant_id in sorted({e.tenant_id for e in batch}):
            todo = {e.event_id: e for e in batch if e.tenant_id == tenant_id}
            new += self._ingest_tenant(conn, tenant_id, todo, personal)
        return new

    def decision_write(
        self, batch: list[FeatureEvent], *, personal: bool, context_row: Sequence[Any] | None = None
    ) -> DecisionFeatureWrite:
        """A decision's two events as a write on its own transaction (sql_feature_writes.py).
        ``context_row``: the row the decision's context was read from, whose state is folded
        ahead of the transaction."""
        seen = None
        if context_row is not None and context_row[4] is not None:  # version, consent, personal
            seen = (int(context_row[4]), context_row[5], context_row[7])
        return DecisionFeatureWrite(
            self,
            self._decision_statements,
            batch,
            personal=personal,
            seen=seen,
            recorded_at=self._clock,
            publish=self.publish_events,
        )

    def _unknown(self, tenant_id: str, ids: list[str]) -> set[str]:
        known: set[str] = set()
        with self._db.read() as conn:
            for start in range(0, len(ids), 500):
                known.update(self._known_in(conn, tenant_id, ids[start : start + 500]))
        return set(ids) - known

    @staticmethod
    def _known_in(conn: Connection, tenant_id: str, ids: list[str]) -> Iterable[str]:
        return conn.execute(
            select(events.c.event_id).where(events.c.tenant_id == tenant_id, events.c.event_id.in_(ids))
        ).scalars()

    def _ingest_tenant(
        self, conn: Connection, tenant_id: str, todo: dict[str, FeatureEvent], personal: bool | None
    ) -> int:
        self._lock(conn, tenant_id)
        tx = RawTransaction.of(conn)
        known: set[str] = set()
        ids = list(todo)
        if len(ids) <= SMALL_BATCH:  # a decision's two events: one prepared lookup each
            known.update(
                i for i in ids if tx.fetch_one(self._q_known, {"b_tenant_id": tenant_id, "b_event_id": i})
            )
        else:
            for start in range(0, len(ids), 500):
                known.update(self._known_in(conn, tenant_id, ids[start : start + 500]))
        # A replayed event changes nothing; the rest fold in event-time order.
        fresh = sorted((e for i, e in todo.items() if i not in known), key=lambda e: e.order_key)
        if not fresh:
            return 0
        recorded_at = self._clock()
        tx.execute_many(
            self._q_insert_event,
            [
                {
                    "tenant_id": e.tenant_id,
                    "event_id": e.event_id,
                    "customer_id": e.customer_id,
                    "type": e.type,
                    "occurred_at": e.occurred_at,
                    "recorded_at": recorded_at,
                    "payload": json.dumps(e.payload, separators=(",", ":"), sort_keys=True),
                }
                for e in fresh
            ],
        )
        by_customer: dict[str, list[FeatureEvent]] = {}
        for e in fresh:
            by_customer.setdefault(e.customer_id, []).append(e)
        self._lock_states(conn, tenant_id, list(by_customer))
        allowed = {
            c: personal if personal is not None else self._personal_allowed(conn, tenant_id, c)
            for c in by_customer
        }
        for version in self._live_versions(conn, tenant_id):
            self._update(conn, self.definitions(tenant_id, version), tenant_id, by_customer, allowed)
        if self.publish_events:  # e.g. an outcome the ``features`` group folds: one batch per customer
            for batch in by_customer.values():
                payloads = {e.event_id: json.dumps(e.payload) for e in batch}
                tx.execute(
                    self._decision_statements.insert_outbox, feature_outbox_row(batch, payloads, recorded_at)
                )
        return len(fresh)

    def _update(
        self,
        conn: Connection,
        defs: DefinitionSet,
        tenant_id: str,
        by_customer: dict[str, list[FeatureEvent]],
        allowed: dict[str, bool],
    ) -> None:
        """Fold each customer's new events (in event-time order) into one version's state: one
        read and one write statement for the whole batch."""
        customer_ids = list(by_customer)
        stored: dict[str, tuple[str, str | None]] = {}
        tx = RawTransaction.of(conn)
        if len(customer_ids) <= SMALL_BATCH:  # a decision's one customer: prepared lookups
            for customer_id in customer_ids:
                found = tx.fetch_one(
                    self._q_state_of,
                    {"b_tenant_id": tenant_id, "b_version": defs.version, "b_customer_id": customer_id},
                )
                if found is not None:
                    stored[customer_id] = (found[0], found[1])
            customer_ids = []
        for start in range(0, len(customer_ids), 500):
            rows = conn.execute(
                select(
                    feature_state.c.customer_id, feature_state.c.consent_state, feature_state.c.personal_state
                ).where(
                    feature_state.c.tenant_id == tenant_id,
                    feature_state.c.version == defs.version,
                    feature_state.c.customer_id.in_(customer_ids[start : start + 500]),
                )
            ).all()
            stored.update((r[0], (r[1], r[2])) for r in rows)
        now = self._clock()
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for customer_id, batch in by_customer.items():
            cached: list[FeatureEvent] = []

            def log(
                customer_id: str = customer_id, cached: list[FeatureEvent] = cached
            ) -> list[FeatureEvent]:
                if not cached:  # read at most once, and only when a recompute needs it
                    cached.extend(self._customer_log(conn, tenant_id, customer_id))
                return cached

            row = stored.get(customer_id)
            consent = advance(
                defs.plan(Level.CONSENT), None if row is None else parse_state(row[0]), batch, log
            )
            personal = None
            if allowed[customer_id]:
                previous = None if row is None or row[1] is None else parse_state(row[1])
                personal = advance(defs.plan(Level.PERSONAL), previous, batch, log)
            values = {
                "b_customer_id": customer_id,
                "consent_state": state_text(consent),
                "personal_state": None if personal is None else state_text(personal),
                "computed_at": now,
            }
            (inserts if row is None else updates).append(values)
        if inserts:
            tx.execute_many(
                self._q_insert_state,
                [
                    {
                        "tenant_id": tenant_id,
                        "customer_id": v.pop("b_customer_id"),
                        "version": defs.version,
                        "seq": 1,
                        **v,
                    }
                    for v in inserts
                ],
            )
        if updates:
            tx.execute_many(
                self._q_update_state,
                [
                    {
                        "b_tenant_id": tenant_id,
                        "b_version": defs.version,
                        "b_customer_id": v["b_customer_id"],
                        "v_consent": v["consent_state"],
                        "v_personal": v["personal_state"],
                        "v_computed": v["computed_at"],
                    }
                    for v in updates
                ],
            )

    def _customer_log(
        self, conn: Connection, tenant_id: str, customer_id: str, at: datetime | None = None
    ) -> list[FeatureEvent]:
        query = select(events).where(events.c.tenant_id == tenant_id, events.c.customer_id == customer_id)
        if at is not None:
            query = query.where(events.c.occurred_at <= at, events.c.recorded_at <= at)
        rows = conn.execute(query.order_by(events.c.occurred_at, events.c.event_id)).all()
        return [_event(row) for row in rows]

    def _lock(self, conn: Connection, tenant_id: str) -> None:
        if self._db.backend == "postgresql":  # SQLite's write transactions are exclusive already
            conn.execute(select(func.pg_advisory_xact_lock(func.hashtext("features:" + tenant_id))))

    def _lock_states(self, conn: Connection, tenant_id: str, customer_ids: list[str]) -> None:
        """Decisions fold their customer's state holding its rows (``FOR UPDATE``) rather than the
        advisory lock (sql_feature_writes.py): the other writers lock the same rows before they
        read state or log, so neither overwrites the other's fold."""
        if self._db.backend != "postgresql" or not customer_ids:
            return
        for start in range(0, len(customer_ids), 500):
            conn.execute(
                select(feature_state.c.customer_id)
                .where(
                    feature_state.c.tenant_id == tenant_id,
                    feature_state.c.customer_id.in_(customer_ids[start : start + 500]),
                )
                .with_for_update()
            ).all()

    def _personal_allowed(self, conn: Connection, tenant_id: str, customer_id: str) -> bool:
        prefs = conn.execute(
            select(customers.c.preferences).where(
                customers.c.tenant_id == tenant_id, customers.c.customer_id == customer_id
            )
        ).scalar()
        return prefs is None or json.loads(prefs).get("personalisation") != "off"

    @translate_driver_errors
    def erase_customer(self, tenant_id: str, customer_id: str) -> int:
        """Delete a customer's events and feature state (erasure); returns how many events went."""
        with self._db.write() as conn:
            self._lock(conn, tenant_id)
            conn.execute(
                delete(feature_state).where(
                    feature_state.c.tenant_id == tenant_id, feature_state.c.customer_id == customer_id
                )
            )
            gone = conn.execute(
                delete(events).where(events.c.tenant_id == tenant_id, events.c.customer_id == customer_id)
            ).rowcount
        return int(gone)

    # -- point in time -------------------------------------------------------------------------

    @translate_driver_errors
    def as_of(
        self,
        tenant_id: str,
        customer_id: str,
        at: datetime,
        *,
        version: int | None = None,
        personal: bool = True,
    ) -> FeatureVector:
        if at.tzinfo is None:
            raise InputRejected("as-of time must be timezone-aware", code="naive_datetime")
        version = self._active_version(tenant_id) if version is None else version
        defs = self.definitions(tenant_id, version)
        with self._db.snapshot() as conn:
            log = self._customer_log(conn, tenant_id, customer_id, at)
        consent = compute(defs.plan(Level.CONSENT), log, ordered=True)
        personal_state = compute(defs.plan(Level.PERSONAL), log, ordered=True) if personal else None
        return self._vector(tenant_id, version, consent, personal_state, personal, at, at)

    # -- rebuild and backfill ------------------------------------------------------------------

    @translate_driver_errors
    def rebuild(
        self,
        tenant_id: str | None = None,
        *,
        since: datetime | None = None,
        version: int | None = None,
        progress: Progress | None = None,
        on_batch: Callable[[list[dict[str, Any]]], object] | None = None,
    ) -> RebuildReport:
        """``on_batch`` gets each batch's new state rows once they are committed (the hot store's
        refill)."""
        started = time.perf_counter()
        with self._db.read() as conn:
            if tenant_id is None:
                tenant_ids = list(
                    conn.execute(select(events.c.tenant_id).distinct().order_by(events.c.tenant_id)).scalars()
                )
            else:
                tenant_ids = [tenant_id]
            todo: dict[str, list[str]] = {}
            for tenant in tenant_ids:
                query = select(events.c.customer_id).distinct().where(events.c.tenant_id == tenant)
                if since is not None:
                    # Late arrivals count too: an old event recorded since then changes the state.
                    query = query.where(or_(events.c.occurred_at >= since, events.c.recorded_at >= since))
                todo[tenant] = list(conn.execute(query.order_by(events.c.customer_id)).scalars())
        total = sum(len(c) for c in todo.values())
        done = n_events = 0
        versions_done: dict[str, list[int]] = {}
        for tenant, customer_ids in todo.items():
            for start in range(0, len(customer_ids), REBUILD_BATCH):
                batch = customer_ids[start : start + REBUILD_BATCH]
                written: list[dict[str, Any]] = []
                with self._db.write() as conn:
                    self._lock(conn, tenant)
                    versions = [version] if version is not None else self._live_versions(conn, tenant)
                    versions_done[tenant] = versions
                    n_events += self._rebuild_batch(conn, tenant, batch, versions, written)
                if on_batch is not None and written:
                    on_batch(written)
                done += len(batch)
                if progress is not None:
                    progress(done, total)
        return RebuildReport(
            tenants=len(todo),
            customers=total,
            events=n_events,
            seconds=time.perf_counter() - started,
            versions=versions_done,
        )

    def _rebuild_batch(
        self,
        conn: Connection,
        tenant_id: str,
        batch: list[str],
        versions: list[int],
        written: list[dict[str, Any]],
    ) -> int:
        self._lock_states(conn, tenant_id, batch)
        # The hot loop of a rebuild: timestamps come back as the driver gives them (no per-row
        # type processing), parsed once by ``_timestamp``.
        rows = conn.execute(
            select(
                events.c.customer_id,
                events.c.event_id,
                events.c.type,
                type_coerce(events.c.occurred_at, String()),
                events.c.payload,
            )
            .where(events.c.tenant_id == tenant_id, events.c.customer_id.in_(batch))
            .order_by(events.c.customer_id, events.c.occurred_at, events.c.event_id)
        ).all()
        logs: dict[str, list[FeatureEvent]] = {}
        loads = json.loads
        for customer_id, event_id, kind, occurred_at, payload in rows:
            logs.setdefault(customer_id, []).append(
                FeatureEvent(tenant_id, event_id, customer_id, kind, _as_utc(occurred_at), loads(payload))
            )
        prefs = dict(
            conn.execute(
                select(customers.c.customer_id, customers.c.preferences).where(
                    customers.c.tenant_id == tenant_id, customers.c.customer_id.in_(batch)
                )
            ).all()
        )
        now = self._clock()
        seqs = {
            (c, int(v)): int(seq)
            for c, v, seq in conn.execute(
                select(feature_state.c.customer_id, feature_state.c.version, feature_state.c.seq).where(
                    feature_state.c.tenant_id == tenant_id, feature_state.c.customer_id.in_(batch)
                )
            ).all()
        }
        for version in versions:
            defs = self.definitions(tenant_id, version)
            consent_plan, personal_plan = defs.plan(Level.CONSENT), defs.plan(Level.PERSONAL)
            fresh = []
            for customer_id, log in logs.items():
                stored_prefs = prefs.get(customer_id)
                allowed = stored_prefs is None or json.loads(stored_prefs).get("personalisation") != "off"
                fresh.append(
                    {
                        "tenant_id": tenant_id,
                        "customer_id": customer_id,
                        "version": version,
                        "consent_state": state_text(compute(consent_plan, log, ordered=True)),
                        "personal_state": state_text(compute(personal_plan, log, ordered=True))
                        if allowed
                        else None,
                        "computed_at": now,
                        "seq": seqs.get((customer_id, version), 0) + 1,  # a rebuilt row is a write too
                    }
                )
            conn.execute(
                delete(feature_state).where(
                    feature_state.c.tenant_id == tenant_id,
                    feature_state.c.version == version,
                    feature_state.c.customer_id.in_(batch),
                )
            )
            if fresh:
                conn.execute(insert(feature_state), fresh)
                written.extend(fresh)
        return len(rows)

    # -- definitions -----------------------------------------------------------------------------

    def definitions(self, tenant_id: str, version: int | None = None) -> DefinitionSet:
        if version is None:
            version = self._active_version(tenant_id)
        if version == 0:
            return default_definitions()
        cached = self._sets.get((tenant_id, version))
        if cached is None:
            with self._db.read() as conn:
                source = conn.execute(
                    select(feature_definitions.c.source).where(
                        feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.version == version
                    )
                ).scalar()
            if source is None:
                raise NotFound(f"no feature definitions version {version}", code="feature_version_not_found")
            cached = self._sets[(tenant_id, version)] = parse_definitions(source, version)
        return cached

    @translate_driver_errors
    def publish_definitions(self, tenant_id: str, source: str, by: str) -> DefinitionRecord:
        parsed = parse_definitions(source, version=1)  # validates before anything is stored
        with self._db.write() as conn:
            self._lock(conn, tenant_id)
            existing = conn.execute(
                select(feature_definitions).where(
                    feature_definitions.c.tenant_id == tenant_id,
                    feature_definitions.c.content_hash == parsed.content_hash,
                )
            ).first()
            if existing is not None:
                return _record(existing)
            version = 1 + int(
                conn.execute(
                    select(func.coalesce(func.max(feature_definitions.c.version), 0)).where(
                        feature_definitions.c.tenant_id == tenant_id
                    )
                ).scalar_one()
            )
            values = {
                "tenant_id": tenant_id,
                "version": version,
                "content_hash": parsed.content_hash,
                "source": source,
                "status": "published",
                "created_at": self._clock(),
                "created_by": by,
            }
            conn.execute(insert(feature_definitions).values(**values))
        return DefinitionRecord(**{k: v for k, v in values.items() if k != "source"})  # type: ignore[arg-type]

    @translate_driver_errors
    def backfill(self, tenant_id: str, version: int, progress: Progress | None = None) -> RebuildReport:
        """Compute a published version's state from the whole log, before it is activated.

        The version becomes live *first* (status ``backfilling``), so events arriving during the
        backfill update it incrementally and nothing falls between the backfill and activation."""
        record = self._set_status(
            tenant_id, version, "backfilling", allowed_from=("published", "backfilling", "ready")
        )
        report = self.rebuild(tenant_id, version=record.version, progress=progress)
        self._set_status(tenant_id, version, "ready", allowed_from=("backfilling",))
        return report

    @translate_driver_errors
    def activate_definitions(self, tenant_id: str, version: int) -> DefinitionRecord:
        with self._db.write() as conn:
            self._lock(conn, tenant_id)
            row = self._definition_row(conn, tenant_id, version)
            if row.status == "active":
                return _record(row)
            if row.status != "ready":
                raise Conflict(
                    f"feature definitions v{version} are {row.status}; backfill them before activating",
                    code="features_not_backfilled",
                )
            previous = self._active_version_in(conn, tenant_id)
            conn.execute(
                update(feature_definitions)
                .where(feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.status == "active")
                .values(status="retired")
            )
            conn.execute(
                update(feature_definitions)
                .where(feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.version == version)
                .values(status="active")
            )
            # The retired version is no longer maintained: drop its state rather than keep stale data.
            conn.execute(
                delete(feature_state).where(
                    feature_state.c.tenant_id == tenant_id, feature_state.c.version == previous
                )
            )
            return _record(self._definition_row(conn, tenant_id, version))

    @translate_driver_errors
    def list_definitions(self, tenant_id: str) -> list[DefinitionRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(feature_definitions)
                .where(feature_definitions.c.tenant_id == tenant_id)
                .order_by(feature_definitions.c.version)
            ).all()
        return [_record(row) for row in rows]

    def _set_status(
        self, tenant_id: str, version: int, status: str, allowed_from: Iterable[str]
    ) -> DefinitionRecord:
        with self._db.write() as conn:
            self._lock(conn, tenant_id)
            row = self._definition_row(conn, tenant_id, version)
            if row.status not in allowed_from:
                raise Conflict(
                    f"feature definitions v{version} are {row.status}", code="invalid_feature_status"
                )
            conn.execute(
                update(feature_definitions)
                .where(feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.version == version)
                .values(status=status)
            )
            return _record(self._definition_row(conn, tenant_id, version))

    @staticmethod
    def _definition_row(conn: Connection, tenant_id: str, version: int) -> Any:
        row = conn.execute(
            select(feature_definitions).where(
                feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.version == version
            )
        ).first()
        if row is None:
            raise NotFound(f"no feature definitions version {version}", code="feature_version_not_found")
        return row

    def _active_version(self, tenant_id: str) -> int:
        with self._db.read() as conn:
            return self._active_version_in(conn, tenant_id)

    @staticmethod
    def _active_version_in(conn: Connection, tenant_id: str) -> int:
        found = conn.execute(
            select(feature_definitions.c.version).where(
                feature_definitions.c.tenant_id == tenant_id, feature_definitions.c.status == "active"
            )
        ).scalar()
        return 0 if found is None else int(found)

    def _live_versions(self, conn: Connection, tenant_id: str) -> list[int]:
        rows = RawTransaction.of(conn).fetch_all(self._q_live, {"b_tenant_id": tenant_id})
        versions = sorted(int(v) for v, _ in rows)
        if not any(status == "active" for _, status in rows):
            versions.insert(0, 0)  # the shipped default is live until a tenant activates its own
        return versions


def _event(row: Any) -> FeatureEvent:
    return FeatureEvent(
        tenant_id=row.tenant_id,
        event_id=row.event_id,
        customer_id=row.customer_id,
        type=row.type,
        occurred_at=row.occurred_at,
        payload=json.loads(row.payload),
    )


def _record(row: Any) -> DefinitionRecord:
    return DefinitionRecord(
        tenant_id=row.tenant_id,
        version=int(row.version),
        content_hash=row.content_hash,
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
    )
