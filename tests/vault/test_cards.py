"""Issue 11 item 12: the vault keeps a card's last four digits (and its token), never the number;
the export shows the last four."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tactful.api.app import create_app
from tactful.config import Settings
from tactful.engine import Engine
from tactful.guard.vault import kept_form
from tactful.tenants import NewTenant
from tests.api.conftest import Client

CARD = "4111 1111 1111 1111"


@pytest.fixture
def client(engine: Engine) -> Iterator[Client]:
    c = Client(create_app(engine, Settings()))
    yield c
    c.close()


def test_kept_form_masks_cards_only() -> None:
    assert kept_form("card", "4111-1111-1111-1234") == "•••• 1234"
    assert kept_form("email", "a@example.com") == "a@example.com"


def test_the_vault_and_the_export_hold_only_the_last_four(client: Client, tenant: NewTenant) -> None:
    auth = {"Authorization": f"Bearer {tenant.api_key}"}
    body = {"customer_id": "c1", "conversation_id": "k1", "channel": "chat"}
    r = client.post("/v1/messages", json={**body, "text": f"my card {CARD} was charged twice"}, headers=auth)
    assert r.status_code == 200, r.text
    exported = client.get("/v1/customers/c1/export", headers=auth)
    assert exported.status_code == 200, exported.text
    cards = [v for v in exported.json()["personal_data"] if v["kind"] == "card"]
    assert [c["value"] for c in cards] == ["•••• 1111"] and cards[0]["token"]
    assert "4111 1111" not in exported.text and "4111111111111111" not in exported.text
