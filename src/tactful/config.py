"""Settings. The only module that reads the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

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
    #: Publish outbox events from a background thread (services) rather than inside ``decide``.
    background_relay: bool = True
    #: A policy file used for new tenants that have none published (the packaged default when None).
    default_policy_path: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, *, database_url: str | None = None) -> Settings:
        env = os.environ
        policy = env.get("TACTFUL_DEFAULT_POLICY")
        return cls(
            database_url=database_url or env.get("TACTFUL_DATABASE_URL", DEFAULT_DATABASE_URL),
            bus_url=env.get("TACTFUL_BUS_URL", DEFAULT_BUS_URL),
            max_body_bytes=int(env.get("TACTFUL_MAX_BODY_BYTES", 64 * 1024)),
            max_text_chars=int(env.get("TACTFUL_MAX_TEXT_CHARS", 4000)),
            max_sms_segments=int(env.get("TACTFUL_MAX_SMS_SEGMENTS", 3)),
            default_policy_path=Path(policy) if policy else None,
        )


def default_policy_file() -> Path:
    """The documented default policy shipped with the package."""
    return Path(__file__).parent / "policy" / "default.yaml"
