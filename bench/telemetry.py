"""What telemetry costs a decision: tracing (OpenTelemetry, batched export to a real OTLP/HTTP
receiver on loopback), the Prometheus observers and the JSON decision log, on and off in one run.

Three engines on three SQLite files decide the same demo messages, interleaved in small blocks so
the shared machine's noise hits all of them alike: *off* (no tracing, no observers), *on, sampled*
(the telemetry a service runs: every observer, tracing with ``parentbased_traceidratio`` 0.1) and
*on, every trace* (``always_on``: the worst case). The figure is each one's per-decision time as a
ratio to *off*; the target is ≤ 1.05 for the sampled configuration.

    python bench/telemetry.py [--decisions 1500]
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from run import DecisionClock, pct

from tactful.config import Settings, TracingSettings
from tactful.demo import DEMO_CUSTOMERS, load_messages, seed
from tactful.domain import ConversationId, CustomerId, EventId, InboundMessage
from tactful.engine import Engine, EngineParts
from tactful.observability import DecisionLog, Metrics, Tracing
from tactful.observability.logs import ContextFilter, JsonFormatter

BLOCK = 25


class _Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def _engine(tmp: Path, name: str, tracing: TracingSettings | None, observers: bool) -> Engine:
    settings = Settings(database_url=f"sqlite:///{tmp / f'{name}.db'}")
    clock = DecisionClock()  # 7 s per decision, however often the code under test reads it
    engine = Engine.from_settings(settings, clock=clock)
    if tracing is not None:
        engine.tracing.shutdown()
        engine = Engine(EngineParts(engine.store, clock=clock, tracing=Tracing.from_settings(tracing)))
    clock.attach(engine)
    if observers:
        metrics = Metrics()
        engine.observers.extend([metrics.observe, DecisionLog(_json_logger(name))])
    return engine


def _json_logger(name: str) -> logging.Logger:
    """The decision log as a service writes it (JSON, INFO), into a buffer instead of stderr."""
    logger = logging.getLogger(f"bench.decisions.{name}")
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    return logger


def measure(n: int) -> dict[str, Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    configs = {
        "off": None,
        "on, sampled 10 %": TracingSettings(
            exporter="otlp", endpoint=endpoint, sampler="parentbased_traceidratio", sampler_arg=0.1
        ),
        "on, every trace": TracingSettings(exporter="otlp", endpoint=endpoint),
    }  # fmt: skip
    messages, _ = load_messages(None)
    texts = [m.text for m in messages]
    samples: dict[str, list[float]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        engines = {}
        tenants = {}
        for i, (name, tracing) in enumerate(configs.items()):
            engines[name] = _engine(Path(tmp), f"e{i}", tracing, observers=name != "off")
            tenants[name], _ = seed(engines[name])

        def message(name: str, i: int) -> InboundMessage:
            c = DEMO_CUSTOMERS[i % len(DEMO_CUSTOMERS)]
            clock: DecisionClock = engines[name].clock  # type: ignore[assignment]
            return InboundMessage(
                event_id=EventId(f"t{i}"), tenant_id=tenants[name], customer_id=CustomerId(c.customer_id),
                conversation_id=ConversationId(f"k{i % 97}"), channel=c.channel, text=texts[i % len(texts)],
                sent_at=clock.now,
            )  # fmt: skip

        for name in configs:  # warm-up: imports, caches, prepared statements, the exporter's session
            for i in range(100):
                engines[name].decide(message(name, 10_000_000 + i))
        for start in range(0, n, BLOCK):
            for name in configs:
                for i in range(start, min(start + BLOCK, n)):
                    t0 = time.perf_counter()
                    engines[name].decide(message(name, i))
                    samples[name].append((time.perf_counter() - t0) * 1000)
        for engine in engines.values():
            engine.tracing.flush()
            engine.close()
    server.shutdown()
    server.server_close()
    base = samples["off"]
    return {
        "n": n,
        "exports_received": _Sink.received,
        "configs": {
            name: {
                "p50_ms": pct(values, 0.5),
                "mean_ms": statistics.fmean(values),
                "p50_ratio": pct(values, 0.5) / pct(base, 0.5),
                "mean_ratio": statistics.fmean(values) / statistics.fmean(base),
            }
            for name, values in samples.items()
        },
    }


def section(n: int = 1500) -> str:
    found = measure(n)
    lines = [
        "## Telemetry on and off",
        "",
        f"`python bench/telemetry.py --decisions {n}`: `Engine.decide` on SQLite files, three engines",
        f"interleaved in blocks of {BLOCK} over the same demo messages. *On* = Prometheus observers + the",
        "JSON decision log + OpenTelemetry spans for every stage, the store write and the bus, exported",
        f"in batches to an OTLP/HTTP receiver on loopback ({found['exports_received']} export requests",
        "received). Target: ≤ 1.05× for the sampled configuration.",
        "",
        "| configuration | p50 ms | mean ms | p50 / off | mean / off |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in found["configs"].items():
        ratios = f"{r['p50_ratio']:.3f}× | {r['mean_ratio']:.3f}×"
        lines.append(f"| {name} | {r['p50_ms']:.3f} | {r['mean_ms']:.3f} | {ratios} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=1500)
    print(section(parser.parse_args().decisions))
