"""How a tenant's audit log is split into chains, and how chain heads are signed.

A tenant's log is ``shards`` independent hash chains. The decisions of one write transaction (a
group commit's batch) go to one chain no other transaction holds (``sql_audit.send_batch_chain``),
so several processes' batches never queue on one head; other entries about a customer go to the
chain :func:`shard_of` picks for that customer; entries about the tenant itself (policies, keys,
purges) go to chain 0.

Each head row carries an HMAC-SHA256 over ``(tenant, shard, seq, hash)`` under a key kept outside the
database (``Settings.audit_key`` or a key file in ``Settings.key_dir``). Deleting the tail of a chain
and moving its head back then needs that key; and ``tactful audit anchor`` writes the signed heads
to a file kept elsewhere, which ``audit verify --anchor`` checks a later chain against, so even a
consistent rewrite by someone holding the key is detected back to the last anchor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from tactful.config import Settings
from tactful.errors import InputRejected

MAX_SHARDS = 256
DEFAULT_PG_SHARDS = 8
AUDIT_KEY_FILE = "audit-head.key"


def shard_of(key: str, shards: int) -> int:
    """The chain for entries about ``key`` (a customer id): stable across processes and versions."""
    if shards == 1:
        return 0
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big") % shards


@dataclass(frozen=True)
class ChainConfig:
    key: bytes = field(repr=False)
    shards: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= MAX_SHARDS:
            raise InputRejected(f"audit shards must be 1-{MAX_SHARDS}", code="invalid_setting")
        if len(self.key) < 16:
            raise InputRejected("the audit key must be at least 16 bytes", code="invalid_setting")

    @property
    def key_id(self) -> str:
        """Names the key (not secret): a verifier given the wrong key is told so, not 'tampered'."""
        return hashlib.sha256(b"tactful audit key id\x00" + self.key).hexdigest()[:16]

    def sign_head(self, tenant_id: str, shard: int, seq: int, digest: str) -> str:
        message = f"tactful-audit-head/v1\x00{tenant_id}\x00{shard}\x00{seq}\x00{digest}"
        return hmac.new(self.key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def head_signature_ok(self, tenant_id: str, shard: int, seq: int, digest: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign_head(tenant_id, shard, seq, digest), signature)

    def fingerprint(self, *parts: str) -> str:
        """A keyed hash of content that must be recognisable but not stored (an inbound message)."""
        message = "\x00".join(("tactful-input/v1", *parts)).encode("utf-8")
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:32]

    def sign_document(self, text: str) -> str:
        """The signature of an anchor file's canonical body."""
        message = b"tactful-audit-anchor/v1\x00" + text.encode("utf-8")
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()


def chain_config(settings: Settings) -> ChainConfig:
    """From ``Settings``: the configured audit key, else the key file in ``key_dir`` (made on first use)."""
    from tactful.guard.keyfile import read_or_create_key

    if settings.audit_key is not None:
        key = base64.b64decode(settings.audit_key)
    else:
        key = read_or_create_key(settings.key_dir / AUDIT_KEY_FILE, "audit head key")
    shards = settings.audit_shards
    if shards is None:
        shards = 1 if settings.database_url.startswith("sqlite") else DEFAULT_PG_SHARDS
    return ChainConfig(key=key, shards=shards)
