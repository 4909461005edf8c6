"""Which emotion a reply acknowledges: a glad message is not answered as a problem."""

from __future__ import annotations

import pytest

from tactful.domain import SentimentLabel, Signals
from tactful.render.situation import dominant_emotion

CASES = [
    # (signals, acknowledged emotion)
    (Signals(intent="thanks", sentiment=SentimentLabel.POSITIVE, urgency=0.4), None),
    (Signals(intent="thanks", sentiment=SentimentLabel.POSITIVE, emotions={"fear": 0.5}), None),
    (Signals(intent="complaint", sentiment=SentimentLabel.POSITIVE, anger=0.9), "anger"),
    (Signals(intent="order_status", sentiment=SentimentLabel.NEUTRAL, urgency=0.4), "urgency"),
    (Signals(intent="complaint", sentiment=SentimentLabel.NEGATIVE, anger=0.8), "anger"),
    (Signals(intent="billing", sentiment=SentimentLabel.NEGATIVE), "negative"),
]


@pytest.mark.parametrize(("signals", "expected"), CASES)
def test_dominant_emotion(signals: Signals, expected: str | None) -> None:
    assert dominant_emotion(signals, minimum=0.35) == expected
