"""Issue 11 item 2: the decisions are inside the tamper evidence, chain heads are signed, anchors catch
what a key holder could rewrite, and the database itself refuses UPDATE/DELETE of the log.

Each tampering here is what the issue reproduced against the store before: every one passed
``verify`` then."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tactful.config import Settings
from tactful.domain import Decision, TenantId
from tactful.errors import Conflict
from tactful.store import SqlStore, open_store
from tactful.store.anchor import anchor_text, read_anchor
from tactful.store.chain import entry_hash

from .conftest import Backend, DecisionFactory, SteppingClock
from .test_store_contract import _drop_append_only_guards, _run, all_entries


def _rows(backend: Backend, sql: str, **params: Any) -> list[Any]:
    engine = backend.raw_engine()
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


def _decided(store: SqlStore, make_decision: DecisionFactory, n: int = 4) -> TenantId:
    tenant = store.create_tenant("victim")
    for _ in range(n):
        store.record_decision(make_decision(tenant.tenant_id), {"k": "v"})
    assert all(r.ok for r in store.audit.verify())
    return tenant.tenant_id


def test_an_altered_decision_row_fails_verification(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    tenant_id = _decided(store, make_decision)
    [ok] = store.audit.verify(tenant_id)
    assert ok.decisions_checked == 4
    victim = _rows(backend, "SELECT decision_id FROM decisions ORDER BY decision_id")[1][0]
    _drop_append_only_guards(backend)
    _run(
        backend,
        'UPDATE decisions SET document = replace(document, \'"type":"reply"\', \'"type":"no_contact"\')'
        " WHERE decision_id = :d",
        d=victim,
    )
    assert _rows(backend, "SELECT count(*) FROM decisions WHERE document LIKE '%no_contact%'")[0][0] == 1
    [result] = store.audit.verify(tenant_id)
    assert not result.ok
    assert victim in result.reason and "altered" in result.reason


def test_a_decision_inserted_outside_the_log_fails_verification(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    tenant_id = _decided(store, make_decision, n=1)
    _run(
        backend,
        "INSERT INTO decisions (tenant_id, decision_id, event_id, customer_id, conversation_id, decided_at,"
        " proactive, document) SELECT tenant_id, 'dec_forged', 'evt_forged', customer_id, conversation_id,"
        " decided_at, proactive, document FROM decisions",
    )
    [result] = store.audit.verify(tenant_id)
    assert not result.ok and "dec_forged" in result.reason and "no audit entry" in result.reason


def test_a_cut_tail_with_the_head_moved_back_fails_on_the_signature(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    tenant_id = _decided(store, make_decision)
    _drop_append_only_guards(backend)
    # What the issue did: delete the last entries and set the head to the new last entry, no hashing.
    _run(backend, "DELETE FROM audit_log WHERE tenant_id = :t AND seq > 2", t=tenant_id)
    _run(
        backend,
        "UPDATE audit_heads SET seq = 2, hash = (SELECT hash FROM audit_log a WHERE a.tenant_id = :t"
        " AND a.shard = audit_heads.shard AND a.seq = 2) WHERE tenant_id = :t AND seq > 0",
        t=tenant_id,
    )
    _run(
        backend,
        "DELETE FROM decisions WHERE tenant_id = :t AND decision_id IN "
        "(SELECT decision_id FROM decisions ORDER BY decision_id DESC LIMIT 2)",
        t=tenant_id,
    )
    [result] = store.audit.verify(tenant_id)
    assert not result.ok and "signature" in result.reason


def _rewrite_consistently(store: SqlStore, backend: Backend, tenant_id: TenantId, keep: int) -> None:
    """What someone holding the audit key and the database can do: cut each chain to ``keep``
    entries and re-sign its head. Nothing inside the database can tell."""
    _drop_append_only_guards(backend)
    chain = store.audit.chain
    for shard, seq, digest in _rows(
        backend,
        "SELECT shard, seq, hash FROM audit_log WHERE tenant_id = :t AND seq = :k",
        t=tenant_id,
        k=keep,
    ):
        _run(
            backend,
            "DELETE FROM audit_log WHERE tenant_id = :t AND shard = :s AND seq > :k",
            t=tenant_id,
            s=shard,
            k=keep,
        )
        _run(
            backend,
            "UPDATE audit_heads SET seq = :k, hash = :h, signature = :g WHERE tenant_id = :t AND shard = :s",
            t=tenant_id,
            s=shard,
            k=seq,
            h=digest,
            g=chain.sign_head(tenant_id, shard, seq, digest),
        )
    _run(backend, "DELETE FROM decisions WHERE tenant_id = :t", t=tenant_id)


def test_an_anchor_catches_a_consistent_truncation_by_a_key_holder(
    store: SqlStore, backend: Backend, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    tenant_id = _decided(store, make_decision)
    anchor = read_anchor(store.audit.chain, anchor_text(store.audit.chain, store.audit.heads(), clock()))
    assert store.audit.verify(tenant_id, anchor=anchor.pins)[0].ok
    store.record_decision(make_decision(tenant_id), {})  # chains grow after the anchor: still fine
    assert store.audit.verify(tenant_id, anchor=anchor.pins)[0].ok

    _rewrite_consistently(store, backend, tenant_id, keep=2)
    assert store.audit.verify(tenant_id)[0].ok  # without the anchor, the rewrite is invisible
    [result] = store.audit.verify(tenant_id, anchor=anchor.pins)
    assert not result.ok and "truncated" in result.reason


def test_an_anchor_catches_a_consistently_rewritten_chain(
    store: SqlStore, backend: Backend, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    tenant_id = _decided(store, make_decision)
    anchor = read_anchor(store.audit.chain, anchor_text(store.audit.chain, store.audit.heads(), clock()))
    _drop_append_only_guards(backend)
    chain = store.audit.chain
    # Re-hash the whole chain after changing entry 2's payload, and re-sign the head.
    rows = _rows(
        backend,
        "SELECT shard, seq, kind, payload, created_at, prev_hash, hash FROM audit_log"
        " WHERE tenant_id = :t ORDER BY shard, seq",
        t=tenant_id,
    )
    entries = all_entries(store, tenant_id)
    prev = "0" * 64
    for row, entry in zip(rows, entries, strict=True):
        payload = row.payload.replace('"k":"v"', '"k":"w"') if row.seq == 2 else row.payload
        prev_hash = prev if row.seq > 1 else "0" * 64
        digest = entry_hash(
            tenant_id=tenant_id,
            seq=row.seq,
            kind=row.kind,
            payload_json=payload,
            created_at=entry.created_at,
            prev_hash=prev_hash,
            shard=row.shard,
        )
        _run(
            backend,
            "UPDATE audit_log SET payload = :p, prev_hash = :v, hash = :h"
            " WHERE tenant_id = :t AND shard = :s AND seq = :q",
            p=payload,
            v=prev_hash,
            h=digest,
            t=tenant_id,
            s=row.shard,
            q=row.seq,
        )
        prev = digest
        shard, last = row.shard, row.seq
    _run(
        backend,
        "UPDATE audit_heads SET hash = :h, signature = :g WHERE tenant_id = :t AND shard = :s",
        h=prev,
        g=chain.sign_head(tenant_id, shard, last, prev),
        t=tenant_id,
        s=shard,
    )
    assert store.audit.verify(tenant_id)[0].ok  # consistent: invisible from inside
    [result] = store.audit.verify(tenant_id, anchor=anchor.pins)
    assert not result.ok and "rewritten" in result.reason


def test_a_forged_anchor_or_another_key_is_refused(store: SqlStore, clock: SteppingClock) -> None:
    store.create_tenant("acme")
    body = anchor_text(store.audit.chain, store.audit.heads(), clock())
    with pytest.raises(Conflict) as forged:
        read_anchor(store.audit.chain, body.replace('"seq": 0', '"seq": 9'))
    assert forged.value.code == "anchor_forged"
    other = Settings(audit_key="b" * 43 + "=")
    from tactful.store.signing import chain_config

    with pytest.raises(Conflict) as mismatch:
        read_anchor(chain_config(other), body)
    assert mismatch.value.code == "anchor_key_mismatch"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET kind = 'x'",
        "DELETE FROM audit_log",
        "UPDATE decisions SET document = document",
    ],
)
def test_the_database_refuses_to_rewrite_the_log(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory, statement: str
) -> None:
    _decided(store, make_decision, n=2)
    with pytest.raises(DBAPIError) as refused:
        _run(backend, statement)
    assert "append-only" in str(refused.value) or "immutable" in str(refused.value)
    assert all(r.ok for r in store.audit.verify())


def test_postgres_revokes_update_and_delete_on_the_log(store: SqlStore, backend: Backend) -> None:
    if backend.name != "postgres":
        pytest.skip("privileges are a PostgreSQL feature; SQLite is covered by its triggers")
    with pytest.raises(DBAPIError):
        _run(backend, "TRUNCATE audit_log")
    granted = {
        row[0]
        for row in _rows(
            backend,
            "SELECT privilege_type FROM information_schema.role_table_grants"
            " WHERE table_name = 'audit_log' AND table_schema = current_schema()",
        )
    }
    assert "INSERT" in granted and "SELECT" in granted
    assert not granted & {"UPDATE", "DELETE", "TRUNCATE"}


def _chains(store: SqlStore, tenant_id: TenantId) -> dict[int, list[str]]:
    """Each chain's decision ids in seq order (chains checked contiguous from 1)."""
    out = {}
    for shard in store.audit.shards(tenant_id):
        entries = store.audit.entries(tenant_id, shard=shard)
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        if entries:
            out[shard] = [e.payload["decision"]["decision_id"] for e in entries]
    return out


def test_a_batch_takes_a_chain_no_other_writer_holds_and_verify_joins_the_chains(
    backend: Backend, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    # Issue 12: a tenant's decisions must not serialise across processes. A batch's decisions go to
    # one chain that no other transaction holds (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite, one
    # writer at a time: each transaction the next chain in turn); `audit verify` joins the chains.
    settings = Settings(database_url=backend.url, audit_shards=4, audit_key="a" * 43 + "=")
    store = open_store(backend.url, clock=clock, settings=settings)
    other = backend.raw_engine()
    try:
        tenant = store.create_tenant("acme").tenant_id
        made = [make_decision(tenant, customer_id=f"cus_{i % 3}") for i in range(7)]
        for d in made[:2]:
            store.record_decision(d, {})
        if backend.name == "postgres":
            # Another process's batch holds chain 0: these decisions neither wait for it nor fork it.
            with other.connect() as conn, conn.begin():
                conn.execute(
                    text("SELECT seq FROM audit_heads WHERE tenant_id = :t AND shard = 0 FOR UPDATE"),
                    {"t": tenant},
                )
                for d in made[2:5]:
                    store.record_decision(d, {})
            for d in made[5:]:  # chain 0 free again: the lowest free chain is taken
                store.record_decision(d, {})
            expected = {0: made[:2] + made[5:], 1: made[2:5]}
        else:
            for d in made[2:]:
                store.record_decision(d, {})
            expected = {i: made[i::4] for i in range(4)}
        assert _chains(store, tenant) == {k: [d.decision_id for d in v] for k, v in expected.items()}
        [result] = store.audit.verify(tenant)
        assert result.ok and result.checked == 7 and result.decisions_checked == 7
        # Tampering with the second chain is caught, and reported on that chain.
        _drop_append_only_guards(backend)
        _run(
            backend,
            "UPDATE audit_log SET payload = replace(payload, '\"cus_', '\"cux_')"
            " WHERE tenant_id = :t AND shard = 1 AND seq = 2",
            t=tenant,
        )
        [altered] = store.audit.verify(tenant)
        assert not altered.ok and altered.shard == 1 and altered.first_bad_seq == 2
    finally:
        other.dispose()
        store.close()


def test_chains_written_by_two_stores_at_once_verify_together(
    backend: Backend, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    # Two stores on one database stand for two API processes, each with its own group commit.
    if backend.name != "postgres":
        pytest.skip("two writers at once: PostgreSQL (SQLite takes one write transaction at a time)")
    settings = Settings(database_url=backend.url, audit_shards=4, audit_key="a" * 43 + "=")
    stores = [open_store(backend.url, clock=clock, settings=settings) for _ in range(2)]
    try:
        tenant = stores[0].create_tenant("acme").tenant_id
        errors: list[BaseException] = []
        barrier = threading.Barrier(6)

        def worker(store: SqlStore, part: int) -> None:
            try:
                barrier.wait(timeout=10)
                for i in range(4):
                    customer = f"cus_{(part + i) % 5}"
                    store.record_decision(make_decision(tenant, customer_id=customer), {})
            except BaseException as exc:  # collected, asserted below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(stores[i % 2], i)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        chains = _chains(stores[1], tenant)
        assert sum(len(ids) for ids in chains.values()) == 24
        [result] = stores[1].audit.verify(tenant)
        assert result.ok and result.checked == 24 and result.decisions_checked == 24
        _drop_append_only_guards(backend)
        _run(
            backend,
            "UPDATE audit_heads SET shard = shard + 100 WHERE tenant_id = :t AND seq > 0",
            t=tenant,
        )
        [moved] = stores[1].audit.verify(tenant)
        assert not moved.ok
    finally:
        for store in stores:
            store.close()


def test_the_document_is_serialised_once_for_row_audit_hash_and_outbox_event(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    """The stored row, the audit entry's ``document_sha256`` and the outbox event's payload all come
    from the one canonical serialisation (orjson, sorted keys), and verification accepts it."""
    tenant = store.create_tenant("once")
    decision = make_decision(tenant.tenant_id)
    store.record_decision(decision, {"k": "v"})
    [(document,)] = _rows(
        backend, "SELECT document FROM decisions WHERE decision_id = :d", d=decision.decision_id
    )
    assert list(json.loads(document)) == sorted(json.loads(document))  # canonical: sorted keys
    assert Decision.model_validate_json(document) == decision
    [(payload,)] = _rows(
        backend,
        "SELECT payload FROM audit_log WHERE kind = 'decision' AND tenant_id = :t",
        t=tenant.tenant_id,
    )
    entry = json.loads(payload)
    assert entry["document_sha256"] == hashlib.sha256(document.encode("utf-8")).hexdigest()
    assert entry["decision"] == json.loads(document)
    [(_, stored)] = store.claim_outbox(10)
    event = json.loads(stored)
    assert event["type"] == "decision.made"
    assert event["payload"] == json.loads(document)
    assert all(r.ok for r in store.audit.verify())
