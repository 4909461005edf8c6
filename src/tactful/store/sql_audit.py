"""The audit log over SQL: chained appends inside a caller's transaction, reads and verification."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tactful.domain import TenantId
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.store.base import AnchorPins, AuditEntry, AuditVerification
from tactful.store.chain import GENESIS_HASH, Head, StoredEntry, canonical_json, entry_hash, verify_chain
from tactful.store.database import Database, PreparedQuery, RawTransaction
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import audit_heads, audit_log, decisions, tenants
from tactful.store.signing import ChainConfig, shard_of

_VERIFY_PAGE = 1000


class AuditTampered(Conflict):
    """A chain head fails its signature: nothing is anchored over a chain that does not verify."""


# Hot-path statements are built once with bind parameters: no per-call construction, and
# SQLAlchemy's compiled cache (and psycopg's server-side prepare) see one statement each.
_LOCK_HEAD = (
    select(audit_heads.c.seq, audit_heads.c.hash)
    .where(audit_heads.c.tenant_id == bindparam("b_tenant_id"), audit_heads.c.shard == bindparam("b_shard"))
    .with_for_update()
)
_INSERT_ENTRY = insert(audit_log).values({c.name: bindparam(c.name, type_=c.type) for c in audit_log.columns})
_ADVANCE_HEAD = (
    update(audit_heads)
    .where(audit_heads.c.tenant_id == bindparam("b_tenant_id"), audit_heads.c.shard == bindparam("b_shard"))
    .values(seq=bindparam("b_seq"), hash=bindparam("b_hash"), signature=bindparam("b_signature"))
)
_TENANT_EXISTS = select(tenants.c.tenant_id).where(tenants.c.tenant_id == bindparam("b_tenant_id"))
# A batch's chain (see ``send_batch_chain``). PostgreSQL: the tenant's lowest-numbered chain head that
# no other transaction holds, locked without waiting for the others.
_PICK_FREE_HEAD = (
    select(audit_heads.c.shard, audit_heads.c.seq, audit_heads.c.hash)
    .where(audit_heads.c.tenant_id == bindparam("b_tenant_id"), audit_heads.c.shard < bindparam("b_shards"))
    .order_by(audit_heads.c.shard)
    .limit(1)
    .with_for_update(skip_locked=True)
)
# SQLite (one writer at a time anyway): the chain the transaction's turn names.
_HEAD_OF = select(audit_heads.c.shard, audit_heads.c.seq, audit_heads.c.hash).where(
    audit_heads.c.tenant_id == bindparam("b_tenant_id"), audit_heads.c.shard == bindparam("b_shard")
)
# Every chain head of the tenant up to ``b_last``, where missing (PostgreSQL): made when a batch found
# all existing heads held by other transactions, so that the next batches find one free.
_NEW_HEADS = text(
    "INSERT INTO audit_heads (tenant_id, shard, seq, hash)"
    " SELECT :b_tenant_id, s, 0, :b_genesis FROM generate_series(0, :b_last) AS s"
    " ON CONFLICT DO NOTHING"
)


def _new_head_statement(dialect: str) -> Any:
    """Insert a chain's genesis head (unsigned: nothing to vouch for yet) unless another transaction
    just did (the first append to a shard)."""
    values = {
        "tenant_id": bindparam("b_tenant_id"),
        "shard": bindparam("b_shard"),
        "seq": 0,
        "hash": GENESIS_HASH,
    }
    if dialect == "postgresql":
        return pg_insert(audit_heads).values(values).on_conflict_do_nothing()
    return sqlite_insert(audit_heads).values(values).on_conflict_do_nothing()


def lock_head(conn: Connection, tenant_id: TenantId) -> Head:
    """Lock the tenant's chain 0 head for the rest of the transaction and return it.

    ``FOR UPDATE`` on PostgreSQL; SQLite's write transaction (BEGIN IMMEDIATE) is exclusive already.
    Tenant-wide changes (policies, experiments, keys) lock it to serialise among themselves. The
    head exists from tenant creation, so a missing one means the tenant does not exist.
    """
    row = conn.execute(_LOCK_HEAD, {"b_tenant_id": tenant_id, "b_shard": 0}).first()
    if row is None:
        raise NotFound(f"no tenant {tenant_id!r}", code="tenant_not_found")
    return Head(seq=int(row.seq), hash=str(row.hash))


class AuditStatements:
    """The append's statements, prepared once per database (they run on every decision), and the
    chain configuration (shards, head key) the database was opened with."""

    def __init__(self, database: Database) -> None:
        if database.chain is None:
            raise RuntimeError("the database was opened without an audit chain configuration (open_store)")
        self.chain: ChainConfig = database.chain
        self.lock_head = PreparedQuery(_LOCK_HEAD, database.engine)
        self.insert_entry = PreparedQuery(_INSERT_ENTRY, database.engine)
        self.advance_head = PreparedQuery(_ADVANCE_HEAD, database.engine)
        self.new_head = PreparedQuery(_new_head_statement(database.backend), database.engine)
        self.tenant_exists = PreparedQuery(_TENANT_EXISTS, database.engine)
        #: PostgreSQL takes a batch's chain with ``SKIP LOCKED``; SQLite round-robins (``turn``).
        self.skip_locked = database.backend == "postgresql"
        pick = _PICK_FREE_HEAD if self.skip_locked else _HEAD_OF
        self.pick_free_head = PreparedQuery(pick, database.engine)
        self.new_heads = PreparedQuery(_NEW_HEADS, database.engine) if self.skip_locked else None
        self._turns = itertools.count()

    def turn(self) -> int:
        """The chain of the next transaction's decisions on SQLite: each in turn."""
        return next(self._turns) % self.chain.shards


def append_in(
    tx: RawTransaction,
    statements: AuditStatements,
    *,
    tenant_id: TenantId,
    kind: str,
    payload: dict[str, Any],
    payload_json: str,
    created_at: datetime,
    subject: str | None = None,
) -> AuditEntry:
    """Append one entry within the caller's write transaction, to the chain of ``subject`` (a
    customer id; chain 0 for entries about the tenant itself).

    Locking the chain's head serialises that chain's appends, so its seq numbers never fork; the
    new head is signed under the audit key. (A decision's entry goes to its batch's chain
    instead: ``append_batch_in``.)
    """
    shard = _shard(statements, subject)
    lock = {"b_tenant_id": tenant_id, "b_shard": shard}
    rows = tx.send(statements.lock_head, lock).rows()
    row = rows[0] if rows else None
    if row is None:
        row = _new_head(tx, statements, tenant_id, shard)
    return _write_entry(
        tx, statements, tenant_id=tenant_id, shard=shard, seq=int(row[0]) + 1, prev_hash=str(row[1]),
        kind=kind, payload=payload, payload_json=payload_json, created_at=created_at,
    )  # fmt: skip


def _new_head(
    tx: RawTransaction, statements: AuditStatements, tenant_id: TenantId, shard: int
) -> tuple[Any, ...]:
    """A chain's first append: its genesis head, inserted and locked; NotFound without the tenant."""
    lock = {"b_tenant_id": tenant_id, "b_shard": shard}
    if tx.fetch_one(statements.tenant_exists, {"b_tenant_id": tenant_id}) is None:
        raise NotFound(f"no tenant {tenant_id!r}", code="tenant_not_found")
    tx.execute(statements.new_head, lock)
    row = tx.fetch_one(statements.lock_head, lock)
    assert row is not None  # inserted just now, or by a concurrent first append we waited for
    return row


def _write_entry(
    tx: RawTransaction,
    statements: AuditStatements,
    *,
    tenant_id: TenantId,
    shard: int,
    seq: int,
    prev_hash: str,
    kind: str,
    payload: dict[str, Any],
    payload_json: str,
    created_at: datetime,
) -> AuditEntry:
    """Insert the entry after ``prev_hash`` at ``seq`` and move the (locked) head to it, signed."""
    lock = {"b_tenant_id": tenant_id, "b_shard": shard}
    digest = entry_hash(
        tenant_id=tenant_id,
        seq=seq,
        kind=kind,
        payload_json=payload_json,
        created_at=created_at,
        prev_hash=prev_hash,
        shard=shard,
    )
    tx.execute(
        statements.insert_entry,
        {
            "tenant_id": tenant_id,
            "shard": shard,
            "seq": seq,
            "kind": kind,
            "payload": payload_json,
            "created_at": created_at,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    signature = statements.chain.sign_head(tenant_id, shard, seq, digest)
    tx.execute(statements.advance_head, {**lock, "b_seq": seq, "b_hash": digest, "b_signature": signature})
    return AuditEntry(
        tenant_id=tenant_id,
        seq=seq,
        kind=kind,
        payload=payload,
        created_at=created_at,
        prev_hash=prev_hash,
        hash=digest,
        shard=shard,
    )


def _shard(statements: AuditStatements, subject: str | None) -> int:
    return 0 if subject is None else shard_of(subject, statements.chain.shards)


class _BatchChain:
    """The chain one transaction's decisions of a tenant append to: the head read once (``sent``),
    then carried along in memory (``head``: shard, seq, hash) from one append to the next."""

    __slots__ = ("head", "sent", "shard")

    def __init__(self, sent: RawTransaction, shard: int | None) -> None:
        self.sent = sent
        self.shard = shard  # None: whichever the read finds free (PostgreSQL)
        self.head: tuple[int, int, str] | None = None


def send_batch_chain(tx: RawTransaction, statements: AuditStatements, tenant_id: TenantId) -> None:
    """Send the read and lock of the chain this transaction's decisions of ``tenant_id`` append to,
    unless an earlier decision of the transaction did (``RawTransaction.send``: on PostgreSQL's
    pipeline it shares the round trip of the other reads sent with it).

    Not the customer's chain: a batch's decisions all go to one chain, so a transaction locks one
    head per tenant, whatever customers it holds. On PostgreSQL that is the tenant's lowest-numbered
    head no other transaction holds (``FOR UPDATE SKIP LOCKED``), so the group commits of several
    API processes append to different chains side by side instead of queueing on each other's
    heads (issue 12); ``audit verify`` joins the chains. On SQLite, where one transaction writes at
    a time, each transaction takes the next chain in turn (the same one with the default 1 chain).
    """
    key = ("audit-chain", tenant_id)
    if key in tx.shared:
        return
    if statements.skip_locked:
        values: dict[str, Any] = {"b_tenant_id": tenant_id, "b_shards": statements.chain.shards}
        tx.shared[key] = _BatchChain(tx.send(statements.pick_free_head, values), None)
    else:
        shard = statements.turn()
        values = {"b_tenant_id": tenant_id, "b_shard": shard}
        tx.shared[key] = _BatchChain(tx.send(statements.pick_free_head, values), shard)
    if not tx.pipelined:
        # Read (and, if need be, make or wait for) the head now, before the caller's next
        # statements lock anything: a transaction that may wait for a head holds no other lock
        # yet, as every other audit writer (lock the head, then the rest) does.
        batch_chain(tx, statements, tenant_id)


def append_batch_in(
    tx: RawTransaction,
    statements: AuditStatements,
    *,
    tenant_id: TenantId,
    kind: str,
    payload: dict[str, Any],
    payload_json: str,
    created_at: datetime,
) -> AuditEntry:
    """Append one entry to the transaction's chain for ``tenant_id`` (``send_batch_chain``)."""
    chain = batch_chain(tx, statements, tenant_id)
    assert chain.head is not None
    shard, seq, prev_hash = chain.head
    entry = _write_entry(
        tx, statements, tenant_id=tenant_id, shard=shard, seq=seq + 1, prev_hash=prev_hash,
        kind=kind, payload=payload, payload_json=payload_json, created_at=created_at,
    )  # fmt: skip
    chain.head = (shard, entry.seq, entry.hash)
    return entry


def batch_chain(tx: RawTransaction, statements: AuditStatements, tenant_id: TenantId) -> _BatchChain:
    """The transaction's chain for ``tenant_id``, its head read (the read sent, or sent now)."""
    send_batch_chain(tx, statements, tenant_id)
    chain: _BatchChain = tx.shared[("audit-chain", tenant_id)]
    if chain.head is None:
        rows = chain.sent.rows()
        if rows:
            chain.head = (int(rows[0][0]), int(rows[0][1]), str(rows[0][2]))
        elif chain.shard is not None:  # SQLite: the chain's first append
            row = _new_head(tx, statements, tenant_id, chain.shard)
            chain.head = (chain.shard, int(row[0]), str(row[1]))
        elif tx.pipelined:
            # The batch's other reads went out with this one and may hold row locks already:
            # waiting for a head now could close a cycle with a writer that holds the head and
            # waits for those rows. The batch is rerun write by write instead (group_commit.py),
            # where the head is taken first.
            raise ChainBusy(f"no free audit chain of {tenant_id!r} for a pipelined batch")
        else:
            chain.head = _claim_head(tx, statements, tenant_id)
    return chain


class ChainBusy(Exception):
    """Every audit chain head of the tenant was held, or not made yet, when a pipelined batch
    looked (``batch_chain``); the batch reruns its writes one transaction each."""


def _claim_head(tx: RawTransaction, statements: AuditStatements, tenant_id: TenantId) -> tuple[int, int, str]:
    """PostgreSQL, when every existing head of the tenant was held by another transaction (or the
    tenant has only the one made with it): make the missing ones of the configured number, take a
    free one; if all are held still (more writers than chains), wait for chain 0 as before."""
    assert statements.new_heads is not None
    if tx.fetch_one(statements.tenant_exists, {"b_tenant_id": tenant_id}) is None:
        raise NotFound(f"no tenant {tenant_id!r}", code="tenant_not_found")
    last = statements.chain.shards - 1
    tx.execute(statements.new_heads, {"b_tenant_id": tenant_id, "b_genesis": GENESIS_HASH, "b_last": last})
    row = tx.fetch_one(statements.pick_free_head, {"b_tenant_id": tenant_id, "b_shards": last + 1})
    if row is not None:
        return int(row[0]), int(row[1]), str(row[2])
    row = tx.fetch_one(statements.lock_head, {"b_tenant_id": tenant_id, "b_shard": 0})
    assert row is not None  # made with the tenant, or just now
    return 0, int(row[0]), str(row[1])


def payload_text(payload: dict[str, Any]) -> str:
    try:
        return canonical_json(payload)
    except (TypeError, ValueError) as exc:
        raise InputRejected(f"audit payload is not plain JSON: {exc}", code="audit_payload_invalid") from exc


class SqlAuditLog:
    """``AuditLog`` over the store's database."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock
        self._statements = AuditStatements(database)

    @property
    def chain(self) -> ChainConfig:
        return self._statements.chain

    @translate_driver_errors
    def append(
        self, tenant_id: TenantId, kind: str, payload: dict[str, Any], subject: str | None = None
    ) -> AuditEntry:
        if not kind or len(kind) > 64:
            raise InputRejected("audit kind must be 1-64 characters", code="audit_kind_invalid")
        text = payload_text(payload)
        with self._db.raw_write() as tx:
            return append_in(
                tx, self._statements, tenant_id=tenant_id, kind=kind, payload=payload, payload_json=text,
                created_at=self._clock(), subject=subject,
            )  # fmt: skip

    @translate_driver_errors
    def entries(
        self, tenant_id: TenantId, after_seq: int = 0, limit: int = 1000, shard: int = 0
    ) -> list[AuditEntry]:
        if limit < 1:
            raise InputRejected("limit must be at least 1", code="invalid_limit")
        with self._db.read() as conn:
            rows = conn.execute(
                select(audit_log)
                .where(
                    audit_log.c.tenant_id == tenant_id,
                    audit_log.c.shard == shard,
                    audit_log.c.seq > after_seq,
                )
                .order_by(audit_log.c.seq)
                .limit(limit)
            ).all()
        return [
            AuditEntry(
                tenant_id=TenantId(row.tenant_id),
                seq=int(row.seq),
                kind=row.kind,
                payload=json.loads(row.payload),
                created_at=row.created_at,
                prev_hash=row.prev_hash,
                hash=row.hash,
                shard=int(row.shard),
            )
            for row in rows
        ]

    @translate_driver_errors
    def shards(self, tenant_id: TenantId) -> list[int]:
        with self._db.read() as conn:
            found = set(conn.scalars(select(audit_heads.c.shard).where(audit_heads.c.tenant_id == tenant_id)))
        return sorted(found | {0})

    @translate_driver_errors
    def heads(self) -> list[tuple[str, int, int, str]]:
        """Every chain's ``(tenant, shard, seq, hash)``, for an anchor; signatures checked first."""
        with self._db.snapshot() as conn:
            rows = conn.execute(
                select(audit_heads).order_by(audit_heads.c.tenant_id, audit_heads.c.shard)
            ).all()
        heads = []
        for row in rows:
            if row.seq and not self.chain.head_signature_ok(
                row.tenant_id, int(row.shard), int(row.seq), row.hash, row.signature or ""
            ):
                raise AuditTampered(
                    f"the head of {row.tenant_id} chain {row.shard} is not signed by this audit key; "
                    "run `tactful audit verify` before anchoring",
                    code="audit_head_unsigned",
                )
            heads.append((str(row.tenant_id), int(row.shard), int(row.seq), str(row.hash)))
        return heads

    @translate_driver_errors
    def verify(
        self,
        tenant_id: TenantId | None = None,
        anchor: AnchorPins | None = None,
    ) -> list[AuditVerification]:
        anchor = anchor or {}
        with self._db.snapshot() as conn:
            if tenant_id is None:
                ids = [
                    TenantId(t)
                    for t in conn.scalars(select(tenants.c.tenant_id).order_by(tenants.c.tenant_id))
                ]
            else:
                ids = [tenant_id]
            return [self._verify_tenant(conn, tid, anchor) for tid in ids]

    def _verify_tenant(self, conn: Connection, tenant_id: TenantId, anchor: AnchorPins) -> AuditVerification:
        """Every chain of the tenant, then every stored decision against the entry that vouches for it."""
        heads = {
            int(row.shard): Head(seq=int(row.seq), hash=row.hash, signature=row.signature)
            for row in conn.execute(
                select(audit_heads.c.shard, audit_heads.c.seq, audit_heads.c.hash, audit_heads.c.signature)
                .where(audit_heads.c.tenant_id == tenant_id)
            )
        }  # fmt: skip
        stored = set(
            conn.scalars(select(audit_log.c.shard).where(audit_log.c.tenant_id == tenant_id).distinct())
        )
        anchored = {shard for (tid, shard) in anchor if tid == tenant_id}
        vouched: dict[str, str] = {}  # decision id -> sha256 of its document, from the entries

        def visit(entry: StoredEntry) -> None:
            if entry.kind == "decision":
                decision_id, digest = decision_digest(entry.payload_json)
                vouched[decision_id] = digest

        checked = 0
        for shard in sorted(set(heads) | stored | anchored):
            pinned = anchor.get((tenant_id, shard))
            result = verify_chain(
                tenant_id, _stored_entries(conn, tenant_id, shard), heads.get(shard), shard=shard,
                config=self.chain, anchor=None if pinned is None else Head(seq=pinned[0], hash=pinned[1]),
                visit=visit,
            )  # fmt: skip
            if not result.ok:
                return replace(result, checked=checked + result.checked)
            checked += result.checked
        decisions_checked = 0
        for decision_id, document in _stored_decisions(conn, tenant_id):
            digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
            expected = vouched.get(decision_id)
            if expected is None:
                return AuditVerification(
                    ok=False, checked=checked, tenant_id=tenant_id,
                    reason=f"decision {decision_id} has no audit entry: inserted outside the log",
                )  # fmt: skip
            if digest != expected:
                return AuditVerification(
                    ok=False, checked=checked, tenant_id=tenant_id,
                    reason=f"decision {decision_id} differs from its audit entry: the stored row was altered",
                )  # fmt: skip
            decisions_checked += 1
        return AuditVerification(
            ok=True, checked=checked, tenant_id=tenant_id, decisions_checked=decisions_checked
        )


def decision_digest(payload_json: str) -> tuple[str, str]:
    """The decision id and document hash a ``decision`` entry vouches for.

    Entries since 0008 name the hash (``document_sha256``); older ones hold the document itself,
    canonical, so hashing its canonical form gives the same value.
    """
    payload = json.loads(payload_json)
    decision = payload["decision"]
    digest = (
        payload.get("document_sha256") or hashlib.sha256(canonical_json(decision).encode("utf-8")).hexdigest()
    )
    return str(decision["decision_id"]), str(digest)


def _stored_decisions(conn: Connection, tenant_id: TenantId) -> Iterator[tuple[str, str]]:
    after = ""
    while True:
        rows = conn.execute(
            select(decisions.c.decision_id, decisions.c.document)
            .where(decisions.c.tenant_id == tenant_id, decisions.c.decision_id > after)
            .order_by(decisions.c.decision_id)
            .limit(_VERIFY_PAGE)
        ).all()
        for row in rows:
            yield str(row.decision_id), str(row.document)
        if len(rows) < _VERIFY_PAGE:
            return
        after = str(rows[-1].decision_id)


def _stored_entries(conn: Connection, tenant_id: TenantId, shard: int) -> Iterator[StoredEntry]:
    """A chain's entries in seq order, fetched a page at a time so memory stays flat."""
    after = 0
    while True:
        rows = conn.execute(
            select(
                audit_log.c.seq,
                audit_log.c.kind,
                audit_log.c.payload,
                audit_log.c.created_at,
                audit_log.c.prev_hash,
                audit_log.c.hash,
            )
            .where(audit_log.c.tenant_id == tenant_id, audit_log.c.shard == shard, audit_log.c.seq > after)
            .order_by(audit_log.c.seq)
            .limit(_VERIFY_PAGE)
        ).all()
        for row in rows:
            yield StoredEntry(
                seq=int(row.seq),
                kind=row.kind,
                payload_json=row.payload,
                created_at=row.created_at,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        if len(rows) < _VERIFY_PAGE:
            return
        after = int(rows[-1].seq)
