"""``SqlFeatureStore``: the event log and materialised feature state in SQL (definitions in
``sql_feature_definitions.py``, rebuild and backfill in ``sql_feature_rebuild.py``).

Writers of one tenant's feature state are serialised — by SQLite's single writer (``BEGIN
IMMEDIATE``) or a PostgreSQL transaction-scoped advisory lock on the tenant — so an incremental
update and a rebuild batch never interleave: a rebuild is safe while traffic continues, and the
state always equals a fold of the log in event-time order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import (
    Connection,
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
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from tactful.context.aggregations import State, advance, compute, new_state, parse_state, read, state_text
from tactful.context.definitions import DefinitionSet, Level
from tactful.context.events import FeatureEvent
from tactful.context.feature_store import (
    CustomerFacts,
    FeatureVector,
)
from tactful.domain import PersonalisationIntensity, Preferences
from tactful.errors import InputRejected
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import customers, events, feature_definitions, feature_state
from tactful.store.sql_feature_definitions import as_utc
from tactful.store.sql_feature_rebuild import SqlFeatureRebuild
from tactful.store.sql_feature_writes import (
    DecisionFeatureStatements,
    DecisionFeatureWrite,
    feature_outbox_row,
)

#: Statuses whose state is kept up to date incrementally.
LIVE = ("backfilling", "ready", "active")
SMALL_BATCH = 8  # up to this many events per tenant, replays are looked up one by one (prepared)


@lru_cache(maxsize=4096)
def _preferences(document: str) -> Preferences:
    """Parsed preferences by their stored JSON: immutable, and most customers share a few documents."""
    return Preferences.model_validate_json(document)


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


class SqlFeatureStore(SqlFeatureRebuild):
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
        self._sets = {}

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
                as_utc(computed_raw),
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
            "computed_at": as_utc(row[2]),
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
            consent, computed_at = parse_state(consent_json), as_utc(computed_raw)
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


def _event(row: Any) -> FeatureEvent:
    return FeatureEvent(
        tenant_id=row.tenant_id,
        event_id=row.event_id,
        customer_id=row.customer_id,
        type=row.type,
        occurred_at=row.occurred_at,
        payload=json.loads(row.payload),
    )
