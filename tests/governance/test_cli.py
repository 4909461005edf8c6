"""``tactful keys``, ``tactful retention`` and ``tactful report compliance`` in-process, on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tactful.cli import app
from tactful.domain import TenantId
from tactful.errors import AuthError
from tactful.store import open_store
from tactful.tenants import Authenticator
from tests.store.conftest import DecisionFactory

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    r = runner.invoke(app, ["tenants", "create", "acme", "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    return url


def test_keys_create_list_revoke(db: str) -> None:
    r = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--role", "auditor", "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    store = open_store(db)
    try:
        assert Authenticator(store).authenticate(made["api_key"]).role == "auditor"
        r = runner.invoke(app, ["keys", "list", "--tenant", "acme", "--db", db, "--json"])
        listed = json.loads(r.stdout)
        assert [k["role"] for k in listed] == ["admin", "auditor"]
        assert made["api_key"] not in r.stdout  # shown once, never again
        r = runner.invoke(app, ["keys", "revoke", made["key_id"], "--tenant", "acme", "--db", db])
        assert r.exit_code == 0, r.output
        with pytest.raises(AuthError, match="unknown or revoked"):
            Authenticator(store).authenticate(made["api_key"])
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (["keys", "create", "--tenant", "acme", "--role", "root"], "invalid_role", 2),
        (["keys", "create", "--tenant", "nobody", "--role", "admin"], "tenant_not_found", 2),
        (["keys", "revoke", "key_0000000000000000", "--tenant", "acme"], "api_key_not_found", 2),
        (["retention", "set", "--tenant", "acme", "--kind", "x", "--days", "3"], "invalid_retention_kind", 2),
        (["report", "compliance", "--tenant", "acme", "--since", "yesterday"], "invalid_since", 2),
        (
            ["report", "compliance", "--tenant", "acme", "--since", "2026-01-01", "--format", "pdf"],
            "invalid_format",
            2,
        ),
    ],
)
def test_bad_input_exits_2_with_a_code(db: str, args: list[str], code: str, exit_code: int) -> None:
    r = runner.invoke(app, [*args, "--db", db])
    assert r.exit_code == exit_code and code in r.stderr, r.output


def test_retention_set_show_purge_is_audited(db: str) -> None:
    r = runner.invoke(
        app, ["retention", "set", "--tenant", "acme", "--kind", "decisions", "--days", "30", "--db", db]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["retention", "show", "--tenant", "acme", "--db", db])
    assert json.loads(r.stdout)["decisions"] == 30
    r = runner.invoke(app, ["retention", "purge", "--tenant", "acme", "--db", db, "--json"])
    assert r.exit_code == 0, r.output
    assert {(p["table"], p["rows"]) for p in json.loads(r.stdout)} == {
        ("decisions", 0),
        ("outcomes", 0),
        ("learning_events", 0),
        ("decision_facts", 0),
    }
    r = runner.invoke(app, ["audit", "verify", "--db", db])
    assert r.exit_code == 0, r.output


def test_report_compliance_json_and_html_file(db: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["decide", "--db", db, "--tenant", "acme", "--text", "Where is my parcel?"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["report", "compliance", "--tenant", "acme", "--since", "2000-01-01", "--db", db])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["decisions"] == 1 and report["violations"] == [] and report["audit_chain_ok"]
    out = tmp_path / "report.html"
    args = ["report", "compliance", "--tenant", "acme", "--since", "2000-01-01", "--format", "html"]
    r = runner.invoke(app, [*args, "--out", str(out), "--db", db])
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_report_compliance_exits_1_on_a_violation(db: str) -> None:
    store = open_store(db)
    try:
        tenant = store.find_tenant_by_name("acme")
        assert tenant is not None
        tid = TenantId(tenant.tenant_id)
        decision = DecisionFactory()(tid)  # primary chat, fallback email
        consent = {"opted_out": ["email"], "do_not_contact": False, "quiet_hours": None, "time_zone": "UTC"}
        store.record_decision(decision, {"pii_kinds": [], "consent": consent})
    finally:
        store.close()
    r = runner.invoke(app, ["report", "compliance", "--tenant", "acme", "--since", "2000-01-01", "--db", db])
    assert r.exit_code == 1 and "1 constraint violation" in r.stderr
    assert json.loads(r.stdout)["violations"][0]["rule"] == "opt_out"
