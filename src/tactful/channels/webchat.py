"""Web chat: session tokens for a browser widget, and the per-connection flood limit.

The integrator's backend (holding an API key) asks for a session for one customer and conversation
(``POST /v1/channels/webchat/sessions``); the browser opens the WebSocket with that token only. The
token is ``base64(json) . HMAC-SHA256`` under a key derived from the tenant's vault key (purpose
``webchat``), so it names its tenant, customer and conversation and cannot be forged or widened.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tactful.errors import AuthError
from tactful.guard.vault import Vault

PURPOSE = "webchat"
#: Largest message a widget may send (characters); the guard's own limit applies after.
MAX_MESSAGE_CHARS = 4000


@dataclass(frozen=True)
class ChatSession:
    tenant_id: str
    customer_id: str
    conversation_id: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_session(vault: Vault, session: ChatSession) -> str:
    body = json.dumps(
        {
            "t": session.tenant_id,
            "c": session.customer_id,
            "k": session.conversation_id,
            "e": int(session.expires_at.timestamp()),
        },
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(vault.purpose_key(session.tenant_id, PURPOSE), body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def open_session(vault: Vault, token: str, now: datetime) -> ChatSession:
    """The session a token names; ``AuthError`` (``invalid_session``) if forged, garbled or expired."""
    try:
        body_text, mac_text = token.split(".", 1)
        body = _unb64(body_text)
        data = json.loads(body)
        tenant = str(data["t"])
        expected = hmac.new(vault.purpose_key(tenant, PURPOSE), body, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac_text)):
            raise ValueError("bad mac")
        session = ChatSession(
            tenant, str(data["c"]), str(data["k"]), datetime.fromtimestamp(int(data["e"]), now.tzinfo)
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError("the chat session token is not valid", code="invalid_session") from exc
    if session.expires_at <= now:
        raise AuthError("the chat session has expired", code="invalid_session")
    return session


class FloodGate:
    """A token bucket per connection: ``burst`` messages at once, then one per ``every``. Past it a
    message is refused (the widget is told); ``max_refused`` refusals in a row close the socket."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        burst: int = 5,
        every: timedelta = timedelta(seconds=2),
        max_refused: int = 10,
    ) -> None:
        self._clock = clock
        self.burst = burst
        self.every = every
        self.max_refused = max_refused
        self._tokens = float(burst)
        self._at = clock()
        self.refused = 0

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) / self.every)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            self.refused = 0
            return True
        self.refused += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.refused >= self.max_refused
