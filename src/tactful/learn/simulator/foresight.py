"""The oracle's plan: the arms that maximise the total expected reward, fatigue included.

A per-contact argmax of the expected reward is not the best a strategy can do when a proactive
contact (a channel the customer did not write on) has a cost later: each one in the past 24 h makes
the same customer's later replies less likely (``fatigue``) and uses up the policy's fatigue cap. The
contact stream is drawn before any strategy runs and does not depend on what they choose, so the
best plan is a dynamic programme per customer over their contacts in time order, whose state is the
times of the proactive contacts still inside the 24 h window (the policy's allowed arms and every
arm's expected reward depend only on their count). Each contact offers two moves: the best arm that
continues the conversation and the best proactive one (others are dominated: they lead to the same
state for less).

The plan knows the future contacts' times, so no causal strategy can expect more: the honest
denominator for "share of the oracle". Where fatigue is zero and the cap never binds it is the
per-contact argmax.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from tactful.learn.arms import Arm, allowed_arms, proactive_on
from tactful.learn.simulator.memo import RewardMemo
from tactful.learn.simulator.tone import RealisedTone
from tactful.learn.simulator.world import World
from tactful.policy.compiled import CompiledPolicy

#: The proactive-contact window the fatigue count covers (``_Track.proactive_24h``).
FATIGUE_WINDOW = timedelta(hours=24)

#: For one contact and a proactive count: (value, arm) of the best arm that continues the
#: conversation and of the best proactive one (``None`` when there is none).
Moves = tuple[tuple[float, Arm] | None, tuple[float, Arm] | None]


def oracle_plan(
    world: World, policy: CompiledPolicy, realised: RealisedTone, rewards: RewardMemo
) -> dict[int, Arm]:
    """The plan for this world under this policy (``policy`` memoised: it is evaluated once per
    contact and reachable count)."""
    cfg = policy.document.learning
    contacts = world.contacts

    @functools.cache  # the passes ask for the same (contact, count) once per state
    def moves(index: int, count: int) -> Moves:
        contact = contacts[index]
        inp = world.policy_input(contact, count)
        result = policy.evaluate(inp)
        arms = allowed_arms(result, cfg.styles, learn_channel=cfg.learn_channel)
        if not arms:
            return None, None
        tone = realised.of(contact, inp, result, cfg.styles)
        found: list[tuple[float, Arm] | None] = [None, None]
        for arm in arms:  # a run counts a proactive contact as ``moved_to(...).proactive`` says
            kind = int(proactive_on(result, arm.channel, contact.inbound))
            gain = rewards.expected(contact, arm, count, tone)
            current = found[kind]
            if current is None or gain > current[0]:
                found[kind] = (gain, arm)
        return found[0], found[1]

    return plan([c.customer.index for c in contacts], [c.at for c in contacts], moves)


def plan(customers: list[int], times: list[datetime], moves: Callable[[int, int], Moves]) -> dict[int, Arm]:
    """Contact index → the oracle's arm. ``customers[i]`` and ``times[i]`` are contact ``i``'s
    customer and time (contacts in time order); ``moves(i, count)`` what contact ``i`` offers with
    ``count`` proactive contacts in the past 24 h."""
    by_customer: dict[int, list[int]] = defaultdict(list)
    for index, customer in enumerate(customers):
        by_customer[customer].append(index)
    chosen: dict[int, Arm] = {}
    for indices in by_customer.values():
        chosen.update(_plan_one(indices, times, moves))
    return chosen


State = tuple[datetime, ...]  # the times of proactive contacts inside the window, oldest first


def _plan_one(
    indices: list[int], times: list[datetime], moves: Callable[[int, int], Moves]
) -> dict[int, Arm]:
    def options(index: int, state: State) -> list[tuple[float, Arm | None, State]]:
        stay, proactive = moves(index, len(state))
        found = [] if stay is None else [(stay[0], stay[1], state)]
        if proactive is not None:
            found.append((proactive[0], proactive[1], (*state, times[index])))
        return found or [(0.0, None, state)]  # no contact: nothing chosen, the state carries on

    def within(state: State, pos: int) -> State:
        """``state`` as contact ``pos`` sees it: proactive contacts older than the window dropped."""
        if pos >= len(indices):
            return ()
        now = times[indices[pos]]
        return tuple(t for t in state if now - t < FATIGUE_WINDOW)

    # Forward: the states each contact can be reached in.
    states: list[set[State]] = [set() for _ in indices]
    states[0].add(())
    for pos, index in enumerate(indices[:-1]):
        for state in states[pos]:
            states[pos + 1].update(within(taken, pos + 1) for _, _, taken in options(index, state))
    # Backward: the best total from each (contact, state) on, and the move that reaches it.
    best: list[dict[State, tuple[float, Arm | None, State]]] = [{} for _ in indices]
    for pos in range(len(indices) - 1, -1, -1):
        later = best[pos + 1] if pos + 1 < len(indices) else {(): (0.0, None, ())}
        for state in states[pos]:
            scored = []
            for gain, arm, taken in options(indices[pos], state):
                nxt = within(taken, pos + 1)
                scored.append((gain + later[nxt][0], arm, nxt))
            best[pos][state] = max(scored, key=lambda s: s[0])
    # Replay the best path.
    chosen: dict[int, Arm] = {}
    state: State = ()
    for pos, index in enumerate(indices):
        _, arm, state = best[pos][state]
        if arm is not None:
            chosen[index] = arm
    return chosen
