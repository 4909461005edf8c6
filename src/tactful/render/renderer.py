"""The built-in renderer: picks a template for the action and situation, shapes it to the tone, and
fits it to the channel. No model, no randomness: the same request always renders the same text.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from tactful.channels.base import ChannelAdapter
from tactful.channels.registry import fitter_for
from tactful.channels.tokens import PII_TOKEN
from tactful.domain import PUBLIC_CHANNELS, ActionType, Channel, Reply, SentimentLabel
from tactful.errors import InputRejected
from tactful.render.register import Register
from tactful.render.request import RenderRequest
from tactful.render.situation import dominant_emotion, family_of
from tactful.render.templates import Line, Role, Template, TemplateSet, Variant, load_templates

_MESSAGE_GREETING_CHANNELS = frozenset({Channel.CHAT, Channel.SMS, Channel.SOCIAL, Channel.SOCIAL_DM})
_UPSET = frozenset({"frustration", "anger", "disappointment", "negative"})
_KEEP_CAPITAL = ("I ", "I'", "<")


def _default_source() -> tuple[str, str]:
    ref = resources.files("tactful.render").joinpath("templates/default.yaml")
    return ref.read_text(encoding="utf-8"), "tactful/render/templates/default.yaml"


def _join_after_greeting(greeting: str, sentence: str) -> str:
    """``"Hi <NAME_1>,"`` + ``"Thanks for ..."`` → ``"Hi <NAME_1>, thanks for ..."``.

    "I" and tokens keep their capital."""
    if sentence.startswith(_KEEP_CAPITAL) or sentence == "I":
        return f"{greeting} {sentence}"
    return f"{greeting} {sentence[:1].lower()}{sentence[1:]}"


class TemplateRenderer:
    """Renders replies from a versioned template file; ``version`` is recorded on every Reply."""

    def __init__(self, templates_path: Path | None = None) -> None:
        if templates_path is None:
            source, origin = _default_source()
        else:
            source, origin = templates_path.read_text(encoding="utf-8"), str(templates_path)
        self._set: TemplateSet = load_templates(source, origin)
        self.version: str = self._set.version
        self._families: dict[str, str] = {}

    @property
    def templates(self) -> TemplateSet:
        return self._set

    def _family(self, intent: str) -> str:
        family = self._families.get(intent)
        if family is None:
            family = family_of(intent, self._set.families)
            if len(self._families) < 4096:  # intents are a small vocabulary; the cap guards odd inputs
                self._families[intent] = family
        return family

    def _template(self, action: ActionType, family: str, target: Channel) -> tuple[str, Template]:
        situations = self._set.actions[action]
        keys = (f"to_{target.value}", family) if action is ActionType.SWITCH_CHANNEL else (family,)
        for key in keys:
            template = situations.get(key)
            if template is not None:
                return key, template
        return "default", situations["default"]

    def _fitter(self, channel: Channel, max_sms_segments: int) -> ChannelAdapter:
        if max_sms_segments < 1:
            raise InputRejected("max_sms_segments must be at least 1")
        return fitter_for(channel, max_sms_segments=max_sms_segments if channel is Channel.SMS else 3)

    def render(self, req: RenderRequest) -> Reply:
        action = req.action.type
        if action is ActionType.NO_CONTACT:
            return Reply(channel=None, text="", template_id="no_contact", template_version=self.version)
        if req.channel is None:
            raise InputRejected(f"action {action.value} needs a channel")
        name = req.customer_name_token
        if name is not None and PII_TOKEN.fullmatch(name) is None:
            raise InputRejected("customer_name_token must be a PII token such as <NAME_1>, never a raw name")

        # A switch notice is said where the customer is now; it names the channel we move to.
        out = req.inbound_channel if action is ActionType.SWITCH_CHANNEL else req.channel
        ts, th, tone, signals = self._set, self._set.thresholds, req.tone, req.signals
        register = ts.register(tone.formality)
        public = out in PUBLIC_CHANNELS
        negative = signals.sentiment is SentimentLabel.NEGATIVE
        family = self._family(signals.intent)
        situation, template = self._template(action, family, req.channel)
        emotion = dominant_emotion(signals, th.emotion_min)
        # Public posts are kept brief: long public threads invite detail that belongs in private.
        brevity = max(tone.brevity, th.public_min_brevity) if public else tone.brevity
        direct = tone.directness >= th.direct_first
        seed = zlib.crc32(f"{action.value}|{situation}|{out.value}|{emotion}|{signals.intent}".encode())

        def say(variant: Variant) -> str:
            text = variant.at(register)
            if variant.has_placeholder:
                text = text.replace("{channel}", ts.channel_names[req.channel or out].at(register))
            return text

        def pick(options: Sequence[Variant]) -> str:
            return say(options[seed % len(options)])

        prefaces: list[str] = []
        leads: list[str] = []
        steps: list[str] = []
        extras: list[str] = []  # details then closes, in template order
        asked_privately = False
        for line in template.lines:
            if not line.applies(out, negative, brevity):
                continue
            if public and line.private:
                if not asked_privately:
                    steps.append(say(ts.public_details_request))
                    asked_privately = True
                continue
            text = self._line_text(line, tone.directness < th.soft_below, say)
            if line.role is Role.LEAD:
                leads.append(text)
            elif line.role is Role.PREFACE:
                prefaces.append(text)
            elif line.role is Role.STEP:
                steps.append(text)
            else:
                extras.append(text)

        ack = pick(ts.acknowledgements[emotion]) if emotion and tone.empathy >= th.acknowledge_from else None
        opener: list[str] = []
        if template.opener and tone.warmth >= th.warm_mild and brevity < th.opener_drop:
            opener.append(say(ts.openers[1] if tone.warmth >= th.warm_strong else ts.openers[0]))
        acks = [ack] if ack else []
        tail: list[str] = []
        if emotion in _UPSET and tone.empathy >= th.patience_from and brevity < th.closer_max:
            tail.append(say(ts.patience))
        if tone.warmth >= th.warm_strong and brevity < th.closer_max:
            tail.append(pick(ts.closers))

        if public and signals.has_pii:
            # The privacy notice must survive the public length cut, so it follows the core at once
            # (unless we already asked for the details by DM, which says the same thing).
            notice = [] if asked_privately else [say(ts.privacy_notice)]
            core = [*steps, *leads] if direct else [*leads, *steps]
            body = [*core, *notice, *acks, *prefaces, *extras, *tail]
        elif direct:
            # The next step first; pleasantries and framing follow it rather than delay it.
            core = [*steps, *leads]
            body = [*core[:1], *acks, *core[1:], *opener, *prefaces, *extras, *tail]
        else:
            body = [*opener, *acks, *prefaces, *leads, *steps, *extras, *tail]

        subject: str | None = None
        if out is Channel.EMAIL:
            greeting = self._greeting("letter", register, name)
            signoff = say(ts.email_signoffs[1] if tone.warmth >= th.warm_strong else ts.email_signoffs[0])
            subject = say(template.subject or ts.email_default_subject)
            text = f"{greeting}\n\n{' '.join(body)}\n\n{signoff}\n{ts.email_signature}"
        elif out in _MESSAGE_GREETING_CHANNELS and brevity < th.greeting_drop:
            greeting = self._greeting("message", register, None if public else name)
            text = " ".join([_join_after_greeting(greeting, body[0]), *body[1:]])
        else:
            text = " ".join(body)

        fitted = self._fitter(out, req.max_sms_segments).fit(text, subject=subject, tone=tone)
        return fitted.model_copy(
            update={"template_id": f"{action.value}.{situation}", "template_version": self.version}
        )

    @staticmethod
    def _line_text(line: Line, soften: bool, say: Callable[[Variant], str]) -> str:
        if soften and line.soft is not None:
            return say(line.soft)
        return say(line.text)

    def _greeting(self, kind: str, register: Register, name: str | None) -> str:
        greeting = self._set.greetings[kind]
        if name is None:
            return greeting.anonymous.at(register)
        return greeting.named.at(register).replace("{name}", name)
