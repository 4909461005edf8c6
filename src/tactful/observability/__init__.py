"""Seeing Tactful work: traces (OpenTelemetry), structured logs and Prometheus metrics (issue 15).

- ``tracing``: one trace per message, from the HTTP request or bus event through every engine stage,
  the store write and the bus; off unless an ``OTEL_*`` exporter is configured.
- ``logs``: JSON lines with the request and trace ids; one INFO line per decision, no text or PII.
- ``metrics``: per stage, tenant, channel, action and degradation reason; learner agreement and
  reward; feature staleness; probes for queue depths; Prometheus multiprocess mode.

Nothing here reads the environment (``tactful.config`` does) or configures anything at import.
"""

from tactful.observability.logs import DecisionLog, configure_logging, request_id
from tactful.observability.metrics import Metrics
from tactful.observability.propagation import current_trace_context
from tactful.observability.tracing import Tracing, TracingBus, decision_attributes

__all__ = [
    "DecisionLog",
    "Metrics",
    "Tracing",
    "TracingBus",
    "configure_logging",
    "current_trace_context",
    "decision_attributes",
    "request_id",
]
