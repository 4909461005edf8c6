"""Which compiled policy is in force for a tenant, compiled once per published version."""

from __future__ import annotations

import threading

from tactful.domain import TenantId
from tactful.errors import NotFound
from tactful.policy import CompiledPolicy, load_policy
from tactful.store.base import PolicyStore


class ActivePolicies:
    """Looks up the tenant's active version on every call (a cheap indexed read, so activation and
    rollback take effect on the very next decision in every process) and compiles each version once."""

    def __init__(self, store: PolicyStore) -> None:
        self._store = store
        self._compiled: dict[tuple[str, int, str], CompiledPolicy] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: TenantId) -> CompiledPolicy:
        ref = self._store.active_policy_ref(tenant_id)
        if ref is None:
            raise NotFound(f"tenant {tenant_id} has no active policy", code="no_active_policy")
        key = (tenant_id, *ref)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key)
                if compiled is None:
                    version = self._store.get_policy(tenant_id, ref[0])
                    if version is None:  # deleted between the two reads: nothing to run
                        raise NotFound(f"tenant {tenant_id} has no active policy", code="no_active_policy")
                    compiled = load_policy(
                        version.source,
                        source_name=f"{tenant_id}/policy v{version.version}",
                        version_label=version.label,
                    )
                    self._compiled[key] = compiled
        return compiled
