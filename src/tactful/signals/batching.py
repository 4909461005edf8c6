"""Micro-batching for the heavy encoders: concurrent ``encode`` calls share one forward pass.

A transformer spends most of a one-sentence call on fixed per-call cost, so 16 callers encoded as
one batch finish far sooner than 16 one-by-one calls (figures in ``bench/tiers.py``). One worker
thread owns the encoder: it takes the oldest waiting request, gathers more until the batch holds
``max_batch`` texts or ``max_wait_ms`` has passed since it started gathering, encodes the lot and
hands every caller its own rows.

With ``max_wait_ms=0`` (the default) it never waits on purpose: a lone caller goes straight
through, and requests that arrive while a batch is being encoded form the next batch — batches
grow with load by themselves. A positive wait trades that much latency for larger batches.
A request is never split across batches (a caller's rows come from one forward pass); one larger
than ``max_batch`` is encoded on its own.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from tactful.signals.base import Encoder, Vectors

__all__ = ["BatcherClosed", "MicroBatcher"]


class BatcherClosed(RuntimeError):
    """``encode`` on a closed batcher, or a request still waiting when it was closed."""


@dataclass
class _Request:
    texts: list[str]
    done: Future[Vectors] = field(default_factory=Future)


_STOP = object()


class MicroBatcher:
    """Wraps an ``Encoder`` and is one (same name, version, dim); thread-safe."""

    def __init__(
        self,
        encoder: Encoder,
        *,
        max_batch: int = 32,
        max_wait_ms: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        on_enqueue: Callable[[int], None] | None = None,
    ) -> None:
        """``on_enqueue`` is called with the queue depth after each request is queued (a metric
        hook; tests use it to know when callers are waiting)."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must not be negative, not {max_wait_ms}")
        self.encoder = encoder
        self.name = encoder.name
        self.version = encoder.version
        self.dim = encoder.dim
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self._clock = clock
        self._on_enqueue = on_enqueue
        self._queue: queue.Queue[_Request | object] = queue.Queue()
        self._carry: _Request | None = None  # taken from the queue but did not fit the last batch
        self._closed = False
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        #: Sizes (texts) of the most recent batches, oldest first (bounded: a service runs for
        #: months); for metrics, tests and the benchmark.
        self.batch_sizes: deque[int] = deque(maxlen=4096)

    def encode(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        request = _Request(list(texts))
        with self._lock:
            if self._closed:
                raise BatcherClosed("the micro-batcher is closed")
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name=f"batcher-{self.name}", daemon=True)
                self._worker.start()
            self._queue.put(request)
            depth = self._queue.qsize()
        if self._on_enqueue is not None:
            self._on_enqueue(depth)
        return request.done.result()

    def close(self) -> None:
        """Serve the requests already queued, then stop the worker; later ``encode`` calls raise
        ``BatcherClosed``. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            worker = self._worker
            self._queue.put(_STOP)  # the last item ever queued: no request can follow it
        if worker is not None:
            worker.join()

    # -- the worker ------------------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while True:
            if self._carry is not None:
                first, self._carry = self._carry, None
            elif stopping:
                return
            else:
                item = self._queue.get()
                if item is _STOP:
                    return
                assert isinstance(item, _Request)
                first = item
            batch, stopping = self._gather(first)
            self._encode(batch)

    def _gather(self, first: _Request) -> tuple[list[_Request], bool]:
        """The batch starting with ``first``, and whether the stop marker was reached."""
        batch, size = [first], len(first.texts)
        deadline = self._clock() + self.max_wait_ms / 1000
        while size < self.max_batch:
            remaining = deadline - self._clock()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            assert isinstance(item, _Request)
            if size + len(item.texts) > self.max_batch:
                self._carry = item  # first in the next batch, so order is kept
                break
            batch.append(item)
            size += len(item.texts)
        return batch, False

    def _encode(self, batch: list[_Request]) -> None:
        texts = [text for request in batch for text in request.texts]
        self.batch_sizes.append(len(texts))
        try:
            rows = self.encoder.encode(texts)
        except Exception as exc:  # every caller of the batch sees the encoder's own error
            for request in batch:
                request.done.set_exception(exc)
            return
        start = 0
        for request in batch:
            end = start + len(request.texts)
            request.done.set_result(rows[start:end])
            start = end
