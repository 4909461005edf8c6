"""Tone variants visibly change the words, in every language, and move the measured tone the right
way: for each attribute, a low and a high target render different text, and the run-time scorer
reads the high one as higher."""

from __future__ import annotations

import itertools
import statistics

import pytest

from tactful.domain import Action, ActionType, Channel, SentimentLabel, Signals, ToneAttribute, ToneProfile
from tactful.render import RenderRequest, TemplateRenderer

RENDERER = TemplateRenderer()
ATTRIBUTES: tuple[ToneAttribute, ...] = ("formality", "warmth", "empathy", "brevity", "directness")
LANGUAGES = ("en", "es", "de", "fr", "it", "pt")
ACTIONS = [ActionType.REPLY, ActionType.CLARIFY, ActionType.HANDOFF_HUMAN, ActionType.ESCALATE]
CHANNELS = [Channel.CHAT, Channel.EMAIL, Channel.SOCIAL_DM, Channel.VOICE]
INTENTS = ["order_status", "billing", "refund", "technical_issue", "cancellation", "complaint", "other"]
UPSET = Signals(sentiment=SentimentLabel.NEGATIVE, frustration=0.7)
CASES = list(itertools.product(ACTIONS, CHANNELS, INTENTS))

# How far apart the low (0.1) and high (0.9) targets must measure on average, per attribute. Warmth
# and directness have least room: a reply has one greeting and one next step.
MIN_SPREAD = {"formality": 0.25, "warmth": 0.2, "empathy": 0.3, "brevity": 0.25, "directness": 0.15}


def _render(
    attribute: ToneAttribute, value: float, case: tuple[ActionType, Channel, str], language: str
) -> tuple[str, float]:
    action, channel, intent = case
    tone = ToneProfile(**{**dict.fromkeys(ATTRIBUTES, 0.5), attribute: value})
    out = RENDERER.render(
        RenderRequest(
            action=Action(type=action),
            channel=channel,
            inbound_channel=channel,
            tone=tone,
            signals=UPSET.model_copy(update={"intent": intent}),
            customer_name_token="<NAME_1>",
            language=language,
        )
    )
    assert out.measured is not None
    return out.reply.text, getattr(out.measured, attribute)


@pytest.mark.parametrize(("language", "attribute"), list(itertools.product(LANGUAGES, ATTRIBUTES)))
def test_each_attribute_changes_the_words_and_the_measure(language: str, attribute: ToneAttribute) -> None:
    lows = [_render(attribute, 0.1, case, language) for case in CASES]
    highs = [_render(attribute, 0.9, case, language) for case in CASES]
    changed = sum(lo[0] != hi[0] for lo, hi in zip(lows, highs, strict=True)) / len(CASES)
    spread = statistics.fmean(hi[1] for hi in highs) - statistics.fmean(lo[1] for lo in lows)
    wrong_way = sum(hi[1] < lo[1] - 0.05 for lo, hi in zip(lows, highs, strict=True)) / len(CASES)
    assert changed >= 0.85, f"{attribute}: only {changed:.0%} of replies change wording"
    assert spread >= MIN_SPREAD[attribute], f"{attribute}: high - low = {spread:.2f}"
    assert wrong_way <= 0.1, f"{attribute}: {wrong_way:.0%} move the wrong way"


# Words only one register uses: the informal and the polite form of address, or (English) contractions.
ADDRESS = {
    "en": (
        {"i'll", "i'm", "you're", "we'll", "i've", "let's", "don't", "it's"},
        {"we will", "we are", "i am", "please"},
    ),
    "es": (
        {"te", "tu", "tus", "tú", "dime", "mándame", "cuéntame", "dímelo", "tienes"},
        {"le", "su", "usted", "rogamos", "indíquenos"},
    ),
    "de": (
        {"du", "dich", "dir", "dein", "deine", "deinem", "deinen", "deiner"},
        {"sie", "ihnen", "ihr", "ihre", "ihrem", "ihren", "ihrer"},
    ),
    "fr": ({"tu", "te", "ton", "ta", "tes", "toi"}, {"vous", "votre", "vos"}),
    "it": ({"tu", "ti", "tuo", "tua", "tuoi", "te"}, {"lei", "la", "le", "sua", "suo", "suoi"}),
    "pt": (
        {"gente", "pra", "te", "tô", "valeu", "bora"},
        {"solicitamos", "agradecemos", "compreendemos", "informamos"},
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_formality_switches_the_form_of_address(language: str) -> None:
    """Casual and formal replies address the customer differently (tú/usted, du/Sie, tu/vous, tu/Lei)."""
    informal, polite = ADDRESS[language]

    def words(text: str) -> set[str]:
        lowered = text.lower().replace("-", " ")
        return {w.strip(".,!?;:()") for w in lowered.split()} | {
            " ".join(pair) for pair in zip(lowered.split(), lowered.split()[1:], strict=False)
        }

    casual_hits = formal_hits = 0
    for case in CASES:
        casual, _ = _render("formality", 0.05, case, language)
        formal, _ = _render("formality", 0.95, case, language)
        casual_hits += bool(words(casual) & informal)
        formal_hits += bool(words(formal) & polite) and not (words(formal) & informal)
    assert casual_hits >= 0.5 * len(CASES), f"{casual_hits}/{len(CASES)} casual replies use the informal form"
    assert formal_hits >= 0.6 * len(CASES), (
        f"{formal_hits}/{len(CASES)} formal replies use only the polite form"
    )


MIXED = {
    # Polite markers that cannot be third-person statements ("su fecha" is "its date").
    "es": (
        {"te", "tu", "tus", "tú", "dime", "tienes", "puedes", "quieres"},
        {"usted", "indíquenos", "dígame", "envíeme", "rogamos"},
    ),
    "fr": ({"tu", "te", "ton", "ta", "tes", "toi"}, {"vous", "votre", "vos"}),
    "it": (
        {"tu", "ti", "tuo", "tua", "tuoi", "puoi", "vuoi"},
        {"lei", "preghiamo", "invii", "dica", "ringraziamo"},
    ),
}


@pytest.mark.parametrize("language", ["es", "fr", "it", "de"])
def test_no_reply_mixes_informal_and_polite_address(language: str) -> None:
    """The greeting, opener and closer follow the body's form of address: never "tú" and "usted",
    "du" and "Sie" in one reply."""
    for case, formality in itertools.product(CASES, (0.1, 0.3, 0.45, 0.6, 0.9)):
        text, _ = _render("formality", formality, case, language)
        if language == "de":
            words = set(text.replace(",", " ").replace(".", " ").split())
            informal = words & {"du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner"}
            polite = words & {"Ihnen", "Ihre", "Ihren", "Ihrem", "Ihrer"}
        else:
            words = {w.strip(".,!?;:()'") for w in text.lower().replace("'", " ").replace("-", " ").split()}
            informal = words & MIXED[language][0]
            polite = words & MIXED[language][1]
        assert not (informal and polite), (formality, informal, polite, text)
