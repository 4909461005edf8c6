"""Anchor files: every audit chain's head at one moment, signed, to keep outside the database.

``tactful audit anchor --out FILE`` writes one; ``tactful audit verify --anchor FILE`` checks that
each anchored chain still holds the anchored entry unchanged. A head signature alone cannot catch
someone who holds the audit key and rewrites a chain consistently (or cuts its tail and re-signs
the head); an anchor kept where that person cannot reach (another host, write-once storage, a
ticket) pins the history up to the moment it was taken.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tactful.errors import Conflict, InputRejected
from tactful.store.base import AnchorPins
from tactful.store.chain import canonical_json, canonical_time
from tactful.store.signing import ChainConfig

FORMAT = "tactful-audit-anchor/1"


@dataclass(frozen=True)
class Anchor:
    taken_at: str
    key_id: str
    pins: AnchorPins


def anchor_text(config: ChainConfig, heads: list[tuple[str, int, int, str]], taken_at: datetime) -> str:
    """The anchor file's text: the heads and an HMAC over their canonical form."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "taken_at": canonical_time(taken_at),
        "key_id": config.key_id,
        "heads": [
            {"tenant_id": tenant, "shard": shard, "seq": seq, "hash": digest}
            for tenant, shard, seq, digest in heads
        ],
    }
    body["signature"] = config.sign_document(canonical_json(body))
    return json.dumps(body, indent=1, sort_keys=True) + "\n"


def read_anchor(config: ChainConfig, text: str) -> Anchor:
    """Parse and authenticate an anchor file; ``InputRejected`` if malformed, ``Conflict`` if forged."""
    try:
        body = json.loads(text)
        signature = str(body.pop("signature"))
        if body.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        pins = {
            (str(h["tenant_id"]), int(h["shard"])): (int(h["seq"]), str(h["hash"])) for h in body["heads"]
        }
        taken_at, key_id = str(body["taken_at"]), str(body["key_id"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputRejected(f"not a readable audit anchor: {exc}", code="anchor_invalid") from exc
    if key_id != config.key_id:
        raise Conflict(
            f"the anchor was signed with audit key {key_id}, not the configured {config.key_id}",
            code="anchor_key_mismatch",
        )
    if not hmac.compare_digest(config.sign_document(canonical_json(body)), signature):
        raise Conflict("the anchor's signature does not match: the file was altered", code="anchor_forged")
    return Anchor(taken_at=taken_at, key_id=key_id, pins=pins)
