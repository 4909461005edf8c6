"""The customer's own style: formality (0 informal … 1 formal) and politeness (0 rude … 1 polite).

Both are hand-weighted linear combinations of counted features, squashed with a logistic. The
features follow the formality literature (Pavlick & Tetreault 2016: contractions, slang, case,
punctuation, word length, sentence length) and the politeness strategies of Danescu-Niculescu-Mizil
et al. 2013 (gratitude, deference, hedges, apologies vs. bare imperatives, second-person openers,
direct "why" questions). Weights were set by hand and only sanity-checked on those corpora.
"""

from __future__ import annotations

import math
from typing import Final

from tactful.signals.cues import Cues
from tactful.signals.phrases import Hits
from tactful.signals.tokens import TextView

CONTRACTION: Final = "style.contraction"
SLANG: Final = "style.slang"
FORMAL: Final = "style.formal"
POLITE: Final = "style.polite"
IMPOLITE: Final = "style.impolite"
PROFANITY: Final = "style.profanity"


def _squash(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def formality_of(view: TextView, hits: Hits, cues: Cues) -> float:
    words = view.words
    n = max(1, view.alpha_words)
    letters = [len(w) for w in words if w[:1].isalpha()]
    mean_length = sum(letters) / len(letters) if letters else 4.0
    text = view.text.rstrip()
    starts_upper = view.lowercase_starts == 0 and view.alpha_words > 0
    ends_punctuated = text.endswith((".", "?", "!")) and not text.endswith(("!!", "??", "?!", "!?"))
    z = (
        -0.3
        + 0.9 * (mean_length - 4.4)
        + 0.35 * min(hits.count(FORMAL), 4)
        + 0.25 * min(n, 30) / 10
        - 0.7 * min(hits.count(CONTRACTION), 3)
        - 0.9 * min(hits.count(SLANG), 3)
        - 0.8 * min(cues.emoji, 2)
        - 1.2 * view.lowercase_starts / view.sentences
        - 0.8 * min(view.lowercase_i, 2)
        - 0.5 * min(view.exclamation_runs + view.question_runs, 2)
        - 0.3 * min(view.exclamations, 3)
        - 0.4 * min(view.caps_words, 3)
        - 0.6 * min(hits.count(PROFANITY), 2)
        + (0.3 if starts_upper else 0.0)
        + (0.3 if ends_punctuated else 0.0)
    )
    return _squash(z)


IMPERATIVE: Final = "style.imperative"  # verbs; only counted at the start of a sentence
# Sentence openers, with their weight (Danescu-Niculescu-Mizil et al.'s strategies): "why" and
# other direct questions, second-person and "so" starts read as pushy; first-person starts and
# deference ("great work", "nice answer") as polite.
_STARTS: Final = {
    "why": -0.5,
    "what's": -0.4,
    "whats": -0.4,
    "what": -0.2,
    "how": -0.15,
    "who": -0.2,
    "where": -0.15,
    "you": -0.35,
    "your": -0.3,
    "u": -0.4,
    "ur": -0.4,
    "so": -0.25,
    "actually": -0.3,
    "i": 0.2,
    "i'm": 0.15,
    "my": 0.1,
    "great": 0.4,
    "nice": 0.4,
    "good": 0.3,
    "interesting": 0.4,
    "hi": 0.2,
    "hello": 0.3,
    "dear": 0.3,
}


def politeness_of(view: TextView, hits: Hits, cues: Cues, imperatives: frozenset[str]) -> float:
    starts = view.sentence_starts
    polite = hits.phrases(POLITE)
    asks_nicely = "please" in polite or "kindly" in polite or "pls" in polite
    bare_commands = sum(1 for word in starts if word in imperatives)
    z = (
        -0.1
        + min(2.5, hits.total(POLITE))
        - 1.2 * min(2.5, hits.total(IMPOLITE))
        - 1.3 * min(hits.count(PROFANITY), 2)
        - (0.35 if asks_nicely else 0.7) * min(bare_commands, 2)
        + sum(_STARTS.get(word, 0.0) for word in starts[:3])
        - 0.5 * cues.shouting
        - 0.6 * cues.exclaiming
        - 0.6 * cues.puzzled
    )
    return _squash(z)
