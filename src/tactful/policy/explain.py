"""What a decision says about itself: its explanation, and the minimised input its audit entry keeps."""

from __future__ import annotations

from typing import Any

from tactful.context import CustomerContext
from tactful.domain import Explanation, InboundMessage, Signals
from tactful.guard import GuardedText
from tactful.guard.consent import ConsentChange
from tactful.policy.types import PolicyResult

#: The signals the explanation lists, in this order.
TOP_SIGNALS = (
    "sentiment",
    "valence",
    "anger",
    "frustration",
    "urgency",
    "formality",
    "politeness",
    "intent",
    "intent_confidence",
    "injection",
    "language",
)


def explain(
    result: PolicyResult, signals: Signals, ctx: CustomerContext, render_notes: tuple[str, ...] = ()
) -> Explanation:
    top: dict[str, object] = {name: getattr(signals, name) for name in TOP_SIGNALS}
    top["pii"] = [finding.kind for finding in signals.pii]
    top["emotions"] = {k: round(v, 3) for k, v in sorted(signals.emotions.items(), key=lambda kv: -kv[1])[:3]}
    notes = list(result.notes)
    if not ctx.known:
        notes.append("new customer: default profile and preferences")
    notes.extend(ctx.notes)
    notes.extend(render_notes)
    return Explanation(rules_fired=result.rules_fired, signals=top, notes=tuple(notes))


def audit_snapshot(
    message: InboundMessage,
    guarded: GuardedText,
    signals: Signals,
    ctx: CustomerContext,
    consent: ConsentChange | None = None,
) -> dict[str, Any]:
    """The minimised input the audit keeps: no text, no raw personal data — only what the
    decision was based on, so the chain can stay intact after a customer is erased."""
    keyword = {} if consent is None else {"consent_keyword": consent.value}  # an SMS STOP/START
    return {
        **keyword,
        "channel": message.channel.value,
        "sent_at": message.sent_at.isoformat(),
        "text_chars": len(guarded.text),
        "pii_kinds": sorted({f.kind for f in guarded.pii}),
        "signals_tier": signals.tier,
        "personalisation": ctx.preferences.personalisation.value,
        "features": ctx.features,
        # The consent facts the guardrails saw, so a compliance report can re-check the
        # decision later (tactful.governance.report) instead of trusting it.
        "consent": {
            "opted_out": sorted(c.value for c in ctx.preferences.opted_out),
            "do_not_contact": ctx.preferences.do_not_contact,
            "quiet_hours": None
            if ctx.preferences.quiet_hours is None
            else [
                ctx.preferences.quiet_hours.start.isoformat("minutes"),
                ctx.preferences.quiet_hours.end.isoformat("minutes"),
            ],
            "time_zone": ctx.time_zone,
        },
    }
