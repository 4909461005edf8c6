"""Group commit: concurrent decisions of one process share one durable transaction.

A durable commit costs an fsync (SQLite) or a WAL flush (PostgreSQL) whatever it holds, so one
commit for the sixteen decisions that arrived while the previous commit was syncing costs almost
what one commit for one decision costs. Durability is unchanged: every caller returns only after
the commit that holds its rows has returned (``synchronous=FULL`` on SQLite: after the fsync).

The writer is leader/follower, not a thread of its own: a caller finding no commit under way
becomes the leader, takes every queued write (its own first in line or later), runs them in one
transaction and wakes the others; a caller whose write landed in someone else's batch just waits.
A single thread therefore pays no hand-off, and concurrent threads batch without a timer.

Each queued write is a callable that only runs statements, prepared ones on the transaction's
DBAPI cursor (``Database.raw_write``): callers do their folding and serialisation before they
queue, so the transaction (and SQLite's write lock) is held for the statements alone. If one
write of a batch raises, the batch is rolled back and every write in it is run again in a
transaction of its own, so one caller's error (a replayed event id) never fails or delays the
others' rows beyond that retry.

On PostgreSQL's pipeline a write may come in two steps (``Phased``): ``send`` queues its reads and
row locks, ``finish`` reads their answers and queues the rest. A batch then runs in rounds — the
first write of each lock key, then the second, … — sending a whole round before finishing any of
it, so the round's locks and reads share one round trip: a batch of sixteen decisions over eight
customers waits for the server two or three times before its COMMIT instead of sixteen, and
holds its locks that much shorter (two API processes queue on those heads, issue 12). A round
never holds two writes under one lock key: the later one must read what the earlier one wrote.

A write may name the row locks it takes first (``lock_order``, e.g. its customer's feature state
rows): a batch runs its writes sorted by it, so every process takes a batch's locks in one global
order. Without that, two processes' batches locking the same rows in arrival order deadlock
(PostgreSQL breaks it after ``deadlock_timeout``, 1 s, and both batches rerun write by write): two
API processes on one store decided fewer requests per second than one (issue 12). The sort is
stable, so writes under one lock (one customer's) keep their arrival order. (A decision's audit
chain head is no such lock any more: a batch takes a chain no other transaction holds without
waiting, ``sql_audit.send_batch_chain``.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tactful.store.database import Database, RawTransaction

T = TypeVar("T")

#: Writes per transaction at most: bounds the rollback-and-retry work and the lock hold time.
MAX_BATCH = 64


#: Where a write's first row lock sorts among a batch's (``GroupCommit.run``'s ``lock_order``).
LockOrder = tuple[str, str]
_FIRST: LockOrder = ("", "")


class Phased(Generic[T]):
    """A write in two steps (see the module doc); called as one, it runs both at once."""

    __slots__ = ("finish", "send")

    def __init__(
        self, send: Callable[[RawTransaction], object], finish: Callable[[RawTransaction], T]
    ) -> None:
        self.send = send
        self.finish = finish

    def __call__(self, tx: RawTransaction) -> T:
        self.send(tx)
        return self.finish(tx)


class _Pending(Generic[T]):
    __slots__ = ("error", "finished", "lock_order", "result", "work")

    def __init__(self, work: Callable[[RawTransaction], T], lock_order: LockOrder) -> None:
        self.work = work
        self.lock_order = lock_order
        self.result: T | None = None
        self.error: BaseException | None = None
        self.finished = False


class GroupCommit:
    """Runs writes submitted from any thread in shared durable transactions (see the module doc)."""

    def __init__(self, database: Database, *, max_batch: int = MAX_BATCH) -> None:
        self._db = database
        self._max_batch = max_batch
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Pending[Any]] = []
        self._leading = False
        #: Transactions committed and writes they held (the benchmark reports the batch size).
        self.commits = 0
        self.writes = 0

    def queued(self) -> int:
        """Writes waiting for the next transaction (tests use it to know a batch has formed)."""
        with self._cond:
            return len(self._queue)

    def run(self, work: Callable[[RawTransaction], T], lock_order: LockOrder = _FIRST) -> T:
        """Run ``work`` in a durable write transaction, possibly shared with other threads' writes;
        returns its result once that transaction has committed, or raises what it raised.

        ``lock_order``: the key of the first row lock ``work`` takes; a batch runs in its order."""
        mine: _Pending[T] = _Pending(work, lock_order)
        with self._cond:
            self._queue.append(mine)
            while True:
                while self._leading and not mine.finished:
                    self._cond.wait()
                if mine.finished:
                    return _outcome(mine)
                self._leading = True
                batch = sorted(self._queue[: self._max_batch], key=_lock_order)  # stable
                del self._queue[: self._max_batch]
                try:
                    self._cond.release()  # others queue while this batch runs
                    try:
                        self._commit(batch)
                    finally:
                        self._cond.acquire()
                finally:
                    self._leading = False
                    self._cond.notify_all()

    def _commit(self, batch: list[_Pending[Any]], *, pipeline: bool = True) -> None:
        try:
            results = []
            with self._db.raw_write(pipeline=pipeline) as tx:
                if pipeline and self._db.backend == "postgresql":
                    results = _run_in_rounds(batch, tx)
                else:
                    results = [pending.work(tx) for pending in batch]
        except BaseException as exc:
            if len(batch) == 1 and not pipeline:
                _finish(batch[0], error=exc)
                return
            # Someone's write failed (or the commit did): nothing of the batch is stored. Run each
            # write alone, so only the failing one reports its error — and without PostgreSQL's
            # pipeline, where an error can reach the caller as a later statement's "pipeline
            # aborted" instead of itself. (A write is idempotent by its event id, so running it
            # again after a commit whose outcome was lost finds the first one stored.)
            for pending in batch:
                self._commit([pending], pipeline=False)
            return
        self.commits += 1
        self.writes += len(batch)
        for pending, result in zip(batch, results, strict=True):
            _finish(pending, result=result)


def rounds(batch: list[_Pending[Any]]) -> list[list[_Pending[Any]]]:
    """The batch (sorted by lock key) as rounds: round k holds the k-th write of each key, in
    key order. Every lock a later round takes was taken in round 0, in key order, so the batch
    still takes its locks in the global order; and each key's writes keep their arrival order."""
    alone: list[list[_Pending[Any]]] = []  # no lock named (they sort first): a round each
    out: list[list[_Pending[Any]]] = []
    seen: dict[LockOrder, int] = {}
    for pending in batch:
        if pending.lock_order == _FIRST:
            alone.append([pending])
            continue
        k = seen.get(pending.lock_order, 0)
        seen[pending.lock_order] = k + 1
        if k == len(out):
            out.append([])
        out[k].append(pending)
    return alone + out


def _run_in_rounds(batch: list[_Pending[Any]], tx: RawTransaction) -> list[Any]:
    results: dict[int, Any] = {}
    for round_ in rounds(batch):
        for pending in round_:
            if isinstance(pending.work, Phased):
                pending.work.send(tx)
        for pending in round_:
            work = pending.work
            results[id(pending)] = work.finish(tx) if isinstance(work, Phased) else work(tx)
    return [results[id(pending)] for pending in batch]


def _lock_order(pending: _Pending[Any]) -> LockOrder:
    return pending.lock_order


def _finish(pending: _Pending[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    pending.result = result
    pending.error = error
    pending.finished = True


def _outcome(pending: _Pending[T]) -> T:
    if pending.error is not None:
        raise pending.error
    return pending.result  # type: ignore[return-value]  # set together with ``finished``
