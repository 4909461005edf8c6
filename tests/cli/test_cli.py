"""The ``tactful`` command line, run in-process with typer's runner against a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tactful.cli import app
from tactful.config import default_policy_file

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    r = runner.invoke(app, ["tenants", "create", "demo", "--db", url, "--json"])
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    assert created["api_key"].startswith("tk_") and created["tenant_id"]
    return url


def decide(db: str, *args: str, stdin: str | None = None) -> dict[str, object]:
    r = runner.invoke(app, ["decide", "--db", db, *args], input=stdin)
    assert r.exit_code == 0, r.output
    result: dict[str, object] = json.loads(r.stdout)
    return result


def test_tenant_names_are_unique(db: str) -> None:
    r = runner.invoke(app, ["tenants", "create", "demo", "--db", db, "--json"])
    assert r.exit_code == 2 and "tenant_exists" in r.stderr


def test_decide_from_flags_and_from_stdin(db: str) -> None:
    d = decide(
        db,
        "--text",
        "My parcel is late AGAIN!!! This is ridiculous",
        "--channel",
        "sms",
        "--customer",
        "new-customer",
    )
    assert d["channel"]["primary"] == "sms"  # type: ignore[index]
    assert "new customer: default profile and preferences" in d["explanation"]["notes"]  # type: ignore[index]
    msg = {
        "customer_id": "c2",
        "conversation_id": "k2",
        "channel": "email",
        "text": "Dear team, kindly advise.",
    }
    d2 = decide(db, stdin=json.dumps(msg))
    assert d2["channel"]["primary"] == "email"  # type: ignore[index]
    assert d2["reply"]["subject"]  # type: ignore[index]


def test_decide_rejects_bad_input_with_exit_2(db: str) -> None:
    r = runner.invoke(app, ["decide", "--db", db, "--text", "hi", "--channel", "pigeon"])
    assert r.exit_code == 2 and "unknown channel" in r.stderr
    r = runner.invoke(app, ["decide", "--db", db], input="{not json")
    assert r.exit_code == 2 and "invalid_message" in r.stderr
    r = runner.invoke(app, ["decide", "--db", db, "--tenant", "nobody", "--text", "hi"])
    assert r.exit_code == 2 and "tenant_not_found" in r.stderr


def test_policy_validate_names_file_line_and_rule(tmp_path: Path) -> None:
    good = runner.invoke(app, ["policy", "validate", str(default_policy_file())])
    assert good.exit_code == 0, good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema_version: 1\nrules:\n  - id: r1\n    kind: tone\n    shift: {warmth: 0.1}\n"
        "  - id: r2\n    kind: tone\n    when: 'signals.anger >'\n"
    )
    r = runner.invoke(app, ["policy", "validate", str(bad)])
    assert r.exit_code == 1
    assert f"{bad}:" in r.stderr and "r2" in r.stderr


def test_policy_publish_list_show_diff_activate_rollback(db: str, tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load(default_policy_file().read_text())
    doc["rules"] = doc["rules"][1:]
    removed = yaml.safe_load(default_policy_file().read_text())["rules"][0]["id"]
    new = tmp_path / "v2.yaml"
    new.write_text(yaml.safe_dump(doc))
    r = runner.invoke(app, ["policy", "publish", str(new), "--db", db])
    assert r.exit_code == 0 and "published" in r.stdout and "(active)" not in r.stdout
    r = runner.invoke(app, ["policy", "diff", "1", "2", "--db", db])
    assert r.exit_code == 0 and removed in r.stdout
    assert runner.invoke(app, ["policy", "activate", "2", "--db", db]).exit_code == 0
    listing = runner.invoke(app, ["policy", "list", "--db", db]).stdout
    assert "* v2+" in listing
    shown = runner.invoke(app, ["policy", "show", "--db", db])
    assert shown.exit_code == 0 and yaml.safe_load(shown.stdout) == doc
    r = runner.invoke(app, ["policy", "rollback", "--db", db])
    assert r.exit_code == 0 and "v1+" in r.stdout
    r = runner.invoke(app, ["policy", "rollback", "--db", db])
    assert r.exit_code == 2 and "nothing_to_roll_back" in r.stderr
    assert runner.invoke(app, ["policy", "activate", "7", "--db", db]).exit_code == 2


def _tamper(db: str, sql: str) -> None:
    """As someone with the database file: the append-only triggers go first."""
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    con.executescript(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
        " DROP TRIGGER decisions_no_update;"
    )
    con.executescript(sql)
    con.commit()
    con.close()


@pytest.mark.parametrize(
    ("sql", "bad_seq"),
    [
        ("UPDATE audit_log SET payload = replace(payload, '\"sms\"', '\"email\"') WHERE seq = 4", 4),
        ("DELETE FROM audit_log WHERE seq = 4", 4),
        (
            "UPDATE audit_log SET seq = -4 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 5;"
            " UPDATE audit_log SET seq = 5 WHERE seq = -4;",
            4,
        ),
        ("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)", None),
    ],
    ids=["altered", "deleted", "reordered", "tail-deleted"],
)
def test_audit_verify_names_the_first_broken_entry(db: str, sql: str, bad_seq: int | None) -> None:
    for i in range(4):
        decide(db, "--text", f"my sms bill number {i} is wrong", "--channel", "sms")
    ok = runner.invoke(app, ["audit", "verify", "--db", db])
    assert ok.exit_code == 0 and "ok" in ok.stdout
    _tamper(db, sql)
    r = runner.invoke(app, ["audit", "verify", "--db", db])
    assert r.exit_code == 1, r.stdout
    assert "BROKEN" in r.stdout
    if bad_seq is not None:
        assert f"seq {bad_seq}" in r.stdout


def test_demo_runs_on_the_bundled_sample(tmp_path: Path) -> None:
    from tactful.demo import SAMPLE

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    r = runner.invoke(app, ["demo", "--db", url, "--data", str(SAMPLE), "--show", "5"])
    assert r.exit_code == 0, r.output
    assert "audit chain: verified" in r.stdout and "tk_" in r.stdout
    again = runner.invoke(app, ["demo", "--db", url, "--data", str(SAMPLE), "--show", "0"])
    assert again.exit_code == 0, again.output  # re-running reuses the tenant and replays idempotently


def test_audit_anchor_then_verify_catches_truncation(db: str, tmp_path: Path) -> None:
    for i in range(3):
        decide(db, "--text", f"my sms bill number {i} is wrong", "--channel", "sms")
    anchor = tmp_path / "anchor.json"
    made = runner.invoke(app, ["audit", "anchor", "--out", str(anchor), "--db", db])
    assert made.exit_code == 0, made.output
    ok = runner.invoke(app, ["audit", "verify", "--anchor", str(anchor), "--db", db])
    assert ok.exit_code == 0 and "3 decisions" in ok.stdout, ok.output
    # Cut the last entry and the newest decision, and point the head at what is left: with the
    # head's signature gone stale this fails already; the anchor names the truncation too.
    _tamper(
        db,
        "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log);"
        " DELETE FROM decisions WHERE decided_at = (SELECT max(decided_at) FROM decisions);"
        " UPDATE audit_heads SET seq = seq - 1,"
        " hash = (SELECT hash FROM audit_log WHERE seq = audit_heads.seq - 1);",
    )
    r = runner.invoke(app, ["audit", "verify", "--anchor", str(anchor), "--db", db])
    assert r.exit_code == 1 and "BROKEN" in r.stdout and "truncated" in r.stdout, r.output
    anchor.write_text(anchor.read_text().replace('"seq": ', '"seq": 1'))
    forged = runner.invoke(app, ["audit", "verify", "--anchor", str(anchor), "--db", db])
    assert forged.exit_code == 2 and "anchor_forged" in forged.stderr


def test_version_and_tenants_list(db: str) -> None:
    from tactful import __version__

    v = runner.invoke(app, ["--version"])
    assert v.exit_code == 0 and v.stdout.strip() == f"tactful {__version__}"
    assert runner.invoke(app, ["tenants", "create", "zeta", "--db", db]).exit_code == 0
    listed = runner.invoke(app, ["tenants", "list", "--db", db, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [t["name"] for t in json.loads(listed.stdout)] == ["demo", "zeta"]
    plain = runner.invoke(app, ["tenants", "list", "--db", db])
    assert plain.exit_code == 0 and "zeta" in plain.stdout


def test_serve_picks_uvloop_and_httptools_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from tactful.cli import server_implementations

    assert server_implementations() == ("uvloop", "httptools")  # runtime dependencies
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    assert server_implementations() == ("asyncio", "h11")  # a platform without them still serves


def test_python_dash_m_runs_the_same_cli() -> None:
    """``python -m tactful --version`` works where the console script is not on PATH."""
    import subprocess
    import sys

    from tactful import __version__

    done = subprocess.run(
        [sys.executable, "-m", "tactful", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout
