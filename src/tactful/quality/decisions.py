"""Run a decision-quality suite through the real engine and score what it decided.

Each case is decided once, by a fresh customer on the case's channel, through ``Engine`` on the
embedded default (SQLite in a temporary folder, the default policy, the default signal tier): the
figures are what a new tenant gets out of the box. Measures (docs/decision-quality.md):

- ``action_acceptable``: the first action is one the case accepts.
- ``empathy_when_angry``: share of angry customers whose decision has empathy >= 0.7.
- ``human_when_asked``: share of requests for a human handed to a person (hand-off, escalation, call back).
- ``optout_honoured``: share of SMS opt-outs after which the customer is opted out of SMS.
- ``language_match``: share of non-English turns answered in their language, handed to a person, or
  left without a reply.
- ``intent_coverage``: share of turns with a clear support intent whose intent is not ``other``.
- ``injection_recall`` / ``injection_false_positive_rate``: injections (and look-alikes) the engine
  flagged, at the policy's ``thresholds.injection``.

A measure with no case to count is ``None``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from tactful.config import Settings
from tactful.domain import (
    ActionType,
    Channel,
    ConversationId,
    CustomerId,
    Decision,
    EventId,
    InboundMessage,
    TenantId,
)
from tactful.domain.intents import CLEAR_SUPPORT_INTENTS
from tactful.engine import Engine, EngineParts
from tactful.quality.suite import Case
from tactful.signals.selection import DEFAULT_EXPECTED_MS, TierSelector, load_tiers
from tactful.store import open_store
from tactful.tenants import create_tenant

EMPATHY_FLOOR: Final = 0.7
TO_A_PERSON: Final = frozenset({ActionType.HANDOFF_HUMAN, ActionType.ESCALATE, ActionType.OFFER_CALLBACK})
NO_LANGUAGE: Final = frozenset({"en", "und", ""})
MEASURES: Final = (
    "action_acceptable",
    "empathy_when_angry",
    "human_when_asked",
    "optout_honoured",
    "language_match",
    "intent_coverage",
    "injection_recall",
    "injection_false_positive_rate",
)
PATIENT_MS: Final = 60_000.0
_START: Final = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday noon: no quiet hours in the way


@dataclass(frozen=True)
class Outcome:
    """What the engine decided for one case, and how it counted in each measure."""

    case: Case
    action: ActionType
    empathy: float
    intent: str
    injection: float
    reply_language: str | None
    opted_out: bool
    hits: dict[str, bool]  # measure → counted as a hit (a flag, for the false-positive rate)
    signals: dict[str, object]  # the decision's top signals, to see why a measure failed
    rules_fired: tuple[str, ...]

    @property
    def failed(self) -> tuple[str, ...]:
        """The measures this case let down (a flagged look-alike is a false positive)."""
        return tuple(m for m, hit in self.hits.items() if hit == (m == FALSE_POSITIVES))


FALSE_POSITIVES: Final = "injection_false_positive_rate"


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self, measure: str) -> tuple[int, int]:
        counted = [o.hits[measure] for o in self.outcomes if measure in o.hits]
        return sum(counted), len(counted)

    def figures(self) -> dict[str, Any]:
        """The measures (share of hits, ``None`` with nothing to count), their counts and ``n``."""
        figures: dict[str, Any] = {}
        for measure in MEASURES:
            hits, total = self.counts(measure)
            figures[measure] = round(hits / total, 3) if total else None
        figures["counts"] = {m: list(self.counts(m)) for m in MEASURES}
        figures["n"] = len(self.outcomes)
        return figures


def judge(case: Case, decision: Decision, opted_out: bool, injection_threshold: float) -> Outcome:
    """Score one decision against its case's labels."""
    signals = decision.explanation.signals
    intent = str(signals.get("intent", "other"))
    raw_injection = signals.get("injection", 0.0)
    injection = float(raw_injection) if isinstance(raw_injection, int | float) else 0.0
    action = decision.action.type
    language = decision.reply.language
    flagged = injection >= injection_threshold
    measures: dict[str, tuple[bool, bool]] = {  # measure → (the case counts, hit)
        "action_acceptable": (True, action in case.accept),
        "empathy_when_angry": (case.angry, decision.tone.empathy >= EMPATHY_FLOOR),
        "human_when_asked": (case.wants_human, action in TO_A_PERSON),
        "optout_honoured": (case.optout and case.channel is Channel.SMS, opted_out),
        "language_match": (
            case.language not in NO_LANGUAGE,
            action in TO_A_PERSON or action is ActionType.NO_CONTACT or language == case.language,
        ),
        "intent_coverage": (case.family in CLEAR_SUPPORT_INTENTS, intent != "other"),
        "injection_recall": (case.injection is True, flagged),
        FALSE_POSITIVES: (case.injection is False, flagged),
    }
    hits = {m: hit for m, (counts, hit) in measures.items() if counts}
    return Outcome(
        case,
        action,
        decision.tone.empathy,
        intent,
        injection,
        language,
        opted_out,
        hits,
        dict(signals),
        decision.explanation.rules_fired,
    )


def evaluate(cases: list[Case], *, progress: Callable[[int], None] | None = None) -> Report:
    """Decide every case through a fresh engine on SQLite in a temporary folder."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="tactful-eval-") as folder:
        engine = Engine(
            EngineParts(
                open_store(f"sqlite:///{Path(folder) / 'eval.db'}"), tier=_patient_tiers(), clock=_Clock()
            )
        )
        try:
            tenant = TenantId(create_tenant(engine.store, "decision-quality").tenant.tenant_id)
            threshold = float(engine.policies.get(tenant).document.thresholds.get("injection", 0.7))
            for i, case in enumerate(cases):
                report.outcomes.append(_decide(engine, tenant, i, case, threshold))
                if progress is not None:
                    progress(i + 1)
        finally:
            engine.close()
    return report


def _patient_tiers() -> TierSelector:
    """The default signal tiers, each given all the time it needs: on a busy machine a rich tier
    that misses a channel's latency budget falls back to the fast one, which would make these
    figures depend on the load. Latency is measured apart (``make bench``)."""
    tiers = load_tiers(Settings().signal_tiers)
    return TierSelector(
        tiers, budgets_ms={channel: PATIENT_MS for channel in Channel}, expected_ms=DEFAULT_EXPECTED_MS
    )


def _decide(engine: Engine, tenant: TenantId, i: int, case: Case, threshold: float) -> Outcome:
    customer = CustomerId(f"dq-{i}")
    decision = engine.decide(
        InboundMessage(
            event_id=EventId(f"dq-{i}"),
            tenant_id=tenant,
            customer_id=customer,
            conversation_id=ConversationId(f"dq-{i}"),
            channel=case.channel,
            text=case.text,
            sent_at=engine.clock(),
        )
    )
    stored = engine.store.get_customer(tenant, customer)
    prefs = stored.preferences if stored is not None else None
    opted_out = prefs is not None and (prefs.do_not_contact or Channel.SMS in prefs.opted_out)
    return judge(case, decision, opted_out, threshold)


class _Clock:
    """Each decision a second after the last, from a fixed Monday noon (inside everyone's day, so
    quiet hours never decide a case): runs are repeatable."""

    def __init__(self) -> None:
        self.now = _START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now
