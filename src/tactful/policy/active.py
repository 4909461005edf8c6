"""Which compiled policy is in force for a tenant, compiled once per published version."""

from __future__ import annotations

import threading
import time

from tactful.domain import TenantId
from tactful.errors import NotFound
from tactful.policy import CompiledPolicy, load_policy
from tactful.store.base import PolicyStore


class ActivePolicies:
    """The tenant's active version, compiled once per version.

    A decision reads the active ref in its one combined read (``SqlStore.read_for_decision``) and
    hands it to ``observe``, so activation and rollback take effect on the very next decision in
    every process without a read of their own. Other callers (the learner's mode, the API) use the
    ref seen last, re-read when it is older than ``ttl_s``.
    """

    def __init__(self, store: PolicyStore, *, ttl_s: float = 1.0) -> None:
        self._store = store
        self.ttl_s = ttl_s
        self._refs: dict[str, tuple[tuple[int, str] | None, float]] = {}
        self._compiled: dict[tuple[str, int, str], CompiledPolicy] = {}
        self._versions: dict[tuple[str, int], CompiledPolicy] = {}
        self._lock = threading.Lock()

    def observe(self, tenant_id: TenantId, ref: tuple[int, str] | None) -> None:
        """The active ref as the caller just read it (the version check of the cache)."""
        self._refs[tenant_id] = (ref, time.monotonic())

    def invalidate(self, tenant_id: TenantId) -> None:
        """Forget the tenant's active ref (the next ``get`` reads it) and its compiled policies
        other than published versions' (those are immutable): a change announced on the bus."""
        with self._lock:
            self._refs.pop(tenant_id, None)
            for key in [k for k in self._compiled if k[0] == tenant_id]:
                del self._compiled[key]

    def get(self, tenant_id: TenantId) -> CompiledPolicy:
        seen = self._refs.get(tenant_id)
        if seen is not None and time.monotonic() - seen[1] < self.ttl_s:
            ref = seen[0]
        else:
            ref = self._store.active_policy_ref(tenant_id)
            self.observe(tenant_id, ref)
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
