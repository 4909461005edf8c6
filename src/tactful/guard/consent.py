"""SMS consent keywords: ``STOP`` and its synonyms opt a customer out of SMS, ``START`` back in.

The carriers' (CTIA) convention: the whole message, trimmed and in any case, is the keyword; a
keyword inside a sentence ("please stop texting me at night") is an ordinary message the policy
handles. Only messages that arrived by SMS count: "stop" typed in a chat says nothing about SMS.
"""

from __future__ import annotations

from enum import StrEnum

from tactful.domain import Channel, Preferences

OPT_OUT_KEYWORDS = frozenset({"STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START"})


class ConsentChange(StrEnum):
    SMS_OPT_OUT = "sms_opt_out"
    SMS_OPT_IN = "sms_opt_in"

    @property
    def intent(self) -> str:
        """The intent the confirmation is rendered for (``reply.consent_*`` templates)."""
        return "consent_opt_out" if self is ConsentChange.SMS_OPT_OUT else "consent_opt_in"


def consent_keyword(channel: Channel, text: str) -> ConsentChange | None:
    if channel is not Channel.SMS or len(text) > 32:
        return None
    word = text.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return ConsentChange.SMS_OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return ConsentChange.SMS_OPT_IN
    return None


def apply_consent(preferences: Preferences, change: ConsentChange) -> Preferences:
    if change is ConsentChange.SMS_OPT_OUT:
        update = {
            "opted_out": preferences.opted_out | {Channel.SMS},
            "opted_in": preferences.opted_in - {Channel.SMS},
        }
    else:
        update = {
            "opted_out": preferences.opted_out - {Channel.SMS},
            "opted_in": preferences.opted_in | {Channel.SMS},
        }
    return preferences.model_copy(update=update)
