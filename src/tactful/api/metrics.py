"""Prometheus metrics, one registry per app so several apps (tests) never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from tactful.domain import Decision


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "tactful_decisions", "Decisions made", ["action", "channel", "degraded"], registry=self.registry
        )
        self.decision_seconds = Histogram(
            "tactful_decision_seconds",
            "Time to decide, in the engine",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.http_errors = Counter(
            "tactful_http_errors", "Problem responses by code", ["code"], registry=self.registry
        )

    def observe(self, decision: Decision) -> None:
        self.decisions.labels(
            decision.action.type.value,
            decision.channel.primary.value if decision.channel.primary else "none",
            str(decision.degraded).lower(),
        ).inc()
        self.decision_seconds.observe(decision.latency_ms.get("total", 0.0) / 1000)
