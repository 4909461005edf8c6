"""A console test bed: a tenant with decisions, outcomes, a second policy version; an auditor key;
and a second tenant. ``Browser`` is a cookie-keeping client over the in-process app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tactful.api.app import create_app
from tactful.config import Settings, default_policy_file
from tactful.domain import (
    Channel,
    ConversationId,
    CustomerId,
    EventId,
    InboundMessage,
    Outcome,
    OutcomeType,
    TenantId,
    new_id,
)
from tactful.engine import Engine, EngineParts
from tactful.policy import content_hash
from tactful.store import SqlStore, open_store
from tactful.tenants import NewTenant, create_tenant, issue_key
from tests.conftest import FixedClock

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TEXTS = (
    "Where is my order? It was due yesterday.",
    "This is the third time I write, I am furious and want a refund NOW",
    "Thanks, that solved it!",
    "My card was charged twice, please help",
    "Can I talk to a human please",
)


class Browser:
    """Keeps cookies like a browser; follows nothing by itself."""

    def __init__(self, app: Any, base_url: str = "http://tactful.test") -> None:
        self._runner = asyncio.Runner()
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self._runner.run(self.http.get(url, **kw))

    def post(self, url: str, data: dict[str, str], **kw: Any) -> httpx.Response:
        return self._runner.run(self.http.post(url, data=data, **kw))

    def csrf(self, url: str) -> str:
        found = CSRF.search(self.get(url).text)
        assert found, f"no form token on {url}"
        return found.group(1)

    def sign_in(self, api_key: str) -> httpx.Response:
        token = self.csrf("/console/sign-in")
        return self.post("/console/sign-in", {"csrf": token, "api_key": api_key})

    def close(self) -> None:
        self._runner.run(self.http.aclose())
        self._runner.close()


@dataclass
class Bed:
    store: SqlStore
    engine: Engine
    app: Any
    acme: NewTenant
    globex: NewTenant
    auditor_key: str
    decide_key: str
    decision_ids: list[str]
    clock: FixedClock
    browsers: list[Browser]

    def browser(self, base_url: str = "http://tactful.test") -> Browser:
        made = Browser(self.app, base_url)
        self.browsers.append(made)  # closed when the test ends
        return made


def candidate_source() -> str:
    data = yaml.safe_load(default_policy_file().read_text(encoding="utf-8"))
    data["description"] = "v2: warmer for billing questions"
    data["rules"].append(
        {
            "id": "billing-warmth",
            "kind": "tone",
            "when": 'signals.intent == "billing"',
            "shift": {"warmth": 0.1},
        }
    )
    return yaml.safe_dump(data, sort_keys=False)


def seed(store: SqlStore, engine: Engine, tenant: NewTenant, clock: FixedClock, n: int = 24) -> list[str]:
    ids = []
    tid = TenantId(tenant.tenant.tenant_id)
    for i in range(n):
        clock.now += timedelta(minutes=37)
        channel = (Channel.CHAT, Channel.EMAIL, Channel.SMS)[i % 3]
        decision = engine.decide(
            InboundMessage(
                event_id=EventId(new_id("evt")), tenant_id=tid, customer_id=CustomerId(f"cust-{i % 6}"),
                conversation_id=ConversationId(f"conv-{i}"), channel=channel, text=TEXTS[i % len(TEXTS)],
                sent_at=clock.now,
            )
        )  # fmt: skip
        ids.append(decision.decision_id)
        kinds = [(OutcomeType.CSAT, float(1 + i % 5))] + ([(OutcomeType.RESOLVED, None)] if i % 2 else [])
        for kind, value in kinds:
            engine.record_outcome(
                Outcome(
                    event_id=EventId(new_id("out")),
                    tenant_id=tid,
                    decision_id=decision.decision_id,
                    type=kind,
                    value=value,
                    occurred_at=clock.now,
                )
            )
    return ids


@pytest.fixture
def bed(tmp_path: Path, clock: FixedClock) -> Iterator[Bed]:
    store: SqlStore = open_store(f"sqlite:///{tmp_path / 'console.db'}")
    acme, globex = create_tenant(store, "acme"), create_tenant(store, "globex")
    engine = Engine(EngineParts(store, clock=clock))
    ids = seed(store, engine, acme, clock)
    source = candidate_source()
    store.publish_policy(acme.tenant.tenant_id, source, content_hash(source), by="test")  # type: ignore[arg-type]
    auditor = issue_key(store, acme.tenant.tenant_id, "auditor")  # type: ignore[arg-type]
    decide = issue_key(store, acme.tenant.tenant_id, "decide")  # type: ignore[arg-type]
    app = create_app(engine, Settings())
    found = Bed(store, engine, app, acme, globex, auditor, decide, ids, clock, [])
    yield found
    for browser in found.browsers:
        browser.close()
    store.close()
