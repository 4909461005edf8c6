"""Micro-batching with real threads. Synchronisation is by barriers, events and semaphores fed by
the batcher's ``on_enqueue`` hook; a batch closes on size (``max_wait_ms`` very large) or on an
injected clock, never on elapsed real time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import pytest

from tactful.signals.batching import BatcherClosed, MicroBatcher
from tactful.signals.encoders import Vectors, load_encoder

FOREVER_MS = 600_000.0  # a batch closes on size only
WAIT_S = 30  # upper bound on any wait below; reached only when the code under test is broken


class RecordingEncoder:
    """A test double of ``Encoder``: row = (len(text), index of the text's first char); records calls
    and can hold its first call until ``gate`` is set."""

    name = "double"
    version = "double-1"
    dim = 2

    def __init__(self, *, gated: bool = False, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.fail_on = fail_on

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        self.entered.set()
        assert self.gate.wait(WAIT_S)
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError(f"cannot encode {self.fail_on!r}")
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def run_concurrently(
    calls: list[Callable[[], Vectors]],
) -> list[Vectors | BaseException]:
    """Start every call in its own thread at the same moment; results in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Vectors | BaseException | None] = [None] * len(calls)

    def worker(i: int) -> None:
        barrier.wait(WAIT_S)
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)
        assert not t.is_alive()
    return [r for r in results if r is not None]


def expected(*texts: str) -> Vectors:
    return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)


def test_concurrent_callers_share_one_batch_and_get_their_own_rows() -> None:
    encoder = RecordingEncoder()
    batcher = MicroBatcher(encoder, max_batch=8, max_wait_ms=FOREVER_MS)
    texts = [f"{chr(97 + i)}{'x' * i}" for i in range(8)]
    results = run_concurrently([partial(batcher.encode, [t]) for t in texts])
    batcher.close()
    assert len(encoder.calls) == 1 and sorted(encoder.calls[0]) == sorted(texts)
    for text, rows in zip(texts, results, strict=True):
        assert isinstance(rows, np.ndarray)
        np.testing.assert_array_equal(rows, expected(text))


def test_batches_never_exceed_max_batch() -> None:
    encoder = RecordingEncoder()
    batcher = MicroBatcher(encoder, max_batch=4, max_wait_ms=FOREVER_MS)
    texts = [f"t{i}" for i in range(12)]
    results = run_concurrently([partial(batcher.encode, [t]) for t in texts])
    batcher.close()
    assert list(batcher.batch_sizes) == [4, 4, 4]
    assert all(isinstance(r, np.ndarray) and r.shape == (1, 2) for r in results)


def test_requests_arriving_during_a_batch_form_the_next_one() -> None:
    """max_wait 0: nothing waits on purpose; callers queued behind a busy encoder go together."""
    queued = threading.Semaphore(0)
    encoder = RecordingEncoder(gated=True)
    batcher = MicroBatcher(encoder, max_batch=32, max_wait_ms=0, on_enqueue=lambda _depth: queued.release())
    first = threading.Thread(target=batcher.encode, args=(["alone"],))
    first.start()
    assert encoder.entered.wait(WAIT_S)  # the worker is inside the first batch, held by the gate
    assert queued.acquire(timeout=WAIT_S)  # (the first request's own enqueue)
    late = [f"late{i}" for i in range(5)]
    out: dict[str, Vectors] = {}
    threads = [threading.Thread(target=lambda t=t: out.update({t: batcher.encode([t])})) for t in late]
    for t in threads:
        t.start()
    for _ in late:
        assert queued.acquire(timeout=WAIT_S)  # all five are waiting in the queue
    encoder.gate.set()
    for t in [first, *threads]:
        t.join(WAIT_S)
    batcher.close()
    assert list(batcher.batch_sizes) == [1, 5]
    assert all(np.array_equal(out[t], expected(t)) for t in late)


def test_a_lone_caller_is_served_once_max_wait_has_passed() -> None:
    ticks = iter(range(1000))
    batcher = MicroBatcher(RecordingEncoder(), max_batch=16, max_wait_ms=5, clock=lambda: float(next(ticks)))
    rows = batcher.encode(["hello"])  # the injected clock moves 1 s per reading: the wait is over
    batcher.close()
    np.testing.assert_array_equal(rows, expected("hello"))
    assert list(batcher.batch_sizes) == [1]


def test_multi_text_requests_keep_their_rows_together_and_in_order() -> None:
    encoder = RecordingEncoder()
    batcher = MicroBatcher(encoder, max_batch=5, max_wait_ms=FOREVER_MS)
    a, b = ["aa", "bbb", "c"], ["dddd", "e"]
    results = run_concurrently([lambda: batcher.encode(a), lambda: batcher.encode(b)])
    big = batcher.encode(["f", "gg", "hhh", "iiii", "jjjjj", "kk"])  # larger than max_batch: alone
    batcher.close()
    np.testing.assert_array_equal(results[0], expected(*a))
    np.testing.assert_array_equal(results[1], expected(*b))
    np.testing.assert_array_equal(big, expected("f", "gg", "hhh", "iiii", "jjjjj", "kk"))
    assert list(batcher.batch_sizes) == [5, 6]


def test_an_encoder_error_reaches_every_caller_of_that_batch_only() -> None:
    batcher = MicroBatcher(RecordingEncoder(fail_on="boom"), max_batch=3, max_wait_ms=FOREVER_MS)
    failed = run_concurrently([partial(batcher.encode, [t]) for t in ("boom", "b1", "b2")])
    served = run_concurrently([partial(batcher.encode, [t]) for t in ("ok1", "ok2", "ok3")])
    batcher.close()
    assert all(isinstance(r, ValueError) and "boom" in str(r) for r in failed)
    assert all(isinstance(r, np.ndarray) for r in served)


def test_close_serves_what_is_queued_then_refuses_new_work() -> None:
    queued = threading.Semaphore(0)
    encoder = RecordingEncoder(gated=True)
    batcher = MicroBatcher(encoder, max_batch=32, on_enqueue=lambda _depth: queued.release())
    out: dict[str, Vectors] = {}
    threads = [threading.Thread(target=lambda t=t: out.update({t: batcher.encode([t])})) for t in ("p", "q")]
    threads[0].start()
    assert encoder.entered.wait(WAIT_S)
    threads[1].start()
    for _ in threads:
        assert queued.acquire(timeout=WAIT_S)
    closer = threading.Thread(target=batcher.close)
    closer.start()
    encoder.gate.set()
    for t in [*threads, closer]:
        t.join(WAIT_S)
    assert set(out) == {"p", "q"}
    with pytest.raises(BatcherClosed):
        batcher.encode(["r"])
    batcher.close()  # idempotent


def test_bad_arguments_and_empty_input() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(RecordingEncoder(), max_batch=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        MicroBatcher(RecordingEncoder(), max_wait_ms=-1)
    encoder = RecordingEncoder()
    batcher = MicroBatcher(encoder)
    assert batcher.encode([]).shape == (0, 2)
    with pytest.raises(TypeError):
        batcher.encode("text")  # type: ignore[arg-type]
    assert encoder.calls == [] and (batcher.name, batcher.version, batcher.dim) == ("double", "double-1", 2)
    batcher.close()


def test_batched_embed_rows_equal_direct_rows() -> None:
    embed = load_encoder("embed")
    batcher = MicroBatcher(embed, max_batch=4, max_wait_ms=FOREVER_MS)
    texts = ["where is my refund", "card blocked", "thanks a lot!", "I need to talk to someone"]
    results = run_concurrently([partial(batcher.encode, [t]) for t in texts])
    batcher.close()
    assert list(batcher.batch_sizes) == [4]
    for text, rows in zip(texts, results, strict=True):
        assert isinstance(rows, np.ndarray)
        np.testing.assert_allclose(rows, embed.encode([text]), atol=1e-6)
