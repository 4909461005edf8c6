"""A policy's life: validate → publish (immutable version) → activate → roll back.

Every step that changes what is in force is written to the tenant's audit chain by the store.
"""

from __future__ import annotations

from tactful.domain import TenantId
from tactful.errors import Conflict, NotFound
from tactful.policy import CompiledPolicy, content_hash, load_policy
from tactful.store.base import PolicyStore, PolicyVersion


def validate(source: str, *, source_name: str = "<policy>") -> CompiledPolicy:
    """Parse, check and compile; raises PolicyError naming file, line and rule id."""
    return load_policy(source, source_name=source_name)


def publish(
    store: PolicyStore, tenant_id: TenantId, source: str, *, by: str, source_name: str = "<upload>"
) -> tuple[PolicyVersion, bool]:
    """Store ``source`` as a new immutable version. Publishing content identical to an existing
    version (same content hash) returns that version and ``False``."""
    validate(source, source_name=source_name)
    digest = content_hash(source)
    known = {v.content_hash for v in store.list_policies(tenant_id)}
    return store.publish_policy(tenant_id, source, digest, by=by), digest not in known


def activate(store: PolicyStore, tenant_id: TenantId, version: int, *, by: str) -> PolicyVersion:
    found = store.get_policy(tenant_id, version)
    if found is None:
        raise NotFound(f"no policy version {version}", code="policy_version_not_found")
    # Re-check at activation: a version stored by an older Tactful must still compile today.
    validate(found.source, source_name=f"policy v{version}")
    return store.activate_policy(tenant_id, version, by=by)


def rollback(store: PolicyStore, tenant_id: TenantId, *, by: str) -> PolicyVersion:
    """Activate the newest version older than the active one."""
    current = store.get_policy(tenant_id)
    if current is None:
        raise NotFound("no active policy to roll back from", code="no_active_policy")
    older = [v for v in store.list_policies(tenant_id) if v.version < current.version]
    if not older:
        raise Conflict(
            f"v{current.version} is the oldest version; nothing to roll back to", code="nothing_to_roll_back"
        )
    return activate(store, tenant_id, max(older, key=lambda v: v.version).version, by=by)
