"""The built-in renderer: picks the template for the language, action and situation, composes it to
the tone, fits it to the channel, and measures the result. When the measured tone misses the
target by more than ``TOLERANCE`` on some attribute, it re-renders with the nearest variant (the
wording chosen for a tone moved against the miss) and keeps whichever rendering is closer.
No model, no randomness: the same request always renders the same text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from tactful.channels.base import ChannelAdapter
from tactful.channels.registry import fitter_for
from tactful.channels.tokens import PII_TOKEN
from tactful.domain import TONE_ATTRIBUTES, ActionType, Channel, MeasuredTone, Reply, ToneAttribute
from tactful.errors import InputRejected
from tactful.render.compose import Dial, Draft, Situation, compose_scene
from tactful.render.request import Rendering, RenderRequest
from tactful.render.situation import dominant_emotion, family_of, situation_of
from tactful.render.template_loader import builtin_library, load_library
from tactful.render.templates import Template, TemplateLibrary, TemplateSet
from tactful.render.tone_estimate import ToneScorer
from tactful.render.wording import Scene, Wording

#: The largest gap between a target attribute and its measure that still counts as realised.
TOLERANCE = 0.15
#: Re-renders tried after a miss (each moves the missed attributes' dial by the size of the miss).
MAX_RERENDERS = 3
#: Entries per cache (renderings per scene and wording; results per scene and target tone).
CACHE_SIZE = 8192
#: Renderings kept per scene (one per wording; the tone bands give a few dozen in practice).
WORDINGS_PER_SCENE = 512

# The channels whose fitting reads the target tone besides the text (email: a fallback greeting and
# sign-off; voice: the pause between sentences). A rendering for the others is shared by every tone.
_FIT_READS_TONE = frozenset({Channel.EMAIL, Channel.VOICE})

_K = TypeVar("_K")
_V = TypeVar("_V")
#: A finished search: the reply, its measured tone, and the notes on the tone.
_Result = tuple[Reply, MeasuredTone, tuple[str, ...]]
#: A rendering fitted to its channel, and its measured tone.
_Measured = tuple[Reply, dict[ToneAttribute, float]]


def _gaps(measured: dict[ToneAttribute, float], req: RenderRequest) -> dict[ToneAttribute, float]:
    return {a: getattr(req.tone, a) - measured[a] for a in TONE_ATTRIBUTES}


def _cost(gaps: dict[ToneAttribute, float]) -> tuple[int, float]:
    """Attributes out of tolerance first, then the total distance: fewer misses always wins."""
    return sum(abs(g) > TOLERANCE for g in gaps.values()), round(sum(abs(g) for g in gaps.values()), 6)


class TemplateRenderer:
    """Renders replies from a versioned template library; ``version`` is recorded on every Reply."""

    def __init__(self, templates_dir: Path | None = None, *, scorer: ToneScorer | None = None) -> None:
        self._library: TemplateLibrary = (
            builtin_library() if templates_dir is None else load_library(templates_dir)
        )
        self.version: str = self._library.version
        self.scorer = scorer or ToneScorer()
        self._families: dict[str, str] = {}
        # Rendering is a pure function of the request's scene and tone (no model, no randomness),
        # and most replies repeat a scene: the search's result is kept per (scene, target tone),
        # and each attempt's rendering per (scene, wording), since many dials share a wording.
        self._results: dict[tuple[object, ...], _Result] = {}
        self._attempts: dict[tuple[object, ...], dict[Wording, Draft | _Measured]] = {}

    @property
    def library(self) -> TemplateLibrary:
        return self._library

    @property
    def languages(self) -> tuple[str, ...]:
        return self._library.languages

    def _family(self, intent: str) -> str:
        family = self._families.get(intent)
        if family is None:
            family = family_of(intent, self._library.families)
            if len(self._families) < 4096:  # intents are a small vocabulary; the cap guards odd inputs
                self._families[intent] = family
        return family

    def _situation(self, ts: TemplateSet, req: RenderRequest) -> Situation:
        action = req.action.type
        situations = ts.actions[action]
        family = self._family(req.signals.intent)
        keys: tuple[str, ...]
        if action is ActionType.SWITCH_CHANNEL:
            keys = (f"to_{(req.channel or req.inbound_channel).value}", family)
        else:
            keys = (situation_of(family, req.text, self._library.cues), family)
        emotion = dominant_emotion(req.signals, self._library.thresholds.emotion_min)
        for key in keys:
            template: Template | None = situations.get(key)
            if template is not None:
                return Situation(key, template, emotion)
        return Situation("default", situations["default"], emotion)

    def _fitter(self, channel: Channel, max_sms_segments: int) -> ChannelAdapter:
        if max_sms_segments < 1:
            raise InputRejected("max_sms_segments must be at least 1")
        return fitter_for(channel, max_sms_segments=max_sms_segments if channel is Channel.SMS else 3)

    def render(self, req: RenderRequest) -> Rendering:
        action = req.action.type
        if action is ActionType.NO_CONTACT:
            reply = Reply(channel=None, text="", template_id="no_contact", template_version=self.version)
            return Rendering(reply=reply, measured=None)
        if req.channel is None:
            raise InputRejected(f"action {action.value} needs a channel")
        name = req.customer_name_token
        if name is not None and PII_TOKEN.fullmatch(name) is None:
            raise InputRejected("customer_name_token must be a PII token such as <NAME_1>, never a raw name")

        notes: list[str] = []
        ts = self._library.for_language(req.language)
        if ts is None:  # the caller chose a language this library lacks; never fail a reply over it
            ts = self._library.sets[self._library.default_language]
            notes.append(f"reply language: no {req.language!r} templates; replied in {ts.language!r}")
        sit = self._situation(ts, req)
        self._fitter(req.channel, req.max_sms_segments)  # refuses a bad segment cap before any work
        scene = Scene.of(req)
        where = (ts.language, sit.key, sit.emotion, scene, req.max_sms_segments)
        key = (where, req.tone)
        found = self._results.get(key)
        if found is None:
            found = self._search(ts, sit, scene, req, where)
            _remember(self._results, key, found)
        final, measured, tone_notes = found
        return Rendering(reply=final, measured=measured, notes=(*notes, *tone_notes))

    def _search(
        self, ts: TemplateSet, sit: Situation, scene: Scene, req: RenderRequest, where: tuple[object, ...]
    ) -> _Result:
        """The rendering closest to the target: the target's wording first, then the nearest
        variants after a miss. A wording already composed for this scene is not composed again;
        one already fitted and measured (in this search, or for a channel whose fitting reads only
        the text, in an earlier request) is not fitted or measured again."""
        th = self._library.thresholds
        public = scene.public
        shared = self._attempts.get(where)
        if shared is None:
            shared = {}
            _remember(self._attempts, where, shared)
        # The fitter of an email or a voice reply reads the target tone (a fallback greeting, the
        # pause between sentences): those drafts are fitted again for each request.
        per_request = scene.out in _FIT_READS_TONE
        seen: dict[Wording, _Measured] = {}

        def measure(draft: Draft) -> _Measured:
            # Fitted where it is said (a switch notice goes where the customer is now), then
            # measured as sent: the scorer reads what the customer will read.
            fitter = self._fitter(draft.channel, req.max_sms_segments)
            fitted = fitter.fit(draft.text, subject=draft.subject, tone=req.tone)
            return fitted, self.scorer.score(fitted.text, ts.language, draft.channel)

        def attempt(dial: Dial) -> _Measured:
            wording = dial.wording(th, sit, public)
            found = seen.get(wording)
            if found is not None:
                return found
            done = shared.get(wording)
            if done is None:
                draft = compose_scene(ts, sit, scene, wording)
                done = draft if per_request else measure(draft)
                if len(shared) >= WORDINGS_PER_SCENE:
                    shared.clear()
                shared[wording] = done
            found = measure(done) if isinstance(done, Draft) else done
            seen[wording] = found
            return found

        dial = Dial.of(req.tone)
        reply, measured = attempt(dial)
        first = measured
        best = (_cost(_gaps(measured, req)), reply, measured)
        tried = {dial}
        brackets: dict[ToneAttribute, list[float | None]] = {a: [None, None] for a in TONE_ATTRIBUTES}
        for _ in range(MAX_RERENDERS):
            if best[0][0] == 0:
                break
            dial = _nearer(dial, _gaps(measured, req), brackets)
            if dial in tried:
                break
            tried.add(dial)
            reply, measured = attempt(dial)
            cost = _cost(_gaps(measured, req))
            if cost < best[0]:
                best = (cost, reply, measured)
        _, reply, measured = best
        rerendered = measured is not first
        final = reply.model_copy(
            update={
                "template_id": f"{scene.action.value}.{sit.key}",
                "template_version": self.version,
                "language": ts.language,
            }
        )
        tone = MeasuredTone(**measured, scorer=self.scorer.version, rerendered=rerendered)
        return final, tone, tuple(_tone_notes(first, measured, req, rerendered))


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    """Bounded: arbitrary traffic cannot grow a cache without limit (it starts over when full)."""
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value


def _nearer(
    dial: Dial, gaps: dict[ToneAttribute, float], brackets: dict[ToneAttribute, list[float | None]]
) -> Dial:
    """The dial moved against every miss: by the size of the miss at first, then halfway between
    the settings that read too low and too high (wording comes in steps, so the first move can
    overshoot). Kept in [0, 1]."""
    values = {a: getattr(dial, a) for a in TONE_ATTRIBUTES}
    for attribute, gap in gaps.items():
        if abs(gap) <= TOLERANCE:
            continue
        low, high = brackets[attribute]
        current = values[attribute]
        if gap > 0:  # reads too low: the dial must go up
            low = current if low is None else max(low, current)
        else:
            high = current if high is None else min(high, current)
        brackets[attribute] = [low, high]
        moved = (low + high) / 2 if low is not None and high is not None else current + gap
        values[attribute] = round(min(1.0, max(0.0, moved)), 4)
    return Dial(**values)


def _tone_notes(
    first: dict[ToneAttribute, float], final: dict[ToneAttribute, float], req: RenderRequest, rerendered: bool
) -> list[str]:
    def misses(measured: dict[ToneAttribute, float]) -> list[str]:
        return [
            f"{a} {measured[a]:.2f} vs target {getattr(req.tone, a):.2f}"
            for a in TONE_ATTRIBUTES
            if abs(getattr(req.tone, a) - measured[a]) > TOLERANCE
        ]

    notes: list[str] = []
    if rerendered:
        notes.append(
            f"tone: first rendering missed the target ({'; '.join(misses(first))}); re-rendered with the "
            "nearest variant"
        )
    left = misses(final)
    if left:
        notes.append(f"tone: measured beyond +/-{TOLERANCE} of the target: {'; '.join(left)}")
    return notes
