"""Tenants, their API keys and their customers: the rows ``SqlStore`` reads and writes for them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from tactful.domain import Customer, CustomerId, CustomerProfile, Preferences, TenantId
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.store.base import ApiKeyRecord, Tenant
from tactful.store.chain import GENESIS_HASH
from tactful.store.database import Database, PreparedQuery
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import api_keys, audit_heads, customers, tenants
from tactful.store.sql_governance import API_KEY_ROLES

FIND_KEY = select(api_keys.c.key_id, api_keys.c.tenant_id, api_keys.c.role, api_keys.c.revoked).where(
    api_keys.c.key_hash == bindparam("b_key_hash")
)
GET_CUSTOMER = select(customers.c.profile, customers.c.preferences, customers.c.version).where(
    customers.c.tenant_id == bindparam("b_tenant_id"), customers.c.customer_id == bindparam("b_customer_id")
)


class TenantRows:
    """``SqlStore``'s tenant, API-key and customer calls (a mixin: ``SqlStore`` sets the fields)."""

    _db: Database
    _clock: Callable[[], datetime]
    _make_id: Callable[[str], str]
    _q_find_key: PreparedQuery
    _q_customer: PreparedQuery

    # -- tenants and API keys ------------------------------------------------------------------

    @translate_driver_errors
    def create_tenant(self, name: str) -> Tenant:
        name = name.strip()
        if not name or len(name) > 200:
            raise InputRejected("tenant name must be 1-200 characters", code="invalid_tenant_name")
        tenant = Tenant(tenant_id=TenantId(self._make_id("ten")), name=name, created_at=self._clock())
        try:
            with self._db.write() as conn:
                conn.execute(
                    insert(tenants).values(
                        tenant_id=tenant.tenant_id, name=tenant.name, created_at=tenant.created_at
                    )
                )
                # The chain's head exists from the start, so appends only ever lock and update it.
                conn.execute(
                    insert(audit_heads).values(
                        tenant_id=tenant.tenant_id, shard=0, seq=0, hash=GENESIS_HASH, signature=None
                    )
                )
        except IntegrityError as exc:
            if self.find_tenant_by_name(name) is not None:
                raise Conflict(f"a tenant named {name!r} already exists", code="tenant_exists") from exc
            raise
        return tenant

    @translate_driver_errors
    def get_tenant(self, tenant_id: TenantId) -> Tenant | None:
        with self._db.read() as conn:
            row = conn.execute(select(tenants).where(tenants.c.tenant_id == tenant_id)).first()
        return None if row is None else _tenant(row)

    @translate_driver_errors
    def list_tenants(self) -> list[Tenant]:
        with self._db.read() as conn:
            rows = conn.execute(select(tenants).order_by(tenants.c.name)).all()
        return [_tenant(row) for row in rows]

    @translate_driver_errors
    def find_tenant_by_name(self, name: str) -> Tenant | None:
        with self._db.read() as conn:
            row = conn.execute(select(tenants).where(tenants.c.name == name.strip())).first()
        return None if row is None else _tenant(row)

    @translate_driver_errors
    def add_api_key(self, tenant_id: TenantId, key_hash: str, role: str) -> ApiKeyRecord:
        if role not in API_KEY_ROLES:
            raise InputRejected(
                f"unknown role {role!r}; use one of {', '.join(sorted(API_KEY_ROLES))}", code="invalid_role"
            )
        if not key_hash or len(key_hash) > 128:
            raise InputRejected("key_hash must be 1-128 characters", code="invalid_key_hash")
        record = ApiKeyRecord(key_id=self._make_id("key"), tenant_id=tenant_id, role=role, revoked=False)
        try:
            with self._db.write() as conn:
                require_tenant(conn, tenant_id)
                conn.execute(
                    insert(api_keys).values(
                        tenant_id=tenant_id,
                        key_id=record.key_id,
                        key_hash=key_hash,
                        role=role,
                        revoked=False,
                        created_at=self._clock(),
                    )
                )
        except IntegrityError as exc:
            raise Conflict("an API key with this hash already exists", code="api_key_exists") from exc
        return record

    @translate_driver_errors
    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The key with this hash, revoked or not: the caller decides what a revoked key means."""
        row = self._db.fetch_one(self._q_find_key, {"b_key_hash": key_hash})
        if row is None:
            return None
        key_id, tenant_id, role, revoked = row
        return ApiKeyRecord(key_id=key_id, tenant_id=TenantId(tenant_id), role=role, revoked=bool(revoked))

    @translate_driver_errors
    def revoke_api_key(self, tenant_id: TenantId, key_id: str) -> ApiKeyRecord:
        with self._db.write() as conn:
            row = conn.execute(
                update(api_keys)
                .where(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id)
                .values(revoked=True)
                .returning(api_keys.c.role)
            ).first()
        if row is None:
            raise NotFound(f"no API key {key_id!r} for this tenant", code="api_key_not_found")
        return ApiKeyRecord(key_id=key_id, tenant_id=tenant_id, role=row.role, revoked=True)

    # -- customers -----------------------------------------------------------------------------

    @translate_driver_errors
    def get_customer(self, tenant_id: TenantId, customer_id: CustomerId) -> Customer | None:
        row = self._db.fetch_one(self._q_customer, {"b_tenant_id": tenant_id, "b_customer_id": customer_id})
        if row is None:
            return None
        profile, preferences, version = row
        return Customer(
            tenant_id=tenant_id,
            customer_id=customer_id,
            profile=CustomerProfile.model_validate_json(profile),
            preferences=Preferences.model_validate_json(preferences),
            version=int(version),
        )

    @translate_driver_errors
    def put_customer(self, customer: Customer) -> Customer:
        """Insert (version 1) or replace (stored version + 1); the given ``version`` is ignored."""
        values = {
            "profile": customer.profile.model_dump_json(),
            "preferences": customer.preferences.model_dump_json(),
            "updated_at": self._clock(),
        }
        key = (customers.c.tenant_id == customer.tenant_id, customers.c.customer_id == customer.customer_id)
        # Two attempts: a concurrent first insert of the same customer makes ours fail on the
        # primary key, and the retry then takes the update path.
        for attempt in range(2):
            try:
                with self._db.write() as conn:
                    version = conn.execute(
                        update(customers)
                        .where(*key)
                        .values(version=customers.c.version + 1, **values)
                        .returning(customers.c.version)
                    ).scalar()
                    if version is None:
                        require_tenant(conn, customer.tenant_id)
                        version = 1
                        conn.execute(
                            insert(customers).values(
                                tenant_id=customer.tenant_id,
                                customer_id=customer.customer_id,
                                version=version,
                                **values,
                            )
                        )
                return customer.model_copy(update={"version": int(version)})
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def require_tenant(conn: Connection, tenant_id: TenantId) -> None:
    if conn.execute(select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id)).first() is None:
        raise NotFound(f"no tenant {tenant_id!r}", code="tenant_not_found")


def _tenant(row: Row[Any]) -> Tenant:
    return Tenant(tenant_id=TenantId(row.tenant_id), name=row.name, created_at=row.created_at)
