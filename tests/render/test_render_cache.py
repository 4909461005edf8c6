"""The renderer's caches change how often a reply is rendered, never what is rendered: a renderer
that has seen thousands of requests gives each request the rendering a fresh renderer gives it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

import tactful.render.renderer as renderer_module
from tactful.channels.registry import fitter_for
from tactful.domain import (
    Action,
    ActionType,
    Channel,
    PiiFinding,
    Reply,
    SentimentLabel,
    Signals,
    SupportIntent,
    ToneProfile,
)
from tactful.render import Rendering, RenderRequest, TemplateRenderer, reply_stage
from tactful.render.tone_estimate import ToneScorer

EMOTIONS = ("anger", "frustration", "urgency", "confusion", "disappointment", "worry")
TEXTS = ("", "my invoice is wrong", "I was charged twice", "the app keeps crashing", "where is my order")


def _requests(n: int, seed: int, languages: tuple[str, ...]) -> list[RenderRequest]:
    """Varied requests; tones on a coarse grid, so scenes and tone bands repeat as in traffic."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        emotions = {e: rng.choice([0.2, 0.5, 0.9]) for e in rng.sample(EMOTIONS, rng.randint(0, 2))}
        signals = Signals(
            intent=rng.choice([*(i.value for i in SupportIntent), "refund_request"]),
            sentiment=rng.choice(list(SentimentLabel)),
            emotions=emotions,
            pii=(PiiFinding(kind="email", token="<EMAIL_1>"),) if rng.random() < 0.2 else (),
        )
        tone = ToneProfile(**{a: rng.choice([0.1, 0.3, 0.5, 0.55, 0.7, 0.9]) for a in _ATTRIBUTES})
        out.append(
            RenderRequest(
                action=Action(type=rng.choice([a for a in ActionType if a is not ActionType.NO_CONTACT])),
                channel=rng.choice(list(Channel)),
                inbound_channel=rng.choice(list(Channel)),
                tone=tone,
                signals=signals,
                customer_name_token=rng.choice([None, "<NAME_1>", "<NAME_2>"]),
                max_sms_segments=rng.choice([1, 3]),
                language=rng.choice([*languages, "xx"]),
                text=rng.choice(TEXTS),
            )
        )
    return out


_ATTRIBUTES = ("formality", "warmth", "empathy", "brevity", "directness")


def _same(a: Rendering, b: Rendering) -> None:
    assert a.reply == b.reply
    assert a.notes == b.notes
    assert a.measured is not None and b.measured is not None
    assert a.measured.rerendered == b.measured.rerendered
    for attribute in _ATTRIBUTES:
        assert getattr(a.measured, attribute) == pytest.approx(getattr(b.measured, attribute), abs=1e-9)


@pytest.fixture
def composed() -> Iterator[list[Any]]:
    """Every scene composed by the renderer module, as it happens."""
    calls: list[Any] = []
    inner = renderer_module.compose_scene

    def counting(*args: Any) -> Any:
        calls.append(args[2])
        return inner(*args)

    renderer_module.compose_scene = counting  # type: ignore[assignment]
    try:
        yield calls
    finally:
        renderer_module.compose_scene = inner  # type: ignore[assignment]


def _retoned(scenes: list[RenderRequest], n: int, seed: int) -> list[RenderRequest]:
    """``n`` requests of the given scenes with tones on a coarse grid: each scene and tone band
    recurs, with targets that differ."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        tone = ToneProfile(**{a: rng.choice([0.1, 0.3, 0.5, 0.55, 0.7, 0.9]) for a in _ATTRIBUTES})
        out.append(RenderRequest(**{**_fields(rng.choice(scenes)), "tone": tone}))
    return out


@pytest.mark.parametrize("seed", [7, 8])
def test_a_warm_renderer_renders_what_a_fresh_one_does(seed: int) -> None:
    warm = TemplateRenderer()
    scenes = []
    for base in _requests(20, seed=seed, languages=warm.languages):
        # The same request but for the emotion or the message's words (a sub-situation's cue).
        for emotions, text in (({}, base.text), ({"anger": 0.9}, base.text), ({}, "my invoice is wrong")):
            signals = base.signals.model_copy(update={"emotions": emotions})
            scenes.append(RenderRequest(**{**_fields(base), "signals": signals, "text": text}))
    requests = [*scenes, *_retoned(scenes, 800, seed)]
    for req in requests:  # warm every cache on the same traffic first
        warm.render(req)
    for req in requests:
        _same(warm.render(req), TemplateRenderer().render(req))


def test_the_same_request_is_rendered_once(composed: list[Any]) -> None:
    renderer = TemplateRenderer()
    req = _requests(1, seed=3, languages=renderer.languages)[0]
    first = renderer.render(req)
    assert composed, "the first request composes its reply"
    composed.clear()
    again = renderer.render(req)
    assert composed == []
    _same(again, first)


def test_a_tone_in_the_same_bands_reuses_the_renderings(composed: list[Any]) -> None:
    renderer = TemplateRenderer()
    req = RenderRequest(
        action=Action(type=ActionType.REPLY),
        channel=Channel.CHAT,
        inbound_channel=Channel.CHAT,
        tone=ToneProfile(formality=0.5, warmth=0.5, empathy=0.5, brevity=0.5, directness=0.5),
        signals=Signals(intent="billing"),
        text="my invoice is wrong",
    )
    renderer.render(req)
    composed.clear()
    # 0.51 falls on the same side of every cut-off as 0.5 (templates/common.yaml): the wording is
    # the same, so nothing is composed; the measured tone is compared with the new target.
    nearby = RenderRequest(**{**_fields(req), "tone": req.tone.model_copy(update={"warmth": 0.51})})
    out = renderer.render(nearby)
    assert composed == []
    _same(out, TemplateRenderer().render(nearby))


def _fields(req: RenderRequest) -> dict[str, Any]:
    return {name: getattr(req, name) for name in RenderRequest.__slots__}


@pytest.mark.parametrize("channel", sorted(set(Channel) - renderer_module._FIT_READS_TONE))
def test_fitting_reads_the_tone_only_where_the_renderer_expects_it(channel: Channel) -> None:
    """The renderer shares a fitted rendering between tones on every channel but email and voice;
    if a channel's fitting starts reading the tone, this fails and the set must grow."""
    renderer = TemplateRenderer()
    texts = {
        renderer.render(req).reply.text
        for req in _requests(80, seed=11, languages=("en",))
        if req.channel is channel
    }
    assert texts
    fitter = fitter_for(channel)
    low = ToneProfile(formality=0.0, warmth=0.0, empathy=0.0, brevity=0.0, directness=0.0)
    high = ToneProfile(formality=1.0, warmth=1.0, empathy=1.0, brevity=1.0, directness=1.0)
    for text in texts:
        assert fitter.fit(text, tone=low) == fitter.fit(text, tone=high)


def test_a_warm_scorer_scores_what_a_fresh_one_does() -> None:
    renderer = TemplateRenderer()
    replies = [
        (renderer.render(req).reply, req.language)
        for req in _requests(300, seed=5, languages=renderer.languages)
    ]
    warm = ToneScorer()
    for reply, language in replies:
        warm.score(reply.text, language, reply.channel)
    for reply, language in replies:
        # Sentences shared with earlier replies come from the warm scorer's sentence cache.
        mixed = f"{reply.text} Thanks a lot! Could you send me the details?"
        assert warm.score(mixed, language, reply.channel) == pytest.approx(
            ToneScorer().score(mixed, language, reply.channel), abs=1e-9
        )


def test_only_clean_value_free_replies_skip_the_leak_check() -> None:
    clean = Reply(channel=Channel.CHAT, text="Thanks for getting in touch. We'll look into it.")
    leaking = Reply(channel=Channel.CHAT, text="Is bob.other@example.org your address?")
    for _ in range(2):  # the second time from the set of clean replies, or checked again
        assert reply_stage._leaked(clean, {}, ()) == []
        assert reply_stage._leaked(leaking, {}, ()) == ["bob.other@example.org"]
    assert (clean.text, None, None) in reply_stage._CLEAN
    assert all(leaking.text not in key for key in reply_stage._CLEAN)  # nobody's data is kept
    # With a value of the message in play, the check always runs in full.
    assert reply_stage._leaked(clean, {}, ("We'll",)) == ["We'll"]


def test_the_caches_stay_bounded_and_still_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(renderer_module, "RENDERINGS_KEPT", 7)
    monkeypatch.setattr(renderer_module, "CACHE_SIZE", 5)
    warm = TemplateRenderer()
    requests = _requests(150, seed=9, languages=warm.languages)
    for req in [*requests, *requests]:
        _same(warm.render(req), TemplateRenderer().render(req))
        assert sum(len(shared) for _, shared in warm._scenes.values()) <= 7
        assert len(warm._results) <= 5 and len(warm._scenes) <= 5
