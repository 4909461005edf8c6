"""One pass over a message that every lexicon signal reads from: tokens, case and punctuation cues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Stripped from the ends of whitespace-separated tokens. str.split + str.strip is several times
# faster than a \w+ regex on this hot path, and keeps "can't" and "you're" whole.
EDGE_PUNCTUATION = (
    "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum() and chr(c) != "'") + "«»„“”…¿¡"
)
_EDGE_AND_QUOTES = EDGE_PUNCTUATION + "'"
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'"})
_SENTENCE_END = (".", "!", "?")
# Acronyms written in capitals that say nothing about shouting.
_ACRONYMS = frozenset(
    [
        "USA",
        "UK",
        "EU",
        "ATM",
        "PIN",
        "SMS",
        "ID",
        "IOS",
        "PS4",
        "PS5",
        "PC",
        "TV",
        "OK",
        "FAQ",
        "URL",
        "API",
        "VPN",
        "WIFI",
        "ISP",
        "UPS",
        "DHL",
        "USPS",
        "FEDEX",
        "NHS",
        "GDPR",
        "IBAN",
        "SSN",
        "DM",
        "PM",
        "AM",
        "ETA",
        "CEO",
        "HR",
        "IT",
        "IRS",
        "FBI",
        "BBC",
        "CNN",
        "APP",
        "USB",
        "HDMI",
        "GPS",
        "SIM",
        "ESIM",
        "PDF",
    ]
)


@dataclass(frozen=True)
class TextView:
    text: str  # as given (already normalised and PII-tokenised by the guard)
    lower: str  # lower-cased, curly apostrophes straightened
    words: tuple[str, ...]  # lower-cased tokens, edge punctuation stripped, empties dropped
    caps_words: int  # words of 3+ letters in capitals (acronyms excluded): shouting
    alpha_words: int  # words with at least one letter, for rates
    lowercase_starts: int  # sentences (or the message) starting with a lower-case letter
    sentences: int
    sentence_starts: tuple[str, ...]  # each sentence's first word, lower-cased (mentions skipped)
    lowercase_i: int  # "i" as a pronoun written in lower case
    exclamation_runs: int  # "!!" or longer
    question_runs: int  # "??" or longer
    exclamations: int
    questions: int


# A whitespace token's reading, remembered: tokens repeat far more than they vary.
# (lower-cased core, is a mention, starts with a letter, starts lower-case (not a link),
#  is a lower-case "i", is a word in capitals, ends a sentence); () when nothing is left after stripping.
_Reading = tuple[str, bool, bool, bool, bool, bool, bool] | tuple[()]
_READINGS: dict[str, _Reading] = {}
_READINGS_MAX: Final = 100_000


def _reading(token: str) -> _Reading:
    core = token.strip(_EDGE_AND_QUOTES)
    if not core:
        found: _Reading = ()
    else:
        low = core.lower()
        first = core[0]
        found = (
            low,
            token[0] == "@",  # "@AcmeHelp my order ...": the sentence starts after the mention
            first.isalpha(),
            first.islower() and not low.startswith(("http", "www")),
            first == "i" and (len(core) == 1 or core[1] == "'"),
            # PII tokens such as <EMAIL_1> are not words in capitals: isalpha() is False for them
            len(core) >= 3 and core.isupper() and core.isalpha() and core not in _ACRONYMS,
            token.endswith(_SENTENCE_END),
        )
    if len(_READINGS) < _READINGS_MAX:
        _READINGS[token] = found
    return found


def view_of(text: str) -> TextView:
    """One pass over the whitespace tokens; everything the lexicon signals need."""
    straight = text.translate(_APOSTROPHES) if not text.isascii() else text
    words: list[str] = []
    starts: list[str] = []
    caps = alpha = lowercase_starts = lowercase_i = sentences = 0
    at_start = True
    known = _READINGS
    for token in straight.split():
        reading = known.get(token)
        if reading is None:
            reading = _reading(token)
        if not reading:
            continue
        low, mention, letter, lower_start, lower_i, capitals, ends = reading
        words.append(low)
        if mention:
            continue
        if letter:
            alpha += 1
            if at_start:
                sentences += 1
                starts.append(low)
                lowercase_starts += lower_start
            lowercase_i += lower_i
            caps += capitals
        at_start = ends
    return TextView(
        text=text,
        lower=straight.lower(),
        words=tuple(words),
        caps_words=caps,
        alpha_words=alpha,
        lowercase_starts=lowercase_starts,
        sentences=max(sentences, 1),
        sentence_starts=tuple(starts),
        lowercase_i=lowercase_i,
        exclamation_runs=text.count("!!"),
        question_runs=text.count("??"),
        exclamations=text.count("!"),
        questions=text.count("?"),
    )
