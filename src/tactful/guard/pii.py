"""Personal-data detection: e-mail, phone, payment card, IBAN, national ids, street addresses, names.

Runs on every message, so each detector is one compiled regex (written without nested optional
repetition, so matching stays linear) followed by a cheap structural or checksum test in Python:
Luhn for cards, mod-97 and the registered length for IBANs, check letters and digits for the
national ids that have them, and shape and context rules that keep dates, amounts, times, years and
order numbers from being taken for phone numbers. Street addresses are found by shape (a house
number beside a street word); person names only where the text says it is a name ("my name is",
a sign-off at the end, "Dear ..."), because without a language model a bare capitalised word is as
likely a product or a place. How these compare with Presidio's pattern recognizers and with
``phonenumbers``' matcher, in recall, precision and cost: ``bench/pii.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

EMAIL: Final = "email"
PHONE: Final = "phone"
CARD: Final = "card"
IBAN: Final = "iban"
NATIONAL_ID: Final = "national_id"  # US SSN, UK NINO, Spanish DNI/NIE, Italian codice fiscale, French NIR
ADDRESS: Final = "address"  # a street line: house number and street
NAME: Final = "name"  # a person's name, where the text says so

# When two detectors claim overlapping text the one listed first wins: the checksummed and
# strictly-shaped kinds are far less likely to be wrong than the phone heuristics.
_PRIORITY: Final = {EMAIL: 0, IBAN: 1, CARD: 2, NATIONAL_ID: 3, PHONE: 4, ADDRESS: 5, NAME: 6}


@dataclass(frozen=True)
class PiiSpan:
    kind: str
    start: int
    end: int
    value: str


def _split(words: str) -> list[str]:
    return words.split()


# --- e-mail -------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[\w.%+-]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}(?![\w-]|\.[^\W_])"
)

# --- payment cards ------------------------------------------------------------------------------

# 13–19 digits, optionally grouped by single spaces or dashes. First digit 2–6 covers the issuer
# ranges in use (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay/Maestro 6); it keeps
# most shipping and account numbers (which start with 0, 1, 7, 8, 9) out.
_CARD_RE = re.compile(r"(?<![\w+#@$€£¥.,/:-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w@/-]|[.,:]\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_ok(value: str) -> bool:
    digits = value.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    separators = {c for c in value if not c.isdigit()}
    return len(separators) <= 1 and luhn_valid(digits)


# --- IBAN ---------------------------------------------------------------------------------------

# Registered IBAN lengths (SWIFT IBAN registry). A country not listed is not accepted.
IBAN_LENGTHS: Final[dict[str, int]] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# Two letters, two check digits, then the BBAN either compact or in groups of four separated by
# single spaces (the last group may be shorter). The grouped form may run into a following
# four-letter word; _iban_span trims the match to the country's registered length.
_IBAN_RE = re.compile(
    r"(?<![\w-])[A-Za-z]{2}\d{2}"
    r"(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)"
    r"(?![\w-])"
)


def iban_valid(compact: str) -> bool:
    compact = compact.upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _iban_span(match: re.Match[str]) -> tuple[int, int] | None:
    raw = match.group()
    length = IBAN_LENGTHS.get(raw[:2].upper())
    if length is None:
        return None
    taken, end = 0, 0
    for index, char in enumerate(raw):
        if char != " ":
            taken += 1
            if taken == length:
                end = index + 1
                break
    if taken < length or (end < len(raw) and raw[end] != " "):
        return None  # too short, or the registered length ends inside a group
    if not iban_valid(raw[:end].replace(" ", "")):
        return None
    return match.start(), match.start() + end


# --- national ids -------------------------------------------------------------------------------

# US SSN, dashed form only (an undashed 9-digit run is too often something else). Area 000, 666
# and 9xx, group 00 and serial 0000 are never issued.
_SSN_RE = re.compile(r"(?<![\w#$€£¥.,/:-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|[.,:]\d)")
# UK National Insurance number: two prefix letters (D, F, I, Q, U, V never; O never second), six
# digits (optionally paired), suffix A–D. BG, GB, KN, NK, NT, TN and ZZ are never issued.
_NINO_RE = re.compile(
    r"(?<![\w-])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w-])",
    re.IGNORECASE,
)

# Spanish DNI (8 digits + check letter) and NIE (X/Y/Z + 7 digits + check letter).
_DNI_RE = re.compile(r"(?<![\w-])(?:\d{8}|[XYZxyz]-?\d{7})-?[A-Za-z](?![\w-])")
_DNI_LETTERS: Final = "TRWAGMYFPDXBNJZSQVHLCKE"


def _dni_ok(value: str) -> bool:
    compact = value.replace("-", "").upper()
    digits = compact[:-1]
    if digits[0] in "XYZ":
        digits = str("XYZ".index(digits[0])) + digits[1:]
    return _DNI_LETTERS[int(digits) % 23] == compact[-1]


# Italian codice fiscale: 6 letters, 2 digits, month letter, 2 digits, a letter + 3 digits, check
# letter (the check is not verified: the shape alone is specific enough in free text).
_CF_RE = re.compile(
    r"(?<![\w-])[A-Za-z]{6}\d{2}[ABCDEHLMPRSTabcdehlmprst]\d{2}[A-Za-z]\d{3}[A-Za-z](?![\w-])"
)
# French NIR (numéro de sécurité sociale): sex, year, month, department, commune, order, key,
# with optional spaces; the key is 97 - (number mod 97).
_NIR_RE = re.compile(
    r"(?<![\w-])[12] ?\d{2} ?(?:0[1-9]|1[0-2]) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w-])"
)


def _nir_ok(value: str) -> bool:
    compact = value.replace(" ", "").upper().replace("2A", "19").replace("2B", "18")
    return len(compact) == 15 and 97 - int(compact[:13]) % 97 == int(compact[13:])


# A US SSN written without dashes is taken only right after its name ("SSN 123456789").
_SSN_PLAIN_RE = re.compile(
    r"\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|#))?)\s*(?:is|:|#)?\s*"
    r"((?!000|666|9)\d{3} ?(?!00)\d{2} ?(?!0000)\d{4})(?![\w-])",
    re.IGNORECASE,
)

# --- street addresses ---------------------------------------------------------------------------

_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|terrace|"
    r"close|crescent|square|sq|parkway|pkwy|highway|hwy|row|mews|grove|gardens|hill|walk"
)
# "221B Baker Street", "1600 Pennsylvania Ave NW", "12 High St., Apt 4"
_ADDRESS_EN_RE = re.compile(
    rf"(?<![\w#$€£/.-])\d{{1,5}}[A-Za-z]?,? (?:[A-Z][\w'’.-]*\.? ){{1,4}}(?i:{_STREET_WORDS})\b\.?"
    r"(?: (?:N|S|E|W|NE|NW|SE|SW)\b)?(?:,? (?i:apt|apartment|suite|ste|unit|flat)\.? ?#?\w{1,5}\b)?"
)
_STREET_WORDS_SET: Final = frozenset(_STREET_WORDS.split("|"))
_EU_STREET_WORDS: Final = frozenset(
    _split(
        "rue avenue boulevard bd place chemin allée impasse quai calle avenida avda plaza paseo via viale "
        "piazza corso rua"
    )
)
_ADDRESS_EU_SUFFIXES: Final = ("stra", "str.", "weg ", "gasse", "allee", "platz", "ring ", "damm", "ufer")
_WORD_RE = re.compile(r"[^\W\d_][\w'’]*")
# "Hauptstraße 5", "Lindenstr. 12a", "Am Markt 3" is too vague; "rue de Rivoli 10"-style orders:
# "10 rue de Rivoli", "Calle Mayor 5", "Via Roma 12".
_ADDRESS_EU_RE = re.compile(
    r"(?<![\w-])[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer)"
    r" \d{1,4}[a-z]?(?![\w-])"
    r"|(?<![\w-])\d{1,4}(?:bis|ter)?,? (?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai) "
    r"(?:(?:de|du|des|la|le|l'|d')\s?)*[A-ZÉÈ][\w'’-]*(?: [A-ZÉÈ][\w'’-]*){0,3}"
    r"|(?<![\w-])(?:Calle|Avenida|Avda\.|Plaza|Paseo|Via|Viale|Piazza|Corso|Rua) "
    r"(?:(?:de|del|la|los|las|da|do|della|dei|di)\s)*[A-ZÁÉÍÓÚ][\w'’-]*(?: [A-ZÁÉÍÓÚ][\w'’-]*){0,3}"
    r",? \d{1,4}(?![\w-])"
)

# --- person names -------------------------------------------------------------------------------

_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’-]+"
_FULL_NAME = rf"{_NAME_WORD}(?: (?:(?:van|von|de|da|del|der|den|di|le|la|bin|al|o'|mc) )?{_NAME_WORD}){{0,2}}"
# A name the text announces: "my name is Anna Lopez", "name: Anna", "this is Anna from ...",
# "I'm Anna Lopez," (only at the start of a message or sentence, with a capitalised word).
_NAME_CUE_RE = re.compile(
    rf"\b(?:[Mm]y (?:full |first |last )?name is|[Mm]y name's|[Nn]ame\s*:|[Tt]he name is|"
    rf"[Ii]ch heiße|[Mm]e llamo|[Mm]i nombre es|[Jj]e m'appelle|[Mm]i chiamo)\s+({_FULL_NAME})"
    rf"|(?:^|[.!?]\s+)(?:[Tt]his is|I'm|I am|It's)\s+({_FULL_NAME})(?=\s*(?:[,.!]|\bfrom\b|\bhere\b|$))",
    re.MULTILINE,
)
# A sign-off closing the message: "Thanks, Anna", "Regards,\nAnna Lopez", "- Anna", "— Anna L."
_SIGNOFF_RE = re.compile(
    rf"(?:(?:[Tt]hanks|[Tt]hank you|[Rr]egards|[Kk]ind regards|[Bb]est regards|[Bb]est|[Cc]heers|"
    rf"[Ss]incerely|[Yy]ours|[Mm]any thanks|[Gg]rüße|[Gg]ruß|[Ss]aludos|[Cc]ordialement)[,!.]?\s+"
    rf"|(?:^|\s)[-–—~]\s?)"
    rf"({_FULL_NAME}(?: [A-Z]\.)?)[.!]?\s*$"
)
# "Dear Anna," / "Hi Anna Lopez," opening a message written to a person (often forwarded text).
_SALUTATION_RE = re.compile(rf"^(?:Dear|Hi|Hello|Hey)\s+({_FULL_NAME}),")
# Capitalised words that follow these cues without being names.
_NOT_NAMES: Final = frozenset(
    _split(
        "Thanks Thank Team Support Customer Service Sir Madam Everyone All There Guys Folks Again Still "
        "Here Not Just Very So Sorry Happy Sad Angry Frustrated Done Back Trying Calling Writing Waiting "
        "Looking Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April "
        "May June July August September October November December Amazon Apple Google Microsoft Uber "
        "Delta Tesco Admin Hello Hi Hey Dear Regards Cheers Best Yours Kind Sincerely Please Help Urgent "
        "Ok Okay Yes No"
    )
)


_CUE_WORDS: Final = frozenset(
    _split("name name's names this i'm im am it's heiße heisse llamo appelle chiamo nombre")
)
_SALUTATIONS: Final = ("Dear ", "Hi ", "Hello ", "Hey ")


def _names(text: str, words: frozenset[str]) -> list[PiiSpan]:
    scans: list[tuple[re.Pattern[str], int]] = []
    if not _CUE_WORDS.isdisjoint(words):
        scans.append((_NAME_CUE_RE, 0))
    # A sign-off closes the message with a capitalised word ("Anna", "Lopez", "L."): only then,
    # and only over the message's last characters, is the sign-off pattern tried.
    last = text[text.rfind(" ", 0, len(text) - 1) + 1 :].lstrip("-–—~\n").rstrip(".!")
    if last[:1].isupper():
        scans.append((_SIGNOFF_RE, max(0, len(text) - 64)))
    if text.startswith(_SALUTATIONS):
        scans.append((_SALUTATION_RE, 0))
    found: list[PiiSpan] = []
    for pattern, offset in scans:
        for m in pattern.finditer(text, offset):
            group = next((g for g in range(1, pattern.groups + 1) if m.group(g)), 0)
            if not group:
                continue
            start, end = m.span(group)
            parts = text[start:end].split(" ")
            while parts and parts[-1].rstrip(".") in _NOT_NAMES:
                parts.pop()
                end = start + len(" ".join(parts))
            if parts and parts[0] not in _NOT_NAMES and end > start:
                found.append(PiiSpan(NAME, start, end, text[start:end]))
    return found


# --- phone numbers ------------------------------------------------------------------------------

# A phone-shaped run: optional "+", an optional parenthesised area code, then digit groups joined
# by one separator (space, dot, dash) or a parenthesised group like "(0)". Each repetition starts
# with a non-digit, so the regex cannot backtrack exponentially. Not preceded by a word character,
# "#", a currency sign or another number; not followed by letters or more digits.
_PHONE_RE = re.compile(
    r"(?<![\w#@$€£¥/.:,+-])"
    r"(?:\+[ ]?|(?=\()|(?<!\d[ .-]))"  # "+" and "(" start a new number even right after another
    r"(?:\(\d{1,5}\)[ ]?)?\d+"
    r"(?:(?:[ .-]|[ ]?\(\d{1,5}\)[ ]?)\d+)*"
    r"(?![\w@/%°]|[.,:]\d|[ .-]\d)"
)
_GROUP_RE = re.compile(r"\d+")
_PHONE_CONTEXT_RE = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|call|calling|ring|text|sms|whats ?app|contact|reach|fax|"
    r"handy|telefon|telefono|teléfono|téléphone|portable|móvil|cellulare)\b",
    re.IGNORECASE,
)
# "number" says phone only when nothing else names what the number is ("order number …").
_NUMBER_WORD_RE = re.compile(r"\b(?:number|nummer|número|numéro|numero)\b|\b(?:no|nr|tel)\.", re.IGNORECASE)
_NOT_PHONE_CONTEXT_RE = re.compile(
    r"\b(?:order|orders|tracking|track|invoice|ref|reference|ticket|confirmation|booking|serial|imei|sku|"
    r"model|version|acct|transaction|parcel|shipment|isbn|pnr|reservation|bestellung|pedido|commande)\b"
    r"|\b(?:account|customer|case|claim|policy|member|membership|item)\s*(?:number|no\b|nr\b|#|id\b)",
    re.IGNORECASE,
)
_AMOUNT_AFTER_RE = re.compile(
    r"\s?(?:[$€£¥%]|usd|eur|gbp|dollars?|euros?|pounds?|bucks|points|miles|km|kg|mb|gb)\b",
    re.IGNORECASE,
)
_CONTEXT_WINDOW: Final = 48
_NUMBER_WORD_REACH: Final = 16  # "my number is 5551234567": the word must be close
_NONE: Final = 1_000  # "no keyword in the window" for _nearest_keyword


def _nearest_keyword(pattern: re.Pattern[str], window: str) -> int:
    """Distance from the end of ``window`` to the last keyword in it; a large number if none."""
    last = -1
    for match in pattern.finditer(window):
        last = match.end()
    return len(window) - last if last >= 0 else _NONE


def _phone_ok(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    groups = _GROUP_RE.findall(value)
    digits = sum(len(g) for g in groups)
    if _AMOUNT_AFTER_RE.match(text, end):
        return False  # "+20 000 EUR", "12 345 678 dollars"
    if value.startswith("+"):  # E.164: at most 15 digits; fewer than 8 is not a reachable number
        return 8 <= digits <= 15
    if not 7 <= digits <= 12:
        return False

    window = text[max(0, start - _CONTEXT_WINDOW) : start]
    phone_kw = _nearest_keyword(_PHONE_CONTEXT_RE, window)
    other_kw = _nearest_keyword(_NOT_PHONE_CONTEXT_RE, window)
    if other_kw == _NONE:
        number_kw = _nearest_keyword(_NUMBER_WORD_RE, window)
        if number_kw <= _NUMBER_WORD_REACH:
            phone_kw = min(phone_kw, number_kw)
    if other_kw < phone_kw:
        return False  # "order 555-123-4567", "tracking no 0123 4567 8901"
    says_phone = phone_kw < _NONE

    if len(groups) == 1:  # an unbroken run of digits: only with a phone word nearby or a trunk "0"
        return says_phone or (value.startswith("0") and not value.startswith("00") and 10 <= digits <= 11)

    separators = {c for c in value if c in ".-"}
    if "." in separators and "-" in separators:
        return False  # "10.30-11.45": times or ranges; dotted phone numbers use dots throughout
    parenthesised = value.startswith("(")
    lengths = [len(g) for g in groups]
    if any(n == 1 for n in lengths) and "(0)" not in value:
        return False  # "192.168.1.10", "1 234 567": phone groups have at least two digits
    if len(lengths) == 3 and 4 in (lengths[0], lengths[-1]) and sorted(lengths)[:2] == [2, 2]:
        return False  # "2024-01-15", "15 01 2024"
    if all(n == 4 for n in lengths) and all(g[:2] in ("19", "20") for g in groups):
        return False  # "1999 2004 2010": a list of years
    if separators == {"."} and all(n == 3 for n in lengths[1:]):
        return False  # "12.345.678": thousands separators
    if separators == {"-"} and lengths in ([5, 4], [3, 2, 4]):
        return False  # a US ZIP+4 code, or SSN-shaped (the SSN detector decides those)
    if max(lengths) > 8:
        return False
    return says_phone or parenthesised or len(groups) >= 2


# --- detection ----------------------------------------------------------------------------------


_EMAIL_HINT_RE = re.compile(r"[\w.%+-]@[^\W_]")  # "@handle" mentions alone need no full scan
_NON_DIGITS_RE = re.compile(r"\D+")


def _candidates(text: str) -> list[PiiSpan]:
    found: list[PiiSpan] = []
    if "@" in text and _EMAIL_HINT_RE.search(text):
        found.extend(PiiSpan(EMAIL, m.start(), m.end(), m.group()) for m in _EMAIL_RE.finditer(text))
    lowered = text.lower()
    words = frozenset(_WORD_RE.findall(lowered))
    found.extend(_names(text, words))
    # Every other kind needs a minimum number of digits; counting them first skips most regex
    # passes on most messages (each pass costs several microseconds). Cheap substring checks gate
    # the rest the same way.
    digits = len(_NON_DIGITS_RE.sub("", text))
    if digits == 0:
        return found
    if not _STREET_WORDS_SET.isdisjoint(words):
        found.extend(PiiSpan(ADDRESS, m.start(), m.end(), m.group()) for m in _ADDRESS_EN_RE.finditer(text))
    if not _EU_STREET_WORDS.isdisjoint(words) or any(h in lowered for h in _ADDRESS_EU_SUFFIXES):
        found.extend(PiiSpan(ADDRESS, m.start(), m.end(), m.group()) for m in _ADDRESS_EU_RE.finditer(text))
    if digits < 6:
        return found
    for m in _IBAN_RE.finditer(text):
        span = _iban_span(m)
        if span is not None:
            found.append(PiiSpan(IBAN, span[0], span[1], text[span[0] : span[1]]))
    found.extend(PiiSpan(NATIONAL_ID, m.start(), m.end(), m.group()) for m in _NINO_RE.finditer(text))
    if digits < 7:
        return found
    found.extend(
        PiiSpan(NATIONAL_ID, m.start(), m.end(), m.group())
        for m in _DNI_RE.finditer(text)
        if _dni_ok(m.group())
    )
    found.extend(PiiSpan(NATIONAL_ID, m.start(), m.end(), m.group()) for m in _CF_RE.finditer(text))
    found.extend(
        PiiSpan(PHONE, m.start(), m.end(), m.group())
        for m in _PHONE_RE.finditer(text)
        if _phone_ok(text, m.start(), m.end())
    )
    if digits < 9:
        return found
    found.extend(PiiSpan(NATIONAL_ID, m.start(), m.end(), m.group()) for m in _SSN_RE.finditer(text))
    if "ssn" in lowered or "social security" in lowered:
        found.extend(
            PiiSpan(NATIONAL_ID, m.start(1), m.end(1), m.group(1)) for m in _SSN_PLAIN_RE.finditer(text)
        )
    if digits >= 13:
        found.extend(
            PiiSpan(CARD, m.start(), m.end(), m.group())
            for m in _CARD_RE.finditer(text)
            if _card_ok(m.group())
        )
        found.extend(
            PiiSpan(NATIONAL_ID, m.start(), m.end(), m.group())
            for m in _NIR_RE.finditer(text)
            if _nir_ok(m.group())
        )
    return found


def detect_pii(text: str) -> list[PiiSpan]:
    """Non-overlapping PII spans in ``text``, in text order."""
    chosen: list[PiiSpan] = []
    for span in sorted(_candidates(text), key=lambda s: (_PRIORITY[s.kind], s.start, -(s.end - s.start))):
        if all(span.end <= other.start or span.start >= other.end for other in chosen):
            chosen.append(span)
    chosen.sort(key=lambda s: s.start)
    return chosen


def canonical(kind: str, value: str) -> str:
    """The identity of a value, so the same number written two ways gets one token."""
    if kind == EMAIL:
        return value.lower()
    if kind == PHONE:
        digits = "".join(c for c in value if c.isdigit())
        return ("+" if value.startswith("+") else "") + digits
    if kind in (NAME, ADDRESS):
        return " ".join(value.split()).casefold()
    return "".join(c for c in value if c.isalnum()).upper()
