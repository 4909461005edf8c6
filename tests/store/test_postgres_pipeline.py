"""The decision's pipelined transaction on PostgreSQL (store/postgres_pipeline.py): BEGIN and COMMIT
ride in the pipeline, so its rows commit together or not at all, and the pooled connection goes back
as it came whichever way the transaction ended."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tactful.store import SqlStore, open_store
from tactful.store.database import PreparedQuery, RawTransaction
from tests.conftest import postgres_schema

pytestmark = pytest.mark.postgres

_CREATE = "CREATE TABLE pipeline_probe (id integer PRIMARY KEY)"


def _rows(store: SqlStore) -> list[int]:
    with store._db.read() as conn:
        return [int(r[0]) for r in conn.execute(text("SELECT id FROM pipeline_probe ORDER BY id"))]


def test_rows_commit_together_and_nothing_of_a_failed_transaction_stays() -> None:
    with postgres_schema() as url:
        store = open_store(url)
        insert = PreparedQuery(text("INSERT INTO pipeline_probe (id) VALUES (:id)"), store._db.engine)

        def _insert(tx: RawTransaction, row_id: int) -> None:
            tx.execute(insert, {"id": row_id})

        try:
            with store._db.write() as conn:
                conn.exec_driver_sql(_CREATE)
            with store._db.raw_write(pipeline=True) as tx:
                _insert(tx, 1)
                _insert(tx, 2)
            # A statement fails (a duplicate key): the error surfaces at the commit, as
            # SQLAlchemy's, and the row sent before it is rolled back with it.
            with pytest.raises(IntegrityError), store._db.raw_write(pipeline=True) as tx:
                _insert(tx, 3)
                _insert(tx, 1)
            # The caller raises mid-transaction: nothing of it is stored either.
            with pytest.raises(RuntimeError, match="caller"), store._db.raw_write(pipeline=True) as tx:
                _insert(tx, 4)
                raise RuntimeError("caller")
            assert _rows(store) == [1, 2]
            # Every pooled connection is back idle and out of autocommit: the next transactions
            # (pipelined or not) on any of them behave.
            with store._db.raw_write() as tx:
                _insert(tx, 5)
            with store._db.raw_write(pipeline=True) as tx:
                _insert(tx, 6)
            assert _rows(store) == [1, 2, 5, 6]
            raw = store._db.engine.raw_connection()
            try:
                driver = raw.driver_connection
                assert driver is not None
                assert driver.autocommit is False  # type: ignore[attr-defined]
                assert driver.info.transaction_status == 0  # type: ignore[attr-defined]  # IDLE
            finally:
                raw.close()
        finally:
            store.close()
