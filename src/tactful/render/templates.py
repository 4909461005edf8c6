"""The compiled reply templates: one ``TemplateSet`` per language inside a ``TemplateLibrary``.

Everything that can be decided once is decided at load (``template_loader``): every text is
resolved for each register up front (register alternations picked, contractions expanded for the
formal one), so rendering only selects and joins prepared strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tactful.domain import ActionType, Channel
from tactful.render.register import Register, register_of

EMOTIONS = ("frustration", "anger", "confusion", "urgency", "disappointment", "worry", "negative")
OPENER_KINDS = ("message", "voice", "letter")  # the customer wrote, called, or emailed


class Role(StrEnum):
    PREFACE = "preface"  # optional framing before the step ("I want to get this right"); after it when direct
    LEAD = "lead"  # says what we know or what the customer can do; always kept unless drop_at says so
    STEP = "step"  # the next step; directness moves it first, low directness may soften it
    DETAIL = "detail"  # optional; brevity drops it
    CLOSE = "close"  # optional closing line; brevity drops it


DEFAULT_DROP_AT: dict[Role, float | None] = {
    Role.PREFACE: 0.6,
    Role.LEAD: None,
    Role.STEP: None,
    Role.DETAIL: 0.6,
    Role.CLOSE: 0.7,
}


@dataclass(frozen=True, slots=True)
class Variant:
    """One text resolved for each register (indexed by ``Register``), plus the neutral register with
    contractions expanded (English; the same as neutral elsewhere)."""

    by_register: tuple[str, str, str]
    neutral_expanded: str
    has_placeholder: bool

    def at(self, register: Register, expand: bool = False) -> str:
        if expand and register is Register.NEUTRAL:
            return self.neutral_expanded
        return self.by_register[register]


@dataclass(frozen=True, slots=True)
class Line:
    text: Variant
    role: Role
    drop_at: float | None
    soft: Variant | None
    short: Variant | None  # the wording for a brief reply (brevity at or above short_from)
    voice: Variant | None  # the wording for a caller on the line
    only: frozenset[Channel] | None
    exclude: frozenset[Channel]
    when_negative: bool | None  # None: always; True: only when negative; False: only when not
    private: bool  # asks for personal details: on a public channel, ask for them by DM instead

    def applies(self, channel: Channel, negative: bool) -> bool:
        """Whether the line is said on ``channel`` to a customer who is (not) negative; brevity
        may still drop it (``drop_at``, read into ``Wording.kept``)."""
        if self.only is not None and channel not in self.only:
            return False
        if channel in self.exclude:
            return False
        return self.when_negative is None or self.when_negative == negative


@dataclass(frozen=True, slots=True)
class Template:
    template_id: str
    subject: Variant | None
    opener: bool  # whether a warm opener may precede it (a thank-you for thanks would repeat it)
    closer: bool  # whether a warm closing line may follow it
    ack: Variant | None  # the acknowledgement of the customer's need (empathy)
    lines: tuple[Line, ...]

    @property
    def ends_on_question(self) -> bool:
        steps = [line for line in self.lines if line.role is Role.STEP]
        return bool(steps) and steps[-1].text.by_register[1].endswith("?")


@dataclass(frozen=True, slots=True)
class Thresholds:
    casual_below: float = 0.3
    formal_from: float = 0.7
    frame_casual_below: float = 0.45
    frame_formal_from: float = 0.58
    expand_from: float = 0.58
    warm_mild: float = 0.4
    warm_closer: float = 0.6
    warm_strong: float = 0.75
    need_ack_from: float = 0.3
    acknowledge_from: float = 0.5
    patience_from: float = 0.65
    patience_max: float = 0.85
    emotion_min: float = 0.35
    opener_drop: float = 0.8
    greeting_drop: float = 0.9
    closer_max: float = 0.7
    direct_early: float = 0.58
    direct_first: float = 0.8
    soft_below: float = 0.35
    public_min_brevity: float = 0.6
    short_from: float = 0.75
    further_help_below: float = 0.35

    def body_register(self, formality: float) -> Register:
        return register_of(formality, self.casual_below, self.formal_from)

    def frame_register(self, formality: float) -> Register:
        return register_of(formality, self.frame_casual_below, self.frame_formal_from)


@dataclass(frozen=True, slots=True)
class Greeting:
    named: Variant
    anonymous: Variant


@dataclass(frozen=True)
class TemplateSet:
    """The wording of one language."""

    language: str
    channel_names: Mapping[Channel, Variant]
    greetings: Mapping[str, Greeting]  # "message" (chat, sms, social) and "letter" (email)
    openers: Mapping[str, Mapping[str, Variant]]  # "mild" | "strong" → opener kind → text
    closers: Mapping[str, tuple[Variant, ...]]  # opener kind → texts
    warm_line: Variant
    further_help: Variant
    acknowledgements: Mapping[str, tuple[Variant, ...]]
    patience: Variant
    privacy_notice: Variant
    public_details_request: Variant
    email_default_subject: Variant
    email_signoffs: tuple[Variant, Variant]  # plain, warm
    email_signature: str
    actions: Mapping[ActionType, Mapping[str, Template]]
    #: Words that keep their capital after an inline greeting ("Hallo Anna, Sie ..."): German's
    #: polite pronouns and nouns a sentence may start with.
    keep_capital: frozenset[str] = frozenset()
    #: The language addresses people informally or politely (tú/usted, du/Sie): the greeting,
    #: opener and closer must use the same form as the body, so their register follows its.
    formal_address: bool = False

    def situations(self) -> set[tuple[ActionType, str]]:
        return {(action, key) for action, templates in self.actions.items() for key in templates}


@dataclass(frozen=True)
class TemplateLibrary:
    """Every language of one template version, and what they share."""

    version: str
    languages: tuple[str, ...]  # the first is the fallback
    thresholds: Thresholds
    families: tuple[tuple[str, tuple[str, ...]], ...]
    cues: Mapping[str, tuple[tuple[str, re.Pattern[str]], ...]]  # family → (sub-situation, cue pattern)
    sets: Mapping[str, TemplateSet]

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def for_language(self, language: str) -> TemplateSet | None:
        return self.sets.get(language)
