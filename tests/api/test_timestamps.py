"""Out-of-range times from outside are bad input (422 ``invalid_timestamp``), never a 500 or a 503,
and nothing is stored for them (issue 11 item 9)."""

from __future__ import annotations

import pytest

from tactful.store.base import Store
from tactful.tenants import NewTenant
from tests.api.conftest import Client
from tests.api.test_api import MSG, problem, state

#: Each parses as a valid aware datetime but overflows in UTC (or lies far outside any real event).
OUT_OF_RANGE = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
]


@pytest.mark.parametrize("when", OUT_OF_RANGE)
def test_message_sent_at_out_of_range_is_422(
    when: str, client: Client, auth: dict[str, str], store: Store, tenant: NewTenant
) -> None:
    before = state(store, tenant)
    r = client.post("/v1/messages", json={**MSG, "sent_at": when}, headers=auth)
    problem(r, 422, "invalid_timestamp")
    assert state(store, tenant) == before


@pytest.mark.parametrize("when", OUT_OF_RANGE)
def test_outcome_occurred_at_out_of_range_is_422(when: str, client: Client, auth: dict[str, str]) -> None:
    d = client.post("/v1/messages", json=MSG, headers=auth).json()
    body = {"decision_id": d["decision_id"], "type": "csat", "value": 4, "occurred_at": when}
    problem(client.post("/v1/outcomes", json=body, headers=auth), 422, "invalid_timestamp")


@pytest.mark.parametrize("when", OUT_OF_RANGE)
def test_context_as_of_out_of_range_is_422(when: str, client: Client, auth: dict[str, str]) -> None:
    client.post("/v1/messages", json=MSG, headers=auth)
    r = client.get(f"/v1/customers/{MSG['customer_id']}/context", params={"as_of": when}, headers=auth)
    problem(r, 422, "invalid_timestamp")


def test_times_inside_the_window_still_work(client: Client, auth: dict[str, str]) -> None:
    r = client.post("/v1/messages", json={**MSG, "sent_at": "2026-06-17T15:00:00+14:00"}, headers=auth)
    assert r.status_code == 200, r.text
    got = client.get(
        f"/v1/customers/{MSG['customer_id']}/context",
        params={"as_of": "2026-06-18T00:00:00Z"},
        headers=auth,
    )
    assert got.status_code == 200, got.text
