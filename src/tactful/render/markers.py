"""Fast marker lookup for the tone scorer: the phrases of ``tone_markers.yaml`` matched by words.

A regular expression per category costs tens of microseconds per reply in Python's engine (a long
alternation is tried at every word). Nearly every marker is a word, a phrase, or a word stem
("frustrat\\w*"), so the fragments are expanded once at load into literal phrases whose last word
may be a stem, and matched by dictionary lookup over the reply's words. Fragments the expander does
not cover ("i can .{0,30} if you") stay regular expressions.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Words as markers are matched: hyphens split ("envoyez-moi" → envoyez, moi), apostrophes do not
# ("you're", "l'appli").
WORD = re.compile(r"[\w'’]+")
_MAX_EXPANSIONS = 256
_STEM = ("\\w*", "\\w+")


class _Unsupported(ValueError):
    pass


def _alternatives(body: str) -> list[str]:
    """Split a group body on top-level bars."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(body[start:i])
            start = i + 1
    out.append(body[start:])
    return out


def _closing(pattern: str, start: int, opener: str, closer: str) -> int:
    depth = 0
    for i in range(start, len(pattern)):
        if pattern[i] == opener:
            depth += 1
        elif pattern[i] == closer:
            depth -= 1
            if depth == 0:
                return i
    raise _Unsupported(pattern)


def expand(pattern: str) -> list[tuple[str, bool]]:
    """``"apologi[sz]e"`` → ``[("apologise", False), ("apologize", False)]``;
    ``"frustrat\\w*"`` → ``[("frustrat", True)]`` (True: the last word is a stem). Raises
    ``_Unsupported`` for anything else a regular expression can say."""
    out: dict[str, bool] = {}
    for text, stem in _expand(pattern):
        # "te lo \w+": a stem that is a whole new word matches any word; the phrase is enough.
        out.setdefault(" ".join(text.split()), stem and not text.endswith(" "))
    return list(out.items())


def _expand(pattern: str) -> list[tuple[str, bool]]:
    if pattern.endswith(_STEM):
        return [(text, True) for text, _ in _expand(pattern[:-3])]
    options: list[list[str]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "(":
            if not pattern.startswith("(?:", i):
                raise _Unsupported(pattern)
            end = _closing(pattern, i, "(", ")")
            choices: list[str] = []
            for alt in _alternatives(pattern[i + 3 : end]):
                expanded = _expand(alt)
                if any(stem for _, stem in expanded):
                    raise _Unsupported(pattern)
                choices.extend(t for t, _ in expanded)
            i = end + 1
        elif ch == "[":
            end = pattern.index("]", i)
            choices = list(pattern[i + 1 : end])
            i = end + 1
        elif ch == "\\" or ch in ".*+{}^$|":
            raise _Unsupported(pattern)
        else:
            choices = [ch]
            i += 1
        if i < len(pattern) and pattern[i] == "?":
            choices = [*choices, ""]
            i += 1
        elif i < len(pattern) and pattern[i] in "*+":
            if i + 1 != len(pattern):
                raise _Unsupported(pattern)
            # "ravi[es]*": a stem (the stem matches the bare word too).
            return [("".join(p), True) for p in itertools.product(*options)]
        options.append(choices)
        if len(options) > 1 and _count(options) > _MAX_EXPANSIONS:
            raise _Unsupported(pattern)
    return [("".join(p), False) for p in itertools.product(*options)]


def _count(options: Sequence[Sequence[str]]) -> int:
    n = 1
    for choices in options:
        n *= len(choices)
    return n


@dataclass(frozen=True, slots=True)
class _Entry:
    rest: tuple[str, ...]  # the words after the first
    stem: bool  # the last word is a stem
    category: str
    weight: float


@dataclass
class MarkerIndex:
    """Every marker of one language, matched over a text's words."""

    exact: dict[str, list[_Entry]] = field(default_factory=dict)  # first word → entries
    stems: dict[str, list[tuple[str, _Entry]]] = field(
        default_factory=dict
    )  # first 2 letters → (stem, entry)
    suffixes: list[tuple[tuple[str, ...], _Entry]] = field(default_factory=list)  # "\\w+'(?:ll|re)"
    patterns: list[tuple[re.Pattern[str], str, float]] = field(default_factory=list)
    phrases: dict[str, list[_Entry]] = field(default_factory=dict)  # first word → multi-word entries
    _cache: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)

    def add(self, fragment: str, category: str, weight: float) -> None:
        if fragment.startswith(_STEM):
            try:
                endings = tuple(text for text, stem in expand(fragment[3:].lower()) if not stem)
            except _Unsupported:
                endings = ()
            if endings and all(WORD.fullmatch(e) for e in endings):
                self.suffixes.append((endings, _Entry((), False, category, weight)))
                return
        try:
            expanded = expand(fragment.lower())
        except _Unsupported:
            compiled = re.compile(rf"(?<!\w)(?:{fragment.lower()})(?!\w)")
            self.patterns.append((compiled, category, weight))
            return
        for text, stem in expanded:
            words = WORD.findall(text)
            if not words:
                continue
            if stem and len(words) == 1:
                entry = _Entry((), True, category, weight)
                self.stems.setdefault(words[0][:2], []).append((words[0], entry))
            else:
                entry = _Entry(tuple(words[1:]), stem, category, weight)
                self.exact.setdefault(words[0], []).append(entry)
                if entry.rest:
                    self.phrases.setdefault(words[0], []).append(entry)

    def _word_hits(self, word: str) -> tuple[tuple[str, float], ...]:
        """The one-word markers ``word`` is (exact, stem or ending), cached: replies reuse words."""
        found = self._cache.get(word)
        if found is None:
            hits = [(e.category, e.weight) for e in self.exact.get(word, ()) if not e.rest]
            hits.extend(
                (e.category, e.weight) for stem, e in self.stems.get(word[:2], ()) if word.startswith(stem)
            )
            hits.extend(
                (e.category, e.weight)
                for endings, e in self.suffixes
                if word.endswith(endings) and word not in endings
            )
            found = tuple(hits)
            if len(self._cache) < 50_000:  # bounded: arbitrary text cannot grow it without limit
                self._cache[word] = found
        return found

    def count(self, words: Sequence[str], counts: dict[str, float]) -> None:
        """Add the weight of every marker starting at each of ``words`` to ``counts[category]``."""
        n = len(words)
        phrases, cache = self.phrases, self._cache
        for i, word in enumerate(words):
            found = cache.get(word)
            if found is None:
                found = self._word_hits(word)
            for category, weight in found:
                counts[category] += weight
            entries = phrases.get(word)
            if entries is None:
                continue
            for entry in entries:
                rest = entry.rest
                end = i + 1 + len(rest)
                if end > n:
                    continue
                if entry.stem:
                    if tuple(words[i + 1 : end - 1]) == rest[:-1] and words[end - 1].startswith(rest[-1]):
                        counts[entry.category] += entry.weight
                elif tuple(words[i + 1 : end]) == rest:
                    counts[entry.category] += entry.weight


def build_index(spec: Mapping[str, Mapping[object, Sequence[object]]]) -> MarkerIndex:
    """category → weight → fragments, as in ``tone_markers.yaml``."""
    index = MarkerIndex()
    for category, groups in spec.items():
        for weight, fragments in groups.items():
            for fragment in fragments:
                index.add(str(fragment), str(category), float(str(weight)))
    return index
