"""The reply language: table-driven choice, the policy's `replies` section, and end to end through the
engine (Spanish in, Spanish out; a Spanish profile gets Spanish; an unsupported language is answered
in the default language or handed off, as the policy says). Signals are constructed, not modelled."""

from __future__ import annotations

import json

import pytest
import yaml

from tactful.config import default_policy_file
from tactful.domain import ActionType, Channel, Signals, TenantId
from tactful.engine import Engine, EngineParts
from tactful.errors import TactfulError
from tactful.policy import load_policy
from tactful.policy.lifecycle import activate, publish
from tactful.render.language import LanguageSetting, choose_language, normalise
from tactful.store.base import Store
from tactful.tenants import NewTenant
from tests.conftest import FixedClock, MessageFactory, put_customer

AVAILABLE = ("en", "es", "de", "fr", "it", "pt")
DEFAULT = LanguageSetting()
HANDOFF = LanguageSetting(unsupported_language="handoff")


@pytest.mark.parametrize(
    ("detected", "confidence", "profile", "setting", "language", "source", "handoff"),
    [
        ("es", 0.9, None, DEFAULT, "es", "message", False),  # Spanish in, Spanish out
        ("es", 0.9, "en", DEFAULT, "es", "message", False),  # the message wins over the profile
        ("en", 0.3, "es", DEFAULT, "es", "profile", False),  # unsure detection: the profile
        ("und", 0.0, "es-MX", DEFAULT, "es", "profile", False),  # region subtags are dropped
        ("und", 0.0, None, DEFAULT, "en", "tenant", False),  # nothing known: the tenant default
        ("und", 0.0, None, LanguageSetting(default_language="de"), "de", "tenant", False),
        ("nl", 0.9, None, DEFAULT, "en", "message", False),  # no Dutch templates: default language
        ("nl", 0.9, None, HANDOFF, "en", "message", True),  # ... or a person, as the policy says
        ("fr", 0.9, None, LanguageSetting(languages=("en", "de")), "en", "message", False),  # not offered
        ("pt", 0.59, "it", DEFAULT, "it", "profile", False),  # below detect_min_confidence (0.6)
        ("it", 0.5, None, HANDOFF, "en", "unsure", True),  # not English, but which? a person can tell
        ("it", 0.5, None, DEFAULT, "en", "tenant", False),  # ... or the default, as the policy says
        ("it", 0.5, "pt", HANDOFF, "pt", "profile", False),  # the profile settles it
        ("en", 0.5, None, HANDOFF, "en", "tenant", False),  # unsure English is the default anyway
    ],
)
def test_the_reply_language_is_chosen_in_order(
    detected: str,
    confidence: float,
    profile: str | None,
    setting: LanguageSetting,
    language: str,
    source: str,
    handoff: bool,
) -> None:
    choice = choose_language(
        Signals(language=detected, language_confidence=confidence), profile, setting, AVAILABLE
    )
    assert (choice.language, choice.source, choice.handoff) == (language, source, handoff)
    assert (choice.note() is None) == choice.supported


@pytest.mark.parametrize(
    ("code", "out"), [("pt-BR", "pt"), ("ES", "es"), ("en_GB", "en"), ("und", ""), ("", "")]
)
def test_language_codes_are_normalised(code: str, out: str) -> None:
    assert normalise(code) == out


def _policy(**replies: object) -> str:
    doc = yaml.safe_load(default_policy_file().read_text(encoding="utf-8"))
    doc["replies"] = {**doc.get("replies", {}), **replies}
    return yaml.safe_dump(doc)


def test_the_default_policy_states_the_replies_section() -> None:
    replies = load_policy(default_policy_file().read_text(encoding="utf-8")).document.replies
    assert replies.default_language == "en"
    assert set(replies.languages) == set(AVAILABLE)
    assert replies.unsupported_language in ("default_language", "handoff")


@pytest.mark.parametrize(
    ("replies", "message"),
    [
        ({"default_language": "xx"}, "default_language 'xx' must be one of languages"),
        ({"languages": ["en", "en"]}, "listed twice"),
        ({"languages": []}, "at least 1"),
        ({"languages": ["english"]}, "pattern"),
        ({"unsupported_language": "shrug"}, "unsupported_language"),
        ({"detect_min_confidence": 1.5}, "detect_min_confidence"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_replies_section_is_refused(replies: dict[str, object], message: str) -> None:
    with pytest.raises(TactfulError, match=message):
        load_policy(_policy(**replies))


class _FixedTier:
    """A signal tier that answers with the signals the test gives it (the models are not under test)."""

    name = "fixed"
    version = "fixed-1"

    def __init__(self, signals: Signals) -> None:
        self.signals = signals

    def extract(self, text: str) -> Signals:
        return self.signals


def _engine(store: Store, clock: FixedClock, signals: Signals) -> Engine:
    return Engine(EngineParts(store, clock=clock, tier=_FixedTier(signals)))


SPANISH = Signals(
    language="es", language_confidence=0.9, intent="order_status", intent_confidence=0.9, formality=0.5
)


def test_spanish_in_spanish_out(store: Store, clock: FixedClock, message: MessageFactory) -> None:
    engine = _engine(store, clock, SPANISH)
    d = engine.decide(message("¿Dónde está mi pedido? Lo pedí hace una semana.", channel=Channel.CHAT))
    assert d.reply.language == "es"
    assert "pedido" in d.reply.text
    assert d.tone.measured is not None and d.tone.measured.scorer


def test_a_spanish_profile_gets_spanish_when_the_message_says_little(
    store: Store, clock: FixedClock, message: MessageFactory, tenant: NewTenant
) -> None:
    put_customer(store, tenant.tenant.tenant_id, "c-es", profile={"language": "es"})
    engine = _engine(store, clock, SPANISH.model_copy(update={"language": "und", "language_confidence": 0.1}))
    d = engine.decide(message("ok??", channel=Channel.SMS, customer="c-es"))
    assert d.reply.language == "es"


def _activate(store: Store, tenant: NewTenant, source: str) -> None:
    tid = TenantId(tenant.tenant.tenant_id)
    version, _ = publish(store, tid, source, by="test")
    activate(store, tid, version.version, by="test")


def test_an_unsupported_language_is_answered_in_the_default_language_when_the_policy_says_so(
    store: Store, clock: FixedClock, message: MessageFactory, tenant: NewTenant
) -> None:
    _activate(store, tenant, _policy(unsupported_language="default_language"))
    engine = _engine(store, clock, SPANISH.model_copy(update={"language": "nl"}))
    d = engine.decide(message("Waar is mijn bestelling?"))
    assert d.reply.language == "en" and d.action.type is not ActionType.HANDOFF_HUMAN
    assert any("'nl'" in note and "replied in 'en'" in note for note in d.explanation.notes)


def test_the_default_policy_hands_an_unsupported_language_to_a_person(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = _engine(store, clock, SPANISH.model_copy(update={"language": "nl"}))
    d = engine.decide(message("Waar is mijn bestelling?"))
    assert d.action.type is ActionType.HANDOFF_HUMAN
    assert d.action.rule_id == "reply_language" and "reply_language" in d.explanation.rules_fired
    assert d.reply.language == "en" and d.reply.template_id.startswith("handoff_human.")


def test_measured_tone_is_recorded_beside_the_target_and_old_documents_still_read(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = _engine(store, clock, SPANISH.model_copy(update={"language": "en"}))
    d = engine.decide(message("where is my order?"))
    stored = engine.store.get_decision(d.tenant_id, d.decision_id)
    assert stored is not None and stored.tone.measured == d.tone.measured
    doc = json.loads(stored.model_dump_json())
    assert set(doc["tone"]["measured"]) >= {
        "formality",
        "warmth",
        "empathy",
        "brevity",
        "directness",
        "scorer",
    }
    assert doc["reply"]["language"] == "en"
    # A document stored before these fields existed reads back and serialises exactly as it was.
    del doc["tone"]["measured"], doc["reply"]["language"]
    old = type(stored).model_validate(doc)
    assert old.tone.measured is None and old.reply.language is None
    assert json.loads(old.model_dump_json()) == doc
