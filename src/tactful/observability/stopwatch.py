"""Per-stage wall-clock timings of a decision (its ``latency_ms``), each stage also a span when traced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from opentelemetry.trace import Tracer


class Stopwatch:
    """Per-stage wall-clock timings for the decision's ``latency_ms``; with a tracer, each stage is
    also a span (the one seam tracing hangs on, docs/observability.md)."""

    def __init__(self, tracer: Tracer | None = None) -> None:
        self.ms: dict[str, float] = {}
        self._start = time.perf_counter()
        self._tracer = tracer

    def stage(self, name: str) -> AbstractContextManager[None]:
        if self._tracer is None:
            return _Stage(self.ms, name)  # a plain object: a generator-based one costs more per stage
        return self._traced(name)

    @contextmanager
    def _traced(self, name: str) -> Iterator[None]:
        assert self._tracer is not None
        with (
            _Stage(self.ms, name),
            self._tracer.start_as_current_span(
                f"tactful.{name}", record_exception=False, set_status_on_exception=False
            ),
        ):
            yield

    def total(self) -> dict[str, float]:
        return {**self.ms, "total": round((time.perf_counter() - self._start) * 1000, 3)}


class _Stage:
    """Times one stage into ``ms`` (also when it raises)."""

    __slots__ = ("_ms", "_name", "_t0")

    def __init__(self, ms: dict[str, float], name: str) -> None:
        self._ms, self._name = ms, name
        self._t0 = 0.0

    def __enter__(self) -> None:
        self._t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self._ms[self._name] = round((time.perf_counter() - self._t0) * 1000, 3)
