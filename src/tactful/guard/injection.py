"""Prompt-injection heuristics: named markers, each a compiled pattern with a weight.

The score combines the weights of the markers that fired as a noisy-OR, ``1 - Π(1 - w)``: one
strong marker is enough to score high, several weak ones add up, and the score stays in [0, 1].
English and German patterns (plus the common override phrase in a few more languages), because
injection attempts seen in the wild, and the deepset data, mix them. Customer-support phrasing
("please ignore my previous message") must not fire, so the override patterns need an object such
as "instructions", "rules" or "prompt".

Speed: this runs on every message. Each marker names the words one of which must occur for it to
match at all, and its regex only runs when the message contains one of them, so an ordinary
message costs one tokenisation and a few set look-ups instead of twenty regex scans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from tactful.guard.injection_multilingual import MULTILINGUAL_MARKERS
from tactful.guard.markers import Marker as _Marker
from tactful.guard.markers import words as _words


@dataclass(frozen=True)
class InjectionResult:
    score: float
    markers: tuple[str, ...]


_PREVIOUS_EN = (
    r"(?:all|any|the|your|my|of|these|those|every|previous|prior|preceding|above|earlier|former|"
    r"original|initial|system|other|given|provided)"
)
_OBJECT_EN = (
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|tasks?|context|orders|commands|"
    r"constraints|restrictions|programming|guardrails|policies|information|input|text|articles|documents|"
    r"thoughts|everything)"
)
# "please ignore my previous message" is an ordinary support request, not an override
_MESSAGE_EN = r"message|messages|email|e-mail|mail|post|tweet|comment|reply|order|one|dm"
_PREVIOUS_DE = (
    r"(?:alle[nsmr]?|die|deine|ihre|bisherigen?|vorherigen?|vorangegangenen?|vorigen?|obigen?|früheren?|"
    r"vorangehenden?|bisher|vorher|anderen?|gegebenen?|sie)"
)
_OBJECT_DE = (
    r"(?:anweisungen|instruktionen|befehle|aufgaben|regeln|vorgaben|angaben|informationen|ausführungen|"
    r"prompts?|alles|kontext)"
)
_EARLIER_DE = r"(?:vorherigen|bisherigen|obigen|vorangegangenen|vorangehenden)"

_MARKERS: Final[tuple[_Marker, ...]] = (
    # "ignore all previous instructions", "disregard the above", "forget everything before that"
    _Marker(
        "override_instructions",
        0.9,
        re.compile(
            r"\b(?:ignore|ignoring|disregard|disregarding|forget|skip|override|bypass|drop|abandon|change)\b[\s,]+"
            rf"(?:(?:about|{_PREVIOUS_EN})\s+){{0,3}}{_OBJECT_EN}\b"
            r"|\b(?:ignore|disregard)\s+(?:(?:all|everything|the|that)\s+){0,2}"
            rf"(?:above|before|previous|prior|preceding)\b(?!\s+(?:{_MESSAGE_EN})\b)"
        ),
        _words("ignore ignoring disregard disregarding forget skip override bypass drop abandon change"),
    ),
    _Marker(
        "override_instructions_de",
        0.9,
        re.compile(
            r"\b(?:ignorier(?:e|en|t)?|vergiss|vergesst|vergessen\s+sie|missachte|überspring(?:e)?)\b[\s,]+"
            rf"(?:(?:nun|jetzt|einfach|bitte|mal|{_PREVIOUS_DE})\s+){{0,4}}{_OBJECT_DE}\b"
            rf"|\babweichend\s+(?:zu|von)\s+(?:den\s+)?{_EARLIER_DE}\b"
            rf"|\b{_EARLIER_DE}\s+{_OBJECT_DE}\b[^.!?]{{0,60}}"
            r"\b(?:streichen|vergessen|ignorieren|missachten|hinter\s+sich|irrelevant|unwichtig)"
        ),
        _words(
            "ignoriere ignorieren ignoriert ignorier vergiss vergesst vergessen missachte"
            " überspring überspringe abweichend vorherigen bisherigen obigen vorangegangenen vorangehenden"
        ),
    ),
    # the same override in other languages seen in attacks (es, fr, pt, it, ru, hr/sr)
    _Marker(
        "override_instructions_other",
        0.8,
        re.compile(
            r"\b(?:olvid[ae]\w*|oubli\w*|ignor\w*|esque[çc]a\w*|dimentica\w*|zaboravi\w*|забуд\w*|игнорир\w*)"
            r"\s+(?:\w+\s+){0,3}?(?:instrucciones|instructions|instruções|istruzioni|instrukcije|инструкции|"
            r"todo\s+(?:lo\s+)?que|tout\s+ce\s+que)"
        ),
        _words("instrucciones instructions instruções istruzioni instrukcije инструкции todo tout"),
    ),
    _Marker(
        "new_instructions",
        0.5,
        re.compile(
            r"\b(?:your|the|a|my)\s+new\s+(?:task|instructions?|rules)\b"
            r"|\bnew\s+(?:instructions?|tasks?)\s*(?::|follows?\b|are\b)|\byour\s+instructions\s+are\b"
            r"|\b(?:another|the\s+following|one\s+more)\s+task\b|\bdespite\s+what\s+you(?:'ve|\s+have)\s+been\s+told\b"
            r"|\b(?:additional|new)\s+instruction\b|\binstructions?\s*:"
            r"|\bnow\s+(?:focus\s+on|concentrate\s+on)\s+(?:your|the|a)\s+new\b"
            r"|\b(?:neue|neuen|weitere|weiteren|folgender|folgenden)\s+(?:aufgabe|aufgaben|anweisungen|instruktionen)\b"
            r"|\bnun\s+folgen\b|\bwir\s+(?:starten|beginnen)\s+(?:von\s+)?neu"
        ),
        _words(
            "new instructions instruction task despite aufgabe aufgaben anweisungen instruktionen folgen neu"
        ),
    ),
    _Marker(
        "role_reassignment",
        0.55,
        re.compile(
            r"\byou\s+are\s+now\b|\bnow\s+you\s+are\b|\bfrom\s+now\s+on,?\s+you\b|\byou(?:'re|\s+are)\s+no\s+longer\b"
            r"|\b(?:du\s+bist|sie\s+sind)\s+(?:jetzt|nun|ab\s+jetzt|ab\s+sofort)\b|\b(?:jetzt|nun|ab\s+jetzt)\s+bist\s+du\b"
            r"|\bab\s+(?:jetzt|sofort)\s+(?:bist|antwortest|sprichst)\b"
        ),
        _words("now longer jetzt nun sofort"),
    ),
    _Marker(
        "act_as",
        0.45,
        re.compile(
            r"\b(?:act|acting|behave|respond|answer|reply)\s+(?:as|like)\s+(?:an?|the|if|my)\b"
            r"|\brole[- ]?play(?:ing)?\b|\bin\s+the\s+style\s+of\b"
            r"|\b(?:spiel|spiele|verhalte\s+dich|agiere|handle)\s+(?:wie|als)\b|\bin\s+der\s+rolle\b|\bim\s+stile?\b"
        ),
        _words(
            "act acting behave respond answer reply roleplay roleplaying role style"
            " spiel spiele verhalte agiere handle rolle stil stile"
        ),
    ),
    # the persona set-up that opens most published jailbreak prompts
    _Marker(
        "persona_setup",
        0.7,
        re.compile(
            r"\bi\s+want\s+you\s+to\s+(?:act|be|pretend|play|behave|respond)\b"
            r"|\bmöchte,?\s+dass\s+(?:sie|du)\s+als\b[^.!?]{0,60}\bfungier|\bals\s+[\w-]+(?:\s+[\w-]+){0,3}\s+fungieren\b"
        ),
        _words("want möchte fungieren"),
    ),
    _Marker(
        "pretend",
        0.5,
        re.compile(
            r"\bpretend\s+(?:to\s+be|you(?:'re|\s+are)|that|you)\b|\bimagine\s+you(?:'re|\s+are)\b"
            r"|\btu\s+so,?\s+als\b|\bstell\s+dir\s+vor,?\s+du\b|\bstellen\s+sie\s+sich\s+vor\b"
        ),
        _words("pretend imagine tu stell stellen"),
    ),
    _Marker(
        "jailbreak",
        0.7,
        re.compile(r"\bjail\s?br(?:ea|o)k(?:en|ing)?\b|\bpwn(?:ed)?\b"),
        _words("jailbreak jailbroken jailbreaking jail pwn pwned"),
    ),
    # DAN only as a capitalised acronym (the name "Dan" must not fire) or spelt out
    _Marker(
        "dan",
        0.6,
        re.compile(r"\bDAN\b|\b[Dd]o\s+[Aa]nything\s+[Nn]ow\b"),
        _words("dan anything"),
        case_sensitive=True,
    ),
    _Marker(
        "developer_mode",
        0.6,
        re.compile(
            r"\b(?:developer|dev|god|admin|sudo|debug|unrestricted|unfiltered)\s+mode\b|\bentwicklermodus\b"
        ),
        _words("mode entwicklermodus"),
    ),
    _Marker(
        "system_prompt",
        0.6,
        re.compile(
            r"\bsystem\s*prompt\b|\b(?:initial|original|hidden|secret|internal)\s+(?:prompt|instructions)\b"
            r"|\bprompt[\s_-]*texte?s?\b|\bsystemanweisung"
        ),
        _words("prompt instructions systemprompt prompt_text systemanweisung systemanweisungen"),
    ),
    _Marker(
        "reveal_prompt",
        0.8,
        re.compile(
            r"\b(?:reveal|show|print|display|output|repeat|tell\s+me|give\s+me|leak|share|spell\s+out|list)\b"
            r"[\s\w,]{0,25}?\b(?:your|the|all|all\s+your)\s+(?:system\s+|initial\s+|original\s+|hidden\s+|secret\s+)?"
            r"(?:prompts?|instructions|guidelines|configuration|training\s+data|password)\b"
            r"|\b(?:zeig(?:e|en)?|gib|verrate|nenne|wiederhole)\b[\s\w,]{0,25}?\b(?:deine|ihre|den|die|sämtliche)\s+"
            r"(?:prompts?|anweisungen|instruktionen|passwort)\b"
        ),
        _words(
            "prompt prompts instructions guidelines configuration training password"
            " anweisungen instruktionen passwort"
        ),
    ),
    _Marker(
        "role_marker",
        0.7,
        re.compile(
            r"<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[/?inst\]|<</?sys>>"
            r"|^[ \t]*#{2,}[ \t]*(?:system|assistant|instruction|user)\b"
            r"|^[ \t]*(?:system|assistant|human)[ \t]*:",
            re.MULTILINE,
        ),
        frozenset(),
        gate=lambda text, words: (
            "<|" in text
            or "[inst]" in text
            or "[/inst]" in text
            or "<<sys>>" in text
            or "##" in text
            or (":" in text and ("system" in text or "assistant" in text or "human" in text))
        ),
    ),
    _Marker(
        "stop_override",
        0.45,
        re.compile(
            r"\b(?:stop|halt|attention|achtung)\s*[-!:,.]+\s*(?:stop|stopp|halt)\b|\bstopp?\s*,\s*ignore"
            r"|\bstopp?\s*[-:]+\s*(?:write|say|print|output|schreib\w*|sag\w*)\b"
        ),
        _words("stop stopp halt"),
    ),
    _Marker(
        "say_exactly",
        0.35,
        re.compile(
            r"\b(?:say|write|output|print|respond\s+with|answer\s+with)\s+(?:exactly|only|just)\b"
            r"|\b(?:just|only)\s+(?:output|print|say|write)\b|\brepeat\s+after\s+me\b"
            r"|\b(?:sag|sage|schreib|schreibe|antworte)\s+(?:nur|genau|einfach)\b"
        ),
        _words("exactly only just repeat nur genau einfach"),
    ),
    # "that is done. Now …": a faked end of the previous task before a new one
    _Marker(
        "fake_completion",
        0.4,
        re.compile(
            r"\b(?:that\s+is|that's|das\s+ist)\s+(?:done|enough|erledigt)\b|\bdas\s+genügt\b"
            r"|\byou(?:'ve|\s+have)\s+outdone\s+yourself\b|\bdu\s+dich\s+selbst\s+übertroffen\b"
        ),
        _words("done enough erledigt genügt outdone übertroffen"),
    ),
    # obfuscation: letters spaced out to dodge keyword filters ("S a y t h a t")
    _Marker(
        "spaced_letters",
        0.5,
        re.compile(r"(?<!\w)(?:[^\W\d_] ){7,}[^\W\d_](?!\w)"),
        frozenset(),
        gate=lambda _text, words: list(map(len, words)).count(1) >= 8,  # map and count: in C
    ),
    # literal "\n" runs that fake a new prompt section
    _Marker(
        "escaped_newlines",
        0.5,
        re.compile(r"(?:\\ ?n\s*){3,}"),
        frozenset(),
        gate=lambda text, _words: "\\" in text,
    ),
    # long base64-looking runs can carry encoded instructions past keyword filters
    _Marker(
        "encoded_blob",
        0.35,
        re.compile(r"(?<![\w/+=.:])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{40,}={0,2}"),
        frozenset(),
        gate=lambda text, words: len(text) >= 40 and max(map(len, words), default=0) >= 24,
        case_sensitive=True,
    ),
    *MULTILINGUAL_MARKERS,
)

HIDDEN_CHARACTERS_MARKER: Final = "hidden_characters"
_HIDDEN_WEIGHT: Final = 0.3
# Punctuation stripped from the ends of whitespace-separated tokens; str.split and str.strip are
# several times faster here than a \w+ regex, and the triggers only need whole words.
_EDGE_PUNCTUATION = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum()) + "«»„“”‘’…¿¡"


# Per marker, what the loop reads, unpacked once: (triggers, gate, search, case-sensitive, name,
# 1 − weight); and every trigger word, so a message's words are intersected with them once and
# each marker tests the few words found.
_PLAN: Final = tuple(
    (m.triggers, m.gate, m.pattern.search, m.case_sensitive, m.name, 1.0 - m.weight) for m in _MARKERS
)
_TRIGGERS: Final = frozenset().union(*(m.triggers for m in _MARKERS))


def score_injection(text: str, hidden_removed: int = 0) -> InjectionResult:
    """Score ``text`` (already sanitised) for prompt injection; ``hidden_removed`` comes from sanitise."""
    lower = text.lower()
    word_list = [token.strip(_EDGE_PUNCTUATION) for token in lower.split()]
    words = _TRIGGERS.intersection(word_list)
    markers: list[str] = []
    keep = 1.0
    for triggers, gate, search, case_sensitive, name, miss in _PLAN:
        if triggers:
            if triggers.isdisjoint(words):
                continue
        elif gate is not None and not gate(lower, word_list):
            continue
        if search(text if case_sensitive else lower):
            markers.append(name)
            keep *= miss
    if hidden_removed:
        markers.append(HIDDEN_CHARACTERS_MARKER)
        keep *= 1.0 - _HIDDEN_WEIGHT
    return InjectionResult(score=round(1.0 - keep, 4), markers=tuple(markers))
