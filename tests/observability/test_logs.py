"""Structured logs: JSON lines with request and trace ids, one INFO line per decision with no text
or personal data, ``X-Request-ID`` honoured and returned, per-logger levels from settings."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine
from tactful.observability import configure_logging
from tactful.tenants import NewTenant
from tests.api.conftest import Client
from tests.observability.conftest import by_name

TEXT = "I am Anna Keller, anna.k@example.com, and my parcel is late!"


@contextmanager
def restored_logging() -> Iterator[None]:
    """Whatever ``configure_logging`` changes is put back afterwards."""
    names = ("", "uvicorn", "uvicorn.access", "tactful.engine")
    saved = {
        n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers), logging.getLogger(n).propagate)
        for n in names
    }
    try:
        yield
    finally:
        for name, (level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Tactful's handler writing into a buffer."""
    stream = io.StringIO()
    with restored_logging():
        configure_logging(Settings(log_levels=(("tactful.engine", "ERROR"),)), stream)
        yield stream


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_one_decision_line_with_request_and_trace_ids_and_no_text(
    captured: io.StringIO, traced_engine: Engine, exporter: InMemorySpanExporter, tenant: NewTenant
) -> None:
    client = Client(create_app(traced_engine, Settings()))
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    body = {"customer_id": "anna@example.com", "conversation_id": "conv-77", "channel": "email", "text": TEXT}
    r = client.post("/v1/messages", json=body, headers={**auth, "X-Request-ID": "req-42"})
    assert r.status_code == 200, r.text
    client.close()
    lines = _lines(captured)
    decisions = [line for line in lines if line["logger"] == "tactful.decisions"]
    assert len(decisions) == 1
    (line,) = decisions
    assert line["level"] == "INFO"
    assert line["message"] == "decision"
    assert line["request_id"] == "req-42"
    assert line["decision_id"] == r.json()["decision_id"]
    assert line["tenant_id"] == tenant.tenant.tenant_id
    assert line["action"] == r.json()["action"]["type"]
    assert line["policy_version"] == r.json()["policy_version"]
    decide = by_name(exporter.get_finished_spans())["tactful.decide"][0]
    assert line["trace_id"] == format(decide.context.trace_id, "032x")
    assert line["span_id"] == format(decide.context.span_id, "016x")
    (http,) = [line for line in lines if line["logger"] == "tactful.http"]
    assert (http["route"], http["status"], http["request_id"]) == ("/v1/messages", 200, "req-42")
    everything = captured.getvalue().lower()
    for secret in ("anna", "keller", "parcel", "conv-77"):
        assert secret not in everything


def test_a_missing_or_malformed_request_id_is_replaced_and_always_returned(
    captured: io.StringIO, engine: Engine
) -> None:
    client = Client(create_app(engine, Settings()))
    made = client.get("/healthz").headers["x-request-id"]
    bad = client.get("/healthz", headers={"X-Request-ID": "has spaces\tand tabs"}).headers["x-request-id"]
    too_long = client.get("/healthz", headers={"X-Request-ID": "a" * 200}).headers["x-request-id"]
    client.close()
    assert len({made, bad, too_long}) == 3
    assert all(len(rid) == 32 and rid.isalnum() for rid in (made, bad, too_long))
    logged = {line["request_id"] for line in _lines(captured) if line["logger"] == "tactful.http"}
    assert logged == {made, bad, too_long}


def test_levels_per_logger_come_from_settings(captured: io.StringIO) -> None:
    assert logging.getLogger().level == logging.INFO
    assert logging.getLogger("tactful.engine").level == logging.ERROR
    logging.getLogger("tactful.engine").warning("dropped")
    logging.getLogger("tactful.engine").error("kept %d", 1)
    lines = [line for line in _lines(captured) if line["logger"] == "tactful.engine"]
    assert [line["message"] for line in lines] == ["kept 1"]
    assert "trace_id" not in lines[0]  # logged outside any span


def test_text_format_and_bad_levels() -> None:
    from tactful import config
    from tactful.errors import InputRejected

    assert config._log_levels({"L": "a.b=debug,c=WARNING"}, "L") == (("a.b", "DEBUG"), ("c", "WARNING"))
    with pytest.raises(InputRejected):
        config._log_levels({"L": "a=LOUD"}, "L")
    with pytest.raises(InputRejected):
        config._choice({"F": "xml"}, "F", ("json", "text"), "json")
    stream = io.StringIO()
    with restored_logging():
        configure_logging(Settings(log_format="text"), stream)
        logging.getLogger("tactful.x").info("hello")
    assert "INFO tactful.x [req=None trace=None] hello" in stream.getvalue()


def test_a_json_line_reads_as_the_standard_encoder_wrote_it() -> None:
    # The formatter writes with orjson (issue 12); a reader gets what json.dumps(default=str) gave.
    from datetime import UTC, datetime
    from enum import StrEnum

    import numpy as np

    from tactful.observability.logs import JsonFormatter

    class Colour(StrEnum):
        RED = "red"

    common = {
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "ratio": np.float64(0.25),
        "colour": Colour.RED,
        "nested": {"a": [1, 2.5, None, True], 3: "int key"},
        "text": "Grüße, ünïcødé ✓",
    }
    for fields in (common, {**common, "big": 2**70}):  # the second takes the standard encoder
        record = logging.LogRecord("tactful.test", logging.INFO, __file__, 1, "m %s", ("x",), None)
        record.fields = fields
        got = json.loads(JsonFormatter().format(record))
        base = {"ts": got["ts"], "level": "INFO", "logger": "tactful.test", "message": "m x"}
        assert got == json.loads(json.dumps({**base, **fields}, default=str, ensure_ascii=False))
