"""The audit hash chain: canonical serialisation, entry hashes and chain verification.

Pure functions, no database: the SQL backends feed rows in and store what comes out.

An entry's hash is sha256 over the canonical JSON of
``{tenant_id, seq, kind, payload, created_at, prev_hash}`` (plus ``shard`` for chains other than 0,
so chain 0 hashes exactly as before sharding); the first entry's ``prev_hash`` is
:data:`GENESIS_HASH`. Any edit to an entry changes its hash; deleting or reordering entries breaks a
``prev_hash`` link or the sequence; truncating the tail disagrees with the chain's head row, whose
signature (store/signing.py) cannot be redone without the audit key; and an anchor taken earlier
pins a (seq, hash) the chain must still contain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from tactful.domain import TenantId
from tactful.store.base import AuditVerification
from tactful.store.signing import ChainConfig

GENESIS_HASH = "0" * 64

# One encoder for every call: ``json.dumps`` with any non-default option builds a new
# ``JSONEncoder`` per call, which cost more than encoding the short strings an audit entry's
# record is assembled from (four per decision, issue 12). Same options, so the same text.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """One fixed text for a JSON value: sorted keys, no whitespace, UTF-8 kept, NaN refused."""
    return _CANONICAL.encode(value)


def canonical_bytes(value: Any) -> bytes:
    """The decision document's canonical form: orjson with sorted keys, UTF-8, no whitespace.

    About ten times faster than :func:`canonical_json` for a decision-sized document, and serialised
    once: the stored document, its audit hash (``document_sha256``, taken of these bytes) and its
    outbox event reuse the same text. Floats print in orjson's shortest form (``1e-05`` comes out
    as ``0.00001``), so an entry's hash is always checked against the text as stored, never against
    a re-serialisation (see ``sql_audit.decision_digest``).
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def canonical_time(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds always present, so equal instants print identically."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record_text(
    *,
    tenant_id: str,
    seq: int,
    kind: str,
    payload_json: str,
    created_at: datetime,
    prev_hash: str,
    shard: int = 0,
) -> str:
    """The canonical JSON of an entry, assembled around the already-canonical payload text.

    Equal to ``canonical_json({...})`` of the whole record (keys in sorted order), but hashes the
    payload exactly as stored instead of re-serialising a parsed copy of it.
    """
    return (
        '{"created_at":' + canonical_json(canonical_time(created_at))
        + ',"kind":' + canonical_json(kind)
        + ',"payload":' + payload_json
        + ',"prev_hash":' + canonical_json(prev_hash)
        + ',"seq":' + str(seq)
        + (',"shard":' + str(shard) if shard else "")
        + ',"tenant_id":' + canonical_json(tenant_id)
        + "}"
    )  # fmt: skip


def entry_hash(
    *,
    tenant_id: str,
    seq: int,
    kind: str,
    payload_json: str,
    created_at: datetime,
    prev_hash: str,
    shard: int = 0,
) -> str:
    text = record_text(
        shard=shard,
        tenant_id=tenant_id,
        seq=seq,
        kind=kind,
        payload_json=payload_json,
        created_at=created_at,
        prev_hash=prev_hash,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredEntry:
    """An audit row as read back, payload still in its stored text form."""

    seq: int
    kind: str
    payload_json: str
    created_at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    signature: str | None = None  # HMAC of the head (store/signing.py); None before migration 0008


def verify_chain(
    tenant_id: TenantId,
    entries: Iterable[StoredEntry],
    head: Head | None,
    *,
    shard: int = 0,
    config: ChainConfig | None = None,
    anchor: Head | None = None,
    visit: Callable[[StoredEntry], None] | None = None,
) -> AuditVerification:
    """Walk one chain's entries in ``seq`` order; report the first entry that fails and why.

    With ``config`` the head's signature is checked too; with ``anchor`` (a head recorded outside
    the database earlier) the chain must still hold that entry unchanged. ``visit`` sees each entry
    that passed, for checks of what entries vouch for (the decisions).
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0

    def bad(seq: int, reason: str) -> AuditVerification:
        return AuditVerification(
            ok=False, checked=checked, tenant_id=tenant_id, first_bad_seq=seq, reason=reason, shard=shard
        )

    for entry in entries:
        if entry.seq != expected_seq:
            # Entries arrive sorted by seq, so a jump means the expected one is gone.
            return bad(expected_seq, f"entry {expected_seq} is missing (next stored entry is {entry.seq})")
        recomputed = entry_hash(
            tenant_id=tenant_id,
            seq=entry.seq,
            kind=entry.kind,
            payload_json=entry.payload_json,
            created_at=entry.created_at,
            prev_hash=entry.prev_hash,
            shard=shard,
        )
        if recomputed != entry.hash:
            return bad(entry.seq, "hash mismatch: the entry was altered or moved")
        if entry.prev_hash != prev_hash:
            return bad(entry.seq, "prev_hash does not match the previous entry: entries deleted or reordered")
        if anchor is not None and entry.seq == anchor.seq and entry.hash != anchor.hash:
            return bad(entry.seq, "the entry differs from the anchored one: the chain was rewritten")
        if visit is not None:
            visit(entry)
        checked += 1
        prev_hash = entry.hash
        expected_seq += 1

    last_seq = expected_seq - 1
    if anchor is not None and anchor.seq > last_seq:
        return bad(
            last_seq + 1, f"the anchor records entry {anchor.seq} but the chain ends at {last_seq}: truncated"
        )
    if head is None:
        if last_seq:
            return bad(1, "no chain head recorded for a chain with audit entries")
        return AuditVerification(ok=True, checked=0, tenant_id=tenant_id, shard=shard)
    if head.seq > last_seq:
        return bad(last_seq + 1, f"chain ends at {last_seq} but the head records {head.seq}: tail deleted")
    if head.seq < last_seq:
        return bad(
            head.seq + 1, f"entries after the recorded head {head.seq} were not appended through the log"
        )
    if head.hash != prev_hash:
        return bad(last_seq or 1, "the last entry's hash does not match the recorded head")
    if config is not None and head.seq > 0:
        if head.signature is None:
            return bad(last_seq, "the chain head is not signed")
        if not config.head_signature_ok(tenant_id, shard, head.seq, head.hash, head.signature):
            return bad(
                last_seq, "the chain head's signature does not match (moved head, or another audit key)"
            )
    return AuditVerification(ok=True, checked=checked, tenant_id=tenant_id, shard=shard)
