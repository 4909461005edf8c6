"""Shared pieces of the observability tests: an engine tracing into the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tactful.engine import Engine, EngineParts
from tactful.observability import Tracing
from tactful.store.base import Store
from tests.conftest import FixedClock


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced_engine(store: Store, clock: FixedClock, exporter: InMemorySpanExporter) -> Iterator[Engine]:
    engine = Engine(EngineParts(store, clock=clock, tracing=Tracing.to(exporter)))
    yield engine
    engine.tracing.shutdown()


def by_name(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        found.setdefault(span.name, []).append(span)
    return found
