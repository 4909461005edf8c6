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
from tactful.domain.intents import SupportIntent

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
    # The same request in the languages the templates speak (es, fr, de, it, pt): carriers abroad
    # honour these words, and a customer texting in Spanish writes BAJA, not STOP.
    | {"BAJA", "ALTO", "CANCELAR", "DARSE DE BAJA", "STOP SVP", "STOP STP", "ARRET", "ARRÊT", "DESABONNER"}
    | {"DÉSABONNER", "DESINSCRIPTION", "DÉSINSCRIPTION", "STOPP", "ABMELDEN", "ABBESTELLEN"}
    | {"DISISCRIVIMI", "DISISCRIVI", "CANCELLAMI", "PARAR", "PARE", "SAIR", "DESCADASTRAR"}
)
#: The language a one-word opt-out is in: "BAJA" is too short for language detection, yet its
#: confirmation should be in Spanish.
KEYWORD_LANGUAGE = {
    **dict.fromkeys(("BAJA", "ALTO", "DARSE DE BAJA"), "es"),
    **dict.fromkeys(("STOP SVP", "STOP STP", "ARRET", "ARRÊT", "DESABONNER", "DÉSABONNER"), "fr"),
    **dict.fromkeys(("DESINSCRIPTION", "DÉSINSCRIPTION"), "fr"),
    **dict.fromkeys(("STOPP", "ABMELDEN", "ABBESTELLEN"), "de"),
    **dict.fromkeys(("DISISCRIVIMI", "DISISCRIVI", "CANCELLAMI"), "it"),
    **dict.fromkeys(("PARAR", "PARE", "SAIR", "DESCADASTRAR"), "pt"),
}
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
    | \b(?:stop|quit|cease)\s+sending\s+(?:me\s+)?(?:these|those|this|the|your|all|any)\s+
        (?:texts|text\s+messages|messages|sms|alerts|notifications)\b
    # es / fr / de / it / pt: the plain "no more texts", "unsubscribe me", "stop sending" requests
    | \b(?:dar(?:me|se)\s+de\s+baja|cancelar\s+(?:la\s+)?suscripci[oó]n)
    | \bno\s+(?:me\s+)?(?:envi|mand)en\s+m[aá]s
    | \bno\s+quiero\s+(?:recibir\s+)?m[aá]s\s+(?:sms|mensajes)\b
    | \b(?:d[ée]sabonne|d[ée]sinscri|ne\s+plus\s+recevoir|plus\s+de\s+sms)
    | \barr[êe]te[zr]?\s+(?:de\s+m'envoyer|les\s+sms)
    | \b(?:keine\s+(?:sms|nachrichten)\s+mehr|abmelden|abbestellen|h[öo]ren\s+sie\s+auf)
    | \b(?:non\s+voglio\s+pi[uù]\s+ricevere|disiscriv|basta\s+(?:sms|messaggi))
    | \bnon\s+(?:mi\s+)?(?:inviate|mandate)\s+pi[uù]
    | \b(?:n[aã]o\s+quero\s+(?:mais\s+)?receber|descadastr|parem\s+de\s+(?:me\s+)?enviar)
    | \bcancelar\s+(?:a\s+)?inscri[cç][aã]o
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
    if word in OPT_OUT_KEYWORDS or _repeated_keyword(word):
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


#: An SMS the intent model reads as opt_out at least this surely is an opt-out request even in a
#: phrasing the rules above miss ("please, no more of these", other languages): the model is
#: 0.96-1.0 sure on such requests, and a missed opt-out breaks the law where a wrong one costs a
#: confirmation text the customer can answer START to.
OPT_OUT_INTENT_CONFIDENCE = 0.9


def consent_from_intent(channel: Channel, text: str, intent: str, confidence: float) -> ConsentChange | None:
    """An opt-out the intent model reads in a short SMS the keyword rules did not catch."""
    if channel is not Channel.SMS or len(text) > MAX_PHRASE_CHARS:
        return None
    if intent == SupportIntent.OPT_OUT and confidence >= OPT_OUT_INTENT_CONFIDENCE:
        return ConsentChange.SMS_OPT_OUT
    return None


def keyword_language(text: str) -> str | None:
    """The language of a consent keyword that names one ("BAJA" → "es"), else None."""
    return KEYWORD_LANGUAGE.get(normalise(text))


def _repeated_keyword(word: str) -> bool:
    """ "stop stop stop", "STOP STOP!!": the keyword said more than once is still the keyword."""
    parts = word.split(" ")
    return 1 < len(parts) <= 5 and len(set(parts)) == 1 and parts[0] in OPT_OUT_KEYWORDS


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
