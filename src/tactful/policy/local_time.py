"""The customer's local clock, for quiet hours. DST-correct because it converts with ``zoneinfo``.

Which zone: the profile's when personalisation is on; otherwise ``features["time_zone"]`` if the engine
passed one (consent safety is not personalisation). With no known zone we do not guess: intrusive
channels are treated as inside quiet hours, because an SMS at 3 a.m. is worse than one not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tactful.domain import QuietHours
from tactful.policy.types import PolicyInput


@dataclass(frozen=True, slots=True)
class LocalClock:
    zone_name: str | None  # None: unknown, so quiet hours are assumed
    local: datetime  # in zone_name, or UTC when unknown
    in_quiet_hours: bool
    notes: tuple[str, ...] = ()


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def in_quiet_window(local_time: time, window: QuietHours) -> bool:
    """Start inclusive, end exclusive; ``start > end`` wraps midnight; ``start == end`` is an empty window."""
    start, end = window.start, window.end
    if start < end:
        return start <= local_time < end
    if start > end:
        return local_time >= start or local_time < end
    return False


def resolve_clock(inp: PolicyInput) -> LocalClock:
    notes: list[str] = []
    now = inp.now
    if now.tzinfo is None or now.utcoffset() is None:
        now = now.replace(tzinfo=UTC)
        notes.append("clock: `now` had no time zone; read as UTC")

    zone_name: str | None = None
    if inp.profile is not None:
        zone_name = inp.profile.time_zone
    else:
        candidate = inp.features.get("time_zone")
        if isinstance(candidate, str) and _zone(candidate) is not None:
            zone_name = candidate
        elif candidate is not None:
            notes.append(f"clock: features.time_zone {candidate!r} is not an IANA zone; ignored")

    window = inp.preferences.quiet_hours
    zone = _zone(zone_name) if zone_name is not None else None
    if zone is None:
        local = now.astimezone(UTC)
        quiet = window is not None and window.start != window.end
        if quiet:
            notes.append(
                "quiet hours: customer time zone unknown (no profile, no features.time_zone); "
                "sms/voice initiation blocked as if inside quiet hours"
            )
        return LocalClock(zone_name=None, local=local, in_quiet_hours=quiet, notes=tuple(notes))

    local = now.astimezone(zone)
    # Wall-clock time without tzinfo: quiet hours are defined in local wall time.
    quiet = window is not None and in_quiet_window(local.time().replace(tzinfo=None), window)
    return LocalClock(zone_name=zone_name, local=local, in_quiet_hours=quiet, notes=tuple(notes))
