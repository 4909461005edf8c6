"""Tier selection through ``Engine.decide``: the richest tier fitting the channel answers, and
every fallback (failed, unavailable, late, busy, failing net) shows on the decision."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tactful.config import Settings
from tactful.domain import Channel
from tactful.engine import Engine, EngineParts
from tactful.errors import InputRejected
from tactful.signals.base import TierUnavailable
from tactful.signals.selection import TierSelector
from tactful.store.base import Store
from tests.conftest import FixedClock, MessageFactory
from tests.engine.tier_doubles import StubTier

EXPECTED = {"embed": 3.0, "transformer": 30.0}


def engine_with(store: Store, clock: FixedClock, *tiers: StubTier) -> Engine:
    return Engine(EngineParts(store, clock=clock, tier=TierSelector(list(tiers), expected_ms=EXPECTED)))


def test_chat_gets_the_transformer_and_records_its_models(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = engine_with(store, clock, StubTier("fast"), StubTier("embed"), StubTier("transformer"))
    d = engine.decide(message("where is my refund", channel=Channel.CHAT))
    engine.close()
    assert d.degraded is False and d.degradations == ()
    assert d.model_versions["transformer"] == "transformer-1.0"
    assert "fast" not in d.model_versions  # the unused safety net is not claimed
    assert store.audit.entries(d.tenant_id)[-1].payload["snapshot"]["signals_tier"] == "transformer"


def test_voice_gets_the_richest_tier_within_its_tight_budget(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = engine_with(store, clock, StubTier("fast"), StubTier("embed"), StubTier("transformer"))
    d = engine.decide(message("where is my refund", channel=Channel.VOICE))
    engine.close()
    assert d.degraded is False
    assert d.model_versions["embed"] == "embed-1.0" and "transformer" not in d.model_versions


def test_a_failing_tier_degrades_to_the_net_and_says_so(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    net = StubTier("fast", intent="billing")
    engine = engine_with(store, clock, net, StubTier("transformer", fail=RuntimeError("oom")))
    d = engine.decide(message("I was charged twice", channel=Channel.EMAIL))
    engine.close()
    assert d.degraded is True
    assert d.degradations == ("signals: tier transformer failed (RuntimeError); fast result used",)
    assert d.model_versions["fast"] == "fast-1.0" and "transformer" not in d.model_versions
    assert d.explanation.signals["intent"] == "billing"  # the net's reading was used


def test_a_tier_unavailable_at_run_time_degrades_once_then_is_skipped(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    gone = StubTier("transformer", fail=TierUnavailable("model file deleted (engine test)"))
    engine = engine_with(store, clock, StubTier("fast"), StubTier("embed"), gone)
    first = engine.decide(message("hello", channel=Channel.CHAT))
    second = engine.decide(message("hello again", channel=Channel.CHAT))
    engine.close()
    assert first.degradations == (
        "signals: tier transformer unavailable (model file deleted (engine test)); fast result used",
    )
    assert second.degraded is False and "embed" in second.model_versions
    assert gone.calls == 1


def test_a_late_tier_degrades_to_the_net(store: Store, clock: FixedClock, message: MessageFactory) -> None:
    gate = threading.Event()
    engine = engine_with(store, clock, StubTier("fast"), StubTier("transformer", gate=gate))
    try:
        d = engine.decide(message("hello", channel=Channel.SMS))
    finally:
        gate.set()  # let the abandoned call finish
        engine.tiers.close(wait=True)
        engine.close()
    assert d.degraded is True
    assert d.degradations == ("signals: tier transformer late (over the 50 ms sms budget); fast result used",)
    assert "fast" in d.model_versions


def test_a_tier_still_busy_with_late_calls_is_not_called_again(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    gate = threading.Event()
    slow = StubTier("transformer", gate=gate)
    engine = engine_with(store, clock, StubTier("fast"), slow)
    try:
        # Each late call raises the expected figure (30 → 34 → 37.2 ms), still within 50 ms.
        decisions = [engine.decide(message(f"hello {i}", channel=Channel.SMS)) for i in range(3)]
    finally:
        gate.set()
        engine.tiers.close(wait=True)
        engine.close()
    assert [d.degradations[0].split(";")[0] for d in decisions] == [
        "signals: tier transformer late (over the 50 ms sms budget)",
        "signals: tier transformer late (over the 50 ms sms budget)",
        "signals: tier transformer busy (2 late calls still running)",
    ]
    assert slow.calls == 2


def test_a_closed_engine_tier_selector_answers_from_the_net(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = engine_with(store, clock, StubTier("fast"), StubTier("transformer"))
    engine.tiers.close()
    d = engine.decide(message("hello", channel=Channel.CHAT))
    engine.close()
    assert d.degradations == ("signals: tier transformer closed; fast result used",)


def test_a_failing_net_with_nothing_richer_gives_neutral_signals(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = engine_with(store, clock, StubTier("fast", fail=KeyError("vocab")), StubTier("transformer"))
    d = engine.decide(message("hello", channel=Channel.VOICE))  # 15 ms: only the net fits
    engine.close()
    assert d.degradations == ("signals: tier fast failed (KeyError); neutral signals used",)
    assert d.explanation.signals["intent"] == "other"


def test_a_failing_net_is_not_a_degradation_when_the_rich_tier_answers(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = engine_with(store, clock, StubTier("fast", fail=KeyError("vocab")), StubTier("transformer"))
    d = engine.decide(message("hello", channel=Channel.EMAIL))
    engine.close()
    assert d.degraded is False and "transformer" in d.model_versions


def test_from_settings_wires_the_configured_tiers(tmp_path: Path, clock: FixedClock) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/t.db",
        signal_tiers=("lexicon",),
        tier_budgets_ms=(("email", 100.0),),
    )
    engine = Engine.from_settings(settings, clock=clock)
    try:
        assert [t.name for t in engine.tiers.tiers] == ["lexicon"]
        assert engine.tiers.budgets_ms[Channel.EMAIL] == 100.0
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("env", "tiers", "budgets"),
    [
        ({}, ("fast", "multilingual"), ()),
        ({"TACTFUL_SIGNAL_TIERS": "lexicon, transformer"}, ("lexicon", "transformer"), ()),
        (
            {"TACTFUL_TIER_BUDGETS": "voice=20,email=500.5"},
            ("fast", "multilingual"),
            (("voice", 20.0), ("email", 500.5)),
        ),
    ],
)
def test_tier_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tiers: tuple[str, ...], budgets: tuple[object, ...]
) -> None:
    for name in ("TACTFUL_SIGNAL_TIERS", "TACTFUL_TIER_BUDGETS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert (settings.signal_tiers, settings.tier_budgets_ms) == (tiers, budgets)
    assert Settings.from_env() == settings  # stable
    again = settings.as_environment()
    assert again["TACTFUL_SIGNAL_TIERS"] == ",".join(tiers)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TACTFUL_SIGNAL_TIERS", "gpt4"),
        ("TACTFUL_SIGNAL_TIERS", " , "),
        ("TACTFUL_TIER_BUDGETS", "voice=0"),
        ("TACTFUL_TIER_BUDGETS", "fax=10"),
        ("TACTFUL_TIER_BUDGETS", "voice=fast"),
        ("TACTFUL_TIER_BUDGETS", "voice=nan"),
        ("TACTFUL_TIER_BUDGETS", "email=1e9"),
    ],
)
def test_bad_tier_settings_are_rejected_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InputRejected) as exc:
        Settings.from_env()
    assert exc.value.code == "invalid_setting" and name in str(exc.value)
