"""Settings. The only module that reads the environment."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tactful.errors import InputRejected

DEFAULT_DATABASE_URL = "sqlite:///./tactful.db"
DEFAULT_BUS_URL = "memory://"
#: Signal tiers the engine may use (issues 3, 10); the richest one fitting a channel's budget (and
#: its language gate) answers. ``multilingual`` is on: it reads only turns the fast tier finds not
#: to be English, where its sentiment beats fast's by far (UMSAB val macro-F1 0.631 vs 0.372), in
#: ≈ 8–10 ms, so English turns keep the fast path. ``transformer`` is opt-in: on English dev
#: splits it gains 0.01–0.03 over ``fast`` (docs/models/) for ≈ 25 ms a turn, which would put every
#: English chat decision far above the default path's 5 ms p99. ``embed`` is opt-in too: its heads
#: score below ``fast``'s on every dev split.
DEFAULT_SIGNAL_TIERS: tuple[str, ...] = ("fast", "multilingual")
SIGNAL_TIER_NAMES = ("lexicon", "fast", "embed", "multilingual", "transformer")
_BUDGET_CHANNELS = ("voice", "chat", "sms", "email", "social", "social_dm")


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
    #: Per-API-key token bucket (issue 5): refill rate per second and bucket size. The defaults are a
    #: safety net well above one worker's decision rate, not a quota; see docs/security.md.
    rate_limit_per_second: int = 1000
    rate_limit_burst: int = 2000
    #: Where the buckets live: ``memory://`` (per process) or ``redis://host:port/db`` (shared).
    rate_limit_url: str = "memory://"
    #: The PII vault's master key (issue 5), base64 of 32 random bytes; wraps every tenant key.
    #: Unset with SQLite: a key file is generated beside the database; with PostgreSQL the vault is
    #: off (values are tokenised but not kept). Never printed (``repr=False``).
    master_key: str | None = field(default=None, repr=False)
    #: The signal tiers to load (issue 3; docs/signals-tiers.md); missing extras are skipped.
    signal_tiers: tuple[str, ...] = DEFAULT_SIGNAL_TIERS
    #: Per-channel latency budgets (ms) for the signals stage, overriding the defaults in
    #: ``tactful.signals.selection.DEFAULT_BUDGETS_MS`` (voice 15, chat/sms/social 50, email 250).
    tier_budgets_ms: tuple[tuple[str, float], ...] = ()

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
            rate_limit_per_second=_positive_int(env, "TACTFUL_RATE_LIMIT_PER_SECOND", 1000),
            rate_limit_burst=_positive_int(env, "TACTFUL_RATE_LIMIT_BURST", 2000),
            rate_limit_url=env.get("TACTFUL_RATE_LIMIT_URL", "memory://"),
            master_key=_master_key(env, "TACTFUL_MASTER_KEY"),
            signal_tiers=_signal_tiers(env, "TACTFUL_SIGNAL_TIERS"),
            tier_budgets_ms=_tier_budgets(env, "TACTFUL_TIER_BUDGETS"),
        )

    def as_environment(self) -> dict[str, str]:
        """The variables ``from_env`` reads, for processes started with these settings."""
        env = {
            "TACTFUL_DATABASE_URL": self.database_url,
            "TACTFUL_BUS_URL": self.bus_url,
            "TACTFUL_MAX_BODY_BYTES": str(self.max_body_bytes),
            "TACTFUL_MAX_TEXT_CHARS": str(self.max_text_chars),
            "TACTFUL_MAX_SMS_SEGMENTS": str(self.max_sms_segments),
            "TACTFUL_RATE_LIMIT_PER_SECOND": str(self.rate_limit_per_second),
            "TACTFUL_RATE_LIMIT_BURST": str(self.rate_limit_burst),
            "TACTFUL_RATE_LIMIT_URL": self.rate_limit_url,
            "TACTFUL_SIGNAL_TIERS": ",".join(self.signal_tiers),
        }
        if self.tier_budgets_ms:
            env["TACTFUL_TIER_BUDGETS"] = ",".join(f"{c}={ms:g}" for c, ms in self.tier_budgets_ms)
        if self.background_relay is not None:
            env["TACTFUL_BACKGROUND_RELAY"] = "1" if self.background_relay else "0"
        if self.default_policy_path is not None:
            env["TACTFUL_DEFAULT_POLICY"] = str(self.default_policy_path)
        if self.master_key is not None:
            env["TACTFUL_MASTER_KEY"] = self.master_key
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


def _master_key(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        size = len(base64.b64decode(raw, validate=True))
    except ValueError:
        size = -1
    if size != 32:  # the value itself never goes into the message
        raise InputRejected(f"{name} must be base64 of 32 random bytes", code="invalid_setting")
    return raw


def _signal_tiers(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return DEFAULT_SIGNAL_TIERS
    tiers = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [t for t in tiers if t not in SIGNAL_TIER_NAMES]
    if not tiers or unknown:
        raise InputRejected(
            f"{name} must list tiers from {', '.join(SIGNAL_TIER_NAMES)} separated by commas, not {raw!r}",
            code="invalid_setting",
        )
    return tiers


def _tier_budgets(env: Mapping[str, str], name: str) -> tuple[tuple[str, float], ...]:
    """``voice=15,email=250``: per-channel budgets in ms (positive, at most a minute)."""
    raw = env.get(name)
    if raw is None:
        return ()
    budgets: dict[str, float] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        channel, _, value = part.partition("=")
        try:
            ms = float(value)
        except ValueError:
            ms = -1.0
        if channel.strip() not in _BUDGET_CHANNELS or not 0 < ms <= 60_000:
            raise InputRejected(
                f"{name} must look like 'voice=15,email=250' (channels {', '.join(_BUDGET_CHANNELS)}; "
                f"ms above 0 and at most 60000), not {raw!r}",
                code="invalid_setting",
            )
        budgets[channel.strip()] = ms
    return tuple(budgets.items())


def default_policy_file() -> Path:
    """The documented default policy shipped with the package."""
    return Path(__file__).parent / "policy" / "default.yaml"
