"""W3C trace context in and out of events (the store writes it with each outbox row).

Kept apart from ``tracing`` so the store can import it without the bus and SDK machinery.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()


def current_trace_context() -> dict[str, str]:
    """The current span's ``traceparent`` (and ``tracestate``), or ``{}`` outside any span (one
    context-variable read when tracing is off)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def context_from(carrier: dict[str, str]) -> Context | None:
    """The parent context a carrier names; ``None`` (the current context) when it names none."""
    return _PROPAGATOR.extract(carrier) if carrier else None
