"""Traces: one trace per message through every stage, the store write and the bus, with the
decision's ids and versions as attributes and never its text or personal data (SDK in-memory
exporter); the same spans reach a real OTLP/HTTP receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.errors import InputRejected
from tactful.observability import Tracing
from tactful.store.base import Store
from tactful.tenants import NewTenant
from tests.api.conftest import Client
from tests.conftest import FixedClock, MessageFactory
from tests.observability.conftest import by_name

STAGES = ("guard", "signals", "context", "policy", "learner", "render", "store")
PII_TEXT = "My email is anna.k@example.com, call +44 7700 900123. Where is my refund?"
SECRETS = ("anna.k@example.com", "7700 900123", "Where is my refund", "cust-secret-77", "conv-secret-9")


def _values(span: ReadableSpan) -> list[str]:
    found = [str(v) for v in (span.attributes or {}).values()]
    found += [str(v) for e in span.events for v in (e.attributes or {}).values()]
    found += [span.name, span.status.description or ""]
    return found


def test_one_trace_per_decision_through_every_stage_the_store_and_the_bus(
    traced_engine: Engine, exporter: InMemorySpanExporter, message: MessageFactory
) -> None:
    decision = traced_engine.decide(
        message(PII_TEXT, customer="cust-secret-77", conversation="conv-secret-9")
    )
    spans = exporter.get_finished_spans()
    named = by_name(spans)
    root = named["tactful.decide"][0]
    assert root.parent is None
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}  # one trace for everything
    for stage in STAGES:
        (span,) = named[f"tactful.{stage}"]
        assert span.parent is not None and span.parent.span_id == root.context.span_id, stage
    # The decision's event goes through the bus in the same trace: publish, then each consumer.
    (publish,) = named["tactful.bus.publish decision.made"]
    assert publish.kind is SpanKind.PRODUCER
    consumers = named["tactful.bus.consume decision.made"]
    assert consumers and all(
        c.parent is not None and c.parent.span_id == publish.context.span_id for c in consumers
    )
    assert {c.attributes["messaging.consumer.group.name"] for c in consumers} >= {"features"}  # type: ignore[index]
    attrs = root.attributes or {}
    assert attrs["tactful.decision_id"] == decision.decision_id
    assert attrs["tactful.tenant_id"] == decision.tenant_id
    assert attrs["tactful.policy_version"] == decision.policy_version
    assert attrs["tactful.action"] == decision.action.type.value
    for name, version in decision.model_versions.items():
        assert attrs[f"tactful.model_version.{name}"] == version
    for span in spans:
        for value in _values(span):
            for secret in SECRETS:
                assert secret.lower() not in value.lower(), (span.name, value)


def test_a_replayed_event_is_one_short_span_and_no_stage(
    traced_engine: Engine, exporter: InMemorySpanExporter, message: MessageFactory
) -> None:
    first = message("Hi, where is my order?", event_id="evt-replay")
    traced_engine.decide(first)
    exporter.clear()
    again = traced_engine.decide(first)
    named = by_name(exporter.get_finished_spans())
    assert set(named) == {"tactful.decide"}
    assert (named["tactful.decide"][0].attributes or {})["tactful.decision_id"] == again.decision_id


def test_a_rejected_message_marks_the_span_failed_by_code_not_by_its_text(
    traced_engine: Engine, exporter: InMemorySpanExporter, message: MessageFactory
) -> None:
    with pytest.raises(InputRejected) as raised:
        traced_engine.decide(message("x" * 100_000 + " anna.k@example.com"))
    root = by_name(exporter.get_finished_spans())["tactful.decide"][0]
    assert root.status.status_code is StatusCode.ERROR
    assert root.status.description == raised.value.code
    assert all("anna" not in v for v in _values(root))


def test_a_relay_elsewhere_keeps_the_event_in_the_decisions_trace(
    store: Store, clock: FixedClock, exporter: InMemorySpanExporter, message: MessageFactory
) -> None:
    # The relay publishes after the decision's span has ended, from outside any span (as a relay
    # thread or another process does): the trace context travels in the outbox row.
    engine = Engine(EngineParts(store, clock=clock, tracing=Tracing.to(exporter), background_relay=True))
    engine.relay.kick = lambda: None  # type: ignore[method-assign]  # nothing drains but the test
    engine.decide(message())
    decide_trace = by_name(exporter.get_finished_spans())["tactful.decide"][0].context.trace_id
    assert engine.relay_events() == 1
    publish = by_name(exporter.get_finished_spans())["tactful.bus.publish decision.made"][0]
    assert publish.context.trace_id == decide_trace
    assert publish.parent is not None  # parented on the decision's span, not a new root
    engine.tracing.shutdown()


def test_unsampled_traces_record_nothing_and_decisions_are_unchanged(
    store: Store, clock: FixedClock, exporter: InMemorySpanExporter, message: MessageFactory
) -> None:
    engine = Engine(EngineParts(store, clock=clock, tracing=Tracing.to(exporter, sample=ALWAYS_OFF)))
    decision = engine.decide(message())
    assert exporter.get_finished_spans() == ()
    assert decision.action.type.value == "reply"


def test_http_request_span_is_the_parent_and_honours_an_incoming_traceparent(
    traced_engine: Engine, exporter: InMemorySpanExporter, tenant: NewTenant
) -> None:
    client = Client(create_app(traced_engine, Settings()))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {
        "Authorization": f"Bearer {tenant.api_key}",
        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
        "X-Request-ID": "req-abc.123",
    }
    body = {"customer_id": "cust-secret-77", "conversation_id": "c", "channel": "chat", "text": PII_TEXT}
    r = client.post("/v1/messages", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "req-abc.123"
    r = client.get("/v1/customers/cust-secret-77", headers={"Authorization": headers["Authorization"]})
    client.close()
    named = by_name(exporter.get_finished_spans())
    (server,) = named["POST /v1/messages"]
    assert server.kind is SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == trace_id
    assert (server.attributes or {})["tactful.request_id"] == "req-abc.123"
    assert (server.attributes or {})["tactful.tenant_id"] == tenant.tenant.tenant_id
    decide = named["tactful.decide"][0]
    assert decide.parent is not None and decide.parent.span_id == server.context.span_id
    # The customer route's span is named by its template: the id in the path is never recorded.
    (lookup,) = named["GET /v1/customers/{customer_id}"]
    for span in exporter.get_finished_spans():
        for value in _values(span):
            assert not any(s.lower() in value.lower() for s in SECRETS), (span.name, value)
    assert (lookup.attributes or {})["http.response.status_code"] == r.status_code


class _Receiver(ThreadingHTTPServer):
    """A minimal OTLP/HTTP traces endpoint: decodes each protobuf export request it is sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], ExportTraceServiceRequest]] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.requests.append(({k.lower(): v for k, v in self.headers.items()}, request))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_spans_reach_a_real_otlp_http_receiver(
    receiver: _Receiver, store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    port = receiver.server_address[1]
    env = {  # the standard variables, as a deployment sets them
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-token=s3cret%21",
        "OTEL_SERVICE_NAME": "tactful-test",
    }
    from tactful import config

    tracing_settings = config._tracing(env)
    assert tracing_settings.exporter == "otlp"
    assert tracing_settings.endpoint == f"http://127.0.0.1:{port}/v1/traces"
    engine = Engine(EngineParts(store, clock=clock, tracing=Tracing.from_settings(tracing_settings)))
    decision = engine.decide(message("Where is my order?"))
    assert engine.tracing.flush()  # blocks until the batch processor's export returned
    engine.tracing.shutdown()
    assert receiver.requests, "nothing was exported"
    headers, _ = receiver.requests[0]
    assert headers["x-collector-token"] == "s3cret!"
    assert headers["content-type"] == "application/x-protobuf"
    spans = [
        (span, rs.resource)
        for _, request in receiver.requests
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    names = {span.name for span, _ in spans}
    assert {"tactful.decide", *(f"tactful.{s}" for s in STAGES)} <= names
    decide = next(span for span, _ in spans if span.name == "tactful.decide")
    attrs = {
        a.key: a.value.string_value or a.value.bool_value or a.value.int_value for a in decide.attributes
    }
    assert attrs["tactful.decision_id"] == decision.decision_id
    resource = {a.key: a.value.string_value for a in spans[0][1].attributes}
    assert resource["service.name"] == "tactful-test"


def test_tracing_is_off_by_default_and_the_standard_variables_turn_it_on() -> None:
    from tactful import config

    assert not config._tracing({}).enabled
    assert not Settings().tracing.enabled
    assert config._tracing({"OTEL_TRACES_EXPORTER": "console"}).exporter == "console"
    on = config._tracing(
        {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
    )
    assert (on.exporter, on.sampler, on.sampler_arg, on.schedule_delay_ms) == (
        "otlp",
        "parentbased_traceidratio",
        0.25,
        200,
    )
    off = config._tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "true"})
    assert not off.enabled
    for bad in (
        {"OTEL_TRACES_EXPORTER": "jaeger"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"OTEL_TRACES_SAMPLER": "sometimes"},
        {"OTEL_TRACES_SAMPLER_ARG": "2"},
        {"OTEL_EXPORTER_OTLP_HEADERS": "no-equals-sign"},
    ):
        with pytest.raises(InputRejected) as raised:
            config._tracing(bad)
        assert raised.value.code == "invalid_setting"
    # A round trip through the environment keeps every setting.
    assert config._tracing(config._tracing_environment(on)) == on
