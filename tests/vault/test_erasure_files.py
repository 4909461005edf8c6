"""Issue 11 item 1: an erasure leaves nothing recoverable in a copy of the database's folder.

Before the fix the wrapped data key and the ciphertexts stayed in the ``-wal`` file, the master key
sat beside the database (``<db>.master-key``) and the files were world-readable: a copy of the
folder decrypted every erased value."""

from __future__ import annotations

import base64
import logging
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine
from tactful.tenants import NewTenant, create_tenant
from tests.api.conftest import Client
from tests.conftest import PG_SERVER, postgres_schema

VALUES = {
    "email": "anna.lopez@example.com",
    "phone": "+44 7700 900123",
    "iban": "GB82 WEST 1234 5698 7654 32",
}


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    c = Client(create_app(engine, Settings()))
    yield c
    c.close()


def _seed(client: Client, tenant: NewTenant, customer: str) -> None:
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    body = {"customer_id": customer, "conversation_id": "k1", "channel": "chat"}
    for kind, value in VALUES.items():
        r = client.post(
            "/v1/messages", json={**body, "text": f"my {kind} is {value}, please fix it"}, headers=auth
        )
        assert r.status_code == 200, r.text


def _secrets(db: Path, customer: str) -> list[bytes]:
    """The erasure's targets as stored: the wrapped data key and every ciphertext."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        keys = [
            bytes(r[0])
            for r in con.execute(
                "SELECT wrapped_key FROM vault_customer_keys WHERE customer_id = ?", (customer,)
            )
        ]
        sealed = [
            bytes(r[0])
            for r in con.execute("SELECT sealed FROM vault_values WHERE customer_id = ?", (customer,))
        ]
    finally:
        con.close()
    assert len(keys) == 1 and len(sealed) == len(VALUES)
    return keys + sealed


def _folder_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def test_a_copy_of_the_folder_after_erasure_holds_no_key_and_no_ciphertext(
    client: Client, tenant: NewTenant, db_url: str, tmp_path: Path
) -> None:
    db = Path(db_url.removeprefix("sqlite:///"))
    _seed(client, tenant, "cust-erased")
    _seed(client, tenant, "cust-kept")
    secrets = _secrets(db, "cust-erased")
    kept = _secrets(db, "cust-kept")
    before = _folder_bytes(db.parent)
    assert all(s in before for s in secrets)  # the check can fail: they are in the files now

    r = client.request(
        "DELETE", "/v1/customers/cust-erased", headers={"Authorization": f"Bearer {tenant.api_key}"}
    )
    assert r.status_code == 204, r.text

    copy = tmp_path / "copy"
    shutil.copytree(db.parent, copy, ignore=shutil.ignore_patterns("copy"))
    raw = _folder_bytes(copy)
    assert [s for s in secrets if s in raw] == []  # neither in the database file nor in its -wal
    assert all(s in raw for s in kept)  # the other customer's data is untouched
    # And nothing in the folder could unwrap them anyway: no key file beside the database.
    assert not [p.name for p in copy.iterdir() if "key" in p.name]


def test_database_files_are_private_and_the_master_key_is_elsewhere(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    engine = Engine.from_settings(
        Settings(database_url=f"sqlite:///{folder / 't.db'}", key_dir=tmp_path / "keys")
    )
    try:
        tenant = create_tenant(engine.store, "acme")
        client = Client(create_app(engine, Settings()))
        _seed(client, tenant, "c1")
        client.close()
        files = sorted(p.name for p in folder.iterdir())
        assert "t.db" in files and "t.db-wal" in files
        for name in files:
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
        assert engine.vault is not None and str(tmp_path / "keys") in engine.vault.master_source
        assert stat.S_IMODE((tmp_path / "keys" / "master.key").stat().st_mode) == 0o600
    finally:
        engine.close()


def test_postgres_erasure_vacuums_the_key_table(tmp_path: Path) -> None:
    with postgres_schema() as url:
        key = base64.b64encode(b"k" * 32).decode()
        engine = Engine.from_settings(Settings(database_url=url, master_key=key))
        try:
            tenant = create_tenant(engine.store, "acme")
            client = Client(create_app(engine, Settings()))
            _seed(client, tenant, "c1")
            r = client.request(
                "DELETE", "/v1/customers/c1", headers={"Authorization": f"Bearer {tenant.api_key}"}
            )
            client.close()
            assert r.status_code == 204, r.text
            schema = url.split("search_path%3D")[1]
            with psycopg.connect(PG_SERVER) as conn:
                row = conn.execute(
                    "SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables"
                    " WHERE schemaname = %s AND relname = 'vault_customer_keys'",
                    (schema,),
                ).fetchone()
            assert row is not None
            dead, vacuums = row
            assert vacuums >= 1 and dead == 0
        finally:
            engine.close()


def test_postgres_without_a_master_key_warns_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    with postgres_schema() as url:
        with caplog.at_level(logging.WARNING, logger="tactful.engine"):
            engine = Engine.from_settings(Settings(database_url=url))
        try:
            assert engine.vault is None
            assert any("TACTFUL_MASTER_KEY" in r.getMessage() for r in caplog.records)
        finally:
            engine.close()
