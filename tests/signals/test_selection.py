"""Tier selection on its own: which tier a channel gets, how measured latency moves the choice,
loading with missing tiers, and each fallback's stated reason. Late tiers are held on events;
the clock the selector measures with is injected."""

from __future__ import annotations

import logging
import threading

import pytest
from tests.engine.tier_doubles import StubTier

from tactful.config import Settings
from tactful.domain import Channel, Signals
from tactful.signals.base import SignalTier, TierUnavailable
from tactful.signals.selection import TierSelector, load_tiers, measure_ms

EXPECTED = {"embed": 3.0, "transformer": 30.0}


def three_tiers(**rich: object) -> tuple[StubTier, StubTier, StubTier]:
    return StubTier("fast"), StubTier("embed"), StubTier("transformer", **rich)


@pytest.mark.parametrize(
    ("channel", "expected_ms", "chosen"),
    [
        (Channel.VOICE, EXPECTED, "embed"),  # 15 ms: the transformer does not fit
        (Channel.CHAT, EXPECTED, "transformer"),
        (Channel.SMS, EXPECTED, "transformer"),
        (Channel.EMAIL, EXPECTED, "transformer"),
        (Channel.CHAT, {"embed": 3.0, "transformer": 80.0}, "embed"),  # a slow machine
        (Channel.EMAIL, {"embed": 3.0, "transformer": 80.0}, "transformer"),
        (Channel.VOICE, {"embed": 20.0, "transformer": 80.0}, "fast"),  # only the net fits
    ],
)
def test_the_richest_tier_that_fits_the_budget_is_chosen(
    channel: Channel, expected_ms: dict[str, float], chosen: str
) -> None:
    selector = TierSelector(list(three_tiers()), expected_ms=expected_ms)
    assert selector.choose(channel).name == chosen


def test_budgets_can_be_overridden_per_channel() -> None:
    selector = TierSelector(list(three_tiers()), expected_ms=EXPECTED, budgets_ms={Channel.VOICE: 40.0})
    assert selector.choose(Channel.VOICE).name == "transformer"
    assert selector.budgets_ms[Channel.EMAIL] == 250.0  # the others keep their defaults


def test_the_chosen_tier_answers_and_the_net_is_not_reported() -> None:
    fast, embed, transformer = three_tiers()
    selector = TierSelector([fast, embed, transformer], expected_ms=EXPECTED)
    outcome = selector.signals("where is my card", Channel.CHAT)
    selector.close(wait=True)
    assert outcome.signals.tier == "transformer" and outcome.degradations == ()
    assert outcome.signals.model_versions == {"transformer": "transformer-1.0"}
    assert fast.calls == 1  # the safety net ran alongside
    assert embed.calls == 0


def test_a_failing_rich_tier_falls_back_to_the_net_and_says_why() -> None:
    fast, embed, transformer = three_tiers(fail=RuntimeError("boom"))
    selector = TierSelector([fast, embed, transformer], expected_ms=EXPECTED)
    outcome = selector.signals("hello", Channel.EMAIL)
    selector.close(wait=True)
    assert outcome.signals.tier == "fast"
    assert outcome.degradations == ("signals: tier transformer failed (RuntimeError); fast result used",)


def test_a_late_tier_falls_back_and_its_measured_latency_moves_the_choice() -> None:
    now = [0.0]
    gate = threading.Event()
    fast, embed, transformer = three_tiers(gate=gate)
    selector = TierSelector([fast, embed, transformer], expected_ms=EXPECTED, timer=lambda: now[0])
    outcome = selector.signals("hello", Channel.CHAT)  # waits out the 50 ms budget, then falls back
    assert outcome.signals.tier == "fast"
    assert outcome.degradations == (
        "signals: tier transformer late (over the 50 ms chat budget); fast result used",
    )
    # The budget it missed counts at once (0.8·30 + 0.2·50) ...
    assert selector.expected_ms("transformer") == pytest.approx(34.0)
    now[0] = 1.0  # ... and when the call ends, one second after it began, so does that
    gate.set()
    selector.close(wait=True)
    assert selector.expected_ms("transformer") == pytest.approx(0.8 * 34.0 + 0.2 * 1000.0)
    assert selector.choose(Channel.CHAT).name == "embed"  # 227 ms no longer fits 50 ms
    assert selector.choose(Channel.EMAIL).name == "transformer"  # but still fits 250 ms


def test_a_tier_with_late_calls_still_running_counts_as_busy() -> None:
    gate = threading.Event()
    fast, embed, transformer = three_tiers(gate=gate)
    # Every call is late; the missed 20 ms budget raises the expected figure only to 4.8, then 7.8
    # ms, so the transformer stays the choice and the third call finds two still running.
    selector = TierSelector(
        [fast, embed, transformer],
        expected_ms={"embed": 1.0, "transformer": 1.0},
        budgets_ms={Channel.EMAIL: 20.0},
    )
    first = selector.signals("a", Channel.EMAIL)
    second = selector.signals("b", Channel.EMAIL)
    third = selector.signals("c", Channel.EMAIL)
    gate.set()
    selector.close(wait=True)
    assert "late" in first.degradations[0] and "late" in second.degradations[0]
    assert third.degradations == (
        "signals: tier transformer busy (2 late calls still running); fast result used",
    )
    assert transformer.calls == 2  # the third call was not queued behind the late ones


def test_a_tier_unavailable_at_run_time_is_dropped_after_one_degraded_decision(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast, embed, transformer = three_tiers(fail=TierUnavailable("weights vanished (selection test)"))
    selector = TierSelector([fast, embed, transformer], expected_ms=EXPECTED)
    with caplog.at_level(logging.WARNING, logger="tactful.signals.selection"):
        first = selector.signals("a", Channel.CHAT)
        second = selector.signals("b", Channel.CHAT)
    selector.close(wait=True)
    assert first.degradations == (
        "signals: tier transformer unavailable (weights vanished (selection test)); fast result used",
    )
    assert second.degradations == () and second.signals.tier == "embed"
    assert [r.getMessage() for r in caplog.records].count(
        "signal tier transformer is not available and is skipped: weights vanished (selection test)"
    ) == 1


def test_a_failing_net_alone_gives_neutral_signals() -> None:
    selector = TierSelector.single(StubTier("lexicon", fail=ValueError("no lexicon")))
    outcome = selector.signals("hello", Channel.VOICE)
    assert outcome.signals.tier == "none"
    assert outcome.degradations == ("signals: tier lexicon failed (ValueError); neutral signals used",)


def test_load_tiers_orders_poorest_first_and_skips_the_missing_with_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def loader(name: str) -> SignalTier:
        if name == "transformer":
            raise TierUnavailable("the transformer tier needs `pip install tactful[transformer]` (load test)")
        return StubTier(name)

    with caplog.at_level(logging.WARNING, logger="tactful.signals.selection"):
        first = load_tiers(["transformer", "embed", "fast"], loader)
        again = load_tiers(["transformer", "embed", "fast"], loader)
    assert [t.name for t in first] == [t.name for t in again] == ["fast", "embed"]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "signal tier transformer is not available and is skipped: "
        "the transformer tier needs `pip install tactful[transformer]` (load test)"
    ]


def test_when_no_configured_tier_loads_the_lexicon_answers() -> None:
    def loader(name: str) -> SignalTier:
        raise TierUnavailable(f"{name} missing (fallback test)")

    assert [t.name for t in load_tiers(["fast", "embed"], loader)] == ["lexicon"]


def test_measure_ms_warms_up_then_takes_the_median() -> None:
    ticks = iter([0.0, 0.001, 1.0, 1.004, 2.0, 2.002])  # 1 ms, 4 ms, 2 ms
    tier = StubTier("embed")
    assert measure_ms(tier, ["a", "b", "c"], timer=lambda: next(ticks)) == pytest.approx(2.0)
    assert tier.calls == 4  # one warm-up call, then three measured


def test_from_settings_uses_the_configured_tiers_and_budgets() -> None:
    settings = Settings(signal_tiers=("lexicon",), tier_budgets_ms=(("voice", 5.0),))
    selector = TierSelector.from_settings(settings)
    assert [t.name for t in selector.tiers] == ["lexicon"]
    assert selector.budgets_ms[Channel.VOICE] == 5.0
    assert selector.signals("thanks a lot!", Channel.VOICE).signals.tier == "lexicon"


class _WarmedStub(StubTier):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.warmed = 0

    def warm(self) -> None:
        self.warmed += 1


def test_from_settings_warms_the_net_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # The net answers every message: its caches are filled at start-up, not by the first messages.
    net, rich = _WarmedStub("fast"), _WarmedStub("embed")
    monkeypatch.setattr("tactful.signals.selection.load_tiers", lambda names: [net, rich])
    TierSelector.from_settings(Settings(signal_tiers=("fast", "embed")))
    assert (net.warmed, rich.warmed) == (1, 0)


def test_an_empty_tier_list_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one tier"):
        TierSelector([])


def test_after_close_the_net_answers_and_the_decision_says_why() -> None:
    fast, embed, transformer = three_tiers()
    selector = TierSelector([fast, embed, transformer], expected_ms=EXPECTED)
    selector.close()
    outcome = selector.signals("hello", Channel.CHAT)
    assert outcome.signals.tier == "fast"
    assert outcome.degradations == ("signals: tier transformer closed; fast result used",)
    assert transformer.calls == 0


class LanguageNet(StubTier):
    """A safety net that reports the language it is told (the gate reads it)."""

    def __init__(self, language: str) -> None:
        super().__init__("fast")
        self.language = language

    def extract(self, text: str) -> Signals:
        return super().extract(text).model_copy(update={"language": self.language})


@pytest.mark.parametrize(
    ("language", "answered_by", "multilingual_calls"), [("es", "multilingual", 1), ("en", "fast", 0)]
)
def test_the_multilingual_tier_reads_only_what_the_net_finds_non_english(
    language: str, answered_by: str, multilingual_calls: int
) -> None:
    net, multilingual = LanguageNet(language), StubTier("multilingual")
    selector = TierSelector([net, multilingual], expected_ms={"multilingual": 10.0})
    outcome = selector.signals("¿dónde está mi pedido?", Channel.CHAT)
    selector.close(wait=True)
    assert outcome.signals.tier == answered_by and outcome.degradations == ()
    assert (net.calls, multilingual.calls) == (1, multilingual_calls)  # the net ran once, first


def test_each_language_goes_to_its_heavy_tier_where_the_budget_allows() -> None:
    spanish, english = LanguageNet("es"), LanguageNet("en")
    for net, on_chat in ((spanish, "multilingual"), (english, "transformer")):
        tiers = [net, StubTier("multilingual"), StubTier("transformer")]
        selector = TierSelector(tiers, expected_ms={"multilingual": 10.0, "transformer": 30.0})
        assert selector.signals("hola / hello", Channel.CHAT).signals.tier == on_chat
        assert selector.signals("hola / hello", Channel.VOICE).signals.tier == (
            "multilingual" if net is spanish else "fast"  # the transformer does not fit 15 ms
        )
        selector.close(wait=True)


def test_an_ungated_richer_tier_wins_over_a_gated_one() -> None:
    net, multilingual, transformer = LanguageNet("es"), StubTier("multilingual"), StubTier("transformer")
    selector = TierSelector(
        [net, multilingual, transformer],
        expected_ms={"multilingual": 10.0, "transformer": 30.0},
        gates={"multilingual": lambda s: s.language != "en"},
    )
    assert selector.signals("hola", Channel.CHAT).signals.tier == "transformer"
    # on voice only the multilingual tier fits, and its gate opens on Spanish
    assert selector.signals("hola", Channel.VOICE).signals.tier == "multilingual"
    selector.close(wait=True)
    assert transformer.calls == 1 and multilingual.calls == 1


def test_a_late_gated_tier_falls_back_to_the_net_it_already_ran() -> None:
    gate = threading.Event()
    net, multilingual = LanguageNet("de"), StubTier("multilingual", gate=gate)
    ticks = iter([0.0, 0.0, 0.0] + [1.0] * 50)
    selector = TierSelector(
        [net, multilingual], expected_ms={"multilingual": 10.0}, timer=lambda: next(ticks)
    )
    outcome = selector.signals("Wo ist mein Paket?", Channel.CHAT)
    gate.set()
    selector.close(wait=True)
    assert outcome.signals.tier == "fast" and net.calls == 1
    assert outcome.degradations == (
        "signals: tier multilingual late (over the 50 ms chat budget); fast result used",
    )
