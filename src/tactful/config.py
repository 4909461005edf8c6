"""Settings. The only module that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tactful.errors import InputRejected

DEFAULT_DATABASE_URL = "sqlite:///./tactful.db"
DEFAULT_BUS_URL = "memory://"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    bus_url: str = DEFAULT_BUS_URL
    #: Largest accepted HTTP request body; larger bodies get 413 before they are parsed.
    max_body_bytes: int = 64 * 1024
    #: Largest accepted message text, in characters after normalisation.
    max_text_chars: int = 4000
    max_sms_segments: int = 3
    #: Publish outbox events from a background thread, in batches, or inline right after each
    #: commit. None lets the caller choose: the HTTP service relays in the background (measured
    #: here: ~240 vs ~180 decisions/s over HTTP, the write lock taken once per batch instead of
    #: per request), scripts and the library inline (lower p99 single-threaded, no thread).
    background_relay: bool | None = None
    #: A policy file used for new tenants that have none published (the packaged default when None).
    default_policy_path: Path | None = None

    @classmethod
    def from_env(cls, *, database_url: str | None = None) -> Settings:
        env = os.environ
        policy = env.get("TACTFUL_DEFAULT_POLICY")
        return cls(
            database_url=database_url or env.get("TACTFUL_DATABASE_URL", DEFAULT_DATABASE_URL),
            bus_url=env.get("TACTFUL_BUS_URL", DEFAULT_BUS_URL),
            max_body_bytes=_positive_int(env, "TACTFUL_MAX_BODY_BYTES", 64 * 1024),
            max_text_chars=_positive_int(env, "TACTFUL_MAX_TEXT_CHARS", 4000),
            max_sms_segments=_positive_int(env, "TACTFUL_MAX_SMS_SEGMENTS", 3),
            background_relay=_flag(env, "TACTFUL_BACKGROUND_RELAY"),
            default_policy_path=Path(policy) if policy else None,
        )

    def as_environment(self) -> dict[str, str]:
        """The variables ``from_env`` reads, for processes started with these settings."""
        env = {
            "TACTFUL_DATABASE_URL": self.database_url,
            "TACTFUL_BUS_URL": self.bus_url,
            "TACTFUL_MAX_BODY_BYTES": str(self.max_body_bytes),
            "TACTFUL_MAX_TEXT_CHARS": str(self.max_text_chars),
            "TACTFUL_MAX_SMS_SEGMENTS": str(self.max_sms_segments),
        }
        if self.background_relay is not None:
            env["TACTFUL_BACKGROUND_RELAY"] = "1" if self.background_relay else "0"
        if self.default_policy_path is not None:
            env["TACTFUL_DEFAULT_POLICY"] = str(self.default_policy_path)
        return env


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise InputRejected(f"{name} must be a positive whole number, not {raw!r}", code="invalid_setting")
    return int(raw)


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    if name not in env:
        return None
    raw = env[name].strip().lower()
    if raw not in {"0", "1", "true", "false", "yes", "no"}:
        raise InputRejected(f"{name} must be 0 or 1, not {raw!r}", code="invalid_setting")
    return raw in {"1", "true", "yes"}


def default_policy_file() -> Path:
    """The documented default policy shipped with the package."""
    return Path(__file__).parent / "policy" / "default.yaml"
