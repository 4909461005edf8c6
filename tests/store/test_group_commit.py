"""Group commit (store/group_commit.py): concurrent decisions share one durable transaction, each
caller returns only after that transaction committed, and one caller's failure fails only itself."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tactful.errors import Conflict
from tactful.store import SqlStore
from tactful.store.database import RawTransaction
from tests.store.conftest import DecisionFactory


def _hold_the_writer(store: SqlStore) -> tuple[threading.Thread, threading.Event]:
    """Start a write that keeps the batch's transaction open until the returned event is set, so
    the writes submitted meanwhile queue up and form the next batch (no timing involved)."""
    entered, release = threading.Event(), threading.Event()

    def blocking(_tx: RawTransaction) -> None:
        entered.set()
        release.wait(timeout=30)

    leader = threading.Thread(target=store._group.run, args=(blocking,))
    leader.start()
    assert entered.wait(timeout=30)
    return leader, release


def _wait_queued(store: SqlStore, n: int) -> None:
    # Each submitter queues itself before blocking: wait for that state, not for a time.
    done = threading.Event()
    while store._group.queued() < n:
        done.wait(0.001)


def test_concurrent_decisions_share_one_commit_and_all_are_durable(
    store: SqlStore, make_decision: DecisionFactory
) -> None:
    tenant = store.create_tenant("acme").tenant_id
    leader, release = _hold_the_writer(store)
    before = store._group.commits
    decisions = [make_decision(tenant, customer_id=f"c{i}") for i in range(6)]
    results: dict[int, Any] = {}

    def submit(i: int) -> None:
        results[i] = store.record_decision(decisions[i], {"i": i})

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    _wait_queued(store, 6)
    release.set()
    for t in [leader, *threads]:
        t.join(timeout=30)
    assert store._group.commits - before == 2  # the held one, then all six together
    assert all(results[i] == (decisions[i], True) for i in range(6))
    for d in decisions:
        assert store.get_decision_by_event(tenant, d.event_id) == d
    [verified] = store.audit.verify(tenant)
    assert verified.ok and verified.checked == 6


def test_a_failing_write_fails_only_its_caller(store: SqlStore, make_decision: DecisionFactory) -> None:
    tenant = store.create_tenant("acme").tenant_id
    taken = make_decision(tenant, decision_id="dec_taken")
    store.record_decision(taken, {})
    leader, release = _hold_the_writer(store)
    good = [make_decision(tenant, customer_id=f"c{i}") for i in range(3)]
    clash = make_decision(tenant, decision_id="dec_taken")  # another event, a used decision id
    outcomes: dict[str, object] = {}

    def submit(name: str, decision: Any) -> None:
        try:
            outcomes[name] = store.record_decision(decision, {})
        except Conflict as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=submit, args=(d.event_id, d)) for d in [*good, clash]]
    for t in threads:
        t.start()
    _wait_queued(store, 4)
    release.set()
    for t in [leader, *threads]:
        t.join(timeout=30)
    assert isinstance(outcomes[clash.event_id], Conflict)
    for d in good:
        assert outcomes[d.event_id] == (d, True)
        assert store.get_decision_by_event(tenant, d.event_id) == d
    [verified] = store.audit.verify(tenant)
    assert verified.ok and verified.checked == 4


def test_a_replay_in_a_batch_returns_the_original(store: SqlStore, make_decision: DecisionFactory) -> None:
    tenant = store.create_tenant("acme").tenant_id
    original = make_decision(tenant, event_id="evt_same")
    leader, release = _hold_the_writer(store)
    again = make_decision(tenant, event_id="evt_same")
    outcomes: list[object] = []
    threads = [
        threading.Thread(target=lambda d=d: outcomes.append(store.record_decision(d, {})))
        for d in (original, again)
    ]
    for t in threads:
        t.start()
    _wait_queued(store, 2)
    release.set()
    for t in [leader, *threads]:
        t.join(timeout=30)
    # Whichever ran first is stored; both callers get that one, only one as created.
    assert sorted(created for _, created in outcomes) == [False, True]  # type: ignore[misc]
    stored = store.get_decision_by_event(tenant, "evt_same")  # type: ignore[arg-type]
    assert all(d == stored for d, _ in outcomes)  # type: ignore[misc]


def test_an_error_in_the_work_reaches_the_caller(store: SqlStore) -> None:
    def failing(_tx: RawTransaction) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        store._group.run(failing)


def test_a_batch_takes_its_locks_in_one_order_keeping_arrival_order_per_lock(store: SqlStore) -> None:
    # Two processes' batches locking the same rows in arrival order deadlock on PostgreSQL:
    # every batch runs its writes sorted by the lock each takes first, ties in arrival order.
    leader, release = _hold_the_writer(store)
    ran: list[str] = []
    submitted = [
        ("b", ("t", "c3")),
        ("a", ("t", "c1")),
        ("c", ("t", "c3")),
        ("d", ("s", "c7")),
        ("e", ("t", "c0")),
    ]
    threads = []
    for n, (name, lock) in enumerate(submitted, start=1):
        work = lambda _conn, name=name: ran.append(name)  # noqa: E731
        threads.append(threading.Thread(target=store._group.run, args=(work, lock)))
        threads[-1].start()
        _wait_queued(store, n)  # queued one by one: arrival order is known
    release.set()
    for t in [leader, *threads]:
        t.join(timeout=30)
    assert ran == ["d", "e", "a", "b", "c"]


def test_rounds_hold_one_write_per_lock_and_take_new_locks_in_the_first_round() -> None:
    from tactful.store.group_commit import _FIRST, _Pending, rounds

    def pending(name: str, lock: tuple[str, str]) -> _Pending[str]:
        return _Pending(lambda _conn, name=name: name, lock)

    batch = [
        pending("x", _FIRST),
        pending("a1", ("t", "c1")),
        pending("a2", ("t", "c1")),
        pending("a3", ("t", "c1")),
        pending("b1", ("t", "c2")),
        pending("c1", ("t", "c5")),
        pending("c2", ("t", "c5")),
    ]  # sorted by lock, as GroupCommit.run hands them over
    names = [[p.work(None) for p in round_] for round_ in rounds(batch)]  # type: ignore[arg-type]
    assert names == [["x"], ["a1", "b1", "c1"], ["a2", "c2"], ["a3"]]


@pytest.mark.postgres
def test_a_batch_on_postgres_reads_its_chain_head_once_not_once_per_write(
    backend: Any, store: SqlStore, make_decision: DecisionFactory
) -> None:
    # Issue 12: a batch's decisions append to one audit chain, its head read once, with the
    # first round's other reads (the k-th decision of each customer goes in round k, where a side
    # write's reads would wait once more): six decisions over four customers and no side writes
    # wait for the server twice — the chain head and the COMMIT — and the chain stays whole.
    if backend.name != "postgres":
        pytest.skip("round trips are a PostgreSQL matter (SQLite runs in-process)")
    from tactful.store.roundtrips import RoundTrips

    tenant = store.create_tenant("acme").tenant_id
    customers = ["c0", "c1", "c2", "c0", "c3", "c1"]
    for c in set(customers):
        store.record_decision(make_decision(tenant, customer_id=c), {})
    decisions = [make_decision(tenant, customer_id=c) for c in customers]
    counter = RoundTrips(store._db, all_threads=True)
    try:
        leader, release = _hold_the_writer(store)  # its connection is out before counting starts
        threads = [threading.Thread(target=store.record_decision, args=(d, {})) for d in decisions]
        with counter.counting():
            for n, t in enumerate(threads, start=1):
                t.start()
                _wait_queued(store, n)  # in this order: c0's two decisions keep theirs
            release.set()
            for t in [leader, *threads]:
                t.join(timeout=30)
        assert counter.count() == 2, counter.sent()
    finally:
        counter.close()
    for d in decisions:
        assert store.get_decision_by_event(tenant, d.event_id) == d
    [verified] = store.audit.verify(tenant)
    assert verified.ok and verified.checked == 10
