"""Random valid population specs, for the randomised simulator test and the benchmark.

Segments are told apart by what a real tenant would know (tier, a plan feature, language), so a
learner can in principle match the oracle; everything else — preferences, availability, consent,
time zones, outcome delays, re-contact and fatigue — is drawn at random.

Situations carry the support-intent taxonomy's labels (``SupportIntent``), and some are unclear
(low intent confidence), angry or ask for a person, so the default policy's action rules (clarify,
hand-offs) apply as they would to real traffic. Drift, zero to three times (most specs drift): a
segment's channel preferences redrawn, its best channel turned into its worst (a change a learner
must notice, not one it can ride out), a tone preference flipped, or every segment changing at once.
"""

from __future__ import annotations

import random
from typing import Any

from tactful.domain import Channel
from tactful.domain.intents import SupportIntent
from tactful.learn.simulator.spec import PopulationSpec, parse_spec

_ZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"]
_STYLES = ["warmer", "briefer", "more_formal"]
#: The intents a support need arrives with (not spam, thanks, other, nor a request for a person: a
#: situation may add ``wants_human`` instead).
_INTENTS = [
    i.value
    for i in (
        SupportIntent.BILLING,
        SupportIntent.ORDER_STATUS,
        SupportIntent.ORDER_CHANGE,
        SupportIntent.REFUND,
        SupportIntent.ACCOUNT_ACCESS,
        SupportIntent.ACCOUNT_CHANGE,
        SupportIntent.TECHNICAL_ISSUE,
        SupportIntent.CANCELLATION,
        SupportIntent.COMPLAINT,
        SupportIntent.PRODUCT_QUESTION,
    )
]
_CHANNELS = [c.value for c in Channel if c is not Channel.SOCIAL]
_TIERS = ["standard", "premium", "vip"]
_LANGUAGES = ["en", "en", "es", "de", "fr"]


def random_spec(seed: int) -> PopulationSpec:
    rng = random.Random(seed)
    situations = [
        _situation(rng, i, intent) for i, intent in enumerate(rng.sample(_INTENTS, rng.randint(2, 4)))
    ]
    segments = []
    for i in range(rng.randint(2, 4)):
        channels = _CHANNELS
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
    drift = _drift(rng, segments, situations)
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


def _situation(rng: random.Random, index: int, intent: str) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": f"sit{index}",
        "weight": round(rng.uniform(0.5, 2.0), 2),
        "intent": intent,
        "valence": round(rng.uniform(-0.45, 0.4), 2),
        "urgency": round(rng.uniform(0.0, 0.6), 2),
        "frustration": round(rng.uniform(0.0, 0.6), 2),
    }
    kind = rng.random()
    if kind < 0.15:  # unclear: the policy asks a clarifying question
        found["intent_confidence"] = round(rng.uniform(0.2, 0.45), 2)
    elif kind < 0.25:  # angry and urgent: hand-offs for VIPs and the urgent
        found.update(valence=round(rng.uniform(-0.9, -0.5), 2), anger=0.8, urgency=0.8)
    elif kind < 0.3:  # asks for a person
        found["wants_human"] = round(rng.uniform(0.6, 0.95), 2)
    return found


def _drift(
    rng: random.Random, segments: list[dict[str, Any]], situations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    drift: list[dict[str, Any]] = []
    # In time order, each change from the preferences the segment has by then.
    current = {seg["name"]: dict(seg["channel_pref"]) for seg in segments}
    for at in sorted(round(rng.uniform(0.15, 0.8), 2) for _ in range(rng.choice([0, 1, 1, 2, 2, 3]))):
        kind = rng.random()
        targets = segments if kind < 0.2 else [rng.choice(segments)]  # sometimes everyone at once
        for seg in targets:
            change: dict[str, Any] = {"at": at, "segment": seg["name"]}
            prefs = current[seg["name"]]
            if kind < 0.45:  # the best channel becomes the worst, and the worst one good
                best, worst = max(prefs, key=prefs.__getitem__), min(prefs, key=prefs.__getitem__)
                change["channel_pref"] = {best: round(prefs[worst] * 0.5, 2), worst: round(prefs[best], 2)}
            elif kind < 0.8:
                change["channel_pref"] = {
                    c: round(rng.uniform(0.1, 0.9), 2) for c in rng.sample(_CHANNELS, rng.randint(2, 4))
                }
            if kind >= 0.8 or rng.random() < 0.3:
                key = rng.choice(["default", *(s["name"] for s in situations)])
                change["tone_pref"] = {key: {rng.choice(_STYLES): round(rng.uniform(-0.25, 0.3), 2)}}
            prefs.update(change.get("channel_pref", {}))
            drift.append(change)
    return drift
