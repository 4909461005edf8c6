"""Tenants and their API keys: creation, key hashing, lookup.

API keys are 256-bit random secrets shown once; only their SHA-256 is stored. (A slow hash adds
nothing against guessing a 256-bit secret; it matters for low-entropy passwords, which keys are not.)
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from tactful.config import default_policy_file
from tactful.domain import TenantId
from tactful.errors import AuthError, InputRejected
from tactful.policy import content_hash, load_policy
from tactful.store.base import ApiKeyRecord, Store, Tenant

ROLES = ("admin", "decide", "auditor")
KEY_PREFIX = "tk_"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class NewTenant:
    tenant: Tenant
    api_key: str  # shown once, never stored


def create_tenant(
    store: Store, name: str, *, policy_path: Path | None = None, role: str = "admin"
) -> NewTenant:
    """Create a tenant with one API key and the default policy published and active."""
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
        raise InputRejected(
            "tenant name must be 1–64 letters, digits, '-' or '_'", code="invalid_tenant_name"
        )
    source = (policy_path or default_policy_file()).read_text(encoding="utf-8")
    load_policy(source, source_name=str(policy_path or "default.yaml"))  # fail before creating anything
    tenant = store.create_tenant(name)
    api_key = issue_key(store, tenant.tenant_id, role)
    published = store.publish_policy(
        tenant.tenant_id, source, content_hash(source), by="tactful tenants create"
    )
    store.activate_policy(tenant.tenant_id, published.version, by="tactful tenants create")
    return NewTenant(tenant=tenant, api_key=api_key)


def issue_key(store: Store, tenant_id: TenantId, role: str) -> str:
    if role not in ROLES:
        raise InputRejected(f"unknown role {role!r}; one of {', '.join(ROLES)}", code="invalid_role")
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    store.add_api_key(tenant_id, hash_key(api_key), role)
    return api_key


def authenticate(store: Store, api_key: str | None) -> ApiKeyRecord:
    if not api_key:
        raise AuthError("missing API key: send 'Authorization: Bearer <api key>'", code="missing_api_key")
    record = store.find_api_key(hash_key(api_key))
    if record is None or record.revoked:
        raise AuthError("unknown or revoked API key", code="invalid_api_key")
    return record
