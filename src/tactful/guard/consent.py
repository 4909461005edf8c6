"""SMS consent keywords and phrasings: opt-out, opt back in, HELP.

As carriers (CTIA Messaging Principles, the US TCPA "reasonable means" standard) expect:

- **Opt-out keywords**: the whole message, in any case and with any punctuation around it —
  STOP, STOPALL, STOP ALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT / OPT OUT / OPT-OUT
  ("STOP.", "stop!", "Stop all" all count).
- **Opt-out phrasings**: a short message that plainly asks for no more texts — "Unsubscribe me",
  "Please stop texting me", "don't text me again", "remove me from your list" — is an opt-out too
  and gets the same confirmation. A longer message, or one that merely mentions stopping
  ("please stop the refund", "I can't stop laughing"), is an ordinary message the policy handles.
- **Opt back in**: START and UNSTOP; YES only from a customer who is opted out of SMS (from anyone
  else "yes" is an answer, not a consent request).
- **HELP** (and INFO, and the word for help in the languages the templates speak): answered with
  how to opt out and back in, in the customer's language where templates exist.

Only messages that arrived by SMS count: "stop" typed in a chat says nothing about SMS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from tactful.domain import Channel, Preferences

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
CONDITIONAL_OPT_IN = frozenset({"YES"})  # only from someone opted out of SMS
HELP_KEYWORDS = frozenset({"HELP", "INFO", "AYUDA", "AIDE", "HILFE", "AIUTO", "AJUDA"})

#: Longest message read as an opt-out phrasing: a request, not a story that mentions stopping.
MAX_PHRASE_CHARS = 80
_OPT_OUT_PHRASES = re.compile(
    r"""
    \bunsubscribe\b
    | \bopt\s?out\b
    | \b(?:stop|quit|cease)\s+(?:texting|txting|messaging|contacting)\b
    | \b(?:stop|quit|cease)\s+sending\s+(?:me\s+)?(?:texts|text\s+messages|messages|sms)\b
    | \bno\s+more\s+(?:texts|text\s+messages|messages|sms)\b
    | \b(?:do\s?n[o']?t|never)\s+(?:text|message|contact|sms)\s+me\b
    | \b(?:remove|take)\s+me\s+(?:from|off)\b
    """,
    re.VERBOSE,
)
_PUNCTUATION = re.compile(r"[^\w\s']+")
_SPACES = re.compile(r"\s+")


class ConsentChange(StrEnum):
    SMS_OPT_OUT = "sms_opt_out"
    SMS_OPT_IN = "sms_opt_in"
    SMS_HELP = "sms_help"  # not a change: the keyword is answered, consent stays as it is

    @property
    def intent(self) -> str:
        """The intent the confirmation is rendered for (``reply.consent_*`` templates)."""
        return {
            ConsentChange.SMS_OPT_OUT: "consent_opt_out",
            ConsentChange.SMS_OPT_IN: "consent_opt_in",
            ConsentChange.SMS_HELP: "consent_help",
        }[self]


def normalise(text: str) -> str:
    """Upper case, punctuation dropped, spaces collapsed: "  Stop-All!! " -> "STOP ALL"."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.replace("-", " "))).strip().upper()


def consent_keyword(
    channel: Channel, text: str, sms_closed: Callable[[], bool] | None = None
) -> ConsentChange | None:
    """The consent request an SMS makes, if any. ``sms_closed`` says whether the customer is opted
    out of SMS now; it is asked only for the conditional opt-in word (YES)."""
    if channel is not Channel.SMS or len(text) > MAX_PHRASE_CHARS * 4:
        return None
    word = normalise(text)
    if word in OPT_OUT_KEYWORDS:
        return ConsentChange.SMS_OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return ConsentChange.SMS_OPT_IN
    if word in HELP_KEYWORDS:
        return ConsentChange.SMS_HELP
    if word in CONDITIONAL_OPT_IN:
        return ConsentChange.SMS_OPT_IN if sms_closed is not None and sms_closed() else None
    if len(text) <= MAX_PHRASE_CHARS and _OPT_OUT_PHRASES.search(word.lower()):
        return ConsentChange.SMS_OPT_OUT
    return None


def apply_consent(preferences: Preferences, change: ConsentChange) -> Preferences:
    if change is ConsentChange.SMS_OPT_OUT:
        update = {
            "opted_out": preferences.opted_out | {Channel.SMS},
            "opted_in": preferences.opted_in - {Channel.SMS},
        }
    elif change is ConsentChange.SMS_OPT_IN:
        update = {
            "opted_out": preferences.opted_out - {Channel.SMS},
            "opted_in": preferences.opted_in | {Channel.SMS},
        }
    else:
        return preferences
    return preferences.model_copy(update=update)
