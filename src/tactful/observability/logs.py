"""Structured logs: one JSON object per line, stamped with the request id and the trace and span ids.

``configure_logging(settings)`` is called by the composition root of a service (the app factory
when it builds its own engine), never at import. Levels come from settings: a root level and
per-logger levels (``TACTFUL_LOG_LEVELS=tactful.engine=DEBUG,uvicorn.access=WARNING``).

Every decision gets exactly one INFO line on ``tactful.decisions`` (``DecisionLog``): ids Tactful
made, the tenant, channels, action, rule, versions, timings, experiment and arm. Never the message
text, the customer's or conversation's id (an id can be an e-mail address), or personal data.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from opentelemetry import trace

from tactful.config import Settings
from tactful.domain import Decision
from tactful.observability.tracing import decision_attributes

#: The current request's id (``X-Request-ID``, honoured or made), set by the HTTP middleware; it
#: follows the request into the thread pool because contextvars are copied there.
request_id: ContextVar[str | None] = ContextVar("tactful_request_id", default=None)

#: Attributes every record gets from ``ContextFilter`` (text formats may name them).
_CONTEXT = ("request_id", "trace_id", "span_id")
_BASE_KEYS = frozenset({"ts", "level", "logger", "message", *_CONTEXT})
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s trace=%(trace_id)s] %(message)s"


class ContextFilter(logging.Filter):
    """Stamps the ids while the record is still in the thread (and span) that logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        else:
            record.trace_id = record.span_id = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in _BASE_KEYS})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        try:
            # orjson: a line costs a few µs instead of ~12 (two lines per decision request).
            return orjson.dumps(out, default=_plain, option=_ORJSON).decode()
        except TypeError:  # what orjson refuses (a huge int, an odd key): the standard encoder
            return json.dumps(out, default=str, ensure_ascii=False)


#: Datetimes and dataclasses go through ``_plain`` (``str``), as with ``json.dumps(default=str)``.
_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _plain(value: Any) -> Any:
    """What ``json.dumps(default=str)`` writes for what orjson does not take natively."""
    if isinstance(value, float):  # a float subclass (numpy.float64): json writes the number
        return float(value)
    return str(value)


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Install Tactful's handler on the root logger (replacing one installed before) and apply the
    levels. uvicorn's loggers write through it too, so every line has the same shape; uvicorn's
    access log (it prints full paths, which may hold customer ids) is WARNING unless a level is set
    for it — ``tactful.http`` logs each request by its route template instead."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter() if settings.log_format == "json" else logging.Formatter(_TEXT_FORMAT)
    )
    handler.set_name("tactful")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "tactful"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for name, level in settings.log_levels:
        logging.getLogger(name).setLevel(level)
    return handler


class DecisionLog:
    """The engine observer that writes a decision's one INFO line."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("tactful.decisions")

    def __call__(self, decision: Decision) -> None:
        if self._log.isEnabledFor(logging.INFO):
            self._log.info("decision", extra={"fields": decision_fields(decision)})


def decision_fields(decision: Decision) -> dict[str, Any]:
    fields: dict[str, Any] = {
        k.removeprefix("tactful."): v
        for k, v in decision_attributes(decision).items()
        if not k.startswith("tactful.model_version.")
    }
    fields["model_versions"] = dict(decision.model_versions)
    fields["rule"] = decision.action.rule_id
    # Degradation lines are written by the stages, from codes and counts: no input text in them.
    fields["degradations"] = list(decision.degradations)
    return fields
