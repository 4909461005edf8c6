"""Outcomes → reward, table-driven: weights, csat scaling, re-contact horizon, window, aggregation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tactful.domain import OutcomeType
from tactful.learn.rewards import OutcomeFact, early_horizon, reward_for
from tactful.policy.schema import RewardSection

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def fact(kind: OutcomeType, after: timedelta = H, value: float | None = None) -> OutcomeFact:
    return OutcomeFact(kind, value, T0 + after)


DEFAULT = RewardSection()

CASES = [
    ("nothing arrives: the default", DEFAULT, [], 0.0, 0),
    ("resolved", DEFAULT, [fact(OutcomeType.RESOLVED)], 1.0, 0),
    ("replied + resolved add up", DEFAULT, [fact(OutcomeType.REPLIED), fact(OutcomeType.RESOLVED)], 1.2, 0),
    ("csat 5 is +weight", DEFAULT, [fact(OutcomeType.CSAT, value=5)], 0.5, 0),
    ("csat 1 is -weight", DEFAULT, [fact(OutcomeType.CSAT, value=1)], -0.5, 0),
    ("csat 3 is neutral", DEFAULT, [fact(OutcomeType.CSAT, value=3)], 0.0, 0),
    (
        "opted out is clipped at -2",
        DEFAULT,
        [fact(OutcomeType.OPTED_OUT), fact(OutcomeType.COMPLAINT)],
        -2.0,
        0,
    ),
    ("re-contact inside 24 h counts", DEFAULT, [fact(OutcomeType.RECONTACT, 5 * H)], -0.5, 0),
    (
        "re-contact after 24 h does not",
        RewardSection(window="48h"),
        [fact(OutcomeType.RECONTACT, 30 * H)],
        0.0,
        0,
    ),
    ("late outcome is not learned from", DEFAULT, [fact(OutcomeType.RESOLVED, 25 * H)], 0.0, 1),
    (
        "max aggregation",
        RewardSection(aggregate="max"),
        [fact(OutcomeType.REPLIED), fact(OutcomeType.RESOLVED), fact(OutcomeType.ESCALATED)],
        1.0,
        0,
    ),
    (
        "min aggregation",
        RewardSection(aggregate="min"),
        [fact(OutcomeType.REPLIED), fact(OutcomeType.ESCALATED)],
        -0.3,
        0,
    ),
    ("custom default", RewardSection(default=-0.1), [], -0.1, 0),
    (
        "custom weights",
        RewardSection(weights={"resolved": 3.0}, clip=(-5, 5)),
        [fact(OutcomeType.RESOLVED)],
        3.0,
        0,
    ),
]


@pytest.mark.parametrize(("name", "spec", "facts", "expected", "late"), CASES, ids=[c[0] for c in CASES])
def test_reward(name: str, spec: RewardSection, facts: list[OutcomeFact], expected: float, late: int) -> None:
    reward = reward_for(spec, T0, facts)
    assert reward.value == pytest.approx(expected)
    assert reward.late == late


def test_the_partial_reward_counts_only_the_outcomes_in_by_its_horizon() -> None:
    facts = [
        fact(OutcomeType.REPLIED, H),
        fact(OutcomeType.RESOLVED, 5 * H),
        fact(OutcomeType.COMPLAINT, 30 * H),
    ]
    assert reward_for(DEFAULT, T0, facts, by=3 * H).value == pytest.approx(0.2)
    assert reward_for(DEFAULT, T0, facts, by=6 * H).value == pytest.approx(1.2)
    assert reward_for(DEFAULT, T0, facts, by=48 * H).value == pytest.approx(1.2)  # never past the window
    assert reward_for(DEFAULT, T0, facts[1:], by=3 * H).value == DEFAULT.default  # nothing in yet
    assert early_horizon(DEFAULT) == 3 * H and early_horizon(RewardSection(early=None)) is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"window": "soon"}, "String should match pattern"),
        ({"clip": [1, -1]}, "low < high"),
        ({"weights": {"bogus": 1.0}}, "Input should be"),
        ({"aggregate": "mean"}, "Input should be"),
        ({"early": "24h"}, "shorter than the window"),
        ({"early": "0h"}, "longer than 0"),
        ({"early": "soon"}, "String should match pattern"),
    ],
)
def test_bad_reward_sections_are_rejected(section: dict[str, object], message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        RewardSection.model_validate(section)
