"""The support rules read beside the fast tier's heads: a request for a person, risk flags, anger
and waiting cues, and intent cues — in en, es, de, fr, it, pt (``rules.yaml``,
``intent_cues.yaml``), matched in the tier's one phrase-index pass.

The heads learnt English support traffic from data; the rules carry what data here cannot teach:
the other five languages, risks no data set labels, and the typography of an angry customer
("!!!", capitals, 😡). ``overlay`` merges both into ``Signals``: a cue can raise a score or tip the
intent, never lower what the model found.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tactful.domain import Signals
from tactful.domain.intents import Risk, SupportIntent
from tactful.domain.signals import SentimentLabel
from tactful.signals.cues import Cues
from tactful.signals.phrases import Hits, load_lexicons, noisy_or
from tactful.signals.tokens import TextView

RULE_FILES: Final = ("support/rules.yaml", "support/intent_cues.yaml")
_RULES: Final = "support/rules."
_INTENTS: Final = "support/intent_cues."
_ANGRY_EMOJI: Final = frozenset("😡🤬😠👿💢👎🖕😤")
# (value, lexicon category) pairs, in the enums' order, spelt out once: enum member access is slow.
_RISK_CATEGORIES: Final = tuple((risk.value, _RULES + risk.value) for risk in Risk)
_INTENT_CATEGORIES: Final = tuple((family.value, _INTENTS + family.value) for family in SupportIntent)
# Enum values as plain strings: an enum member's ``.value`` costs a descriptor call each time.
_HUMAN_AGENT: Final = SupportIntent.HUMAN_AGENT.value
_FRAUD_INTENT: Final = SupportIntent.FRAUD.value
_COMPLAINT: Final = SupportIntent.COMPLAINT.value
_OTHER: Final = SupportIntent.OTHER.value
_FRAUD_RISK: Final = Risk.FRAUD.value
_TAKEOVER: Final = Risk.ACCOUNT_TAKEOVER.value
_NEGATIVE: Final = SentimentLabel.NEGATIVE
# Lexicon category → (position in the enum, value).
_RISK_OF: Final = {category: (i, value) for i, (value, category) in enumerate(_RISK_CATEGORIES)}
_INTENT_OF: Final = {category: (i, value) for i, (value, category) in enumerate(_INTENT_CATEGORIES)}
_THREATS: Final = (Risk.LEGAL_THREAT.value, Risk.MEDIA_THREAT.value, Risk.REGULATOR_THREAT.value)
# How far one fully sure intent cue moves the head's odds: exp(4) ≈ 55 times.
INTENT_BOOST: Final = 4.0
# Without any cue, a message in another language is judged by a head that learnt English: its
# confidence is held back so the policy asks rather than guesses.
FOREIGN_DAMPING: Final = 0.6
NO_WORDS_CONFIDENCE: Final = 0.15  # empty, emoji-only or digits-only: nothing to route by
# "ok", "hmm", a name: too few words for the head's ``other`` to mean "off topic" rather than "unclear".
SHORT_WORDS: Final = 3
SHORT_OTHER_CONFIDENCE: Final = 0.3
# An angry message or a threat with no topic named is a complaint.
COMPLAINT_FROM_ANGER: Final = 0.6
ANGRY_VALENCE: Final = 0.5  # anger cues at least this strong make the message negative
# The emotion head's anger is a share of a forced four-way choice scaled by how emotional the text
# is, so angry tweets mostly score 0.2–0.4. On TweetEval-emotion val (anger vs the rest) F1 peaks
# at 0.2 (P 0.84, R 0.67); 1 − (1 − a)^3.1 maps 0.2 to 0.5, the policy's angry_anger threshold.
ANGER_STRETCH: Final = 3.1


def rule_lexicons() -> dict[str, dict[str, float]]:
    lexicons: dict[str, dict[str, float]] = {}
    for filename in RULE_FILES:
        lexicons.update(load_lexicons(filename))
    return lexicons


@dataclass(frozen=True)
class SupportCues:
    wants_human: float
    risks: dict[str, float]  # Risk value → score, only those found
    anger: float
    frustration: float
    intents: dict[str, float]  # SupportIntent value → cue strength, only those found
    words: int  # words with letters
    threat: float  # the strongest legal, media or regulator threat


def _scores(found: Mapping[str, Mapping[str, float]], of: Mapping[str, tuple[int, str]]) -> dict[str, float]:
    """Value → noisy-OR of its phrases' weights, for each category of ``of`` that ``found`` holds
    with a score above 0, in ``of``'s order (the enum's). A message matches a few categories:
    walking them costs less than a look-up per category of the enum."""
    picked = [(spec, f) for category, f in found.items() if (spec := of.get(category)) is not None]
    if len(picked) > 1:
        picked.sort(key=lambda item: item[0][0])
    return {value: score for (_, value), f in picked if f and (score := noisy_or(f.values())) > 0}


def support_cues(view: TextView, hits: Hits, cues: Cues) -> SupportCues:
    found = hits.by_category
    risks = _scores(found, _RISK_OF)
    text = view.text
    # most texts hold none: the C-level disjointness test spares a Python loop over every character
    angry_emoji = (
        0 if text.isascii() or _ANGRY_EMOJI.isdisjoint(text) else sum(map(_ANGRY_EMOJI.__contains__, text))
    )
    threat = max((risks.get(value, 0.0) for value in _THREATS), default=0.0)
    waiting = hits.score(_RULES + "waiting")
    anger = noisy_or(
        (
            hits.score(_RULES + "anger"),
            cues.shouting * 0.75,
            cues.exclaiming * 0.6,
            1.0 - 0.6**angry_emoji,
            threat * 0.5,
            waiting * 0.25,
        )
    )
    frustration = noisy_or((waiting, anger * 0.8, cues.puzzled * 0.5))
    intents = _scores(found, _INTENT_OF)
    return SupportCues(
        wants_human=hits.score(_RULES + "human"),
        risks=risks,
        anger=anger,
        frustration=frustration,
        intents=intents,
        words=view.alpha_words,
        threat=threat,
    )


def combine_intent(
    probabilities: Sequence[float], labels: Sequence[str], cues: SupportCues, language: str
) -> tuple[str, float, list[float]]:
    """The intent, its confidence and the combined distribution: the head's probabilities times
    ``exp(INTENT_BOOST · cue)`` for every family a cue names, renormalised. Plain floats: for one
    message's ~16 labels, array calls would cost more than the arithmetic."""
    p = [float(v) for v in probabilities]
    boosts = dict(cues.intents)
    if cues.wants_human:
        boosts[_HUMAN_AGENT] = max(boosts.get(_HUMAN_AGENT, 0.0), cues.wants_human)
    if _FRAUD_INTENT not in boosts and cues.risks:
        boosts[_FRAUD_INTENT] = max(cues.risks.get(_FRAUD_RISK, 0.0), cues.risks.get(_TAKEOVER, 0.0))
    complaint = max((cues.anger if cues.anger >= ANGRY_VALENCE else 0.0) * COMPLAINT_FROM_ANGER, cues.threat)
    if complaint > boosts.get(_COMPLAINT, 0.0):
        boosts[_COMPLAINT] = complaint
    if boosts:
        p = [v * math.exp(INTENT_BOOST * boosts.get(label, 0.0)) for v, label in zip(p, labels, strict=True)]
        total = sum(p)
        p = [v / total for v in p]
    top = max(range(len(p)), key=p.__getitem__)  # the first of equal maxima, as argmax
    confidence = p[top]
    if not cues.words:
        return _OTHER, min(confidence, NO_WORDS_CONFIDENCE), p
    if not boosts:
        if language not in ("en", "und"):
            confidence *= FOREIGN_DAMPING
        if labels[top] == _OTHER and cues.words < SHORT_WORDS:
            confidence = min(confidence, SHORT_OTHER_CONFIDENCE)
    return labels[top], confidence, p


def overlay(
    signals: Signals, cues: SupportCues, combined: Mapping[str, float], *, stretch: float = ANGER_STRETCH
) -> Signals:
    """``signals`` with the rules' wants_human, risks and anger floors merged in."""
    return signals.model_copy(update=overlay_update(dict(signals), cues, combined, stretch=stretch))


def overlay_update(
    fields: Mapping[str, Any],
    cues: SupportCues,
    combined: Mapping[str, float],
    *,
    stretch: float = ANGER_STRETCH,
) -> dict[str, Any]:
    """The fields the rules' wants_human, risks and anger floors change in ``fields`` (a
    ``Signals``' values, or those a tier is about to build one from). ``stretch`` maps the emotion
    model's anger to the policy's scale (1: the value is already on it, as the lexicon tier's)."""
    update: dict[str, Any] = {}
    intent = fields["intent"]
    human = max(
        cues.wants_human,
        combined.get(_HUMAN_AGENT, 0.0) if intent == _HUMAN_AGENT else 0.0,
    )
    update["wants_human"] = round(min(1.0, human), 4)
    risks = dict(cues.risks)
    if intent == _FRAUD_INTENT:
        risks[_FRAUD_RISK] = max(risks.get(_FRAUD_RISK, 0.0), combined.get(_FRAUD_INTENT, 0.0))
    update["risks"] = {k: round(min(1.0, v), 4) for k, v in risks.items() if v > 0}
    # ``emotions`` stays the emotion models' own reading; ``anger`` and ``frustration`` are the
    # judgement the policy acts on: the model's anger stretched to the policy's scale, or the cues.
    emotions = fields["emotions"]
    model_anger = emotions.get("anger", fields["anger"])
    model_frustration = emotions.get("frustration", fields["frustration"])
    anger = max(1.0 - (1.0 - model_anger) ** stretch, cues.anger)
    frustration = max(model_frustration, cues.frustration)
    update |= {"anger": round(min(1.0, anger), 4), "frustration": round(min(1.0, frustration), 4)}
    # An angry message, a threat or a theft report is negative whatever the sentiment head read.
    severity = max(cues.anger if cues.anger >= ANGRY_VALENCE else 0.0, max(cues.risks.values(), default=0.0))
    if severity and fields["valence"] > -severity:
        update["valence"] = round(-severity, 4)
        update["sentiment"] = _NEGATIVE
    return update
