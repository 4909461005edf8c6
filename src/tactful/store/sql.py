"""``SqlStore``: every store interface over SQLAlchemy Core, shared by the SQLite and PostgreSQL backends.

Core (not the ORM) on purpose: ``record_decision`` is on the decision hot path, and Core statements
built once with bind parameters avoid per-call construction and identity-map bookkeeping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import Any

from sqlalchemy import bindparam, func, insert, literal, select
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from tactful.domain import (
    CustomerId,
    Decision,
    DecisionId,
    Envelope,
    EventId,
    Outcome,
    OutcomeType,
    TenantId,
    new_id,
)
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.observability.propagation import current_trace_context
from tactful.store.chain import canonical_bytes
from tactful.store.database import Database, PreparedQuery, RawTransaction, SideWrite
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.group_commit import GroupCommit, Phased
from tactful.store.schema import (
    decisions,
    outbox,
    outcomes,
)
from tactful.store.sql_audit import (
    AuditStatements,
    SqlAuditLog,
    append_batch_in,
    batch_chain,
    payload_text,
    send_batch_chain,
)
from tactful.store.sql_channels import SqlCredentialRows, SqlDeliveries
from tactful.store.sql_consent import SqlConsent
from tactful.store.sql_console import SqlConsoleSessions
from tactful.store.sql_experiments import SqlExperimentStore
from tactful.store.sql_facts import SqlDecisionFacts
from tactful.store.sql_features import SqlFeatureStore
from tactful.store.sql_governance import SqlGovernance
from tactful.store.sql_intents import SqlIntentStore
from tactful.store.sql_knowledge import SqlKnowledgeRows
from tactful.store.sql_learning import SqlLearningStore
from tactful.store.sql_outbox import DEFAULT_OUTBOX_LEASE, SqlOutbox, with_payload
from tactful.store.sql_policies import ACTIVE_POLICY_REF, PolicyRows
from tactful.store.sql_reads import DecisionReads, combined_query, decision_reads
from tactful.store.sql_tenants import FIND_KEY, GET_CUSTOMER, TenantRows, require_tenant
from tactful.store.sql_vault import SqlVaultStore


def utc_now() -> datetime:
    return datetime.now(UTC)


# Hot-path statements, built once (see sql_audit.py for why).
_PING = select(literal(1))
_INSERT_DECISION = insert(decisions).values(
    {c.name: bindparam(c.name, type_=c.type) for c in decisions.columns}
)
_INSERT_OUTBOX = insert(outbox).values(
    {c.name: bindparam(c.name, type_=c.type) for c in outbox.columns if c.name != "id"}
)
_DECISION_BY_EVENT = select(decisions.c.document).where(
    decisions.c.tenant_id == bindparam("b_tenant_id"), decisions.c.event_id == bindparam("b_event_id")
)
_DECISION_BY_ID = select(decisions.c.document).where(
    decisions.c.tenant_id == bindparam("b_tenant_id"), decisions.c.decision_id == bindparam("b_decision_id")
)
_CONVERSATION_OF_DECISION = select(decisions.c.conversation_id).where(
    decisions.c.tenant_id == bindparam("b_tenant_id"), decisions.c.decision_id == bindparam("b_decision_id")
)
_COUNT_PROACTIVE = select(func.count()).where(
    decisions.c.tenant_id == bindparam("b_tenant_id"),
    decisions.c.customer_id == bindparam("b_customer_id"),
    decisions.c.decided_at >= bindparam("b_since"),
    decisions.c.proactive.is_(True),
)


def _violates_decisions_key(exc: DBAPIError) -> bool:
    """Whether a unique violation is the decision row's own key (its id or its event id)."""
    diag = getattr(exc.orig, "diag", None)  # psycopg names the table
    table = getattr(diag, "table_name", None)
    if table is not None:
        return str(table) == "decisions"
    return "constraint failed: decisions." in str(exc.orig)  # sqlite3's message names the columns


class SqlStore(TenantRows, PolicyRows):
    """Implements ``tactful.store.base.Store`` plus the outbox relay's two calls."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        make_id: Callable[[str], str] = new_id,
        outbox_lease: timedelta = DEFAULT_OUTBOX_LEASE,
    ) -> None:
        self._db = database
        # The reads on every decision's path, prepared once for this backend (see PreparedQuery).
        prepare = partial(PreparedQuery, engine=database.engine)
        self._q_decision_by_event = prepare(_DECISION_BY_EVENT)
        self._q_active_policy = prepare(ACTIVE_POLICY_REF)
        self._q_count_proactive = prepare(_COUNT_PROACTIVE)
        self._q_find_key = prepare(FIND_KEY)
        self._q_customer = prepare(GET_CUSTOMER)
        self._q_combined = prepare(combined_query(database.backend))
        self._q_combined_light = prepare(combined_query(database.backend, state=False))
        self._q_insert_decision = prepare(_INSERT_DECISION)
        self._q_insert_outbox = prepare(_INSERT_OUTBOX)
        self._audit_statements = AuditStatements(database)
        self._outbox = SqlOutbox(database, clock, outbox_lease)
        self._clock = clock
        self._make_id = make_id
        self._audit = SqlAuditLog(database, clock)
        #: Concurrent decisions of this process share durable commits (group_commit.py).
        self._group = GroupCommit(database)

    @property
    def audit(self) -> SqlAuditLog:
        return self._audit

    @cached_property
    def vault(self) -> SqlVaultStore:  # issue 5: the PII vault's rows, erasure and export reads
        return SqlVaultStore(self._db, self._clock)

    @cached_property
    def intents(self) -> SqlIntentStore:  # issue 3: tenant intent examples and models
        return SqlIntentStore(self._db, self._clock)

    @cached_property
    def governance(self) -> SqlGovernance:
        """Keys by id, key lifecycle, retention and purges (issue 5)."""
        return SqlGovernance(self._db, self._clock)

    @cached_property
    def features(self) -> SqlFeatureStore:  # issue 6: event log, feature definitions and state
        return SqlFeatureStore(self._db, self._clock)

    @cached_property
    def learning(self) -> SqlLearningStore:  # issue 4: logged choices, reward windows, snapshots
        return SqlLearningStore(self._db)

    @cached_property
    def facts(self) -> SqlDecisionFacts:  # issue 15: the console's and the guardrails' read model
        return SqlDecisionFacts(self._db)

    @cached_property
    def experiments(self) -> SqlExperimentStore:  # issue 15: A/B tests and canaries
        return SqlExperimentStore(self._db, self._clock)

    @cached_property
    def consent(self) -> SqlConsent:  # issue 11: consent changes, once per event, audited
        return SqlConsent(self._db, self._clock)

    @cached_property
    def console_sessions(self) -> SqlConsoleSessions:  # issue 15: console sign-ins
        return SqlConsoleSessions(self._db, self._clock)

    @cached_property
    def credentials(self) -> SqlCredentialRows:  # issue 14: sealed provider credentials
        return SqlCredentialRows(self._db, self._clock)

    @cached_property
    def deliveries(self) -> SqlDeliveries:  # issue 14: the outbound delivery outbox
        return SqlDeliveries(self._db, self._clock)

    @cached_property
    def knowledge(self) -> SqlKnowledgeRows:  # issue 14: the tenant knowledge base
        return SqlKnowledgeRows(self._db, self._clock)

    @property
    def backend(self) -> str:
        return self._db.backend

    def close(self) -> None:
        self._db.close()

    def ping(self) -> bool:
        """True when the database answers a trivial query; never raises (readiness probes call it)."""
        try:
            with self._db.read() as conn:
                return conn.execute(_PING).scalar() == 1
        except SQLAlchemyError:
            return False

    # -- decisions -----------------------------------------------------------------------------

    @translate_driver_errors
    def record_decision(
        self, decision: Decision, snapshot: dict[str, Any], side_writes: Sequence[SideWrite] = ()
    ) -> tuple[Decision, bool]:
        """Store the decision, its audit entry and its ``decision.made`` outbox event in one transaction.

        ``side_writes`` (the engine's vault values, feature events and learning log) run last in
        that same transaction, so the decision and everything it implies commit, or roll back,
        together — and one durable commit pays for all of them. A replayed event id runs none.
        """
        document_dict = decision.model_dump(mode="json")
        # Serialised once: the stored row, the audit payload (and its hash) and the outbox event
        # all reuse these bytes.
        document_bytes = canonical_bytes(document_dict)
        document = document_bytes.decode("utf-8")
        snapshot_json = payload_text(snapshot)
        # The entry commits to the stored document by its hash, which `audit verify` checks every
        # decision row against. Keys in sorted order ("decision" < "document_sha256" < "snapshot"),
        # so this is the payload's canonical JSON without serialising the document twice.
        document_sha256 = hashlib.sha256(document_bytes).hexdigest()
        audit_json = (
            '{"decision":' + document + ',"document_sha256":"' + document_sha256
            + '","snapshot":' + snapshot_json + "}"
        )  # fmt: skip
        envelope = Envelope(
            # Derived, not random: a retried relay re-sends the same id and consumers dedupe on it.
            event_id=f"{decision.decision_id}.made",
            type="decision.made",
            tenant_id=decision.tenant_id,
            key=decision.conversation_id,
            occurred_at=decision.decided_at,
            payload={},  # spliced in below as the document's text, not serialised again
            trace_context=current_trace_context(),  # its relay and consumers join the decision's trace
        )
        now = self._clock()
        decision_row = {
            "tenant_id": decision.tenant_id,
            "decision_id": decision.decision_id,
            "event_id": decision.event_id,
            "customer_id": decision.customer_id,
            "conversation_id": decision.conversation_id,
            "decided_at": decision.decided_at,
            "proactive": decision.proactive,
            "document": document,
        }
        outbox_row = {
            "tenant_id": decision.tenant_id,
            # The payload is the document stored above: the relay's claim splices it back in.
            "event": with_payload(envelope.model_dump_json(), "null"),
            "decision_id": decision.decision_id,
            "created_at": now,
            "claimed_at": None,
            "published_at": None,
        }
        inserted = False

        def send(tx: RawTransaction) -> None:
            # Only statements from here: everything above was serialised before the batch's
            # transaction (and SQLite's write lock) was taken. Prepared (see PreparedQuery), on
            # the transaction's cursor, which the side writes get too.
            nonlocal inserted
            inserted = False  # a batch that failed elsewhere runs this again on its own
            tx.execute(self._q_insert_decision, decision_row)
            # The batch's audit chain (its head read and locked once per transaction and tenant:
            # sql_audit.send_batch_chain), then a phased write's reads: on PostgreSQL's pipeline
            # they share one round trip (with the rest of the batch's round: group_commit.py).
            send_batch_chain(tx, self._audit_statements, decision.tenant_id)
            for write in side_writes:
                send_reads = getattr(write, "send", None)
                if send_reads is not None:
                    send_reads(tx)

        def finish(tx: RawTransaction) -> None:
            nonlocal inserted
            batch_chain(tx, self._audit_statements, decision.tenant_id)  # the batch's first read
            inserted = True
            append_batch_in(
                tx,
                self._audit_statements,
                tenant_id=decision.tenant_id,
                kind="decision",
                payload={
                    "decision": document_dict,
                    "document_sha256": document_sha256,
                    "snapshot": snapshot,
                },
                payload_json=audit_json,
                created_at=now,
            )
            tx.execute(self._q_insert_outbox, outbox_row)
            for write in side_writes:
                write(tx)

        try:
            self._group.run(
                Phased(send, finish),
                # The first lock that can wait: the customer's feature state rows (the chain head
                # is taken without waiting). One global order, so two processes never deadlock.
                (decision.tenant_id, decision.customer_id),
            )
        except DBAPIError as exc:
            # In PostgreSQL's pipeline mode the insert's unique violation may reach us as the
            # pipeline's abort (the error of a later statement), after `finish` got past the
            # insert: which statement failed is then told by the rows, not by how far it got.
            aborted = type(exc.orig).__name__ == "PipelineAborted"
            if not isinstance(exc, IntegrityError) and not aborted:
                raise
            if isinstance(exc, IntegrityError) and inserted and not _violates_decisions_key(exc):
                raise  # a side write's constraint, not a replay: rolled back, reported as a conflict
            # The unique (tenant_id, event_id) lost a race or this is a replay: the first write wins.
            original = self.get_decision_by_event(decision.tenant_id, decision.event_id)
            if original is not None:
                return original, False
            with self._db.read() as conn:
                require_tenant(conn, decision.tenant_id)
            if aborted and self.get_decision(decision.tenant_id, decision.decision_id) is None:
                raise  # not a replay nor a used id: whatever aborted the pipeline, a storage failure
            raise Conflict(
                f"decision id {decision.decision_id!r} is already used by another event",
                code="decision_id_conflict",
            ) from exc
        return decision, True

    @translate_driver_errors
    def get_decision(self, tenant_id: TenantId, decision_id: DecisionId) -> Decision | None:
        with self._db.read() as conn:
            document = conn.execute(
                _DECISION_BY_ID, {"b_tenant_id": tenant_id, "b_decision_id": decision_id}
            ).scalar()
        return None if document is None else Decision.model_validate_json(document)

    @translate_driver_errors
    def get_decision_by_event(self, tenant_id: TenantId, event_id: EventId) -> Decision | None:
        row = self._db.fetch_one(
            self._q_decision_by_event, {"b_tenant_id": tenant_id, "b_event_id": event_id}
        )
        return None if row is None else Decision.model_validate_json(row[0])

    @translate_driver_errors
    def read_for_decision(
        self, tenant_id: TenantId, event_id: EventId, customer_id: CustomerId, *, state: bool = True
    ) -> DecisionReads:
        """Everything a decision reads, in one statement (see sql_reads.py); ``state=False``
        leaves the feature state's JSON to the hot store."""
        row = self._db.fetch_one(
            self._q_combined if state else self._q_combined_light,
            {"b_tenant_id": tenant_id, "b_event_id": event_id, "b_customer_id": customer_id},
        )
        assert row is not None  # the context's anchor row always exists
        return decision_reads(row)

    @translate_driver_errors
    def count_proactive_since(self, tenant_id: TenantId, customer_id: CustomerId, since: datetime) -> int:
        if since.tzinfo is None:
            raise InputRejected("since must be timezone-aware", code="naive_datetime")
        row = self._db.fetch_one(
            self._q_count_proactive,
            {"b_tenant_id": tenant_id, "b_customer_id": customer_id, "b_since": since},
        )
        count = row[0] if row is not None else 0
        return int(count)

    # -- outcomes ------------------------------------------------------------------------------

    @translate_driver_errors
    def record_outcome(self, outcome: Outcome) -> tuple[Outcome, bool]:
        try:
            with self._db.write() as conn:
                found = conn.execute(
                    _CONVERSATION_OF_DECISION,
                    {"b_tenant_id": outcome.tenant_id, "b_decision_id": outcome.decision_id},
                ).first()
                if found is None:
                    raise NotFound(
                        f"no decision {outcome.decision_id!r} for this tenant", code="decision_not_found"
                    )
                conn.execute(
                    insert(outcomes).values(
                        tenant_id=outcome.tenant_id,
                        event_id=outcome.event_id,
                        decision_id=outcome.decision_id,
                        type=outcome.type.value,
                        value=outcome.value,
                        occurred_at=outcome.occurred_at,
                    )
                )
                # The conversation id is the ordering key, as for the decision's own event.
                envelope = Envelope(
                    event_id=outcome.event_id,
                    type="outcome.recorded",
                    tenant_id=outcome.tenant_id,
                    key=str(found.conversation_id),
                    occurred_at=outcome.occurred_at,
                    payload=outcome.model_dump(mode="json"),
                    trace_context=current_trace_context(),
                )
                conn.execute(
                    _INSERT_OUTBOX,
                    {
                        "tenant_id": outcome.tenant_id,
                        "event": envelope.model_dump_json(),
                        "decision_id": None,  # (the outcome's event carries its payload)
                        "created_at": self._clock(),
                        "claimed_at": None,
                        "published_at": None,
                    },
                )
        except IntegrityError:
            original = self.get_outcome(outcome.tenant_id, outcome.event_id)
            if original is None:
                raise
            return original, False
        return outcome, True

    @translate_driver_errors
    def get_outcome(self, tenant_id: TenantId, event_id: EventId) -> Outcome | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(outcomes).where(outcomes.c.tenant_id == tenant_id, outcomes.c.event_id == event_id)
            ).first()
        if row is None:
            return None
        return Outcome(
            event_id=EventId(row.event_id),
            tenant_id=TenantId(row.tenant_id),
            decision_id=DecisionId(row.decision_id),
            type=OutcomeType(row.type),
            value=row.value,
            occurred_at=row.occurred_at,
        )

    # -- outbox (for the bus relay) ------------------------------------------------------------

    @translate_driver_errors
    def claim_outbox(self, limit: int, published: Sequence[int] = ()) -> list[tuple[int, str]]:
        """Lease up to ``limit`` unpublished events, oldest first, as ``(outbox_id, envelope JSON
        as stored)``, after marking ``published`` (the relay's previous chunk) in the same
        transaction (sql_outbox.py: one mark and one ``UPDATE … RETURNING`` claim).

        A claimed event is not handed out again until it is marked published or its lease
        (``outbox_lease``) expires, so a relay that dies mid-chunk loses nothing: delivery is
        at-least-once and consumers dedupe by the envelope's ``event_id``.
        """
        return self._outbox.claim(limit, published)

    @translate_driver_errors
    def release_outbox(self, ids: Sequence[int], published: Sequence[int] = ()) -> None:
        """Un-claim ``ids`` (a relay's chunk it could not publish) after marking ``published``."""
        self._outbox.release(ids, published)

    @translate_driver_errors
    def mark_published(self, ids: list[int]) -> None:
        self._outbox.mark(ids)

    @translate_driver_errors
    def pending_outbox(self) -> int:
        """How many events await publishing (claimed or not): a relay-lag gauge."""
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).where(outbox.c.published_at.is_(None))).scalar_one())
