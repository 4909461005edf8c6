"""The outbox relay: moves events the store committed (in the same transaction as the state they
announce) onto the bus — at least once, in commit order, off the decision's hot path.

An event is marked published only after the bus accepted it; if the relay dies in between, the
store hands the event out again when its lease expires, so a consumer may see it twice (it dedupes
by ``event_id``) but never misses it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import orjson

from tactful.bus.base import Bus, PublishesEncoded
from tactful.domain import Envelope
from tactful.store.base import Outbox

log = logging.getLogger(__name__)


#: Events per claim. A chunk is parsed and published while holding the GIL; the background relay
#: then sleeps ``_YIELD_S``, so a decision thread waits at most one chunk, never a whole drain
#: (issue 12: a drain held the GIL ~2 ms and lengthened each decision that overlapped it by
#: 2.4–6.5 ms). Statements releasing the GIL are not enough: a thread that releases it for I/O
#: takes it straight back before a waiting thread wakes (CPython hands it over only after the
#: waiter has waited a whole switch interval, 5 ms). Larger chunks mean fewer relay transactions
#: on the writer lock the decisions share; 16 is one linger's worth at a few hundred decisions/s.
DEFAULT_CHUNK = 16
#: A real sleep (a zero one returns with the GIL re-taken): long enough for a waiting thread to
#: wake and take the GIL, short enough that a 1,000-event backlog loses under 10 ms to it.
_YIELD_S = 0.0001


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        bus: Bus,
        *,
        background: bool,
        batch: int = DEFAULT_CHUNK,
        linger_s: float = 0.05,
    ) -> None:
        self._outbox = outbox
        self._bus = bus
        #: The stored JSON goes out as it is where the bus takes encoded events (NATS); the
        #: in-process bus needs the parsed envelope only.
        self._publish = _publisher(bus)
        self._background = background
        self._batch = batch
        #: Only a background relay steps aside between chunks; an inline drain is the caller's own.
        self._yield_s = _YIELD_S if background else 0.0
        # After a wake-up the thread waits this long before draining, so a busy engine relays
        # events in chunks (one claim and one mark per chunk) instead of one by one — the same
        # trade as Kafka's linger.ms: a little publish delay for much less write-lock contention.
        self._linger_s = linger_s
        self._stop = threading.Event()
        self._drain_lock = threading.Lock()
        #: Published by the background thread's last drain and not yet marked: marked by the next
        #: claim's transaction (see ``_drain``), or by a drain of their own after a quiet linger.
        self._unmarked: list[int] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        """New events are waiting: publish them now (inline) or wake the relay thread."""
        if not self._background:
            # The state is committed already; a failed publish must not fail the caller's request.
            # The events stay in the outbox and go out on the next drain (or after their lease).
            self._drain_logged()
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tactful-outbox-relay", daemon=True)
            self._thread.start()
        self._wake.set()

    def drain(self) -> int:
        """Publish everything pending, chunk by chunk in id (commit) order, and mark all of it
        published; returns how many events went out."""
        return self._drain(defer_marks=False)

    def _drain(self, *, defer_marks: bool) -> int:
        """``defer_marks`` (the background thread): stop after a short chunk and leave its marks
        to the next claim's transaction. Under load a drain that ran until a claim came back empty
        never found the outbox empty: each decision committed one more event while the relay
        published the last, so it claimed, published and marked one event per write transaction
        (0.6 relay transactions per decision on the writer lock the decisions queue on, instead of
        one per linger). A mark is bookkeeping for at-least-once delivery: one left for the next
        drain at most re-publishes its event after a crash, which consumers dedupe by id; the
        lease keeps other relays off it meanwhile."""
        sent = 0
        publish = self._publish
        with self._drain_lock:
            done, self._unmarked = self._unmarked, []
            while True:
                # One transaction marks the chunk just published and claims the next; the last
                # claim (which finds nothing) marks the last chunk.
                # (If it fails, the chunk's marks are lost as in a crash: its events go out again
                # after their lease, and consumers dedupe them.)
                chunk = self._outbox.claim_outbox(self._batch, published=done)
                if not chunk:
                    return sent
                done = []
                for row_id, stored in chunk:
                    try:
                        publish(stored)
                    except Exception:
                        self._give_back([i for i, _ in chunk[len(done) :]], published=done)
                        raise
                    done.append(row_id)
                sent += len(chunk)
                if len(chunk) < self._batch and defer_marks:  # caught up: mark with the next claim
                    self._unmarked = done
                    return sent
                if self._yield_s and len(chunk) == self._batch:  # (a short chunk was the last)
                    time.sleep(self._yield_s)  # let waiting decision threads take the GIL

    def _give_back(self, unpublished: list[int], published: list[int]) -> None:
        """The bus refused a publish: un-claim the rest of the batch so the next pass (here or in
        another process) retries it as soon as the bus is back, not after the lease (30 s) — a NATS
        restart otherwise delayed its backlog by the lease. If the store is away too, the lease
        still frees them."""
        try:
            self._outbox.release_outbox(unpublished, published)
        except Exception:
            log.warning("outbox relay: could not give back %d events", len(unpublished), exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            # Marks left by the last drain wait one linger for the next events to share their
            # transaction; a quiet outbox gets a drain for them alone.
            self._wake.wait(self._linger_s if self._unmarked else None)
            self._stop.wait(self._linger_s)  # returns at once when closing
            self._wake.clear()
            self._drain_logged(defer_marks=True)

    def _drain_logged(self, *, defer_marks: bool = False) -> None:
        try:
            self._drain(defer_marks=defer_marks)
        except Exception:  # the events stay in the outbox; the next kick or lease expiry retries
            log.exception("outbox relay failed; events stay queued and will be retried")

    def close(self) -> None:
        """Stop the thread after a last drain, so nothing committed is left unpublished."""
        self._stop.set()
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout=30)
            self._thread = None
        self.drain()


def _publisher(bus: Bus) -> Callable[[str], None]:
    """Publish one stored event: parsed once, and sent as the stored text where the bus can take it.

    orjson, then pydantic on the dict: 23 µs for a 4.4 kB decision event, against 41 µs for
    ``model_validate_json`` (which builds the payload's dict more slowly) and 57 µs for the
    ``json`` module's (measured here, warm)."""
    validate = Envelope.model_validate

    def parse(stored: str) -> Envelope:
        return validate(orjson.loads(stored))

    if isinstance(bus, PublishesEncoded):
        publish_encoded = bus.publish_encoded
        return lambda stored: publish_encoded(parse(stored), stored.encode())
    publish = bus.publish
    return lambda stored: publish(parse(stored))
