"""Traces: OpenTelemetry spans for every message, exported in batches from a background thread.

A trace per message: the HTTP request (``api.telemetry``) or the bus delivery that carried it, then
``tactful.decide`` with one child per engine stage (``Stopwatch.stage`` is the seam), the store
write, and the bus publish and deliveries of the decision's events. The events carry the trace
context in their envelope (``Envelope.trace_context``, written with the outbox row), so a relay in
another thread or process, and every consumer, stays in the decision's trace.

What a span may hold: ids Tactful made (decision id), the tenant id, the action, channels, policy
and model versions, experiment and arm, counts and timings. Never message text, customer or
conversation ids, or personal data; an error is recorded by its type and code, never its message
(``mark_failed``). The HTTP span is named by the route template, not the path (which can hold a
customer id).

``Tracing`` owns its ``TracerProvider`` and never installs it globally, so several engines (tests)
each trace to their own exporter; with tracing off every hook is one ``is None`` check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from tactful import __version__
from tactful.bus.base import Bus, Handler
from tactful.config import TracingSettings
from tactful.domain import Decision, Envelope, InboundMessage
from tactful.domain.events import EventType
from tactful.observability.propagation import context_from, current_trace_context

SCOPE = "tactful"


class Tracing:
    """A tracer, or none. The engine, the bus wrapper and the HTTP middleware ask this object."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider
        self.tracer: Tracer | None = None if provider is None else provider.get_tracer(SCOPE, __version__)

    @classmethod
    def off(cls) -> Tracing:
        return cls(None)

    @classmethod
    def from_settings(cls, settings: TracingSettings) -> Tracing:
        if not settings.enabled:
            return cls.off()
        exporter: SpanExporter
        if settings.exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(
                endpoint=settings.endpoint, headers=dict(settings.headers), timeout=settings.timeout_s
            )
        else:
            exporter = ConsoleSpanExporter()
        resource = Resource(
            {
                "service.name": settings.service_name,
                "service.version": __version__,
                **dict(settings.resource_attributes),
            }
        )
        provider = TracerProvider(sampler=sampler(settings), resource=resource, shutdown_on_exit=False)
        # Batched export from the processor's own thread: a decision only queues its spans.
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                max_queue_size=settings.max_queue_size,
                schedule_delay_millis=settings.schedule_delay_ms,
                max_export_batch_size=settings.max_export_batch_size,
                export_timeout_millis=settings.export_timeout_ms,
            )
        )
        return cls(provider)

    @classmethod
    def to(cls, exporter: SpanExporter, *, sample: Sampler = ALWAYS_ON, batch: bool = False) -> Tracing:
        """Trace into ``exporter`` (tests use the SDK's ``InMemorySpanExporter``, synchronously)."""
        provider = TracerProvider(sampler=sample, shutdown_on_exit=False)
        provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
        return cls(provider)

    @property
    def enabled(self) -> bool:
        return self.tracer is not None

    def decide(self, message: InboundMessage, decide: Callable[[InboundMessage], Decision]) -> Decision:
        """``decide(message)`` inside the decision's span, which then carries the decision's ids."""
        tracer = self.tracer
        if tracer is None:
            return decide(message)
        with tracer.start_as_current_span(
            "tactful.decide",
            attributes={
                "tactful.tenant_id": message.tenant_id,
                "tactful.channel.inbound": message.channel.value,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                decision = decide(message)
            except Exception as exc:
                mark_failed(span, exc)
                raise
            if span.is_recording():
                span.set_attributes(decision_attributes(decision))
            return decision

    @contextmanager
    def span(self, name: str, **attributes: Any) -> Iterator[Span | None]:
        """A child span of whatever is current (``None`` and no cost with tracing off)."""
        if self.tracer is None:
            yield None
            return
        with self.tracer.start_as_current_span(
            name, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                yield span
            except Exception as exc:
                mark_failed(span, exc)
                raise

    def wrap_bus(self, bus: Bus) -> Bus:
        return bus if self.tracer is None else TracingBus(bus, self.tracer)

    def flush(self, timeout_ms: int = 30_000) -> bool:
        return True if self.provider is None else self.provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def sampler(settings: TracingSettings) -> Sampler:
    """The ``OTEL_TRACES_SAMPLER`` names; ``parentbased_*`` follow an incoming ``traceparent``."""
    name, arg = settings.sampler, settings.sampler_arg
    root: Sampler = {"always_on": ALWAYS_ON, "always_off": ALWAYS_OFF}.get(
        name.removeprefix("parentbased_"), TraceIdRatioBased(arg)
    )
    return ParentBased(root) if name.startswith("parentbased_") else root


def mark_failed(span: Span, exc: BaseException) -> None:
    """Record a failure by type and code only: an exception's message may quote its input."""
    code = getattr(exc, "code", None)
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, str(code) if isinstance(code, str) else type(exc).__name__))


def decision_attributes(decision: Decision) -> dict[str, str | bool | int | float]:
    """What a decision's span (and log line) may say about it: ids, versions, choices, timings."""
    attrs: dict[str, str | bool | int | float] = {
        "tactful.decision_id": decision.decision_id,
        "tactful.tenant_id": decision.tenant_id,
        "tactful.action": decision.action.type.value,
        "tactful.channel": decision.channel.primary.value if decision.channel.primary else "none",
        "tactful.channel.inbound": decision.inbound_channel.value,
        "tactful.degraded": decision.degraded,
        "tactful.degradations": len(decision.degradations),
        "tactful.proactive": decision.proactive,
        "tactful.policy_version": decision.policy_version,
        "tactful.latency_ms": decision.latency_ms.get("total", 0.0),
        "tactful.rules_fired": len(decision.explanation.rules_fired),
    }
    for name, version in decision.model_versions.items():
        attrs[f"tactful.model_version.{name}"] = version
    if decision.experiment is not None:
        attrs["tactful.experiment"] = decision.experiment
        attrs["tactful.arm"] = decision.arm or ""
    if decision.learner is not None:
        attrs["tactful.learner.mode"] = decision.learner.mode
    return attrs


class TracingBus:
    """Any bus, with a PRODUCER span per publish and a CONSUMER span per delivery, both parented on
    the context the event carries (see the module docstring)."""

    def __init__(self, bus: Bus, tracer: Tracer) -> None:
        self.inner = bus
        self._tracer = tracer

    def publish(self, envelope: Envelope) -> None:
        with self._tracer.start_as_current_span(
            f"tactful.bus.publish {envelope.type}",
            context=context_from(envelope.trace_context),
            kind=SpanKind.PRODUCER,
            attributes=_event_attributes(envelope, "publish"),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            carried = envelope
            if span.get_span_context().is_valid:  # consumers become children of this publish
                carried = envelope.model_copy(update={"trace_context": current_trace_context()})
            try:
                self.inner.publish(carried)
            except Exception as exc:
                mark_failed(span, exc)
                raise

    def subscribe(self, event_type: EventType, handler: Handler, *, group: str) -> None:
        tracer = self._tracer

        def traced(envelope: Envelope) -> None:
            attributes = {**_event_attributes(envelope, "process"), "messaging.consumer.group.name": group}
            with tracer.start_as_current_span(
                f"tactful.bus.consume {envelope.type}",
                context=context_from(envelope.trace_context),
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    handler(envelope)
                except Exception as exc:
                    mark_failed(span, exc)
                    raise

        self.inner.subscribe(event_type, traced, group=group)

    def close(self) -> None:
        self.inner.close()

    def unwrapped(self) -> Bus:
        """The traced bus (for its other capabilities: broadcasts, dead letters)."""
        return self.inner


def _event_attributes(envelope: Envelope, operation: str) -> dict[str, str]:
    return {
        "messaging.system": "tactful",
        "messaging.operation.type": operation,
        "messaging.destination.name": envelope.type,
        "messaging.message.id": envelope.event_id,
        "tactful.tenant_id": envelope.tenant_id,
    }
