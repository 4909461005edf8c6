"""A decision's feature record formats each distinct time once (issue 12); it must read exactly as
one ``FeatureValue.as_dict`` per value, including for equal instants written with other offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from tactful.context.aggregations import FeatureValue
from tactful.context.feature_store import FeatureVector

AT = datetime(2026, 1, 1, 12, tzinfo=UTC)
SAME_INSTANT_ELSEWHERE = AT.astimezone(timezone(timedelta(hours=2)))


def test_the_record_reads_as_one_as_dict_per_value() -> None:
    values = {
        "a": FeatureValue("a", 1, 1.7e9, AT),
        "b": FeatureValue("b", None, None, None, missing=True),
        "c": FeatureValue("c", 2.5, 1.7e9 + 0.123456, SAME_INSTANT_ELSEWHERE, stale=True),
        "d": FeatureValue("d", [1], 1.7e9, AT),
    }
    vector = FeatureVector(3, "default+x", values, True, AT)
    assert vector.record() == {
        "definitions": "default+x",
        "version": 3,
        "read_at": AT.isoformat(),
        "personal": True,
        "values": {name: v.as_dict() for name, v in sorted(values.items())},
    }
    assert vector.record()["values"]["c"]["computed_at"] == "2026-01-01T14:00:00+02:00"
