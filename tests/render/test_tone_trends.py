"""The rendered text moves with the tone target, as measured by ``tone_of_text``.

At a neutral baseline every attribute must move strictly in the right direction for every action,
channel and situation. At other baselines an attribute may have nothing left to change (a direct,
brief reply has no opener for warmth to warm up) so only "never the wrong way" is required there.
"""

from __future__ import annotations

import itertools

import pytest

from tactful.domain import Action, ActionType, Channel, SentimentLabel, Signals, ToneAttribute, ToneProfile
from tactful.render import RenderRequest, TemplateRenderer, tone_of_text

RENDERER = TemplateRenderer()
ATTRIBUTES: tuple[ToneAttribute, ...] = ("formality", "warmth", "empathy", "brevity", "directness")
ACTIONS = [a for a in ActionType if a is not ActionType.NO_CONTACT]
CHANNELS = [Channel.CHAT, Channel.SMS, Channel.EMAIL, Channel.VOICE, Channel.SOCIAL_DM]
INTENTS = ["billing", "refund", "delivery", "technical", "account", "cancel", "complaint", "praise", "other"]
UPSET = Signals(sentiment=SentimentLabel.NEGATIVE, frustration=0.7)


def _measure(
    attribute: ToneAttribute, baseline: float, value: float, action: ActionType, channel: Channel, intent: str
) -> float:
    tone = ToneProfile(**{**dict.fromkeys(ATTRIBUTES, baseline), attribute: value})
    target = Channel.SOCIAL_DM if action is ActionType.SWITCH_CHANNEL else channel
    reply = RENDERER.render(
        RenderRequest(
            action=Action(type=action),
            channel=target,
            inbound_channel=channel,
            tone=tone,
            signals=UPSET.model_copy(update={"intent": intent}),
            customer_name_token="<NAME_1>",
        )
    )
    if attribute == "brevity":
        return -float(len(reply.text))  # briefer = shorter; negated so "higher target, higher value"
    return tone_of_text(reply.text)[attribute]


CASES = list(itertools.product(ACTIONS, CHANNELS, INTENTS))


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_strictly_monotonic_at_a_neutral_baseline(attribute: ToneAttribute) -> None:
    wrong = [
        (a.value, c.value, i)
        for a, c, i in CASES
        if not _measure(attribute, 0.5, 0.1, a, c, i) < _measure(attribute, 0.5, 0.9, a, c, i)
    ]
    assert wrong == []


@pytest.mark.parametrize(("attribute", "baseline"), list(itertools.product(ATTRIBUTES, (0.2, 0.8))))
def test_never_moves_the_wrong_way(attribute: ToneAttribute, baseline: float) -> None:
    lows = [_measure(attribute, baseline, 0.1, a, c, i) for a, c, i in CASES]
    highs = [_measure(attribute, baseline, 0.9, a, c, i) for a, c, i in CASES]
    assert all(lo <= hi for lo, hi in zip(lows, highs, strict=True))
    assert sum(highs) > sum(lows) or attribute in ("warmth", "directness")  # these two can be fully masked


def test_tone_of_text_reads_obvious_cases() -> None:
    casual = tone_of_text("Hey! Thanks so much, we'll get it sorted, no worries!")
    formal = tone_of_text("Dear customer, we will review your enquiry and respond promptly. Kind regards,")
    assert casual["formality"] < 0.3 < 0.7 < formal["formality"]
    assert casual["warmth"] > formal["warmth"]
    assert tone_of_text("I'm so sorry, I understand how frustrating this is.")["empathy"] > 0.7
    assert tone_of_text("Your order shipped.")["empathy"] == 0.0
    short, long = tone_of_text("Done."), tone_of_text("word " * 200)
    assert short["brevity"] > 0.9 > 0.2 > long["brevity"]
    assert (
        tone_of_text("Please restart the app. It was a busy week.")["directness"]
        > tone_of_text("It was a busy week. Perhaps you might restart the app if you like.")["directness"]
    )
    for scores in (casual, formal, short, long):
        assert set(scores) == set(ATTRIBUTES)
        assert all(0.0 <= v <= 1.0 for v in scores.values())
