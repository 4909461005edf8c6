"""Store waits are bounded (issue 11 item 3): a write that cannot get SQLite's write lock within the
URL's ``timeout`` fails with ``StoreError``, which the API answers 503 ``store_unavailable``; a
malformed timeout is refused. PostgreSQL stopped, restarted and frozen: ``tests/faults``."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.errors import InputRejected, StoreError
from tactful.store import open_store
from tactful.store.backends import open_database
from tactful.tenants import create_tenant
from tests.api.conftest import Client

MSG = {"customer_id": "c1", "conversation_id": "k1", "channel": "chat", "text": "Where is my parcel?"}


def test_a_write_locked_by_another_process_is_a_503_with_a_code(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = open_store(f"sqlite:///{path}?timeout=0.2")
    auth = {"Authorization": f"Bearer {create_tenant(store, 'acme').api_key}"}
    client = Client(create_app(Engine(EngineParts(store)), Settings()))
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer, as SQLite sees it
    try:
        assert client.post("/v1/messages", json=MSG, headers=auth).status_code == 200  # warm
        other.execute("BEGIN IMMEDIATE")
        r = client.post("/v1/messages", json={**MSG, "event_id": "e-locked"}, headers=auth)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "store_unavailable"
        other.execute("ROLLBACK")
        again = client.post("/v1/messages", json={**MSG, "event_id": "e-locked"}, headers=auth)
        assert again.status_code == 200, again.text  # the re-sent event is decided once the lock is free
    finally:
        other.close()
        client.close()
        store.close()


def test_this_processs_writers_wait_for_the_write_slot_only_as_long_as_the_timeout(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'w.db'}?timeout=0.1")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.write():
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        with pytest.raises(StoreError) as caught, database.write():
            pass
        assert caught.value.code == "store_unavailable"
    finally:
        release.set()
        holder.join()
        database.close()


@pytest.mark.parametrize("scheme", ["sqlite:///x.db", "postgresql://u@127.0.0.1/db"])
@pytest.mark.parametrize("value", ["abc", "0", "-1", "99999"])
def test_a_malformed_timeout_is_refused(scheme: str, value: str) -> None:
    with pytest.raises(InputRejected) as caught:
        open_database(f"{scheme}?timeout={value}")
    assert caught.value.code == "unsupported_store_url"
