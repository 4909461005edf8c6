"""A SQLite file store's WAL is checkpointed by a thread of its own (store/wal.py; the default,
``checkpoint=background``), not inside a writer's commit — the pool's connections only checkpoint
past a backstop, every ``EVERY_COMMITS`` commits the background thread copies the log into the
database file, and the next writer restarts the log. ``checkpoint=commit`` leaves it to SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tactful.errors import InputRejected
from tactful.store import SqlStore, open_store
from tactful.store.database import PreparedQuery
from tactful.store.schema import tenants
from tactful.store.wal import BACKSTOP_PAGES, EVERY_COMMITS
from tests.store.conftest import EPOCH


@pytest.fixture
def file_store(tmp_path: Path) -> SqlStore:
    store = open_store(f"sqlite:///{tmp_path / 'wal.db'}")
    yield store  # type: ignore[misc]
    store.close()


def _insert(store: SqlStore, i: int) -> None:
    query = PreparedQuery(tenants.insert(), store._db.engine)
    with store._db.raw_write() as tx:
        tx.execute(query, {"tenant_id": f"ten_{i}", "name": f"t{i}", "created_at": EPOCH})


def _salt(path: Path) -> bytes:
    """The WAL header's salts: they change whenever a writer restarts the log from its start."""
    return (path.parent / (path.name + "-wal")).read_bytes()[16:24]


def test_commits_leave_the_checkpoint_to_the_background_thread(file_store: SqlStore, tmp_path: Path) -> None:
    checkpointer = file_store._db.checkpointer
    assert checkpointer is not None
    raw = file_store._db.engine.raw_connection()
    try:
        (autocheckpoint,) = raw.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()  # type: ignore[union-attr]
    finally:
        raw.close()
    assert autocheckpoint == BACKSTOP_PAGES  # a commit checkpoints itself only past the backstop

    # Every EVERY_COMMITS commits kick the thread (open_store's own commits count too).
    for i in range(EVERY_COMMITS):
        _insert(file_store, i)
    assert checkpointer.wait_for(1)
    checkpointer.kick()  # once more, with no writer under way: all of the log is copied back
    assert checkpointer.wait_for(2)
    assert checkpointer.last is not None
    frames, copied = checkpointer.last
    assert frames > 0 and copied == frames

    # The next writer starts the log over; every row is in the database either way.
    before = _salt(tmp_path / "wal.db")
    _insert(file_store, 10_000)
    assert _salt(tmp_path / "wal.db") != before
    con = sqlite3.connect(tmp_path / "wal.db")
    try:
        assert con.execute("SELECT count(*) FROM tenants").fetchone() == (EVERY_COMMITS + 1,)
    finally:
        con.close()


def test_close_stops_the_thread_and_scrub_still_empties_the_log(file_store: SqlStore, tmp_path: Path) -> None:
    checkpointer = file_store._db.checkpointer
    assert checkpointer is not None
    for i in range(EVERY_COMMITS):
        _insert(file_store, i)
    assert checkpointer.wait_for(1)
    assert file_store._db.scrub(("tenants",))
    assert (tmp_path / "wal.db-wal").stat().st_size == 0
    thread = checkpointer._thread
    assert thread is not None and thread.is_alive()
    file_store._db.close()
    assert not thread.is_alive()


def test_checkpoint_commit_and_an_in_memory_store_have_no_checkpointer(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'commit.db'}?checkpoint=commit", "sqlite:///:memory:"):
        store = open_store(url)
        try:
            assert store._db.checkpointer is None
            raw = store._db.engine.raw_connection()
            try:
                (pages,) = raw.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()  # type: ignore[union-attr]
            finally:
                raw.close()
            assert pages == 1000  # SQLite's own, in the commit that fills the log
        finally:
            store.close()


def test_an_unknown_checkpoint_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputRejected):
        open_store(f"sqlite:///{tmp_path / 'x.db'}?checkpoint=never")
