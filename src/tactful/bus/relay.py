"""The outbox relay: moves events the store committed (in the same transaction as the state they
announce) onto the bus — at least once, in commit order, off the decision's hot path.

An event is marked published only after the bus accepted it; if the relay dies in between, the
store hands the event out again when its lease expires, so a consumer may see it twice (it dedupes
by ``event_id``) but never misses it.
"""

from __future__ import annotations

import logging
import threading

from tactful.bus.base import Bus
from tactful.domain import Envelope
from tactful.store.base import Outbox

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self, outbox: Outbox, bus: Bus, *, background: bool, batch: int = 200, linger_s: float = 0.05
    ) -> None:
        self._outbox = outbox
        self._bus = bus
        self._background = background
        self._batch = batch
        # After a wake-up the thread waits this long before draining, so a busy engine relays
        # events in batches (one claim and one mark per batch) instead of one by one — the same
        # trade as Kafka's linger.ms: a little publish delay for much less write-lock contention.
        self._linger_s = linger_s
        self._stop = threading.Event()
        self._drain_lock = threading.Lock()
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
        """Publish everything pending; returns how many events went out."""
        sent = 0
        with self._drain_lock:
            done: list[int] = []
            while True:
                # One transaction marks the batch just published and claims the next; the last
                # claim (which finds nothing) marks the last batch.
                batch = self._outbox.claim_outbox(self._batch, published=done)
                if not batch:
                    return sent
                ids = [row_id for row_id, _ in batch]
                for i, (_, event) in enumerate(batch):
                    try:
                        self._bus.publish(Envelope.model_validate(event))
                    except Exception:
                        self._give_back(ids[i:], published=ids[:i])
                        raise
                done = ids
                sent += len(batch)

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
            self._wake.wait()
            self._stop.wait(self._linger_s)  # returns at once when closing
            self._wake.clear()
            self._drain_logged()

    def _drain_logged(self) -> None:
        try:
            self.drain()
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
