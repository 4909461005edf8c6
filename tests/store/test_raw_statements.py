"""The decision path's raw statements (store/database.py): ``PreparedQuery`` binds values through a
plan worked out once (the column types' processors, the statement's own values, the driver's
parameter style), and ``Database.raw_write`` runs a transaction on the DBAPI connection that
commits, rolls back and reports driver errors as SQLAlchemy's — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from tactful.store import SqlStore
from tactful.store.database import PreparedQuery
from tactful.store.schema import tenants
from tests.store.conftest import EPOCH


def _tenant_rows(store: SqlStore) -> list[tuple[str, str]]:
    query = select(tenants.c.tenant_id, tenants.c.name).order_by(tenants.c.name)
    with store._db.read() as conn:
        return [(row.tenant_id, row.name) for row in conn.execute(query)]


def test_a_prepared_query_binds_typed_values_and_its_own(store: SqlStore) -> None:
    for name in ("a", "b", "c"):
        store.create_tenant(name)
    # A timestamp compared through the column type's processor, and a LIMIT the statement
    # carries itself (not a ``b_`` parameter): both bound by the plan, in the driver's style.
    since = PreparedQuery(
        select(tenants.c.name)
        .where(tenants.c.created_at > bindparam("b_since", type_=tenants.c.created_at.type))
        .order_by(tenants.c.name)
        .limit(2),
        store._db.engine,
    )
    with store._db.raw_write() as tx:
        assert tx.fetch_all(since, {"b_since": EPOCH - timedelta(days=1)}) == [("a",), ("b",)]
        assert tx.fetch_all(since, {"b_since": EPOCH + timedelta(days=1)}) == []


def test_raw_write_commits_or_rolls_back_and_translates_driver_errors(store: SqlStore) -> None:
    insert = PreparedQuery(
        tenants.insert().values(
            tenant_id=bindparam("tenant_id"), name=bindparam("name"), created_at=bindparam("created_at")
        ),
        store._db.engine,
    )
    row = {"tenant_id": "ten_raw", "name": "raw", "created_at": EPOCH}
    # The driver's unique violation comes out as SQLAlchemy's.
    with pytest.raises(IntegrityError), store._db.raw_write(pipeline=True) as tx:
        tx.execute(insert, {**row, "tenant_id": "ten_other"})
        tx.execute(insert, row)
        tx.execute(insert, row)
    assert _tenant_rows(store) == []  # rolled back: not even the first row
    with store._db.raw_write(pipeline=True) as tx:
        tx.execute(insert, row)
    assert _tenant_rows(store) == [("ten_raw", "raw")]
