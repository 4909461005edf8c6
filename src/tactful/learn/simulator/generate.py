"""Random valid population specs, for the randomised simulator test and the benchmark.

Segments are told apart by what a real tenant would know (tier, a plan feature, language), so a
learner can in principle match the oracle; everything else — preferences, availability, consent,
time zones, outcome delays, re-contact and fatigue, zero to two drifts of channel or tone
preferences — is drawn at random.
"""

from __future__ import annotations

import random
from typing import Any

from tactful.domain import Channel
from tactful.learn.simulator.spec import PopulationSpec, parse_spec

_ZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"]
_STYLES = ["warmer", "briefer", "more_formal"]
_INTENTS = ["billing", "order_status", "technical", "account", "cancel"]
_TIERS = ["standard", "premium", "vip"]
_LANGUAGES = ["en", "en", "es", "de", "fr"]


def random_spec(seed: int) -> PopulationSpec:
    rng = random.Random(seed)
    situations: list[dict[str, Any]] = [
        {
            "name": f"sit{i}",
            "weight": round(rng.uniform(0.5, 2.0), 2),
            "intent": intent,
            "valence": round(rng.uniform(-0.45, 0.4), 2),
            "urgency": round(rng.uniform(0.0, 0.6), 2),
            "frustration": round(rng.uniform(0.0, 0.6), 2),
        }
        for i, intent in enumerate(rng.sample(_INTENTS, rng.randint(2, 3)))
    ]
    segments = []
    for i in range(rng.randint(2, 4)):
        channels = [c.value for c in Channel if c is not Channel.SOCIAL]
        inbound = rng.sample(["chat", "email", "social"], rng.randint(1, 2))
        opted = rng.sample(channels, rng.randint(0, 2))
        availability: dict[str, Any] = {}
        for channel in rng.sample(channels, rng.randint(0, 2)):
            start = rng.randint(6, 12)
            availability[channel] = {f"{start:02d}-{start + rng.randint(6, 10):02d}": 0.9, "default": 0.3}
        tone_pref: dict[str, Any] = {
            "default": {s: round(rng.uniform(-0.1, 0.1), 2) for s in rng.sample(_STYLES, 2)}
        }
        for sit in rng.sample(situations, rng.randint(0, len(situations))):
            tone_pref[sit["name"]] = {rng.choice(_STYLES): round(rng.uniform(0.05, 0.25), 2)}
        segments.append(
            {
                "name": f"seg{i}",
                "weight": round(rng.uniform(0.5, 2.0), 2),
                "profile": {
                    "tier": _TIERS[i % len(_TIERS)],
                    "tenure_days": rng.randint(10, 3000),
                    "time_zone": rng.choice(_ZONES),
                    "language": rng.choice(_LANGUAGES),
                },
                "features": {"plan": f"plan{i}"},
                "inbound": {c: 1.0 for c in inbound},
                "opted_out": {c: round(rng.uniform(0, 0.6), 2) for c in opted},
                "do_not_contact": round(rng.uniform(0, 0.05), 3),
                "channel_pref": {c: round(rng.uniform(0.1, 0.85), 2) for c in channels},
                "availability": availability,
                "tone_pref": tone_pref,
            }
        )
    drift = []
    for _ in range(rng.choice([0, 1, 1, 2])):
        seg = rng.choice(segments)
        change: dict[str, Any] = {"at": round(rng.uniform(0.25, 0.75), 2), "segment": seg["name"]}
        if rng.random() < 0.7:
            change["channel_pref"] = {
                c: round(rng.uniform(0.1, 0.9), 2) for c in rng.sample(["chat", "email", "sms", "voice"], 2)
            }
        if rng.random() < 0.5 or "channel_pref" not in change:
            key = rng.choice(["default", *(s["name"] for s in situations)])
            change["tone_pref"] = {key: {rng.choice(_STYLES): round(rng.uniform(-0.2, 0.3), 2)}}
        drift.append(change)
    data = {
        "name": f"random-{seed}",
        "customers": rng.randint(200, 1500),
        "days": rng.randint(5, 30),
        "reward_noise": round(rng.uniform(0.0, 0.3), 2),
        "complaint_rate": round(rng.uniform(0.0, 0.3), 2),
        "situations": situations,
        "segments": segments,
        "drift": drift,
        "outcome_delays": {
            kind: round(rng.uniform(0.2, 3.0) * hours, 2)
            for kind, hours in (
                ("replied", 1),
                ("resolved", 6),
                ("csat", 12),
                ("complaint", 8),
                ("recontact", 16),
            )
        },
        "recontact_rate": round(rng.uniform(0.0, 0.8), 2),
        "fatigue": round(rng.uniform(0.0, 0.4), 2),
    }
    return parse_spec(data, source=f"random_spec({seed})")
