"""Built-in hard constraints: consent, quiet hours, personal data in public, contact fatigue.

They are code, not YAML: a policy can tune them (add quiet-hours channels, set the fatigue cap) but
never remove them, and no rule can override them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from tactful.domain import INTRUSIVE_CHANNELS, PRIVATE_COUNTERPART, PUBLIC_CHANNELS, Channel
from tactful.policy.local_time import LocalClock
from tactful.policy.types import PolicyInput

DO_NOT_CONTACT = "guardrail.do_not_contact"
OPT_OUT = "guardrail.consent.opt_out"
QUIET_HOURS = "guardrail.quiet_hours"
PUBLIC_PII = "guardrail.public_pii"
FATIGUE_CAP = "guardrail.fatigue_cap"

#: The order guardrails are checked (and listed in ``rules_fired``).
GUARDRAIL_ORDER = (DO_NOT_CONTACT, OPT_OUT, QUIET_HOURS, PUBLIC_PII, FATIGUE_CAP)

Block = tuple[str, str]  # (rule id, reason)


@dataclass(frozen=True, slots=True)
class GuardrailConfig:
    quiet_channels: frozenset[Channel]
    fatigue_cap: int

    @classmethod
    def build(cls, quiet_channels: list[Channel], fatigue_cap: int) -> GuardrailConfig:
        return cls(quiet_channels=INTRUSIVE_CHANNELS | frozenset(quiet_channels), fatigue_cap=fatigue_cap)


@dataclass(frozen=True, slots=True)
class ChannelBlocks:
    """Why each channel may not be used: to initiate or switch to it, or to reply on the inbound one."""

    initiate: dict[Channel, list[Block]]
    reply: list[Block]  # blocks on replying on the inbound channel


def guardrail_blocks(
    config: GuardrailConfig, inp: PolicyInput, clock: LocalClock, notes: list[str]
) -> ChannelBlocks:
    prefs = inp.preferences
    inbound = inp.message.channel
    fatigue_reached = _fatigue_reached(
        config.fatigue_cap, inp.features.get("proactive_contacts_24h", 0), notes
    )
    # Only built when it is used: formatting times costs more than the rest of this function.
    quiet_reason = _quiet_reason(inp, clock) if clock.in_quiet_hours else ""
    initiate: dict[Channel, list[Block]] = {}
    reply: list[Block] = []
    for channel in Channel:
        blocks: list[Block] = []
        if channel in prefs.opted_out:
            blocks.append((OPT_OUT, f"customer opted out of {channel.value}"))
        # A DM answering a public post continues that conversation privately: not an initiation,
        # so quiet hours and the fatigue cap do not apply to it. (A callback on the inbound voice
        # channel still is a new call, hence the inbound channel's own reply list below.)
        initiation = PRIVATE_COUNTERPART.get(inbound) is not channel
        if initiation and clock.in_quiet_hours and channel in config.quiet_channels:
            blocks.append((QUIET_HOURS, quiet_reason))
        if inp.signals.pii and channel in PUBLIC_CHANNELS:
            kinds = ", ".join(sorted({f.kind for f in inp.signals.pii}))
            blocks.append((PUBLIC_PII, f"message carries personal data ({kinds}); {channel.value} is public"))
        if initiation and fatigue_reached:
            blocks.append((FATIGUE_CAP, f"proactive contact cap reached ({config.fatigue_cap} per 24 h)"))
        initiate[channel] = blocks
        if channel is inbound:
            # Replying where the customer is writing now is not an initiation: quiet hours and the
            # fatigue cap do not apply to it; consent and personal-data exposure still do.
            reply = [b for b in blocks if b[0] in (OPT_OUT, PUBLIC_PII)]
    return ChannelBlocks(initiate=initiate, reply=reply)


def _fatigue_reached(cap: int, raw: object, notes: list[str]) -> bool:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        notes.append(f"fatigue cap: proactive_contacts_24h {raw!r} is not a number; cap treated as reached")
        return True
    return raw >= cap


def _quiet_reason(inp: PolicyInput, clock: LocalClock) -> str:
    window = inp.preferences.quiet_hours
    if clock.zone_name is None or window is None:
        return "customer time zone unknown; quiet hours assumed"
    return (
        f"inside quiet hours {_hhmm(window.start)}–{_hhmm(window.end)} "
        f"(local {_hhmm(clock.local)} {clock.zone_name})"
    )


def _hhmm(value: time | datetime) -> str:
    # strftime costs ~10 µs per call; this runs on the hot path.
    return f"{value.hour:02d}:{value.minute:02d}"
