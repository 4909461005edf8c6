"""Cache invalidation through the bus (issue 12): when a process changes what a tenant runs — the
active policy, the tenant's intent model, its model settings for generated replies — it tells every
other process to drop its cached copy at once, instead of each finding out on its own.

The notice is a broadcast (:class:`tactful.bus.Broadcasts`: core NATS on a durable bus, a direct
call in-process), so it is at most once: a process that is disconnected misses it. That is safe
because every cache keeps its version check — a decision's combined read returns the active policy
ref and the intent model's version, and the caches compare with them — so a missed notice only
delays the drop of the stale entry for callers that read through the TTL (``ActivePolicies.get``:
the learner's mode, the API's policy reads; the model settings, ``channels/llm_models.py``) by at
most that TTL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

from tactful.bus import Broadcasts, Bus
from tactful.domain import TenantId
from tactful.policy.active import ActivePolicies
from tactful.signals.tenant_intents import forget_tenant_intents

log = logging.getLogger(__name__)

TOPIC = "cache.invalidated"
Kind = Literal["policy", "intents", "credentials"]
KINDS: frozenset[str] = frozenset({"policy", "intents", "credentials"})


class CacheInvalidation:
    def __init__(self, bus: Bus, policies: ActivePolicies) -> None:
        inner = getattr(bus, "inner", bus)  # the tracing wrapper traces events, not notices
        self._bus = inner if isinstance(inner, Broadcasts) else None
        self._policies = policies
        self._cond = threading.Condition()
        #: Other caches' drops by kind (``listen``): the channel service's tenant model settings.
        self._listeners: dict[str, list[Callable[[TenantId], None]]] = {}
        #: Notices received from the bus (this process's own included): /metrics and tests.
        self.received = 0
        if self._bus is not None:
            self._bus.listen(TOPIC, self._on_notice)

    def announce(self, kind: Kind, tenant_id: TenantId) -> None:
        """Drop this process's cache now and tell the others. Never raises: the change is
        committed already, and the others' version checks catch up without the notice."""
        self.drop(kind, tenant_id)
        if self._bus is None:
            return
        try:
            self._bus.broadcast(TOPIC, {"kind": kind, "tenant_id": tenant_id})
        except Exception as exc:
            log.warning("cache invalidation of %s for %s not broadcast (%s)", kind, tenant_id, exc)

    def listen(self, kind: Kind, drop: Callable[[TenantId], None]) -> None:
        """Also call ``drop`` with the tenant when a notice of ``kind`` arrives (or is announced here)."""
        self._listeners.setdefault(kind, []).append(drop)

    def drop(self, kind: Kind, tenant_id: TenantId) -> None:
        if kind == "policy":
            self._policies.invalidate(tenant_id)
        elif kind == "intents":
            forget_tenant_intents(tenant_id)
        for listener in self._listeners.get(kind, ()):
            listener(tenant_id)

    def wait_received(self, count: int, timeout: float) -> bool:
        """Block until ``count`` notices arrived in all (tests and tools; bounded by ``timeout``)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.received >= count, timeout)

    def _on_notice(self, data: dict[str, Any]) -> None:
        kind, tenant_id = data.get("kind"), data.get("tenant_id")
        if kind in KINDS and isinstance(tenant_id, str):
            self.drop(kind, TenantId(tenant_id))
        else:
            log.warning("ignored a malformed cache notice: %r", data)
        with self._cond:
            self.received += 1
            self._cond.notify_all()


def announce_elsewhere(bus_url: str, kind: Kind, tenant_id: TenantId) -> bool:
    """Tell every running process to drop its cached copy, from a process that runs no engine (the
    CLI's ``policy activate`` / ``rollback`` / ``publish --activate``). Returns whether a notice
    went out; never raises, for the same reason as :meth:`CacheInvalidation.announce`. The
    in-process bus has nobody else to tell: its engine lives in another process's memory."""
    from tactful.bus import open_bus

    if bus_url.split("://", 1)[0].lower() == "memory":
        return False
    try:
        bus = open_bus(bus_url, consume=frozenset())  # a sender only: no consumer groups
    except Exception as exc:
        log.warning("cache invalidation of %s for %s not broadcast (%s)", kind, tenant_id, exc)
        return False
    try:
        if not isinstance(bus, Broadcasts):
            return False
        bus.broadcast(TOPIC, {"kind": kind, "tenant_id": tenant_id})
        return True
    except Exception as exc:
        log.warning("cache invalidation of %s for %s not broadcast (%s)", kind, tenant_id, exc)
        return False
    finally:
        bus.close()
