"""``Vault`` over ``SqlVaultStore`` on SQLite and PostgreSQL: keep, reveal, scoping, erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tactful.domain import CustomerId, TenantId
from tactful.guard.crypto import MasterKey, VaultError, new_key
from tactful.guard.vault import Vault
from tactful.store import SqlStore
from tactful.store.schema import vault_values
from tactful.tenants import create_tenant

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _vault(store: SqlStore, key: bytes) -> Vault:
    return Vault(store.vault, MasterKey(key, "test"))


def test_values_are_kept_encrypted_and_revealed_only_to_their_owner(backend_store: SqlStore) -> None:
    tenant = TenantId(create_tenant(backend_store, "acme").tenant.tenant_id)
    vault = _vault(backend_store, new_key())
    token = vault.tokeniser(tenant)("email", "anna@example.com")
    vault.keep(tenant, "cust-1", {token: ("email", "anna@example.com")}, T0)
    vault.keep(tenant, "cust-1", {token: ("email", "anna@example.com")}, T0 + timedelta(days=1))

    held = vault.reveal(tenant, "cust-1")
    assert [(v.token, v.kind, v.value) for v in held] == [(token, "email", "anna@example.com")]
    assert held[0].first_seen == T0 and held[0].last_seen == T0 + timedelta(days=1)
    assert "anna" not in repr(held[0])
    assert vault.reveal(tenant, "cust-2", [token]) == []  # someone else's token is not theirs
    other = TenantId(create_tenant(backend_store, "globex").tenant.tenant_id)
    assert vault.reveal(other, "cust-1", [token]) == []

    with backend_store._db.read() as conn:  # the stored bytes hold no plaintext
        sealed = [
            bytes(b)
            for b in conn.execute(vault_values.select().with_only_columns(vault_values.c.sealed)).scalars()
        ]
    assert sealed and all(b"anna@example.com" not in b for b in sealed)


def test_a_vault_under_another_master_key_is_refused(backend_store: SqlStore) -> None:
    tenant = TenantId(create_tenant(backend_store, "acme").tenant.tenant_id)
    _vault(backend_store, new_key()).tokeniser(tenant)
    with pytest.raises(VaultError) as err:
        _vault(backend_store, new_key()).tokeniser(tenant)
    assert err.value.code == "wrong_master_key"


def test_erasure_destroys_the_key_so_even_a_copied_ciphertext_no_longer_decrypts(
    backend_store: SqlStore,
) -> None:
    tenant = TenantId(create_tenant(backend_store, "acme").tenant.tenant_id)
    vault = _vault(backend_store, new_key())
    token = vault.tokeniser(tenant)("phone", "+447700900123")
    vault.keep(tenant, "cust-1", {token: ("phone", "+44 7700 900123")}, T0)
    vault.keep(tenant, "cust-2", {token: ("phone", "+44 7700 900123")}, T0)
    copy = backend_store.vault.get_values(tenant, "cust-1", None)[0]  # e.g. a backup
    assert vault.decrypt(tenant, "cust-1", copy) == "+44 7700 900123"

    erasure = backend_store.vault.erase_customer(
        tenant, CustomerId("cust-1"), vault.subject_ref(tenant, "cust-1"), "test"
    )
    assert erasure.key_destroyed and erasure.values_deleted == 1
    assert vault.reveal(tenant, "cust-1") == []
    with pytest.raises(VaultError) as err:
        vault.decrypt(tenant, "cust-1", copy)
    assert err.value.code == "customer_key_missing"
    assert [v.value for v in vault.reveal(tenant, "cust-2")] == ["+44 7700 900123"]  # others untouched

    entry = backend_store.audit.entries(tenant)[-1]
    assert entry.kind == "customer.erased"
    assert "cust-1" not in str(entry.payload) and "7700" not in str(entry.payload)
    assert all(r.ok for r in backend_store.audit.verify(tenant))
