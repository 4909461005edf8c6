"""Which language a reply is written in.

The message's detected language when the detector is confident enough; else the language in the
customer's profile (only when the customer is known and personalisation is on: the profile is not
read otherwise); else the tenant's default. A language the tenant does not answer in, or that has
no templates, is replied to in the default language or handed to a person, as the policy's
``replies`` section says. Spanish in, Spanish out.

A message the detector finds to be in another language than the default, but without enough
confidence to say which, is handed to a person too when the policy hands unsupported languages off
(and no profile language settles it): a reply in the default language may not be read at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tactful.domain import Signals

Source = Literal["message", "profile", "tenant", "unsure"]  # unsure: not the default, but which?
_UNDETERMINED = frozenset({"", "und", "unknown", "zxx"})


@dataclass(frozen=True, slots=True)
class LanguageSetting:
    """The policy's ``replies`` section, as the renderer needs it (no dependency on the policy)."""

    default_language: str = "en"
    languages: tuple[str, ...] = ("en", "es", "de", "fr", "it", "pt")
    unsupported_language: Literal["default_language", "handoff"] = "default_language"
    detect_min_confidence: float = 0.6


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    language: str  # the language the reply is written in
    wanted: str  # the customer's language, as far as we can tell
    source: Source  # where ``wanted`` came from
    handoff: bool  # the customer's language is unsupported and the policy hands such turns off

    @property
    def supported(self) -> bool:
        return self.language == self.wanted

    def note(self) -> str | None:
        if self.supported:
            return None
        if self.source == "unsure":
            return (
                f"reply language: the message looks like {self.wanted!r} but the detector is unsure; handed "
                f"to a person (replies.unsupported_language), holding reply in {self.language!r}"
            )
        if self.handoff:
            return (
                f"reply language: {self.wanted!r} ({self.source}) has no templates; handed to a person "
                f"(replies.unsupported_language), holding reply in {self.language!r}"
            )
        return (
            f"reply language: {self.wanted!r} ({self.source}) has no templates; replied in {self.language!r}"
        )


def normalise(code: str | None) -> str:
    """``"pt-BR"`` → ``"pt"``, ``"ES"`` → ``"es"``; empty for nothing usable."""
    if not code:
        return ""
    primary = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return "" if primary in _UNDETERMINED else primary


def choose_language(
    signals: Signals,
    profile_language: str | None,
    setting: LanguageSetting,
    available: Sequence[str],
) -> LanguageChoice:
    """``profile_language`` is None when the profile may not be read (unknown customer, or
    personalisation off); ``available`` are the languages the renderer has templates for."""
    detected = normalise(signals.language)
    profile = normalise(profile_language)
    default = normalise(setting.default_language) or "en"
    fallback = setting.default_language if setting.default_language in available else available[0]
    wanted: str
    source: Source
    if detected and signals.language_confidence >= setting.detect_min_confidence:
        wanted, source = detected, "message"
    elif profile:
        wanted, source = profile, "profile"
    elif detected and detected != default and setting.unsupported_language == "handoff":
        return LanguageChoice(language=fallback, wanted=detected, source="unsure", handoff=True)
    else:
        wanted, source = default, "tenant"
    if wanted in setting.languages and wanted in available:
        return LanguageChoice(language=wanted, wanted=wanted, source=source, handoff=False)
    return LanguageChoice(
        language=fallback,
        wanted=wanted,
        source=source,
        handoff=setting.unsupported_language == "handoff",
    )
