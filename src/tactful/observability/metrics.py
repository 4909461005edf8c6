"""Prometheus metrics, one registry per app (tests build several), fed by engine observers.

Families (``docs/observability.md`` lists them with their labels):
decisions by tenant, channel, action and degraded; decision and per-stage latency; degradations by
stage and reason; learner decisions by mode and agreement with the rules, and rewards; feature age
and staleness; experiment exposures and changes; HTTP requests by route template and status;
problem responses by code; and *probes*, gauges read at scrape time (the outbox backlog now; the
NATS bus's stream depth and consumer lag register the same way, ``Metrics.add_probe``).

Several worker processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (before the process starts:
prometheus-client reads it at import), every worker writes its samples to files there and any
worker's ``/metrics`` answers for all of them (``MultiProcessCollector``). Probes are computed by
the scraped worker; they read shared state (the database), so one answer is right for all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

from tactful.domain import Decision

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0)
_AGE_BUCKETS = (60.0, 300.0, 3600.0, 6 * 3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0, 365 * 86400.0)
_REWARD_BUCKETS = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
#: Feature names are a tenant's own: past this many distinct names, the rest share "other".
MAX_FEATURE_LABELS = 64

#: A probe returns one value, or values by label tuple (``{("decisions",): 3.0}``).
ProbeRead = Callable[[], float | Mapping[tuple[str, ...], float]]


class _Probe:
    def __init__(self, name: str, documentation: str, read: ProbeRead, labels: Sequence[str]) -> None:
        self.name, self.documentation, self.read, self.labels = name, documentation, read, tuple(labels)


class _Probes(Collector):
    def __init__(self) -> None:
        self.probes: list[_Probe] = []

    def collect(self) -> Iterable[Metric]:
        for probe in self.probes:
            try:
                found = probe.read()
            except Exception:  # a probe's store being down must not break the scrape
                continue
            family = GaugeMetricFamily(probe.name, probe.documentation, labels=probe.labels)
            if isinstance(found, Mapping):
                for label_values, value in found.items():
                    family.add_metric(list(label_values), float(value))
            else:
                family.add_metric([], float(found))
            yield family


class Metrics:
    def __init__(self, *, tenant_label: bool = True, multiprocess_dir: Path | None = None) -> None:
        if multiprocess_dir is not None and values.ValueClass is values.MutexValue:
            raise RuntimeError(
                "PROMETHEUS_MULTIPROC_DIR must be in the environment before the process starts "
                "(prometheus-client reads it at import)"
            )
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self._tenant = tenant_label
        t = ["tenant"] if tenant_label else []
        r = self.registry
        self.decisions = Counter(
            "tactful_decisions", "Decisions made", ["action", "channel", "degraded", *t], registry=r
        )
        self.decision_seconds = Histogram(
            "tactful_decision_seconds",
            "Time to decide, in the engine",
            t,
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.stage_seconds = Histogram(
            "tactful_stage_seconds",
            "Time per engine stage, by inbound channel",
            ["stage", "channel"],
            registry=r,
            buckets=_STAGE_BUCKETS,
        )
        self.degradations = Counter(
            "tactful_degradations",
            "Decisions made in a reduced mode, by stage and reason",
            ["stage", "reason", *t],
            registry=r,
        )
        self.learner_decisions = Counter(
            "tactful_learner_decisions",
            "Decisions the learner took part in, by mode and whether its greedy arm was the rules' own",
            ["mode", "agrees", *t],
            registry=r,
        )
        self.learner_reward = Histogram(
            "tactful_learner_reward",
            "Rewards the learner learned from",
            t,
            registry=r,
            buckets=_REWARD_BUCKETS,
        )
        self.feature_age = Histogram(
            "tactful_feature_age_seconds",
            "Age of the newest event behind each feature a decision read",
            ["feature"],
            registry=r,
            buckets=_AGE_BUCKETS,
        )
        self.feature_stale = Counter(
            "tactful_feature_stale", "Features past their TTL (the default was used)", ["feature"], registry=r
        )
        self.experiment_decisions = Counter(
            "tactful_experiment_decisions", "Decisions made inside an experiment", ["experiment", "arm", *t],
            registry=r,
        )  # fmt: skip
        self.experiment_changes = Counter(
            "tactful_experiment_changes", "Experiment ramps, rollbacks, promotions and stops", ["event", *t],
            registry=r,
        )  # fmt: skip
        self.http_requests = Counter(
            "tactful_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
            registry=r,
        )  # fmt: skip
        self.http_seconds = Histogram(
            "tactful_http_request_seconds", "HTTP request time by route template", ["method", "route"],
            registry=r, buckets=_LATENCY_BUCKETS,
        )  # fmt: skip
        self.http_errors = Counter("tactful_http_errors", "Problem responses by code", ["code"], registry=r)
        self._probes = _Probes()
        self.registry.register(self._probes)
        self._features: set[str] = set()
        #: Labelled children by (family, label values): ``labels()`` validates and locks on every
        #: call (~3 µs), and a decision touches ~20 children; the families keep their children
        #: for good, so holding them here changes nothing.
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    # -- observers --------------------------------------------------------------------------------

    def child(self, family: MetricWrapperBase, *labels: str) -> Any:
        """``family.labels(*labels)``, kept after the first call (or ``family`` when it has no labels)."""
        if not labels:
            return family
        key = (id(family), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = family.labels(*labels)
        return found

    def observe(self, decision: Decision) -> None:
        """Engine observer: called once for every newly made decision."""
        t = (decision.tenant_id,) if self._tenant else ()
        channel = decision.channel.primary.value if decision.channel.primary else "none"
        degraded = "true" if decision.degraded else "false"
        self.child(self.decisions, decision.action.type.value, channel, degraded, *t).inc()
        self.child(self.decision_seconds, *t).observe(decision.latency_ms.get("total", 0.0) / 1000)
        inbound = decision.inbound_channel.value
        for stage, ms in decision.latency_ms.items():
            if stage != "total":
                self.child(self.stage_seconds, stage, inbound).observe(ms / 1000)
        for text in decision.degradations:
            self.child(self.degradations, *degradation_reason(text), *t).inc()
        if decision.learner is not None:
            trace = decision.learner
            agrees = bool(trace.allowed) and trace.would_choose == trace.allowed[0]
            self.child(self.learner_decisions, trace.mode, str(agrees).lower(), *t).inc()
        if decision.experiment is not None:
            self.child(self.experiment_decisions, decision.experiment, decision.arm or "", *t).inc()
        self._observe_features(decision)

    def observe_reward(self, tenant_id: str, reward: float) -> None:
        """Learner observer: a reward window closed and the model learned from it."""
        self.child(self.learner_reward, *((tenant_id,) if self._tenant else ())).observe(reward)

    def observe_experiment(self, tenant_id: str, event: str) -> None:
        self.child(self.experiment_changes, event, *((tenant_id,) if self._tenant else ())).inc()

    def _observe_features(self, decision: Decision) -> None:
        found = decision.features.get("values") if decision.features else None
        if not isinstance(found, dict):
            return
        for name, value in found.items():
            if not isinstance(value, dict):
                continue
            label = self._feature_label(str(name))
            if value.get("stale"):
                self.child(self.feature_stale, label).inc()
            as_of = value.get("as_of")
            if isinstance(as_of, str):
                age = (decision.decided_at - datetime.fromisoformat(as_of)).total_seconds()
                self.child(self.feature_age, label).observe(max(age, 0.0))

    def _feature_label(self, name: str) -> str:
        if name in self._features:
            return name
        if len(self._features) < MAX_FEATURE_LABELS:
            self._features.add(name)
            return name
        return "other"

    # -- probes and exposition ----------------------------------------------------------------------

    def add_probe(self, name: str, documentation: str, read: ProbeRead, labels: Sequence[str] = ()) -> None:
        """A gauge computed at scrape time: the outbox backlog; a bus's queue depth or consumer lag."""
        self._probes.probes.append(_Probe(name, documentation, read, labels))

    def exposition(self) -> bytes:
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        registry.register(self._probes)
        return generate_latest(registry)


_DETAIL = re.compile(r"\s*\([^)]*\)")
_FEATURE = re.compile(r"\bfeature \S+")
_NUMBER = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def degradation_reason(text: str) -> tuple[str, str]:
    """``(stage, reason)`` of a degradation line, with what varies taken out so the label set stays
    small: parenthesised details, numbers, feature names."""
    stage, sep, rest = text.partition(":")
    if not sep:
        return "unknown", _short(text)
    reason = _FEATURE.sub("feature *", _DETAIL.sub("", rest))
    return stage.strip()[:32], _short(_NUMBER.sub("N", reason))


def _short(text: str) -> str:
    return _SPACES.sub(" ", text).strip(" ;,.")[:80]
