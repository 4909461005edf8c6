"""The tenant's model settings are cached per process (issue 12: reading the sealed row on every
decision cost a tenth of a request) and a change is seen by the very next decision: here at once,
elsewhere through the bus's cache notice, and in any case once the entry is ``ttl_s`` old."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tactful.channels.credentials import Credentials
from tactful.channels.llm_models import TenantModels
from tactful.domain import TenantId
from tests.channels.conftest import Live
from tests.channels.local_openai import LocalOpenAI

FOREVER_S = 24 * 3600.0  # a TTL that never runs out during the test: only a notice can drop the entry


@pytest.fixture
def server() -> Iterator[LocalOpenAI]:
    local = LocalOpenAI(default="A generated reply.")
    yield local
    local.close()


def test_a_put_or_delete_here_is_seen_by_the_next_read(live: Live, server: LocalOpenAI) -> None:
    live.service.models.ttl_s = FOREVER_S
    assert live.service.model_for(live.tenant_id) is None  # cached: this tenant has no model
    live.service.credentials.put(live.tenant_id, "llm", {"base_url": server.base_url, "model": "m1"})
    config = live.service.model_for(live.tenant_id)
    assert config is not None and config.model == "m1"
    live.service.credentials.put(
        live.tenant_id, "llm", {"base_url": server.base_url, "model": "m2", "max_tokens": "99"}
    )
    config = live.service.model_for(live.tenant_id)
    assert config is not None and (config.model, config.max_tokens) == ("m2", 99)
    assert live.service.credentials.delete(live.tenant_id, "llm")
    assert live.service.model_for(live.tenant_id) is None


def test_a_change_made_elsewhere_waits_for_the_notice_or_the_ttl(live: Live, server: LocalOpenAI) -> None:
    live.service.models.ttl_s = FOREVER_S
    assert live.service.model_for(live.tenant_id) is None
    # Another process's write: the same rows and vault, but not this service's callback.
    elsewhere = Credentials(live.store.credentials, live.engine.vault)
    elsewhere.put(live.tenant_id, "llm", {"base_url": server.base_url, "model": "other"})
    assert live.service.model_for(live.tenant_id) is None  # the cached answer stands ...
    live.engine.invalidation.announce("credentials", TenantId(live.tenant_id))
    config = live.service.model_for(live.tenant_id)  # ... until the notice drops it
    assert config is not None and config.model == "other"

    elsewhere.delete(live.tenant_id, "llm")
    live.service.models.ttl_s = 0.0  # no notice this time: the TTL is the safety net
    assert live.service.model_for(live.tenant_id) is None


def test_the_ttl_bounds_a_cached_answer() -> None:
    reads: list[str] = []
    now = [100.0]

    def read(tenant_id: str, provider: str) -> None:
        reads.append(f"{tenant_id}/{provider}")

    models = TenantModels(read, ttl_s=1.0, clock=lambda: now[0])  # type: ignore[arg-type]
    assert models.get("t") is None and models.get("t") is None
    assert reads == ["t/llm"]
    now[0] += 0.99
    models.get("t")
    assert reads == ["t/llm"]
    now[0] += 0.02
    models.get("t")
    assert reads == ["t/llm", "t/llm"]


def test_a_read_that_overlaps_a_change_is_not_kept() -> None:
    models: TenantModels

    def read(tenant_id: str, provider: str) -> None:
        models.forget(tenant_id)  # a change lands while this read is in flight

    models = TenantModels(read, ttl_s=FOREVER_S)  # type: ignore[arg-type]
    models.get("t")
    assert "t" not in models._seen
