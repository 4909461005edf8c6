"""Loading and compiling the template file (format documented in ``templates/default.yaml``).

Everything that can be decided once is decided here: every text is resolved for each register up
front (register alternations picked, contractions expanded for the formal one), so rendering only
selects and joins prepared strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import yaml

from tactful.channels.gsm import encoding_of
from tactful.domain import ActionType, Channel
from tactful.render.errors import TemplateError
from tactful.render.register import ContractionExpander, Register, register_of

_ALTERNATION = re.compile(r"\{\{([^{}]*)\}\}")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
EMOTIONS = ("frustration", "anger", "confusion", "urgency", "disappointment", "worry", "negative")


class Role(StrEnum):
    PREFACE = "preface"  # optional framing before the step ("I want to get this right"); after it when direct
    LEAD = "lead"  # says what we did or know; always kept
    STEP = "step"  # the next step; directness moves it first, low directness may soften it
    DETAIL = "detail"  # optional; brevity drops it
    CLOSE = "close"  # optional closing line; brevity drops it


_DEFAULT_DROP_AT: dict[Role, float | None] = {
    Role.PREFACE: 0.6,
    Role.LEAD: None,
    Role.STEP: None,
    Role.DETAIL: 0.6,
    Role.CLOSE: 0.7,
}


@dataclass(frozen=True, slots=True)
class Variant:
    """One text, resolved for each register (indexed by ``Register``)."""

    by_register: tuple[str, str, str]
    has_placeholder: bool

    def at(self, register: Register) -> str:
        return self.by_register[register]


@dataclass(frozen=True, slots=True)
class Line:
    text: Variant
    role: Role
    drop_at: float | None
    soft: Variant | None
    only: frozenset[Channel] | None
    exclude: frozenset[Channel]
    when_negative: bool | None  # None: always; True: only when negative; False: only when not
    private: bool  # asks for personal details: on a public channel, ask for them by DM instead

    def applies(self, channel: Channel, negative: bool, brevity: float) -> bool:
        if self.only is not None and channel not in self.only:
            return False
        if channel in self.exclude:
            return False
        if self.when_negative is not None and self.when_negative != negative:
            return False
        return self.drop_at is None or brevity < self.drop_at


@dataclass(frozen=True, slots=True)
class Template:
    template_id: str
    subject: Variant | None
    opener: bool  # whether a warm opener may precede it (a thank-you for praise would repeat it)
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Thresholds:
    casual_below: float = 0.35
    formal_from: float = 0.65
    warm_mild: float = 0.4
    warm_strong: float = 0.7
    acknowledge_from: float = 0.6
    patience_from: float = 0.8
    emotion_min: float = 0.35
    opener_drop: float = 0.8
    greeting_drop: float = 0.85
    closer_max: float = 0.7
    direct_first: float = 0.65
    soft_below: float = 0.35
    public_min_brevity: float = 0.6


@dataclass(frozen=True, slots=True)
class Greeting:
    named: Variant
    anonymous: Variant


@dataclass(frozen=True)
class TemplateSet:
    version: str
    language: str
    thresholds: Thresholds
    families: tuple[tuple[str, tuple[str, ...]], ...]
    channel_names: Mapping[Channel, Variant]
    greetings: Mapping[str, Greeting]  # "message" (chat, sms, social) and "letter" (email)
    openers: tuple[Variant, Variant]  # mild, strong
    closers: tuple[Variant, ...]
    acknowledgements: Mapping[str, tuple[Variant, ...]]
    patience: Variant
    privacy_notice: Variant
    public_details_request: Variant
    email_default_subject: Variant
    email_signoffs: tuple[Variant, Variant]  # plain, warm
    email_signature: str
    actions: Mapping[ActionType, Mapping[str, Template]]

    def register(self, formality: float) -> Register:
        return register_of(formality, self.thresholds.casual_below, self.thresholds.formal_from)


class _Compiler:
    def __init__(self, origin: str, expander: ContractionExpander) -> None:
        self.origin = origin
        self.expander = expander

    def fail(self, where: str, message: str) -> TemplateError:
        return TemplateError(f"{self.origin}: {where}: {message}")

    def variant(self, raw: object, where: str, placeholders: frozenset[str] = frozenset()) -> Variant:
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(where, "expected a non-empty string")
        resolved: list[str] = []
        for register in Register:

            def choose(match: re.Match[str], register: Register = register) -> str:
                return self._pick(match.group(1), register, where)

            text = _ALTERNATION.sub(choose, raw)
            if register is Register.FORMAL:
                text = self.expander.expand(text)
            resolved.append(text.strip())
        used = {name for text in resolved for name in _PLACEHOLDER.findall(text)}
        unknown = used - placeholders
        if unknown:
            raise self.fail(
                where, f"unknown placeholder(s) {sorted(unknown)}; allowed here: {sorted(placeholders)}"
            )
        for text in resolved:
            bare = _PLACEHOLDER.sub("", text)
            if "{" in bare or "}" in bare:
                raise self.fail(where, f"unbalanced braces in {raw!r}")
            # Templates stay inside GSM-7 so a rendered SMS is never forced into UCS-2 (70-unit segments)
            # by a dash or a curly quote in our own wording.
            if encoding_of(bare) != "GSM-7":
                raise self.fail(where, f"text must use only GSM-7 characters: {text!r}")
        return Variant((resolved[0], resolved[1], resolved[2]), bool(used))

    def _pick(self, body: str, register: Register, where: str) -> str:
        options = body.split("|")
        if len(options) == 3:
            return options[register]
        if len(options) == 2:  # informal|formal: the neutral register reads like the informal one
            return options[1] if register is Register.FORMAL else options[0]
        raise self.fail(where, f"alternation {{{{{body}}}}} needs 2 or 3 options separated by |")

    def variants(self, raw: object, where: str) -> tuple[Variant, ...]:
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise self.fail(where, "expected at least one text")
        return tuple(self.variant(item, f"{where}[{i}]") for i, item in enumerate(items))

    def channels(self, raw: object, where: str) -> frozenset[Channel]:
        if not isinstance(raw, list):
            raise self.fail(where, "expected a list of channels")
        try:
            return frozenset(Channel(str(c)) for c in raw)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from exc

    def line(self, raw: object, where: str) -> Line:
        spec: dict[str, Any] = {"text": raw} if isinstance(raw, str) else _mapping(raw, self, where)
        allowed = {"text", "role", "drop_at", "soft", "only", "except", "when", "private"}
        extra = set(spec) - allowed
        if extra:
            raise self.fail(where, f"unknown key(s) {sorted(extra)}")
        try:
            role = Role(spec.get("role", "lead"))
        except ValueError as exc:
            raise self.fail(where, str(exc)) from exc
        drop_at = spec.get("drop_at", _DEFAULT_DROP_AT[role])
        if drop_at is not None and not (isinstance(drop_at, int | float) and 0 <= drop_at <= 1):
            raise self.fail(where, "drop_at must be a number in [0, 1]")
        when = spec.get("when")
        if when not in (None, "negative", "not_negative"):
            raise self.fail(where, "when must be 'negative' or 'not_negative'")
        names = frozenset({"channel"})
        return Line(
            text=self.variant(spec.get("text"), f"{where}.text", names),
            role=role,
            drop_at=None if drop_at is None else float(drop_at),
            soft=self.variant(spec["soft"], f"{where}.soft", names) if "soft" in spec else None,
            only=self.channels(spec["only"], f"{where}.only") if "only" in spec else None,
            exclude=self.channels(spec["except"], f"{where}.except") if "except" in spec else frozenset(),
            when_negative=None if when is None else when == "negative",
            private=bool(spec.get("private", False)),
        )

    def template(self, raw: object, template_id: str) -> Template:
        spec = _mapping(raw, self, template_id)
        extra = set(spec) - {"subject", "opener", "lines"}
        if extra:
            raise self.fail(template_id, f"unknown key(s) {sorted(extra)}")
        lines_raw = spec.get("lines")
        if not isinstance(lines_raw, list) or not lines_raw:
            raise self.fail(template_id, "lines must be a non-empty list")
        lines = tuple(self.line(item, f"{template_id}.lines[{i}]") for i, item in enumerate(lines_raw))
        if not any(
            line.drop_at is None and line.only is None and line.when_negative is None for line in lines
        ):
            raise self.fail(template_id, "needs at least one line that is always kept (lead or step)")
        return Template(
            template_id=template_id,
            subject=self.variant(spec["subject"], f"{template_id}.subject") if "subject" in spec else None,
            opener=bool(spec.get("opener", True)),
            lines=lines,
        )


def _mapping(raw: object, compiler: _Compiler, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise compiler.fail(where, "expected a mapping")
    return {str(k): v for k, v in raw.items()}


def _thresholds(raw: object, compiler: _Compiler) -> Thresholds:
    spec = _mapping(raw if raw is not None else {}, compiler, "thresholds")
    known = set(Thresholds.__dataclass_fields__)
    extra = set(spec) - known
    if extra:
        raise compiler.fail("thresholds", f"unknown key(s) {sorted(extra)}")
    for key, value in spec.items():
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise compiler.fail(f"thresholds.{key}", "must be a number in [0, 1]")
    th = Thresholds(**{k: float(v) for k, v in spec.items()})
    if th.casual_below > th.formal_from:
        raise compiler.fail("thresholds", "casual_below must not exceed formal_from")
    return th


def load_templates(source: str, origin: str = "<templates>") -> TemplateSet:
    """Parse and validate a template file. Raises ``TemplateError`` naming the offending key."""
    try:
        doc = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{origin}: not valid YAML: {exc}") from exc
    bootstrap = _Compiler(origin, ContractionExpander({}))
    top = _mapping(doc, bootstrap, "top level")
    version = top.get("version")
    if not isinstance(version, str) or not version.strip():
        raise bootstrap.fail("version", "a non-empty version string is required")
    contractions = _mapping(top.get("contractions", {}), bootstrap, "contractions")
    c = _Compiler(origin, ContractionExpander({k: str(v) for k, v in contractions.items()}))

    families_raw = _mapping(top.get("intents"), c, "intents")
    families = tuple(
        (name, tuple(str(k).lower() for k in (kw if isinstance(kw, list) else [kw])))
        for name, kw in families_raw.items()
    )

    names_raw = _mapping(top.get("channel_names"), c, "channel_names")
    channel_names = {ch: c.variant(names_raw.get(ch.value), f"channel_names.{ch.value}") for ch in Channel}

    greetings: dict[str, Greeting] = {}
    greetings_raw = _mapping(top.get("greetings"), c, "greetings")
    for kind in ("message", "letter"):
        g = _mapping(greetings_raw.get(kind), c, f"greetings.{kind}")
        greetings[kind] = Greeting(
            named=c.variant(g.get("named"), f"greetings.{kind}.named", frozenset({"name"})),
            anonymous=c.variant(g.get("anonymous"), f"greetings.{kind}.anonymous"),
        )

    warmth = _mapping(top.get("warmth"), c, "warmth")
    openers = _mapping(warmth.get("openers"), c, "warmth.openers")
    acks_raw = _mapping(top.get("acknowledgements"), c, "acknowledgements")
    missing = set(EMOTIONS) - set(acks_raw)
    if missing:
        raise c.fail("acknowledgements", f"missing emotion(s) {sorted(missing)}")
    email = _mapping(top.get("email"), c, "email")
    signoffs = _mapping(email.get("signoffs"), c, "email.signoffs")
    signature = email.get("signature")
    if not isinstance(signature, str) or not signature.strip():
        raise c.fail("email.signature", "expected a non-empty string")

    actions: dict[ActionType, dict[str, Template]] = {}
    actions_raw = _mapping(top.get("actions"), c, "actions")
    for name, situations_raw in actions_raw.items():
        try:
            action = ActionType(name)
        except ValueError as exc:
            raise c.fail(f"actions.{name}", str(exc)) from exc
        situations = _mapping(situations_raw, c, f"actions.{name}")
        actions[action] = {key: c.template(spec, f"{name}.{key}") for key, spec in situations.items()}
    for action in ActionType:
        if action is ActionType.NO_CONTACT:
            continue  # no_contact renders nothing
        if "default" not in actions.get(action, {}):
            raise c.fail(f"actions.{action.value}", "a 'default' situation is required")

    return TemplateSet(
        version=version.strip(),
        language=str(top.get("language", "en")),
        thresholds=_thresholds(top.get("thresholds"), c),
        families=families,
        channel_names=channel_names,
        greetings=greetings,
        openers=(
            c.variant(openers.get("mild"), "warmth.openers.mild"),
            c.variant(openers.get("strong"), "warmth.openers.strong"),
        ),
        closers=c.variants(warmth.get("closers"), "warmth.closers"),
        acknowledgements={e: c.variants(acks_raw[e], f"acknowledgements.{e}") for e in EMOTIONS},
        patience=c.variant(top.get("patience"), "patience"),
        privacy_notice=c.variant(top.get("privacy_notice"), "privacy_notice"),
        public_details_request=c.variant(top.get("public_details_request"), "public_details_request"),
        email_default_subject=c.variant(email.get("default_subject"), "email.default_subject"),
        email_signoffs=(
            c.variant(signoffs.get("plain"), "email.signoffs.plain"),
            c.variant(signoffs.get("warm"), "email.signoffs.warm"),
        ),
        email_signature=signature.strip(),
        actions=actions,
    )
