"""``GET /v1/customers/{id}/context`` and ``tactful context show`` / ``tactful features ...``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tactful.api.app import create_app
from tactful.cli import app
from tactful.config import Settings
from tactful.context.definitions import DEFAULT_SET
from tactful.engine import Engine
from tactful.store import SqlStore
from tactful.tenants import NewTenant, issue_key
from tests.api.conftest import Client
from tests.conftest import MessageFactory, put_customer
from tests.context.conftest import MovableClock

runner = CliRunner()


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    c = Client(create_app(engine, Settings(max_body_bytes=64 * 1024)))
    yield c
    c.close()


def test_context_api_shows_features_with_freshness_and_version(
    client: Client,
    engine: Engine,
    message: MessageFactory,
    tenant: NewTenant,
    store: SqlStore,
    clock: MovableClock,
) -> None:
    admin = {"Authorization": f"Bearer {tenant.api_key}"}
    put_customer(
        store, tenant.tenant.tenant_id, "cust-1", profile={"tier": "vip", "time_zone": "Europe/Paris"}
    )
    first = engine.decide(message("I am very unhappy with the delay"))
    clock.now += timedelta(hours=1)
    r = client.get("/v1/customers/cust-1/context", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["known"] is True and body["profile"]["tier"] == "vip" and body["time_zone"] == "Europe/Paris"
    assert body["definitions"].startswith("default+") and body["definition_version"] == 0
    contacts = body["features"]["inbound_contacts_24h"]
    assert contacts["value"] == 1 and contacts["stale"] is False
    assert contacts["as_of"].replace("Z", "+00:00") == first.decided_at.isoformat()
    # As known before the first message: nothing yet.
    before = (first.decided_at - timedelta(minutes=1)).isoformat()
    r = client.get("/v1/customers/cust-1/context", params={"as_of": before}, headers=admin)
    assert r.status_code == 200 and r.json()["features"]["inbound_contacts_24h"]["missing"] is True


def test_context_api_is_admin_only_and_validates_input(
    client: Client, tenant: NewTenant, store: SqlStore
) -> None:
    decide_key = issue_key(store, tenant.tenant.tenant_id, "decide")
    auditor_key = issue_key(store, tenant.tenant.tenant_id, "auditor")
    for key in (decide_key, auditor_key):
        r = client.get("/v1/customers/cust-1/context", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden_role"
    admin = {"Authorization": f"Bearer {tenant.api_key}"}
    r = client.get("/v1/customers/cust-1/context", params={"as_of": "2026-01-01T00:00:00"}, headers=admin)
    assert r.status_code == 422  # a naive time is ambiguous: rejected, not guessed
    # No stored profile and not a single event: 404 as the docs say (it was 200 with defaults).
    unknown = client.get("/v1/customers/nobody/context", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["code"] == "customer_not_found"


def test_context_api_with_personalisation_off_has_no_profile_or_personal_features(
    client: Client, engine: Engine, message: MessageFactory, tenant: NewTenant, store: SqlStore
) -> None:
    put_customer(store, tenant.tenant.tenant_id, "c-off", preferences={"personalisation": "off"})
    engine.decide(message("hello", customer="c-off"))
    body = client.get(
        "/v1/customers/c-off/context", headers={"Authorization": f"Bearer {tenant.api_key}"}
    ).json()
    assert body["profile"] is None and body["personalisation"] == "off"
    assert set(body["features"]) == {"proactive_contacts_24h", "proactive_contacts_7d"}


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["tenants", "create", "demo", "--db", url, "--json"]).exit_code == 0
    r = runner.invoke(app, ["decide", "--db", url, "--customer", "cust-9", "--text", "where is my refund?"])
    assert r.exit_code == 0, r.output
    return url


def test_cli_context_show_and_rebuild(db: str) -> None:
    r = runner.invoke(app, ["context", "show", "--customer", "cust-9", "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["customer_id"] == "cust-9" and shown["features"]["last_channel_used"]["value"] == "chat"
    r = runner.invoke(app, ["features", "rebuild", "--db", db])
    assert r.exit_code == 0 and "rebuilt 1 customers of 1 tenant(s) from 2 events" in r.stdout
    again = json.loads(
        runner.invoke(app, ["context", "show", "--customer", "cust-9", "--db", db, "--json"]).stdout
    )
    moving = "seconds_since_last_contact"  # read at the wall-clock time of each command
    assert {k: v["value"] for k, v in again["features"].items() if k != moving} == {
        k: v["value"] for k, v in shown["features"].items() if k != moving
    }


def test_cli_publish_backfill_activate(db: str, tmp_path: Path) -> None:
    path = tmp_path / "features.yaml"
    path.write_text(DEFAULT_SET.read_text().replace("alpha: 0.3", "alpha: 0.5"))
    r = runner.invoke(app, ["features", "publish", str(path), "--db", db])
    assert r.exit_code == 0 and "v1 (published)" in r.stdout
    r = runner.invoke(app, ["features", "activate", "1", "--db", db])
    assert r.exit_code == 2 and "features_not_backfilled" in r.output
    assert runner.invoke(app, ["features", "backfill", "1", "--db", db]).exit_code == 0
    assert runner.invoke(app, ["features", "activate", "1", "--db", db]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["features", "list", "--db", db, "--json"]).stdout)
    assert listed["active"].startswith("v1+") and listed["versions"][0]["status"] == "active"


def test_cli_rejects_bad_input(db: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["features", "rebuild", "--since", "yesterday", "--db", db])
    assert r.exit_code == 2 and "invalid_date" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("features: [")
    r = runner.invoke(app, ["features", "publish", str(bad), "--db", db])
    assert r.exit_code == 2 and "invalid_features" in r.output
    r = runner.invoke(app, ["features", "publish", str(tmp_path / "missing.yaml"), "--db", db])
    assert r.exit_code == 2 and "unreadable_file" in r.output
    r = runner.invoke(app, ["context", "show", "--customer", "x", "--tenant", "nope", "--db", db])
    assert r.exit_code == 2 and "tenant_not_found" in r.output
