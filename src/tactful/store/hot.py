"""The hot store: a fast shared copy of what the decision path reads, in front of the SQL store.

It holds the materialised feature state (one hash per customer) and short-lived event claims, and
is never the source of truth: every value in it can be rebuilt from SQL (``tactful features
rebuild``), and losing it costs speed, not correctness (docs/context.md, docs/scale-out.md).
Chosen by URL like the other backends (``TACTFUL_HOT_STORE_URL``); unset, the embedded default,
there is none and the decision path reads SQL as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tactful.errors import InputRejected, StoreError

#: URL scheme → module providing ``open_hot_store(url, prefix) -> HotStore``.
HOT_BACKENDS: dict[str, str] = {"redis": "tactful.store.redis", "rediss": "tactful.store.redis"}

#: A state row as the SQL store writes it: tenant_id, customer_id, version, consent_state,
#: personal_state (None: not computed), computed_at, seq (the row's write counter).
StateRow = Mapping[str, Any]


#: An event claim: (tenant_id, event_id, owner).
Claim = tuple[str, str, str]


class HotStoreUnavailable(StoreError):
    """The hot store did not answer (down, frozen, refused): callers fall back to SQL."""

    code = "hot_store_unavailable"


@dataclass(frozen=True, slots=True)
class HotState:
    """One definition version's state of one customer, as the SQL store has it (JSON texts)."""

    version: int
    consent: str
    personal: str | None  # None: not computed (personalisation off) or not asked for
    computed_at: datetime
    seq: int  # the SQL row's write counter when this copy was written


class HotStore(Protocol):
    #: Where it is, for logs and errors (never with a password).
    where: str

    def read_state(
        self, tenant_id: str, customer_id: str, version: int, *, personal: bool
    ) -> HotState | None:
        """The customer's state of ``version`` (one round trip); None when the hot store has none."""
        ...

    def claim_and_read(
        self, claim: Claim, ttl_s: float, tenant_id: str, customer_id: str, version: int, *, personal: bool
    ) -> tuple[bool, HotState | None]:
        """``claim_event`` and ``read_state`` in one round trip."""
        ...

    def write_states(self, rows: Iterable[StateRow], *, release: Claim | None = None) -> int:
        """Store states newer than what it holds (by ``seq``), so writes that arrive out of order
        never go back in time; and drop ``release``'s claim in the same round trip. Returns how
        many states were newer."""
        ...

    def delete_customer(self, tenant_id: str, customer_id: str) -> None: ...

    def claim_event(self, tenant_id: str, event_id: str, owner: str, ttl_s: float) -> bool:
        """Claim an event id for ``owner`` for ``ttl_s`` seconds; False when someone else holds it."""
        ...

    def release_event(self, tenant_id: str, event_id: str, owner: str) -> None:
        """Drop ``owner``'s claim (someone else's stays)."""
        ...

    def claimed(self, tenant_id: str, event_id: str) -> bool:
        """Whether someone holds the event id's claim."""
        ...

    def ping(self) -> bool: ...
    def close(self) -> None: ...


def open_hot_store(url: str, prefix: str = "tactful:") -> HotStore:
    scheme, sep, _ = url.partition("://")
    module_name = HOT_BACKENDS.get(scheme.lower()) if sep else None
    if module_name is None:
        raise InputRejected(
            f"unsupported hot store URL scheme {scheme if sep else url[:20]!r}: use redis:// or rediss://",
            code="unsupported_hot_store_url",
        )
    opener = importlib.import_module(module_name).open_hot_store
    store: HotStore = opener(url, prefix)
    return store
