"""Experiments through the engine, the HTTP API and the CLI: every decision records its experiment
and arm (a customer keeps theirs), guardrails roll a harmful candidate back automatically (audited),
promotion activates the candidate, roles and tenants are respected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tactful.api.app import create_app
from tactful.cli import app as cli
from tactful.config import Settings, default_policy_file
from tactful.engine import Engine, EngineParts
from tactful.policy.experiments import assign_arm
from tactful.store import SqlStore, open_store
from tactful.tenants import NewTenant, create_tenant, issue_key
from tests.api.conftest import Client
from tests.conftest import FixedClock

BASE = default_policy_file().read_text(encoding="utf-8")


def with_rule(rule: dict[str, object]) -> str:
    data = yaml.safe_load(BASE)
    data["rules"].append(rule)
    return yaml.safe_dump(data, sort_keys=False)


#: A candidate that escalates every chat message: harmful on the escalation guardrail.
ESCALATE_ALL = with_rule(
    {"id": "escalate-everything", "kind": "action", "action": "escalate", "when": "true", "priority": 900}
)


class Service:
    def __init__(self, tmp: Path, clock: FixedClock) -> None:
        self.url = f"sqlite:///{tmp / 'exp.db'}"
        self.store: SqlStore = open_store(self.url)
        self.tenant: NewTenant = create_tenant(self.store, "acme")
        self.clock = clock
        self.engine = Engine(EngineParts(self.store, clock=clock))
        self.client = Client(create_app(self.engine, Settings()))
        self.admin = {"Authorization": f"Bearer {self.tenant.api_key}"}
        tid = self.tenant.tenant.tenant_id
        self.auditor = {"Authorization": f"Bearer {issue_key(self.store, tid, 'auditor')}"}  # type: ignore[arg-type]

    def publish(self, source: str) -> int:
        r = self.client.post("/v1/policies", json={"source": source}, headers=self.admin)
        assert r.status_code == 201, r.text
        return int(r.json()["version"])

    def decide(self, customer: str) -> dict[str, object]:
        body = {
            "customer_id": customer,
            "conversation_id": f"c-{customer}",
            "channel": "chat",
            "text": "Where is my order?",
        }
        r = self.client.post("/v1/messages", json=body, headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def service(tmp_path: Path, clock: FixedClock) -> Iterator[Service]:
    s = Service(tmp_path, clock)
    yield s
    s.close()


def test_decisions_record_their_arm_and_a_harmful_candidate_is_rolled_back(service: Service) -> None:
    candidate = service.publish(ESCALATE_ALL)
    body = {
        "kind": "ab",
        "candidate_version": candidate,
        "share": 0.5,
        "min_samples": 20,
        "outcome_window_s": 0,
    }
    r = service.client.post("/v1/experiments", json=body, headers=service.admin)
    assert r.status_code == 201, r.text
    experiment_id = r.json()["experiment_id"]
    assert r.json()["state"] == "running" and r.json()["verdict"] == "wait"
    assert (
        service.client.post("/v1/experiments", json=body, headers=service.admin).json()["code"]
        == "experiment_running"
    )

    arms: dict[str, str] = {}
    for i in range(80):
        customer = f"cust-{i % 40}"
        decision = service.decide(customer)
        assert decision["experiment"] == experiment_id
        arm = str(decision["arm"])
        assert arm == assign_arm(experiment_id, customer, 0.5)
        assert arms.setdefault(customer, arm) == arm  # a customer stays in their arm
        assert (decision["action"]["type"] == "escalate") == (arm == "candidate")  # type: ignore[index]
        outcome = {"decision_id": decision["decision_id"], "type": "csat", "value": 4}
        assert service.client.post("/v1/outcomes", json=outcome, headers=service.admin).status_code == 201
    status = service.client.get(f"/v1/experiments/{experiment_id}", headers=service.auditor).json()
    assert status["verdict"] == "rollback", status
    service.clock.now += timedelta(minutes=5)  # the monitor looks at most once a minute per tenant
    last = service.decide("cust-0")
    outcome = {"decision_id": last["decision_id"], "type": "resolved"}
    assert service.client.post("/v1/outcomes", json=outcome, headers=service.admin).status_code == 201
    ended = service.client.get(f"/v1/experiments/{experiment_id}", headers=service.admin).json()
    assert ended["state"] == "rolled_back"
    assert "escalation" in ended["result"]["reason"]
    assert ended["result"]["exposed_customers"] == sum(a == "candidate" for a in arms.values())
    # Everyone gets the active policy again, outside any experiment.
    after = service.decide("cust-1")
    assert after["experiment"] is None and after["action"]["type"] != "escalate"  # type: ignore[index]
    kinds = [e.kind for e in service.store.audit.entries(service.tenant.tenant.tenant_id)]  # type: ignore[arg-type]
    assert "experiment.create" in kinds and "experiment.rollback" in kinds
    assert all(v.ok for v in service.store.audit.verify())


def test_promote_activates_the_candidate_and_roles_and_tenants_are_respected(service: Service) -> None:
    candidate = service.publish(
        with_rule({"id": "x-empathy", "kind": "tone", "when": "true", "style": "warm"})
    )
    body = {"kind": "canary", "candidate_version": candidate}
    assert service.client.post("/v1/experiments", json=body, headers=service.auditor).status_code == 403
    r = service.client.post("/v1/experiments", json=body, headers=service.admin)
    assert r.status_code == 201 and r.json()["share"] == 0.05 and r.json()["steps"] == [0.05, 0.25, 0.5, 1.0]
    experiment_id = r.json()["experiment_id"]
    listed = service.client.get("/v1/experiments", headers=service.auditor).json()
    assert [e["experiment_id"] for e in listed] == [experiment_id]
    other = create_tenant(service.store, "globex")
    other_auth = {"Authorization": f"Bearer {other.api_key}"}
    assert service.client.get(f"/v1/experiments/{experiment_id}", headers=other_auth).status_code == 404
    assert service.client.get("/v1/experiments", headers=other_auth).json() == []
    assert (
        service.client.post(f"/v1/experiments/{experiment_id}/promote", headers=service.auditor).status_code
        == 403
    )
    r = service.client.post(f"/v1/experiments/{experiment_id}/promote", headers=service.admin)
    assert r.status_code == 200 and r.json()["state"] == "promoted"
    active = service.client.get("/v1/policies/active", headers=service.admin).json()
    assert active["version"] == candidate
    assert (
        service.client.post(f"/v1/experiments/{experiment_id}/stop", headers=service.admin).json()["code"]
        == "experiment_ended"
    )
    assert service.decide("cust-9")["experiment"] is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "ab"}, "invalid_candidate"),
        ({"kind": "ab", "candidate_version": 1}, "candidate_is_active"),
        ({"kind": "ab", "candidate_version": 99}, "policy_version_not_found"),
        ({"kind": "canary", "candidate_version": 2, "steps": [0.5, 0.25]}, "invalid_experiment"),
        ({"kind": "canary", "candidate_version": 2, "steps": [1.0]}, "invalid_share"),
        ({"kind": "ab", "candidate_version": 2, "share": 1.5}, "validation_error"),
    ],
)
def test_bad_experiments_are_refused_with_a_code(
    service: Service, body: dict[str, object], code: str
) -> None:
    service.publish(with_rule({"id": "y", "kind": "tone", "when": "true", "style": "brisk"}))
    r = service.client.post("/v1/experiments", json=body, headers=service.admin)
    assert 400 <= r.status_code < 500 and r.json()["code"] == code, r.text


def test_cli_create_status_check_stop(service: Service) -> None:
    candidate = service.publish(with_rule({"id": "z", "kind": "tone", "when": "true", "style": "calm"}))
    runner = CliRunner()
    db = ["--tenant", "acme", "--db", service.url]
    r = runner.invoke(
        cli,
        [
            "experiments",
            "create",
            "--candidate-version",
            str(candidate),
            "--kind",
            "ab",
            "--share",
            "0.3",
            "--json",
            *db,
        ],
    )
    assert r.exit_code == 0, r.output
    experiment_id = json.loads(r.stdout)["experiment_id"]
    r = runner.invoke(cli, ["experiments", "status", experiment_id, "--json", *db])
    assert r.exit_code == 0 and json.loads(r.stdout)["share"] == 0.3
    r = runner.invoke(cli, ["experiments", "check", "--json", "--db", service.url])
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["verdict"] == "wait"
    r = runner.invoke(cli, ["experiments", "stop", experiment_id, *db])
    assert r.exit_code == 0 and "stopped" in r.output
    r = runner.invoke(cli, ["experiments", "stop", experiment_id, *db])
    assert r.exit_code == 2 and "experiment_ended" in r.output
    r = runner.invoke(cli, ["experiments", "create", "--kind", "ab", *db])
    assert r.exit_code == 2 and "invalid_candidate" in r.output
