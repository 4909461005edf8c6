"""The nearest-variant search: render at the target's wording; when the measured tone misses the
target by more than ``TOLERANCE`` on some attribute, move the dial against the miss and render
again (at most ``MAX_RERENDERS`` times), keeping whichever rendering is closest.

The search only asks for the rendering of a dial (``attempt``); the renderer decides whether that
means composing, fitting and measuring, or finding an earlier rendering of the same wording.
"""

from __future__ import annotations

from collections.abc import Callable

from tactful.domain import TONE_ATTRIBUTES, MeasuredTone, Reply, ToneAttribute, ToneProfile
from tactful.render.compose import Dial

#: The largest gap between a target attribute and its measure that still counts as realised.
TOLERANCE = 0.15
#: Re-renders tried after a miss (each moves the missed attributes' dial by the size of the miss).
MAX_RERENDERS = 3


#: One wording rendered, fitted to its channel and measured: (the measured tone in
#: ``TONE_ATTRIBUTES`` order, the Reply's fields as sent in ``_REPLY_FIELDS`` order, its channel
#: by name). Only tuples, strings and numbers: the garbage collector stops walking such a tuple, and
#: a renderer keeps thousands (with a dict, a NamedTuple or a class in it, it would be walked at
#: every full collection).
Attempt = tuple[tuple[float, ...], tuple[object, ...]]
_REPLY_FIELDS = tuple(Reply.model_fields)


def attempt_of(fitted: Reply, measured: dict[ToneAttribute, float], **update: str) -> Attempt:
    fields = {**vars(fitted), **update}
    fields["channel"] = None if fitted.channel is None else fitted.channel.value
    return tuple(measured[a] for a in TONE_ATTRIBUTES), tuple(fields[f] for f in _REPLY_FIELDS)


def measured_of(attempt: Attempt) -> dict[ToneAttribute, float]:
    return dict(zip(TONE_ATTRIBUTES, attempt[0], strict=True))


def sent(attempt: Attempt) -> Reply:
    return Reply.model_validate(dict(zip(_REPLY_FIELDS, attempt[1], strict=True)))


def measured_tone(attempt: Attempt, scorer: str, rerendered: bool) -> MeasuredTone:
    return MeasuredTone(**measured_of(attempt), scorer=scorer, rerendered=rerendered)


def search(target: ToneProfile, attempt: Callable[[Dial], Attempt]) -> tuple[Attempt, bool, tuple[str, ...]]:
    """The closest rendering, whether it is a re-render, and the notes on the tone."""
    dial = Dial.of(target)
    first = current = attempt(dial)
    measured = first_measured = measured_of(current)
    best = (_cost(_gaps(measured, target)), current, measured)
    tried = {dial}
    brackets: dict[ToneAttribute, list[float | None]] = {a: [None, None] for a in TONE_ATTRIBUTES}
    for _ in range(MAX_RERENDERS):
        if best[0][0] == 0:
            break
        dial = _nearer(dial, _gaps(measured, target), brackets)
        if dial in tried:
            break
        tried.add(dial)
        current = attempt(dial)
        measured = measured_of(current)
        cost = _cost(_gaps(measured, target))
        if cost < best[0]:
            best = (cost, current, measured)
    _, chosen, chosen_measured = best
    rerendered = chosen is not first
    return chosen, rerendered, tuple(_tone_notes(first_measured, chosen_measured, target, rerendered))


def _gaps(measured: dict[ToneAttribute, float], target: ToneProfile) -> dict[ToneAttribute, float]:
    return {a: getattr(target, a) - measured[a] for a in TONE_ATTRIBUTES}


def _cost(gaps: dict[ToneAttribute, float]) -> tuple[int, float]:
    """Attributes out of tolerance first, then the total distance: fewer misses always wins."""
    return sum(abs(g) > TOLERANCE for g in gaps.values()), round(sum(abs(g) for g in gaps.values()), 6)


def _nearer(
    dial: Dial, gaps: dict[ToneAttribute, float], brackets: dict[ToneAttribute, list[float | None]]
) -> Dial:
    """The dial moved against every miss: by the size of the miss at first, then halfway between
    the settings that read too low and too high (wording comes in steps, so the first move can
    overshoot). Kept in [0, 1]."""
    values = {a: getattr(dial, a) for a in TONE_ATTRIBUTES}
    for attribute, gap in gaps.items():
        if abs(gap) <= TOLERANCE:
            continue
        low, high = brackets[attribute]
        current = values[attribute]
        if gap > 0:  # reads too low: the dial must go up
            low = current if low is None else max(low, current)
        else:
            high = current if high is None else min(high, current)
        brackets[attribute] = [low, high]
        moved = (low + high) / 2 if low is not None and high is not None else current + gap
        values[attribute] = round(min(1.0, max(0.0, moved)), 4)
    return Dial(**values)


def _tone_notes(
    first: dict[ToneAttribute, float],
    final: dict[ToneAttribute, float],
    target: ToneProfile,
    rerendered: bool,
) -> list[str]:
    def misses(measured: dict[ToneAttribute, float]) -> list[str]:
        return [
            f"{a} {measured[a]:.2f} vs target {getattr(target, a):.2f}"
            for a in TONE_ATTRIBUTES
            if abs(getattr(target, a) - measured[a]) > TOLERANCE
        ]

    notes: list[str] = []
    if rerendered:
        notes.append(
            f"tone: first rendering missed the target ({'; '.join(misses(first))}); re-rendered with the "
            "nearest variant"
        )
    left = misses(final)
    if left:
        notes.append(f"tone: measured beyond +/-{TOLERANCE} of the target: {'; '.join(left)}")
    return notes
