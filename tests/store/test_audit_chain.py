"""The pure audit-chain functions: canonical form (golden), and tamper detection as properties."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tactful.domain import TenantId
from tactful.store.chain import (
    GENESIS_HASH,
    Head,
    StoredEntry,
    canonical_json,
    canonical_time,
    entry_hash,
    record_text,
    verify_chain,
)

TENANT = TenantId("ten_1")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
payloads = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


def test_golden_entry_hash() -> None:
    payload = canonical_json({"b": [1, 0.5, "é"], "a": None})
    assert payload == '{"a":null,"b":[1,0.5,"é"]}'
    expected_text = (
        '{"created_at":"2024-05-01T12:00:00.000000+00:00","kind":"decision",'
        '"payload":{"a":null,"b":[1,0.5,"é"]},"prev_hash":"' + "0" * 64 + '","seq":1,"tenant_id":"ten_1"}'
    )
    fields: dict[str, Any] = {
        "tenant_id": "ten_1",
        "seq": 1,
        "kind": "decision",
        "payload_json": payload,
        "created_at": T0,
        "prev_hash": GENESIS_HASH,
    }
    assert record_text(**fields) == expected_text
    digest = entry_hash(**fields)
    assert digest == hashlib.sha256(expected_text.encode()).hexdigest()
    assert digest == "e0182e4537d21aee3de3c5c7b3659cb38715e3f1c376f8fd2fc72b6934c27790"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (T0, "2024-05-01T12:00:00.000000+00:00"),
        (
            datetime(2024, 5, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),
            "2024-05-01T12:00:00.000005+00:00",
        ),
    ],
)
def test_canonical_time_is_utc_with_microseconds(moment: datetime, expected: str) -> None:
    assert canonical_time(moment) == expected


def test_canonical_forms_refuse_what_cannot_round_trip() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(ValueError):
        canonical_time(datetime(2024, 5, 1))


@settings(derandomize=True, deadline=None)
@given(value=json_values)
def test_canonical_json_is_json_dumps_with_the_canonical_options(value: Any) -> None:
    # The encoder is built once (chain.py), not per call: the text must be what the old
    # per-call ``json.dumps`` gave, or every stored hash would stop verifying.
    options: dict[str, Any] = {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False}
    assert canonical_json(value) == json.dumps(value, allow_nan=False, **options)
    assert canonical_json({"k": value, "é": [value]}) == json.dumps({"k": value, "é": [value]}, **options)


@settings(derandomize=True, deadline=None)
@given(
    payload=payloads,
    tenant=st.text(min_size=1, max_size=12),
    kind=st.text(min_size=1, max_size=12),
    seq=st.integers(min_value=1, max_value=2**40),
    offset_min=st.integers(min_value=-600, max_value=600),
)
def test_record_text_is_the_canonical_json_of_the_whole_record(
    payload: dict[str, Any], tenant: str, kind: str, seq: int, offset_min: int
) -> None:
    created = T0.astimezone(timezone(timedelta(minutes=offset_min)))
    whole = {
        "tenant_id": tenant,
        "seq": seq,
        "kind": kind,
        "payload": payload,
        "created_at": canonical_time(created),
        "prev_hash": GENESIS_HASH,
    }
    built = record_text(
        tenant_id=tenant,
        seq=seq,
        kind=kind,
        payload_json=canonical_json(payload),
        created_at=created,
        prev_hash=GENESIS_HASH,
    )
    assert built == canonical_json(whole)
    assert json.loads(built)["payload"] == json.loads(canonical_json(payload))


def build_chain(payloads_: list[dict[str, Any]]) -> tuple[list[StoredEntry], Head]:
    entries: list[StoredEntry] = []
    prev = GENESIS_HASH
    for seq, payload in enumerate(payloads_, start=1):
        text = canonical_json(payload)
        created = T0 + timedelta(seconds=seq)
        digest = entry_hash(
            tenant_id=TENANT, seq=seq, kind="note", payload_json=text, created_at=created, prev_hash=prev
        )
        entries.append(StoredEntry(seq, "note", text, created, prev, digest))
        prev = digest
    return entries, Head(seq=len(entries), hash=prev)


chains = st.lists(
    st.dictionaries(st.sampled_from("abc"), st.integers(0, 3), min_size=1), min_size=3, max_size=12
)


@settings(derandomize=True, deadline=None)
@given(chains)
def test_an_untouched_chain_verifies(items: list[dict[str, Any]]) -> None:
    entries, head = build_chain(items)
    result = verify_chain(TENANT, entries, head)
    assert result.ok and result.checked == len(items) and result.first_bad_seq is None


@settings(max_examples=200, derandomize=True, deadline=None)
@given(chains, st.data())
def test_any_single_tampering_is_caught_at_the_right_seq(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    entries, head = build_chain(items)
    n = len(entries)
    how = data.draw(st.sampled_from(["alter", "retime", "delete", "swap", "truncate", "forge_head"]))
    i = data.draw(st.integers(0, n - 1))
    expected = i + 1
    if how == "alter":
        entries[i] = dataclasses.replace(entries[i], payload_json=canonical_json({"forged": True}))
    elif how == "retime":
        entries[i] = dataclasses.replace(
            entries[i], created_at=entries[i].created_at + timedelta(microseconds=1)
        )
    elif how == "delete":
        i = data.draw(st.integers(0, n - 2))  # not the last: that is "truncate"
        del entries[i]
        expected = i + 1
    elif how == "swap":
        j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
        a, b = sorted((i, j))
        entries[a], entries[b] = (
            dataclasses.replace(entries[b], seq=a + 1),
            dataclasses.replace(entries[a], seq=b + 1),
        )
        expected = a + 1
    elif how == "truncate":
        i = data.draw(st.integers(0, n - 1))
        del entries[i:]
        expected = i + 1
    else:  # a head that no chain ever had
        head = Head(seq=head.seq, hash="f" * 64)
        expected = n

    result = verify_chain(TENANT, entries, head)
    assert not result.ok
    assert result.first_bad_seq == expected
    assert result.reason


def test_a_tenant_with_entries_but_no_head_fails() -> None:
    entries, _ = build_chain([{"a": 1}])
    result = verify_chain(TENANT, entries, None)
    assert (result.ok, result.first_bad_seq) == (False, 1)
    assert verify_chain(TENANT, [], None).ok


def test_entries_beyond_the_head_fail() -> None:
    entries, head = build_chain([{"a": 1}, {"a": 2}, {"a": 3}])
    result = verify_chain(TENANT, entries, Head(seq=2, hash=entries[1].hash))
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert verify_chain(TENANT, entries, head).ok
