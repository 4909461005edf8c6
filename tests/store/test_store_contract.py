"""The store contract, run against every backend (see conftest: sqlite always, postgres when reachable)."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from tactful.domain import (
    Channel,
    Customer,
    CustomerId,
    CustomerProfile,
    Decision,
    DecisionId,
    EventId,
    Outcome,
    OutcomeType,
    PersonalisationIntensity,
    Preferences,
    QuietHours,
    TenantId,
    Tier,
)
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.store import AuditEntry, SqlStore, open_store
from tactful.store.migrate import VERSION_TABLE, alembic_config, current_revision, head_revision
from tactful.store.schema import metadata

from .conftest import EPOCH, Backend, DecisionFactory, SteppingClock

HASH_A = "a" * 64
HASH_B = "b" * 64


def _run(backend: Backend, sql: str, **params: Any) -> None:
    engine = backend.raw_engine()
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def _drop_append_only_guards(backend: Backend) -> None:
    """What someone with the database file (or its owner role) can do before tampering."""
    if backend.name == "postgres":
        _run(backend, "ALTER TABLE audit_log DISABLE TRIGGER USER")
        _run(backend, "ALTER TABLE decisions DISABLE TRIGGER USER")
    else:
        for trigger in ("audit_log_no_update", "audit_log_no_delete", "decisions_no_update"):
            _run(backend, f"DROP TRIGGER {trigger}")


def _count(backend: Backend, table: str) -> int:
    engine = backend.raw_engine()
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def store_document(backend: Backend, decision_id: str) -> str:
    engine = backend.raw_engine()
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    text("SELECT document FROM decisions WHERE decision_id = :d"), {"d": decision_id}
                ).scalar_one()
            )
    finally:
        engine.dispose()


def all_entries(store: SqlStore, tenant_id: TenantId) -> list[AuditEntry]:
    """Every chain's entries (a tenant's log is several chains on PostgreSQL), chain by chain."""
    return [e for shard in store.audit.shards(tenant_id) for e in store.audit.entries(tenant_id, shard=shard)]


# -- migrations ---------------------------------------------------------------------------------


def test_migrations_reach_head_and_match_the_schema_module(store: SqlStore, backend: Backend) -> None:
    engine = backend.raw_engine()
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision() == "0012_learning_early"
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_migrations_downgrade_to_nothing_and_back(store: SqlStore, backend: Backend) -> None:
    store.close()
    engine = backend.raw_engine()
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        with engine.connect() as conn:
            assert current_revision(conn) is None
            assert set(inspect(conn).get_table_names()) == {VERSION_TABLE}
    finally:
        engine.dispose()
    reopened = open_store(backend.url)
    try:
        assert reopened.create_tenant("after").name == "after"
    finally:
        reopened.close()


def test_reopening_a_migrated_database_keeps_its_data(store: SqlStore, backend: Backend) -> None:
    tenant = store.create_tenant("acme")
    again = open_store(backend.url)
    try:
        assert again.get_tenant(tenant.tenant_id) == tenant
    finally:
        again.close()


# -- tenants and keys ---------------------------------------------------------------------------


def test_tenants_are_created_found_and_unique_by_name(store: SqlStore) -> None:
    tenant = store.create_tenant("  Acme Telecom ")
    assert tenant.name == "Acme Telecom"
    assert tenant.created_at.tzinfo is not None
    assert store.get_tenant(tenant.tenant_id) == tenant
    assert store.find_tenant_by_name("Acme Telecom") == tenant
    assert store.get_tenant(TenantId("ten_nope")) is None
    assert store.find_tenant_by_name("Nope") is None
    with pytest.raises(Conflict) as caught:
        store.create_tenant("Acme Telecom")
    assert caught.value.code == "tenant_exists"
    with pytest.raises(InputRejected):
        store.create_tenant("   ")


def test_api_keys_are_added_found_by_hash_and_revoked(store: SqlStore) -> None:
    tenant = store.create_tenant("acme")
    key = store.add_api_key(tenant.tenant_id, "h" * 64, "decide")
    assert (key.tenant_id, key.role, key.revoked) == (tenant.tenant_id, "decide", False)
    assert store.find_api_key("h" * 64) == key
    assert store.find_api_key("x" * 64) is None

    revoked = store.revoke_api_key(tenant.tenant_id, key.key_id)
    assert revoked.revoked
    assert store.find_api_key("h" * 64) == revoked

    with pytest.raises(Conflict) as dup:
        store.add_api_key(tenant.tenant_id, "h" * 64, "admin")
    assert dup.value.code == "api_key_exists"
    with pytest.raises(InputRejected) as role:
        store.add_api_key(tenant.tenant_id, "i" * 64, "root")
    assert role.value.code == "invalid_role"
    with pytest.raises(NotFound) as missing:
        store.add_api_key(TenantId("ten_nope"), "j" * 64, "admin")
    assert missing.value.code == "tenant_not_found"
    other = store.create_tenant("other")
    with pytest.raises(NotFound):
        store.revoke_api_key(other.tenant_id, key.key_id)


# -- customers ----------------------------------------------------------------------------------


def test_customers_round_trip_and_version_up_on_every_put(store: SqlStore) -> None:
    tenant = store.create_tenant("acme")
    cid = CustomerId("cus_42")
    assert store.get_customer(tenant.tenant_id, cid) is None

    customer = Customer(
        tenant_id=tenant.tenant_id,
        customer_id=cid,
        profile=CustomerProfile(tier=Tier.VIP, tenure_days=900, language="de", time_zone="Europe/Berlin"),
        preferences=Preferences(
            opted_out=frozenset({Channel.SMS, Channel.VOICE}),
            quiet_hours=QuietHours(),
            personalisation=PersonalisationIntensity.LOW,
            preferred_channel=Channel.EMAIL,
        ),
        version=99,  # ignored: the store owns versions
    )
    first = store.put_customer(customer)
    assert first.version == 1
    assert store.get_customer(tenant.tenant_id, cid) == first

    changed = customer.model_copy(update={"preferences": Preferences(do_not_contact=True)})
    second = store.put_customer(changed)
    assert second.version == 2
    stored = store.get_customer(tenant.tenant_id, cid)
    assert stored == second
    assert stored is not None and stored.preferences.do_not_contact
    assert store.put_customer(changed).version == 3

    other = store.create_tenant("other")
    assert store.get_customer(other.tenant_id, cid) is None
    with pytest.raises(NotFound) as missing:
        store.put_customer(customer.model_copy(update={"tenant_id": TenantId("ten_nope")}))
    assert missing.value.code == "tenant_not_found"


# -- policies -----------------------------------------------------------------------------------


def test_policies_publish_dedupe_list_and_activate(store: SqlStore) -> None:
    tenant = store.create_tenant("acme")
    tid = tenant.tenant_id
    assert store.get_policy(tid) is None

    v1 = store.publish_policy(tid, "rules: []\n", HASH_A, by="alice")
    v2 = store.publish_policy(tid, "rules: [x]\n", HASH_B, by="bob")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.label == "v1+aaaaaaaa"
    assert not v1.active and not v2.active
    assert store.get_policy(tid) is None  # published is not active

    again = store.publish_policy(tid, "rules: []\n", HASH_A, by="carol")
    assert again == v1  # same content: the existing version, no new one
    assert [p.version for p in store.list_policies(tid)] == [1, 2]

    active = store.activate_policy(tid, 2, by="alice")
    assert active.active and active.version == 2
    assert store.get_policy(tid) == active
    assert store.get_policy(tid, 1) == v1

    store.activate_policy(tid, 1, by="bob")
    assert [(p.version, p.active) for p in store.list_policies(tid)] == [(1, True), (2, False)]
    assert store.activate_policy(tid, 1, by="bob").active  # no-op when already active

    with pytest.raises(NotFound) as missing:
        store.activate_policy(tid, 7, by="alice")
    assert missing.value.code == "policy_version_not_found"
    with pytest.raises(NotFound) as no_tenant:
        store.publish_policy(TenantId("ten_nope"), "x", HASH_A, by="alice")
    assert no_tenant.value.code == "tenant_not_found"
    with pytest.raises(InputRejected):
        store.publish_policy(tid, "x", "not-a-hash", by="alice")

    entries = store.audit.entries(tid)
    assert [(e.kind, e.payload["version"], e.payload["by"]) for e in entries] == [
        ("policy.publish", 1, "alice"),
        ("policy.publish", 2, "bob"),
        ("policy.activate", 2, "alice"),
        ("policy.activate", 1, "bob"),
    ]
    other = store.create_tenant("other")
    assert store.list_policies(other.tenant_id) == []
    # Version numbers are per tenant.
    assert store.publish_policy(other.tenant_id, "rules: []\n", HASH_A, by="dan").version == 1


# -- decisions ----------------------------------------------------------------------------------


def test_record_decision_stores_audits_and_queues_in_one_go(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme")
    decision = make_decision(
        tenant.tenant_id, decided_at=datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    )
    snapshot = {"signals": {"frustration": 0.25}, "text_sha256": "ab" * 32, "features": {"n": 1}}

    stored, created = store.record_decision(decision, snapshot)
    assert created and stored == decision
    assert store.get_decision(tenant.tenant_id, decision.decision_id) == decision
    assert store.get_decision_by_event(tenant.tenant_id, decision.event_id) == decision
    fetched = store.get_decision(tenant.tenant_id, decision.decision_id)
    assert fetched is not None and fetched.decided_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    [entry] = all_entries(store, tenant.tenant_id)
    assert (entry.seq, entry.kind, entry.prev_hash) == (1, "decision", "0" * 64)
    document = store_document(backend, decision.decision_id)
    assert entry.payload == {
        "decision": decision.model_dump(mode="json"),
        "document_sha256": hashlib.sha256(document.encode()).hexdigest(),
        "snapshot": snapshot,
    }
    assert _count(backend, "outbox") == 1


def test_record_decision_is_idempotent_by_event(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme")
    original = make_decision(tenant.tenant_id, event_id="evt_same")
    store.record_decision(original, {})
    replay = make_decision(tenant.tenant_id, event_id="evt_same")  # a new decision id for the same event
    assert replay.decision_id != original.decision_id

    result, created = store.record_decision(replay, {"other": True})
    assert (result, created) == (original, False)
    assert store.get_decision(tenant.tenant_id, replay.decision_id) is None
    assert len(all_entries(store, tenant.tenant_id)) == 1
    assert _count(backend, "outbox") == 1
    assert _count(backend, "decisions") == 1


def test_concurrent_double_insert_stores_exactly_one(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme")
    threads_n = 6
    attempts = [make_decision(tenant.tenant_id, event_id="evt_race") for _ in range(threads_n)]
    barrier = threading.Barrier(threads_n)
    results: list[tuple[Decision, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(decision: Decision) -> None:
        try:
            barrier.wait(timeout=10)
            outcome = store.record_decision(decision, {})
            with lock:
                results.append(outcome)
        except BaseException as exc:  # collected and asserted on below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(d,)) for d in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sum(created for _, created in results) == 1
    winner = next(d for d, created in results if created)
    assert all(d == winner for d, _ in results)
    assert _count(backend, "decisions") == 1
    assert _count(backend, "outbox") == 1
    assert [e.seq for e in all_entries(store, tenant.tenant_id)] == [1]


def test_concurrent_distinct_decisions_chain_without_forks(
    store: SqlStore, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme")
    threads_n, per_thread = 4, 5
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(per_thread):
                store.record_decision(make_decision(tenant.tenant_id), {})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert [e.seq for e in all_entries(store, tenant.tenant_id)] == list(range(1, threads_n * per_thread + 1))
    [result] = store.audit.verify(tenant.tenant_id)
    assert result.ok and result.checked == threads_n * per_thread


def test_record_decision_for_unknown_tenant_is_rejected(
    store: SqlStore, make_decision: DecisionFactory
) -> None:
    with pytest.raises(NotFound) as caught:
        store.record_decision(make_decision("ten_nope"), {})
    assert caught.value.code == "tenant_not_found"


def test_snapshot_must_be_plain_json(store: SqlStore, make_decision: DecisionFactory) -> None:
    tenant = store.create_tenant("acme")
    with pytest.raises(InputRejected):
        store.record_decision(make_decision(tenant.tenant_id), {"bad": float("nan")})
    with pytest.raises(InputRejected):
        store.record_decision(make_decision(tenant.tenant_id), {"bad": object()})


def test_count_proactive_since(store: SqlStore, make_decision: DecisionFactory) -> None:
    tenant = store.create_tenant("acme")
    tid = tenant.tenant_id
    plan = [
        ("cus_1", True, EPOCH - timedelta(hours=30)),  # too old
        ("cus_1", True, EPOCH - timedelta(hours=23)),
        ("cus_1", True, EPOCH - timedelta(minutes=1)),
        ("cus_1", False, EPOCH - timedelta(hours=1)),  # reactive: not counted
        ("cus_2", True, EPOCH - timedelta(hours=2)),  # another customer
    ]
    for customer_id, proactive, at in plan:
        store.record_decision(
            make_decision(tid, customer_id=customer_id, proactive=proactive, decided_at=at), {}
        )

    since = EPOCH - timedelta(hours=24)
    assert store.count_proactive_since(tid, CustomerId("cus_1"), since) == 2
    assert store.count_proactive_since(tid, CustomerId("cus_2"), since) == 1
    assert store.count_proactive_since(tid, CustomerId("cus_3"), since) == 0
    # The boundary is inclusive and compares instants, whatever the offset they are written in.
    boundary = (EPOCH - timedelta(hours=23)).astimezone(timezone(timedelta(hours=-5)))
    assert store.count_proactive_since(tid, CustomerId("cus_1"), boundary) == 2
    other = store.create_tenant("other")
    assert store.count_proactive_since(other.tenant_id, CustomerId("cus_1"), since) == 0
    with pytest.raises(InputRejected):
        store.count_proactive_since(tid, CustomerId("cus_1"), datetime(2024, 5, 1))


def test_tenants_never_read_each_others_decisions(store: SqlStore, make_decision: DecisionFactory) -> None:
    a = store.create_tenant("a")
    b = store.create_tenant("b")
    decision = make_decision(a.tenant_id, event_id="evt_shared")
    store.record_decision(decision, {})
    assert store.get_decision(b.tenant_id, decision.decision_id) is None
    assert store.get_decision_by_event(b.tenant_id, EventId("evt_shared")) is None
    # The same event id is independent per tenant.
    theirs = make_decision(b.tenant_id, event_id="evt_shared", decision_id=decision.decision_id)
    assert store.record_decision(theirs, {}) == (theirs, True)
    assert store.get_decision(a.tenant_id, decision.decision_id) == decision
    assert store.get_decision(b.tenant_id, decision.decision_id) == theirs


# -- outcomes -----------------------------------------------------------------------------------


def _outcome(tenant_id: str, decision_id: str, event_id: str = "out_1") -> Outcome:
    return Outcome(
        event_id=EventId(event_id),
        tenant_id=TenantId(tenant_id),
        decision_id=DecisionId(decision_id),
        type=OutcomeType.CSAT,
        value=4.0,
        occurred_at=EPOCH + timedelta(minutes=5),
    )


def test_outcomes_are_idempotent_and_need_the_tenants_decision(
    store: SqlStore, make_decision: DecisionFactory
) -> None:
    a = store.create_tenant("a")
    b = store.create_tenant("b")
    decision = make_decision(a.tenant_id)
    store.record_decision(decision, {})

    outcome = _outcome(a.tenant_id, decision.decision_id)
    assert store.record_outcome(outcome) == (outcome, True)
    retry = outcome.model_copy(update={"value": 1.0})
    assert store.record_outcome(retry) == (outcome, False)
    assert store.get_outcome(a.tenant_id, outcome.event_id) == outcome

    with pytest.raises(NotFound) as unknown:
        store.record_outcome(_outcome(a.tenant_id, "dec_missing", "out_2"))
    assert unknown.value.code == "decision_not_found"
    with pytest.raises(NotFound) as foreign:
        store.record_outcome(_outcome(b.tenant_id, decision.decision_id, "out_3"))
    assert foreign.value.code == "decision_not_found"


# -- audit --------------------------------------------------------------------------------------


def test_audit_append_entries_and_verify(store: SqlStore, make_decision: DecisionFactory) -> None:
    a = store.create_tenant("a")
    b = store.create_tenant("b")
    payload = {"ünïcode": "naïve café ☕", "floats": [0.1, 1e-7, 2.5e300, -0.0], "big": 2**53 + 1, "n": None}
    first = store.audit.append(a.tenant_id, "note", payload)
    store.audit.append(a.tenant_id, "note", {"second": True})
    store.audit.append(b.tenant_id, "note", {"x": 1})

    assert first.seq == 1 and first.prev_hash == "0" * 64
    entries = store.audit.entries(a.tenant_id)
    assert [e.seq for e in entries] == [1, 2]
    assert entries[0] == first  # payload round-trips exactly, floats and all
    assert entries[1].prev_hash == first.hash
    assert [e.seq for e in store.audit.entries(a.tenant_id, after_seq=1)] == [2]
    assert [e.seq for e in store.audit.entries(a.tenant_id, limit=1)] == [1]

    results = {r.tenant_id: r for r in store.audit.verify()}
    assert results[a.tenant_id].ok and results[a.tenant_id].checked == 2
    assert results[b.tenant_id].ok and results[b.tenant_id].checked == 1
    empty = store.create_tenant("empty")
    assert store.audit.verify(empty.tenant_id)[0].ok
    with pytest.raises(NotFound):
        store.audit.append(TenantId("ten_nope"), "note", {})


def _tampered_chain(store: SqlStore, make_decision: DecisionFactory, n: int = 5) -> tuple[str, str]:
    victim = store.create_tenant("victim")
    bystander = store.create_tenant("bystander")
    for _ in range(n):
        store.record_decision(make_decision(victim.tenant_id), {"k": "v"})
    store.record_decision(make_decision(bystander.tenant_id), {})
    assert all(r.ok for r in store.audit.verify())
    return victim.tenant_id, bystander.tenant_id


TAMPERING: list[tuple[str, list[str], int, str]] = [
    (
        "altered payload",
        [
            'UPDATE audit_log SET payload = replace(payload, \'"k":"v"\', \'"k":"w"\')'
            " WHERE tenant_id = :t AND seq = 3"
        ],
        3,
        "hash mismatch",
    ),
    (
        "altered kind",
        ["UPDATE audit_log SET kind = 'policy.publish' WHERE tenant_id = :t AND seq = 2"],
        2,
        "hash",
    ),
    ("deleted middle entry", ["DELETE FROM audit_log WHERE tenant_id = :t AND seq = 3"], 3, "missing"),
    (
        "swapped entries",
        [
            "UPDATE audit_log SET seq = -1 WHERE tenant_id = :t AND seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE tenant_id = :t AND seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE tenant_id = :t AND seq = -1",
        ],
        2,
        "hash mismatch",
    ),
    ("deleted tail", ["DELETE FROM audit_log WHERE tenant_id = :t AND seq >= 4"], 4, "tail deleted"),
    (
        "entry deleted and the rest renumbered",
        [
            "DELETE FROM audit_log WHERE tenant_id = :t AND seq = 2",
            "UPDATE audit_log SET seq = seq - 1 WHERE tenant_id = :t AND seq > 2",
            "UPDATE audit_heads SET seq = seq - 1 WHERE tenant_id = :t AND seq > 0",
        ],
        2,
        "hash mismatch",
    ),
]


@pytest.mark.parametrize(
    ("case", "statements", "first_bad", "reason"), TAMPERING, ids=[t[0] for t in TAMPERING]
)
def test_verify_names_the_first_tampered_entry(
    store: SqlStore,
    backend: Backend,
    make_decision: DecisionFactory,
    case: str,
    statements: list[str],
    first_bad: int,
    reason: str,
) -> None:
    victim, bystander = _tampered_chain(store, make_decision)
    _drop_append_only_guards(backend)
    for statement in statements:
        _run(backend, statement, t=victim)

    results = {r.tenant_id: r for r in store.audit.verify()}
    assert not results[TenantId(victim)].ok, case
    assert results[TenantId(victim)].first_bad_seq == first_bad
    assert reason in results[TenantId(victim)].reason
    assert results[TenantId(victim)].checked == first_bad - 1
    assert results[TenantId(bystander)].ok
    [single] = store.audit.verify(TenantId(victim))
    assert single == results[TenantId(victim)]


def test_appends_continue_a_verified_chain_after_reopen(
    store: SqlStore, backend: Backend, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme")
    store.record_decision(make_decision(tenant.tenant_id), {})
    store.close()
    reopened = open_store(backend.url, clock=clock)
    try:
        reopened.record_decision(make_decision(tenant.tenant_id), {})
        assert [e.seq for e in all_entries(reopened, tenant.tenant_id)] == [1, 2]
        assert reopened.audit.verify(tenant.tenant_id)[0].ok
    finally:
        reopened.close()


# -- outbox -------------------------------------------------------------------------------------


def test_outbox_claim_lease_and_publish(
    store: SqlStore, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme")
    decisions = [make_decision(tenant.tenant_id, conversation_id=f"conv_{i}") for i in range(3)]
    for decision in decisions:
        store.record_decision(decision, {})
    assert store.pending_outbox() == 3

    first = store.claim_outbox(2)
    assert len(first) == 2
    ids = [outbox_id for outbox_id, _ in first]
    assert ids == sorted(ids)
    envelope = json.loads(first[0][1])  # the envelope's JSON as the decision stored it
    assert envelope["type"] == "decision.made"
    assert envelope["tenant_id"] == tenant.tenant_id
    assert envelope["key"] == "conv_0"
    assert envelope["event_id"] == f"{decisions[0].decision_id}.made"
    assert Decision.model_validate(envelope["payload"]) == decisions[0]

    second = store.claim_outbox(10)
    assert [json.loads(event)["payload"]["decision_id"] for _, event in second] == [decisions[2].decision_id]
    assert store.claim_outbox(10) == []  # everything is leased

    store.mark_published(ids)
    store.mark_published([])
    assert store.pending_outbox() == 1
    clock.advance(timedelta(minutes=5))  # the unpublished lease expires: it is handed out again
    assert [i for i, _ in store.claim_outbox(10)] == [second[0][0]]
    with pytest.raises(InputRejected):
        store.claim_outbox(0)


def test_outbox_claim_marks_the_previous_batch_in_the_same_call(
    store: SqlStore, clock: SteppingClock, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme")
    for i in range(3):
        store.record_decision(make_decision(tenant.tenant_id, conversation_id=f"conv_{i}"), {})
    first = [i for i, _ in store.claim_outbox(2)]
    second = [i for i, _ in store.claim_outbox(2, published=first)]
    assert len(second) == 1 and store.pending_outbox() == 1  # the first batch is published
    assert store.claim_outbox(2, published=second) == []
    assert store.pending_outbox() == 0
    clock.advance(timedelta(minutes=5))  # published events are never handed out again
    assert store.claim_outbox(10) == []


def test_stored_json_is_text_exactly_as_written(
    store: SqlStore, backend: Backend, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme")
    decision = make_decision(tenant.tenant_id)
    store.record_decision(decision, {"z": 1, "a": [1.5, "é"]})
    engine = backend.raw_engine()
    try:
        with engine.connect() as conn:
            payload = conn.execute(text("SELECT payload FROM audit_log")).scalar_one()
            document = conn.execute(text("SELECT document FROM decisions")).scalar_one()
    finally:
        engine.dispose()

    def canonical(value: object) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert document == canonical(decision.model_dump(mode="json"))
    assert payload == canonical(
        {
            "decision": decision.model_dump(mode="json"),
            "document_sha256": hashlib.sha256(document.encode()).hexdigest(),
            "snapshot": {"z": 1, "a": [1.5, "é"]},
        }
    )
