"""Opening stores: the scheme registry, URL options, in-memory SQLite, and failures surfacing as errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from tactful.errors import InputRejected, StoreError
from tactful.store import BACKENDS, open_store
from tactful.store.backends import open_database

from .conftest import DecisionFactory


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/db", "nosuch", "redis://127.0.0.1:6379", "sqlite:///x.db?synchronous=OFF"],
)
def test_unsupported_urls_are_rejected_naming_what_is_supported(url: str) -> None:
    with pytest.raises(InputRejected) as caught:
        open_store(url)
    assert caught.value.code == "unsupported_store_url"
    if "synchronous" not in url:
        assert "sqlite:///" in caught.value.message and "postgresql://" in caught.value.message


def test_every_registered_scheme_names_an_importable_backend() -> None:
    import importlib

    for scheme, module in BACKENDS.items():
        assert callable(importlib.import_module(module).open_database), scheme


@pytest.mark.parametrize(
    ("option", "expected"), [("", 2), ("?synchronous=NORMAL", 1), ("?synchronous=full", 2)]
)
def test_sqlite_file_runs_wal_with_the_chosen_sync_mode(tmp_path: Path, option: str, expected: int) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}{option}")
    try:
        with database.read() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == expected
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 5000
    finally:
        database.close()


def test_memory_stores_are_private_and_usable_from_threads(make_decision: DecisionFactory) -> None:
    first = open_store("sqlite:///:memory:")
    second = open_store("sqlite://")
    try:
        tenant = first.create_tenant("acme")
        assert second.get_tenant(tenant.tenant_id) is None
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(5):
                    first.record_decision(make_decision(tenant.tenant_id), {})
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        [result] = first.audit.verify(tenant.tenant_id)
        assert result.ok and result.checked == 20
    finally:
        first.close()
        second.close()


def test_ping_answers_while_open_and_fails_quietly_after_close(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert store.ping() is True
    store.close()
    (tmp_path / "db.sqlite").unlink()
    (tmp_path / "db.sqlite").mkdir()  # a directory where the database was: connecting now fails
    assert store.ping() is False


def test_an_unreachable_database_raises_store_error() -> None:
    # Port 1 on loopback refuses at once: a real failure, no mock.
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")
    assert caught.value.code == "store_unavailable"
    assert caught.value.status == 503


@pytest.mark.postgres
def test_a_missing_postgres_schema_raises_store_error() -> None:
    with pytest.raises(StoreError):
        open_store("postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dno_such_schema_x")


def test_a_sqlite_file_in_a_missing_folder_raises_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}")


def test_a_sqlite_file_keeps_the_connections_a_busy_api_process_uses(tmp_path: Path) -> None:
    """Twelve readers at once (an API process's thread pool under load), then twelve again: the
    second round reuses the first round's connections. With SQLAlchemy's default pool (5 kept) the
    7 beyond it were closed on return and reopened, each with its PRAGMAs and a cold page cache."""
    from sqlalchemy import event

    database = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    opened: list[object] = []
    event.listen(database.engine, "connect", lambda conn, _record: opened.append(conn))
    try:
        for _ in range(2):
            held = [database.engine.raw_connection() for _ in range(12)]
            for raw in held:
                raw.close()  # back to the pool
        assert len(opened) == 12
    finally:
        database.close()
