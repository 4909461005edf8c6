"""Metrics per stage, tenant, channel, action and degradation reason; learner agreement and reward;
feature age and staleness; the outbox probe; HTTP by route template; multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.learn.bandit import BanditLearner
from tactful.observability.metrics import degradation_reason
from tactful.store import SqlStore
from tactful.tenants import NewTenant
from tests.api.conftest import Client
from tests.conftest import FixedClock, MessageFactory

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(client: Client) -> Samples:
    text = client.get("/metrics").text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _sum(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def test_decision_stage_tenant_learner_feature_and_http_metrics(
    store: SqlStore, clock: FixedClock, tenant: NewTenant
) -> None:
    engine = Engine(EngineParts(store, clock=clock))
    learner = BanditLearner(store.learning, engine.policies.get, clock=clock, seed=3)
    engine.learner = learner
    tid = tenant.tenant.tenant_id
    learner.set_mode(tid, "shadow")  # type: ignore[arg-type]
    client = Client(create_app(engine, Settings()))
    auth = {"Authorization": f"Bearer {tenant.api_key}"}

    def post(text: str, channel: str = "chat") -> dict[str, object]:
        body = {"customer_id": "cust-9", "conversation_id": "c9", "channel": channel, "text": text}
        r = client.post("/v1/messages", json=body, headers=auth)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    first = post("Where is my order? It is late and I am annoyed.")
    post("Thanks, all good now", channel="email")
    assert (
        client.post(
            "/v1/outcomes", json={"decision_id": first["decision_id"], "type": "resolved"}, headers=auth
        ).status_code
        == 201
    )
    clock.now += timedelta(days=15)  # past sentiment_ewma's 14-day TTL, and every reward window
    assert learner.close_due(clock.now) >= 1
    post("Hello again")
    assert client.get("/v1/customers/cust-9", headers=auth).status_code == 404  # no profile was stored
    samples = _scrape(client)
    client.close()

    assert _sum(samples, "tactful_decisions_total", tenant=tid) == 3
    assert _sum(samples, "tactful_decisions_total", tenant=tid, channel="email") == 1
    assert _sum(samples, "tactful_decision_seconds_count", tenant=tid) == 3
    for stage in ("guard", "signals", "context", "policy", "learner", "render"):
        assert _sum(samples, "tactful_stage_seconds_count", stage=stage) == 3, stage
    assert _sum(samples, "tactful_stage_seconds_count", stage="signals", channel="email") == 1
    # The third decision read a stale feature: a degradation by stage and reason, and the feature.
    assert (
        _sum(samples, "tactful_degradations_total", stage="context", reason="feature * stale; default used")
        == 1
    )
    assert _sum(samples, "tactful_feature_stale_total", feature="sentiment_ewma") == 1
    assert _sum(samples, "tactful_feature_age_seconds_count") > 0
    assert _sum(samples, "tactful_learner_decisions_total", mode="shadow", tenant=tid) == 3
    assert _sum(samples, "tactful_learner_reward_count", tenant=tid) >= 1
    assert _sum(samples, "tactful_outbox_pending") == 0  # the probe: inline relay leaves nothing queued
    assert _sum(samples, "tactful_http_requests_total", route="/v1/messages", status="200") == 3
    assert _sum(samples, "tactful_http_requests_total", route="/v1/customers/{customer_id}") == 1
    assert not any("cust-9" in value for (_, labels) in samples for _, value in labels)


def test_the_tenant_label_can_be_turned_off(engine: Engine, tenant: NewTenant) -> None:
    client = Client(create_app(engine, Settings(metrics_tenant_label=False)))
    body = {"customer_id": "c", "conversation_id": "c", "channel": "chat", "text": "hi"}
    assert (
        client.post(
            "/v1/messages", json=body, headers={"Authorization": f"Bearer {tenant.api_key}"}
        ).status_code
        == 200
    )
    samples = _scrape(client)
    client.close()
    assert _sum(samples, "tactful_decisions_total") == 1
    assert not any(
        dict(labels).get("tenant") for (name, labels) in samples if name.startswith("tactful_decision")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("context: feature sentiment_ewma stale; default used", ("context", "feature * stale; default used")),
        ("vault: personal data not kept (store_unavailable)", ("vault", "personal data not kept")),
        (
            "render: reply repeated 2 personal data value(s); safe reply used",
            ("render", "reply repeated N personal data value; safe reply used"),
        ),
        (
            "signals: tier fast failed (ValueError); neutral signals used",
            ("signals", "tier fast failed; neutral signals used"),
        ),
        ("something odd", ("unknown", "something odd")),
    ],
)
def test_degradation_reasons_keep_the_label_set_small(text: str, expected: tuple[str, str]) -> None:
    assert degradation_reason(text) == expected


_WORKER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from tactful.domain import Decision
    from tactful.observability.metrics import Metrics
    from pathlib import Path

    metrics = Metrics(multiprocess_dir=Path(sys.argv[1]))
    decision = Decision.model_validate_json(sys.argv[2])
    for _ in range(int(sys.argv[3])):
        metrics.observe(decision)
    """
)
_SCRAPER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tactful.observability.metrics import Metrics

    metrics = Metrics(multiprocess_dir=Path(sys.argv[1]))
    metrics.add_probe("tactful_outbox_pending", "backlog", lambda: 7.0)
    sys.stdout.write(metrics.exposition().decode())
    """
)


def test_multiprocess_mode_adds_up_every_workers_samples(
    tmp_path: Path, engine: Engine, tenant: NewTenant, message: MessageFactory
) -> None:
    decision = engine.decide(message())
    shared = tmp_path / "prometheus"  # its own directory: the collector reads every *.db file in it
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    for count in (3, 4):  # two worker processes, each with its own samples
        subprocess.run(
            [sys.executable, "-c", _WORKER, str(shared), decision.model_dump_json(), str(count)],
            env=env, check=True, timeout=60,
        )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", _SCRAPER, str(shared)],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    samples: Samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    assert _sum(samples, "tactful_decisions_total", tenant=decision.tenant_id) == 7
    assert _sum(samples, "tactful_decision_seconds_count") == 7
    assert _sum(samples, "tactful_outbox_pending") == 7.0
    assert len(list(shared.glob("counter_*.db"))) == 2  # one sample file per worker process


def test_multiprocess_mode_refuses_a_directory_set_too_late(tmp_path: Path) -> None:
    from tactful.observability.metrics import Metrics

    with pytest.raises(RuntimeError, match="before the process starts"):
        Metrics(multiprocess_dir=tmp_path)
