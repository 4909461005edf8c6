"""The built-in renderer: picks the template for the language, action and situation, composes it to
the tone, fits it to the channel, and measures the result. When the measured tone misses the
target by more than ``TOLERANCE`` on some attribute, it re-renders with the nearest variant (the
wording chosen for a tone moved against the miss) and keeps whichever rendering is closer
(``search.py``). No model, no randomness: the same request always renders the same text, so
renderings are kept and found again (per scene and wording, and per scene and target tone).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tactful.channels.base import ChannelAdapter
from tactful.channels.registry import fitter_for
from tactful.channels.tokens import PII_TOKEN
from tactful.domain import ActionType, Channel, Reply
from tactful.errors import InputRejected
from tactful.render.compose import Dial, Situation, compose_scene
from tactful.render.request import Rendering, RenderRequest
from tactful.render.search import Attempt, attempt_of, measured_tone, search, sent
from tactful.render.situation import dominant_emotion, family_of, situation_of
from tactful.render.template_loader import builtin_library, load_library
from tactful.render.templates import Template, TemplateLibrary, TemplateSet
from tactful.render.tone_estimate import ToneScorer
from tactful.render.wording import Scene

#: Entries per cache (results per scene and target tone), starting over when full.
CACHE_SIZE = 8192
#: Renderings kept in all scenes (one per scene and wording; the tone bands give a few dozen
#: wordings per scene in practice). All scenes start over when it is reached.
RENDERINGS_KEPT = 32768

# The channels whose fitting reads the target tone besides the text (email: a fallback greeting and
# sign-off; voice: the pause between sentences). A rendering for the others is shared by every tone.
_FIT_READS_TONE = frozenset({Channel.EMAIL, Channel.VOICE})

_K = TypeVar("_K")
_V = TypeVar("_V")
#: What the reply depends on besides the tone, as plain values (language, situation, emotion, the
#: scene's fields with channels by name, SMS segments).
_Where = tuple[object, ...]
#: A scene's renderings: wording → composed draft (text, subject; fitted per request) or fitted
#: and measured.
_Shared = dict[tuple[object, ...], tuple[str, str | None] | Attempt]
#: A finished search: the attempt chosen, whether it is a re-render, the notes on the tone.
_Result = tuple[Attempt, bool, tuple[str, ...]]


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
        # Few objects per entry: every object a cache keeps is one more for the garbage collector
        # to walk (the scene key is kept once, the tone key is a tuple of numbers).
        self._scenes: dict[_Where, tuple[_Where, _Shared]] = {}
        self._results: dict[tuple[_Where, tuple[object, ...]], _Result] = {}
        self._kept = 0  # renderings in ``_scenes``

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
        where, shared = self._scene((ts.language, sit.key, sit.emotion, *scene.plain(), req.max_sms_segments))
        # The target's fields (a target carries no measure): numbers and a name, nothing to walk.
        key = (where, tuple(vars(req.tone).values()))
        found = self._results.get(key)
        if found is None:
            found = search(req.tone, self._attempts(ts, sit, scene, req, shared))
            _remember(self._results, key, found)
        chosen, rerendered, tone_notes = found
        measured = measured_tone(chosen, self.scorer.version, rerendered)
        return Rendering(reply=sent(chosen), measured=measured, notes=(*notes, *tone_notes))

    def _scene(self, where: _Where) -> tuple[_Where, _Shared]:
        found = self._scenes.get(where)
        if found is None:
            found = (where, {})
            _remember(self._scenes, where, found)
        return found

    def _attempts(
        self, ts: TemplateSet, sit: Situation, scene: Scene, req: RenderRequest, shared: _Shared
    ) -> Callable[[Dial], Attempt]:
        """The rendering of a dial for this request. A wording already composed for this scene is
        not composed again; one already fitted and measured (in this search, or for a channel
        whose fitting reads only the text, in an earlier request) is not fitted or measured again."""
        th = self._library.thresholds
        public = scene.public
        # The fitter of an email or a voice reply reads the target tone (a fallback greeting, the
        # pause between sentences): those drafts are fitted again for each request.
        per_request = scene.out in _FIT_READS_TONE
        seen: dict[tuple[object, ...], Attempt] = {}

        template_id = f"{scene.action.value}.{sit.key}"

        def measure(text: str, subject: str | None) -> Attempt:
            # Fitted where it is said (a switch notice goes where the customer is now), then
            # measured as sent: the scorer reads what the customer will read.
            fitted = self._fitter(scene.out, req.max_sms_segments).fit(text, subject=subject, tone=req.tone)
            measured = self.scorer.score(fitted.text, ts.language, scene.out)
            return attempt_of(
                fitted, measured, template_id=template_id, template_version=self.version, language=ts.language
            )

        def attempt(dial: Dial) -> Attempt:
            wording = dial.wording(th, sit, public)
            key = tuple(wording)  # a plain tuple, not walked by the garbage collector (``Attempt``)
            found = seen.get(key)
            if found is not None:
                return found
            done = shared.get(key)
            if done is None:
                draft = compose_scene(ts, sit, scene, wording)
                done = (draft.text, draft.subject) if per_request else measure(draft.text, draft.subject)
                self._kept += 1
                if self._kept > RENDERINGS_KEPT:
                    self._kept = 1
                    self._scenes.clear()  # this search goes on with its scene's renderings
                shared[key] = done
            found = measure(*done) if isinstance(done[0], str) else done  # a draft: (text, subject)
            seen[key] = found
            return found

        return attempt


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    """Bounded: arbitrary traffic cannot grow a cache without limit (it starts over when full)."""
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value
