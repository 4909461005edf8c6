"""Web chat over a real WebSocket (Starlette's test client speaks the protocol in-process):
sessions, typing indicator, streamed drafts from a local OpenAI-compatible server, flood limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.channels.conftest import Live
from tests.channels.local_openai import LocalOpenAI

GOOD = (
    "Thanks for your patience. Your order is on its way: standard delivery takes 3 to 5 working days, "
    "and we will send you the tracking link as soon as it moves."
)


@pytest.fixture
def ws_client(live: Live) -> Iterator[TestClient]:
    with TestClient(live.client.app, base_url="http://tactful.test") as client:
        yield client


def _token(live: Live, client: TestClient) -> str:
    r = client.post(
        "/v1/channels/webchat/sessions",
        json={"customer_id": "cust-9", "conversation_id": "conv-9"},
        headers=live.auth(),
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


def _until_reply(ws: Any) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = ws.receive_json()
        frames.append(frame)
        if frame["type"] in ("reply", "error"):
            return frames


def test_a_turn_shows_typing_then_the_reply(live: Live, ws_client: TestClient) -> None:
    with ws_client.websocket_connect(f"/v1/channels/webchat?token={_token(live, ws_client)}") as ws:
        ws.send_json({"text": "Hi, where is my order? It is two weeks late.", "id": "m1"})
        frames = _until_reply(ws)
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "typing" and frames[0]["on"] is True
    assert kinds[-2:] == ["typing", "reply"] and frames[-2]["on"] is False
    assert frames[-1]["text"] and frames[-1]["decision_id"].startswith("dec_")


def test_generated_text_streams_as_drafts_then_the_checked_reply(live: Live, ws_client: TestClient) -> None:
    model = LocalOpenAI(default=GOOD)
    try:
        live.service.credentials.put(live.tenant_id, "llm", {"base_url": model.base_url, "model": "local"})
        with ws_client.websocket_connect(f"/v1/channels/webchat?token={_token(live, ws_client)}") as ws:
            ws.send_json({"text": "Hi, where is my order? It is two weeks late.", "id": "m1"})
            frames = _until_reply(ws)
            drafts = [f["text"] for f in frames if f["type"] == "draft"]
            assert len(drafts) > 1 and "".join(drafts) == GOOD
            assert frames[-1]["text"] == GOOD and "retract" not in [f["type"] for f in frames]
            model.script.extend(["We will refund you in full today.", "We will refund you in full today."])
            ws.send_json({"text": "Where is my parcel?", "id": "m2"})
            frames = _until_reply(ws)
            assert "retract" in [f["type"] for f in frames]  # the refused draft is withdrawn
            assert "refund" not in frames[-1]["text"].lower()
    finally:
        model.close()


def test_a_bad_or_missing_token_is_refused(live: Live, ws_client: TestClient) -> None:
    token = _token(live, ws_client)
    for bad in ("", "garbage", token[:-3] + "AAA"):
        with (
            pytest.raises(WebSocketDisconnect) as info,
            ws_client.websocket_connect(f"/v1/channels/webchat?token={bad}") as ws,
        ):
            ws.receive_json()
        assert info.value.code == 1008


def test_a_flood_is_limited_then_closed(live: Live, ws_client: TestClient) -> None:
    with ws_client.websocket_connect(f"/v1/channels/webchat?token={_token(live, ws_client)}") as ws:
        for i in range(5):  # the burst is answered (the test clock stands still: no refill)
            ws.send_json({"text": f"message number {i} about my order", "id": f"f{i}"})
            assert _until_reply(ws)[-1]["type"] == "reply"
        refused = 0
        with pytest.raises(WebSocketDisconnect) as info:
            for i in range(20):
                ws.send_json({"text": "spam", "id": f"s{i}"})
                frame = ws.receive_json()
                assert frame["type"] == "error" and frame["code"] == "flood"
                refused += 1
        assert info.value.code == 1008 and refused == 10


def test_malformed_frames_get_an_error_and_the_session_goes_on(live: Live, ws_client: TestClient) -> None:
    with ws_client.websocket_connect(f"/v1/channels/webchat?token={_token(live, ws_client)}") as ws:
        ws.send_text("not json")
        assert ws.receive_json()["code"] == "malformed_message"
        ws.send_json({"text": "x" * 5000})
        assert ws.receive_json()["code"] == "malformed_message"
        ws.send_json({"text": "where is my order?", "id": "ok"})
        assert _until_reply(ws)[-1]["type"] == "reply"
