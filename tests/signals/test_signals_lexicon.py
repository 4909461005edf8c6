from __future__ import annotations

import pytest

from tactful.domain import SentimentLabel, Signals
from tactful.signals import LexiconTier, SignalTier, default_tier
from tactful.signals.emotions import EMOTIONS


@pytest.fixture(scope="module")
def tier() -> LexiconTier:
    return LexiconTier()


def test_implements_the_tier_protocol(tier: LexiconTier) -> None:
    as_protocol: SignalTier = tier
    assert as_protocol.name == "lexicon"
    assert as_protocol.version == "lexicon-1.0.0"
    assert default_tier() is default_tier()


def test_output_shape(tier: LexiconTier) -> None:
    s = tier.extract("Where is my order?")
    assert isinstance(s, Signals)
    assert s.tier == "lexicon"
    assert s.model_versions == {"lexicon": "lexicon-1.0.0", "vader": "3.3.2"}
    assert set(s.emotions) == set(EMOTIONS)
    assert s.injection == 0.0  # the engine fills it from the guard
    assert s.pii == ()
    assert s.emotions["anger"] == s.anger and s.emotions["frustration"] == s.frustration


# --- valence ------------------------------------------------------------------------------------


def test_polite_complaint_is_negative_although_vader_says_positive(tier: LexiconTier) -> None:
    text = "I was charged twice for my order, please refund me. Thanks!"
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    assert SentimentIntensityAnalyzer().polarity_scores(text)["compound"] > 0.5  # the problem
    s = tier.extract(text)
    assert s.sentiment is SentimentLabel.NEGATIVE
    assert s.valence == pytest.approx(-0.6353, abs=1e-4)  # recorded effect of the correction
    assert s.emotions["gratitude"] > 0.5  # the courtesy is still seen, as gratitude


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Thank you so much, the agent fixed it in minutes. Great service!", SentimentLabel.POSITIVE),
        ("Love the new app, works perfectly", SentimentLabel.POSITIVE),
        ("Where is my order? It has not arrived yet.", SentimentLabel.NEGATIVE),
        ("My internet is not working again, this is ridiculous", SentimentLabel.NEGATIVE),
        ("Hi, thanks for the quick help, but the app still doesn't work", SentimentLabel.NEGATIVE),
        ("What are your opening hours on Sunday", SentimentLabel.NEUTRAL),
        ("I need to change the address on my account", SentimentLabel.NEUTRAL),
    ],
)
def test_sentiment_golden(tier: LexiconTier, text: str, label: SentimentLabel) -> None:
    assert tier.extract(text).sentiment is label


# --- anger, frustration, other emotions ----------------------------------------------------------


def test_angry_caps_message(tier: LexiconTier) -> None:
    s = tier.extract("THIS IS THE THIRD TIME MY ORDER HAS NOT ARRIVED!!! FIX IT NOW")
    assert s.anger >= 0.7
    assert s.frustration >= 0.8


def test_calm_complaint_is_frustrated_not_angry(tier: LexiconTier) -> None:
    s = tier.extract("I have been waiting for two weeks and my parcel still has not arrived.")
    assert s.frustration >= 0.5
    assert s.anger < 0.3


def test_frustration_orders_with_repetition(tier: LexiconTier) -> None:
    calm = tier.extract("My router is not working.")
    again = tier.extract("My router is not working again.")
    third = tier.extract("For the third time, my router is not working again!!")
    assert calm.frustration < again.frustration < third.frustration


@pytest.mark.parametrize(
    ("text", "emotion"),
    [
        ("Thanks a lot, much appreciated", "gratitude"),
        ("I'm confused, I don't understand this bill at all??", "confusion"),
        ("So happy with the upgrade, awesome!", "joy"),
        ("I'm really sad and disappointed :(", "sadness"),
        ("I'm worried someone hacked my account, there is a transaction that was not me", "fear"),
        ("Hopefully this gets fixed soon, fingers crossed", "optimism"),
    ],
)
def test_emotion_golden(tier: LexiconTier, text: str, emotion: str) -> None:
    emotions = tier.extract(text).emotions
    assert emotions[emotion] >= 0.5
    assert max(emotions, key=lambda k: emotions[k]) == emotion


def test_profanity_raises_anger(tier: LexiconTier) -> None:
    assert (
        tier.extract("this fucking app deleted my photos").anger
        > tier.extract("this app deleted my photos").anger
    )


# --- urgency --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "URGENT: my card was stolen, please block it immediately",
        "I'm locked out of my account and my flight leaves in 2 hours",
        "Someone made a fraudulent transaction on my card",
        "I need this fixed by 5pm today, it's an emergency",
        "Please respond asap, I can't access my money",
    ],
)
def test_urgent_messages(tier: LexiconTier, text: str) -> None:
    assert tier.extract(text).urgency >= 0.7


@pytest.mark.parametrize(
    "text",
    [
        "Just wondering what your opening hours are",
        "Thanks, all sorted now",
        "Could you send me the invoice?",
    ],
)
def test_not_urgent(tier: LexiconTier, text: str) -> None:
    assert tier.extract(text).urgency < 0.3


def test_deadline_expressions(tier: LexiconTier) -> None:
    assert (
        tier.extract("please send the documents by 5pm").urgency
        > tier.extract("please send the documents").urgency
    )
    assert tier.extract("I need it within 2 hours").urgency >= 0.5


# --- style ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formal", "informal"),
    [
        (
            "Dear Sir or Madam, I would be grateful if you could advise on the status of my refund. "
            "Kind regards",
            "hey guys where's my refund lol",
        ),
        ("I am writing regarding the invoice I received yesterday.", "yo got ur invoice, whats this?? 😡"),
        ("Could you please confirm the delivery date?", "when's it coming?? pls"),
        ("Thank you for your assistance with my account.", "thx for the help u guys r awesome!!"),
    ],
)
def test_formality_pairs_are_ordered(tier: LexiconTier, formal: str, informal: str) -> None:
    f, i = tier.extract(formal).formality, tier.extract(informal).formality
    assert f > 0.6 > 0.4 > i


@pytest.mark.parametrize(
    ("polite", "rude"),
    [
        ("Could you please check my order status? Thank you!", "Check my order status."),
        ("Sorry to bother you, would you mind resending the code?", "Why haven't you sent the code yet?"),
        ("Hi, I was wondering if you could help me with my bill.", "you people are useless, fix my bill"),
        ("Thanks for looking into it, I appreciate it.", "What the hell is wrong with you idiots"),
    ],
)
def test_politeness_pairs_are_ordered(tier: LexiconTier, polite: str, rude: str) -> None:
    p, r = tier.extract(polite).politeness, tier.extract(rude).politeness
    assert p > 0.6 and r < 0.45 and p > r


# --- language -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hi, my order has not arrived and I need it for the weekend", "en"),
        ("Hola, no puedo acceder a mi cuenta desde ayer, por favor ayuda", "es"),
        ("Bonjour, je ne peux pas accéder à mon compte depuis hier", "fr"),
        ("Hallo, ich kann mich seit gestern nicht mehr in mein Konto einloggen", "de"),
        ("Olá, não consigo acessar a minha conta, preciso de ajuda", "pt"),
        ("Ciao, non riesco ad accedere al mio conto da ieri, grazie", "it"),
        ("Hallo, ik kan niet inloggen op mijn account sinds gisteren", "nl"),
    ],
)
def test_language_golden(tier: LexiconTier, text: str, language: str) -> None:
    s = tier.extract(text)
    assert s.language == language
    assert s.language_confidence >= 0.5


@pytest.mark.parametrize("text", ["ok", "Hi", "PS4", "<EMAIL_1>", "👍"])
def test_short_text_is_undetermined(tier: LexiconTier, text: str) -> None:
    s = tier.extract(text)
    assert s.language == "und"
    assert s.language_confidence <= 0.2


# --- intent ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Why is there a late fee on my bill this month?", "billing"),
        ("I returned the item two weeks ago, when do I get my money back?", "refund"),
        ("I want to cancel my subscription", "cancellation"),
        ("Where is my parcel? Tracking hasn't updated since Monday", "order_status"),
        ("The app crashes with error code 1006 every time I open it", "technical_issue"),
        ("I forgot my password and I'm locked out", "account_access"),
        ("Worst customer service ever, this is unacceptable", "complaint"),
        ("Great service from your team today, thank you so much!", "thanks"),
        ("How do I change my delivery address?", "product_question"),
        ("The weather is nice", "other"),
    ],
)
def test_intent_golden(tier: LexiconTier, text: str, intent: str) -> None:
    s = tier.extract(text)
    assert s.intent == intent
    if intent != "other":
        assert s.intent_confidence >= 0.35


def test_pii_tokens_do_not_disturb_signals(tier: LexiconTier) -> None:
    plain = tier.extract("Please call me back, my order never arrived")
    tokenised = tier.extract("Please call me back on <PHONE_1>, my order never arrived")
    assert tokenised.sentiment == plain.sentiment and tokenised.intent == plain.intent
    assert tokenised.anger == plain.anger  # a token in capitals is not shouting
