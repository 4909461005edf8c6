"""Composing one reply from a template and a tone: which lines, in which words, in which order.

Each tone attribute selects wording (the cut-offs are in ``templates/common.yaml``):

* formality: the body's register (casual / neutral / formal, e.g. "tú"/"usted", "du"/"Sie"), the
  frame's register (greeting, opener, closer, sign-off), English contractions;
* warmth: openers, closers, a warm line, exclamation-marked variants in the casual register;
* empathy: an acknowledgement of the customer's need, of their emotion, a patience line;
* brevity: which optional lines stay, the opener and the inline greeting;
* directness: the next step first or after the framing, hedged (``soft``) or plain wording.

No model and no randomness: the same inputs always compose the same text.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tactful.domain import ActionType, Channel, ToneProfile
from tactful.render.register import Register
from tactful.render.request import RenderRequest
from tactful.render.templates import Line, Role, Template, TemplateSet, Thresholds, Variant
from tactful.render.wording import Scene, Wording, wording_of

_MESSAGE_GREETING_CHANNELS = frozenset({Channel.CHAT, Channel.SMS, Channel.SOCIAL, Channel.SOCIAL_DM})
_UPSET = frozenset({"frustration", "anger", "disappointment", "negative"})
_KEEP_CAPITAL = ("I ", "I'", "<")


@dataclass(frozen=True, slots=True)
class Dial:
    """The tone the wording is chosen from. It starts at the target and moves when the rendered
    text measures too far from the target (``TemplateRenderer``'s nearest-variant search)."""

    formality: float
    warmth: float
    empathy: float
    brevity: float
    directness: float

    @classmethod
    def of(cls, tone: ToneProfile) -> Dial:
        return cls(tone.formality, tone.warmth, tone.empathy, tone.brevity, tone.directness)

    def wording(self, th: Thresholds, sit: Situation, public: bool) -> Wording:
        """The wording this dial selects for ``sit`` (the side of every cut-off it falls on)."""
        return wording_of(
            self.formality,
            self.warmth,
            self.empathy,
            self.brevity,
            self.directness,
            th,
            sit.template,
            sit.emotion,
            public,
        )


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    subject: str | None
    channel: Channel  # where the text is said (for a switch notice: where the customer is now)


@dataclass(frozen=True, slots=True)
class Situation:
    key: str  # the template's situation key ("billing.invoice", "default", "to_email")
    template: Template
    emotion: str | None  # the dominant emotion, when one is strong enough to acknowledge


def join_after_greeting(greeting: str, sentence: str, keep: frozenset[str] = frozenset()) -> str:
    """``"Hi <NAME_1>,"`` + ``"Thanks for ..."`` → ``"Hi <NAME_1>, thanks for ..."``.

    "I", tokens and the language's ``keep`` words (German "Sie", nouns) keep their capital; so does
    every sentence when the greeting is a sentence of its own ("Hola, Ana.")."""
    first = sentence.split(" ", 1)[0].rstrip(",.!?")
    if (
        greeting.endswith((".", "!"))
        or sentence.startswith(_KEEP_CAPITAL)
        or sentence == "I"
        or first in keep
        or (len(first) > 1 and first.isupper())
    ):
        return f"{greeting} {sentence}"
    return f"{greeting} {sentence[:1].lower()}{sentence[1:]}"


def opener_kind(inbound: Channel, out: Channel) -> str:
    """Thank a caller for calling and an emailer for their email; anyone else for getting in touch."""
    if inbound is Channel.VOICE:
        return "voice"
    if inbound is Channel.EMAIL and out is Channel.EMAIL:
        return "letter"
    return "message"


def compose(ts: TemplateSet, th: Thresholds, sit: Situation, req: RenderRequest, dial: Dial) -> Draft:
    """The reply for ``req`` at ``dial`` (``compose_scene`` with the request's scene and the
    dial's wording)."""
    scene = Scene.of(req)
    wording = dial.wording(th, sit, scene.public)
    return compose_scene(ts, sit, scene, wording)


def compose_scene(ts: TemplateSet, sit: Situation, scene: Scene, w: Wording) -> Draft:
    """The reply for ``scene`` in wording ``w``: the tone is read only through ``w``."""
    action, target, out = scene.action, scene.target, scene.out
    public = scene.public
    body = Register(w.body)
    frame = Register(w.frame)
    if ts.formal_address and (body is Register.CASUAL) != (frame is Register.CASUAL):
        # "tú" in the body and "usted" in the closing line would be a mistake, not a nuance.
        frame = Register.CASUAL if body is Register.CASUAL else Register.NEUTRAL
    expand = w.expand
    direct = w.direct
    voice = out is Channel.VOICE
    seed = zlib.crc32(f"{action.value}|{sit.key}|{out.value}|{sit.emotion}|{scene.intent}".encode())
    template = sit.template

    def say(variant: Variant, register: Register = body) -> str:
        text = variant.at(register, expand)
        if variant.has_placeholder:
            text = text.replace("{channel}", ts.channel_names[target].at(register, expand))
        return text

    def pick(options: Sequence[Variant], register: Register = body) -> str:
        return say(options[seed % len(options)], register)

    prefaces: list[str] = []
    leads: list[str] = []
    steps: list[str] = []
    extras: list[str] = []  # details then closes, in template order
    asked_privately = False
    for line, kept in zip(template.lines, w.kept, strict=True):
        if not kept or not line.applies(out, scene.negative):
            continue
        if public and line.private:
            if not asked_privately:
                steps.append(say(ts.public_details_request))
                asked_privately = True
            continue
        text = say(_wording(line, w.soften, voice, w.short))
        if line.role is Role.LEAD:
            leads.append(text)
        elif line.role is Role.PREFACE:
            if w.framed:  # the most direct replies skip the framing
                prefaces.append(text)
        elif line.role is Role.STEP:
            steps.append(text)
        else:
            extras.append(text)

    def pick_ack(options: Sequence[Variant]) -> str:
        # A brief reply takes the shortest way of saying it; otherwise the variants take turns.
        if w.short:
            return min((say(v) for v in options), key=len)
        return pick(options)

    acks = _acknowledgements(ts, template, sit.emotion, w, say, pick_ack)
    warm: list[str] = []
    if template.opener and w.warm_mild and w.opener_room:
        strength = "strong" if w.warm_strong else "mild"
        warm.append(say(ts.openers[strength][opener_kind(scene.inbound, out)], frame))
    tail: list[str] = []
    if sit.emotion in _UPSET and w.patience and w.patience_room:
        tail.append(say(ts.patience))
    asks = template.ends_on_question or action in (ActionType.CLARIFY, ActionType.OFFER_CALLBACK)
    if template.closer and not asks and w.further_help:
        extras.append(say(ts.further_help))  # a long reply leaves the door open
    if template.closer and w.warm_closer and w.closer_room:
        if asks:
            # A closing line after a question reads as if no answer were expected.
            warm.append(say(ts.warm_line, frame))
        else:
            if w.warm_strong:
                warm.append(say(ts.warm_line, frame))
            tail.append(pick(ts.closers[opener_kind(scene.inbound, out)], frame))

    if public and scene.has_pii:
        # The privacy notice must survive the public length cut, so it follows the core at once
        # (unless we already asked for the details by DM, which says the same thing).
        notice = [] if asked_privately else [say(ts.privacy_notice)]
        core = [*steps, *leads] if direct else [*leads, *steps]
        parts = [*core, *notice, *acks, *prefaces, *extras, *tail]
    elif direct:
        # The next step first; pleasantries and framing follow it rather than delay it.
        core = [*steps, *leads]
        parts = [*core[:1], *acks, *core[1:], *warm, *prefaces, *extras, *tail]
    elif w.early:
        # Straight to the point after acknowledging the customer; the framing follows.
        parts = [*acks, *steps[:1], *warm, *prefaces, *leads, *steps[1:], *extras, *tail]
    elif w.soften:
        # An indirect reply gives the background first and comes to the request last.
        parts = [*warm, *acks, *prefaces, *leads, *extras, *steps, *tail]
    else:
        parts = [*warm, *acks, *prefaces, *leads, *steps, *extras, *tail]

    subject: str | None = None
    name = scene.name
    if out is Channel.EMAIL:
        greeting = _greeting(ts, "letter", frame, name)
        signoff = say(ts.email_signoffs[1] if w.warm_strong else ts.email_signoffs[0], frame)
        subject = say(template.subject or ts.email_default_subject)
        text = f"{greeting}\n\n{' '.join(parts)}\n\n{signoff}\n{ts.email_signature}"
    elif out in _MESSAGE_GREETING_CHANNELS and w.greeting_room:
        greeting = _greeting(ts, "message", frame, None if public else name)
        text = " ".join([join_after_greeting(greeting, parts[0], ts.keep_capital), *parts[1:]])
    else:
        text = " ".join(parts)
    return Draft(text=text, subject=subject, channel=out)


def _wording(line: Line, soften: bool, voice: bool, short: bool) -> Variant:
    if voice and line.voice is not None:
        return line.voice
    if short and line.short is not None:
        return line.short
    if soften and line.soft is not None:
        return line.soft
    return line.text


def _acknowledgements(
    ts: TemplateSet,
    template: Template,
    emotion: str | None,
    w: Wording,
    say: Callable[[Variant], str],
    pick: Callable[[Sequence[Variant]], str],
) -> list[str]:
    """An acknowledgement of the customer's emotion replaces the plainer one of their need: two
    "I understand ..." in a row read as a script."""
    if emotion is not None and w.ack_emotion:
        return [pick(ts.acknowledgements[emotion])]
    if template.ack is not None and w.ack_need:
        return [say(template.ack)]
    return []


def _greeting(ts: TemplateSet, kind: str, register: Register, name: str | None) -> str:
    greeting = ts.greetings[kind]
    if name is None:
        return greeting.anonymous.at(register)
    return greeting.named.at(register).replace("{name}", name)
