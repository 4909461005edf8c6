"""Console sign-in sessions: the browser holds a random token; the database only its SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from tactful.domain import TenantId
from tactful.store.database import Database
from tactful.store.driver_errors import translate_driver_errors
from tactful.store.schema import console_sessions

_c = console_sessions.c


@dataclass(frozen=True)
class ConsoleSession:
    tenant_id: TenantId
    key_id: str
    role: str
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SqlConsoleSessions:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock

    @translate_driver_errors
    def create(
        self, tenant_id: TenantId, key_id: str, role: str, lifetime: timedelta
    ) -> tuple[str, ConsoleSession]:
        """A new session; returns the token for the cookie (shown once, like a key)."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = ConsoleSession(tenant_id, key_id, role, secrets.token_urlsafe(32), now + lifetime)
        with self._db.write() as conn:
            conn.execute(delete(console_sessions).where(_c.expires_at < now))  # sweep the expired
            conn.execute(
                insert(console_sessions).values(
                    session_hash=_digest(token),
                    tenant_id=tenant_id,
                    key_id=key_id,
                    role=role,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return token, session

    @translate_driver_errors
    def get(self, token: str) -> ConsoleSession | None:
        """The unexpired session a token names, or None."""
        with self._db.read() as conn:
            row = conn.execute(select(console_sessions).where(_c.session_hash == _digest(token))).first()
        if row is None or row.expires_at <= self._clock():
            return None
        return ConsoleSession(TenantId(row.tenant_id), row.key_id, row.role, row.csrf_token, row.expires_at)

    @translate_driver_errors
    def end(self, token: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(console_sessions).where(_c.session_hash == _digest(token)))
