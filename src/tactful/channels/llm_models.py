"""The tenant's model settings (its ``llm`` credentials), cached per process.

Every decision of a process that generates replies asks which model its tenant configured, and
most tenants have none: reading and opening the sealed row each time cost about a tenth of a
``POST /v1/messages``. The answer (a model, or none) is kept per tenant and dropped at once when
the credentials change here (``Credentials`` calls back) or in another process (a
``credentials`` cache notice on the bus, ``tactful.invalidation``). Like the active policy's ref,
an entry is also re-read once it is older than ``ttl_s``, so a missed notice delays a change by
at most that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tactful.channels.credentials import SecretFields
from tactful.render.llm import LlmConfig

PROVIDER = "llm"
DEFAULT_TTL_S = 1.0


def llm_config(fields: SecretFields | None) -> LlmConfig | None:
    if fields is None:
        return None
    tokens = fields.get("max_tokens", "")
    return LlmConfig(
        base_url=fields["base_url"],
        model=fields["model"],
        api_key=fields.get("api_key", ""),
        max_tokens=min(int(tokens), 1024) if tokens.isdigit() and int(tokens) > 0 else 160,
    )


class TenantModels:
    def __init__(
        self,
        read: Callable[[str, str], SecretFields | None],
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.ttl_s = ttl_s
        self._clock = clock
        self._seen: dict[str, tuple[LlmConfig | None, float]] = {}
        #: Bumped by ``forget``: a read that overlapped a change does not cache what it read.
        self._generation = 0

    def get(self, tenant_id: str) -> LlmConfig | None:
        seen = self._seen.get(tenant_id)
        now = self._clock()
        if seen is not None and now - seen[1] < self.ttl_s:
            return seen[0]
        generation = self._generation
        # Read errors propagate (the renderer falls back visibly) and leave nothing cached.
        config = llm_config(self._read(tenant_id, PROVIDER))
        if generation == self._generation:
            if len(self._seen) >= 65536:  # a bound for a process serving very many tenants
                self._seen.clear()
            self._seen[tenant_id] = (config, now)
        return config

    def forget(self, tenant_id: str) -> None:
        self._generation += 1
        self._seen.pop(tenant_id, None)
