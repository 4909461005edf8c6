"""A rough lexical estimate of a text's tone, on the same five axes as ``ToneProfile``.

It exists to check rendered text against its target (does a more formal target read more formal?),
not to score arbitrary prose: the lexicons are small, English-only and tuned to support replies. Each
axis is in [0, 1]; only comparisons between texts are meaningful.
"""

from __future__ import annotations

import math
import re

from tactful.channels.sentences import split_sentences


def _lexicon(spec: str) -> re.Pattern[str]:
    """Compile ``"a | b c | d(?:e)?"`` (regex fragments separated by bars) into one word-bounded pattern."""
    fragments = [f.strip() for f in spec.split(" | ")]
    return re.compile(r"\b(?:" + "|".join(f for f in fragments if f) + r")\b")


_FORMAL = _lexicon(
    """dear | kind regards | sincerely | apologi[sz]e | apologies | assist | assistance | regarding | enquiry
    | require | convenien(?:ce|t) | please | would | may | we will | i will | i am | i have | do not | cannot
    | will not | is not | it is | has not | thank you | ensure | investigate | review(?:ed)? | resolve[sd]?
    | receive[d]? | confirm(?:ed)? | provide | promptly | without delay | further | telephone | application
    | hello | pleasant | contacting | however | kindly | should you | greatly | appreciated | locate | proceed
    | arrange | initiated | occurs? | you are | we are | they are | referring"""
)
_CONTRACTION = re.compile(r"\b(?:\w+'(?:m|re|ve|ll|d|t)|(?:it|that|there|here|let|what|who)'s)\b")
_INFORMAL = _lexicon(
    """hi | hey | thanks | cheers | sort(?:ed)? | check | ok | okay | just | get | got | stuff | super
    | awesome | chase | ring | dig | turn up | bit | quick | dm | no worries | so much | really | hassle
    | keep an eye"""
)
_WARM = _lexicon(
    """thanks | thank you | glad | happy to | lovely | great | pleasure | delighted | wonderful | hope
    | take care | have a | wish(?:es)? | warm | kind (?:words|feedback) | so much | appreciate[d]?
    | pleasant | enjoy | all the best | best wishes"""
)
_EMPATHY = _lexicon(
    r"""sorry | apologi[sz]e | apologies | understand | frustrat\w* | upset | annoy\w* | worr\w* | confusing
    | confusion | patience | bearing with | i can see | i can imagine | i know | every right
    | not the experience | what you expected | put this right | make this right | hear about | hear of
    | trouble | inconvenience | here to help"""
)
_STEP = _lexicon(
    r"""i'll | i will | we'll | we will | i've sent | i have sent
    | i(?:'ve| have) (?:escalated|flagged|logged|recorded|passed|set up|started|initiated) | please
    | could you | would you like | try | i'm (?:passing|transferring|putting|handing)
    | i am (?:passing|transferring|putting|handing) | let's | let us | refunds (?:go|are) | who helped
    | what do you see | may we ask"""
)
_HEDGE = _lexicon(
    """might | perhaps | maybe | possibly | if it helps | if you like | if you'd like | when you get a moment
    | when you have a moment | at your convenience | you may wish | should you wish | if it's ok
    | if that works | with your permission | would be helpful | if it would"""
)


def _density_score(hits: int, sentences: int) -> float:
    """Markers per sentence mapped to [0, 1): 0 → 0, one per sentence → ~0.78."""
    return 1.0 - math.exp(-1.5 * hits / max(1, sentences))


def tone_of_text(text: str) -> dict[str, float]:
    """Estimate formality, warmth, empathy, brevity and directness of ``text`` (each in [0, 1])."""
    lowered = text.lower().replace("\u2019", "'")
    # Greeting and sign-off lines ("Hi Sam,", "Kind regards,") carry register but no content.
    sentences = [s for s in split_sentences(lowered) if not s.endswith(",")] or [lowered]
    words = len(lowered.split())
    exclamations = lowered.count("!")

    formal = len(_FORMAL.findall(lowered))
    informal = len(_INFORMAL.findall(lowered)) + len(_CONTRACTION.findall(lowered)) + exclamations
    warm = len(_WARM.findall(lowered)) + exclamations

    # A question to the customer is a next step too: it tells them what to do.
    first_step = next(
        (i for i, s in enumerate(sentences) if s.endswith("?") or _STEP.search(s)), len(sentences)
    )
    hedges = len(_HEDGE.findall(lowered))
    directness = 0.7 / (1 + first_step) + 0.3 * (1.0 - min(1.0, 2.0 * hedges / len(sentences)))

    return {
        "formality": (formal + 1) / (formal + informal + 2),
        "warmth": _density_score(warm, len(sentences)),
        "empathy": _density_score(len(_EMPATHY.findall(lowered)), len(sentences)),
        "brevity": 1.0 / (1.0 + words / 40.0),
        "directness": min(1.0, directness),
    }
