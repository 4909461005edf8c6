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
        self._versions: dict[tuple[str, int], CompiledPolicy] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: TenantId) -> CompiledPolicy:
        ref = self._store.active_policy_ref(tenant_id)
        if ref is None:
            raise NotFound(f"tenant {tenant_id} has no active policy", code="no_active_policy")
        return self._compile(tenant_id, ref[0], ref[1])

    def version(self, tenant_id: TenantId, version: int) -> CompiledPolicy:
        """A published version, active or not (an experiment's candidate), compiled once."""
        compiled = self._versions.get((tenant_id, version))  # versions are immutable once published
        return compiled if compiled is not None else self._compile(tenant_id, version, None)

    def _compile(self, tenant_id: TenantId, number: int, content_hash: str | None) -> CompiledPolicy:
        key = (tenant_id, number, content_hash or "")
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key)
                if compiled is None:
                    version = self._store.get_policy(tenant_id, number)
                    if version is None:  # deleted between the two reads: nothing to run
                        raise NotFound(
                            f"tenant {tenant_id} has no policy version {number}", code="no_active_policy"
                        )
                    compiled = load_policy(
                        version.source,
                        source_name=f"{tenant_id}/policy v{version.version}",
                        version_label=version.label,
                    )
                    self._compiled[(tenant_id, number, version.content_hash)] = compiled
                    self._versions[(tenant_id, number)] = compiled
        return compiled
