"""Tenants and their API keys: creation, slow hashing, authentication with a verification cache.

A key reads ``tk_<key_id>_<secret>``: the id finds the row with one indexed read, the 256-bit secret
is checked against a salted scrypt hash (``hashlib.scrypt``, n=2**14, r=8, p=1, 16-byte salt,
32-byte output: about 50 ms and 16 MiB per check). That cost is paid once per key per process: a
successful check is cached as the SHA-256 of the whole key, compared in constant time. The key's
row (and with it the ``revoked`` flag) is still read on every request, so a revocation made by any
process takes effect on the very next request everywhere.

Keys issued before this scheme are plain ``tk_`` + secret with an unsalted SHA-256 stored; they keep
working (a SHA-256 of a 256-bit random secret cannot be brute-forced) until they are revoked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from tactful.config import default_policy_file
from tactful.domain import TenantId
from tactful.errors import AuthError, InputRejected, StoreError
from tactful.governance.ratelimit import RateLimited, TokenBucketLimiter
from tactful.policy import content_hash, load_policy
from tactful.store.base import ApiKeyRecord, Store, Tenant
from tactful.store.sql_governance import API_KEY_ROLES, KeyRow, SqlGovernance

ROLES = API_KEY_ROLES
KEY_PREFIX = "tk_"
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_SALT_BYTES, SCRYPT_DKLEN = 2**14, 8, 1, 16, 32
_KEY_FORMAT = re.compile(r"tk_(key_[0-9a-f]{16})_([A-Za-z0-9_-]{43})")
#: Successful verifications remembered per process (an LRU; an entry is 32 bytes plus the id).
CACHE_SIZE = 10_000
#: Failed slow (scrypt) checks allowed per (client address, key id) and process: a burst, then this
#: many per second. Valid checks never count, so neither a cold process under concurrent requests
#: nor someone else guessing secrets for a known key id can get a valid key refused; the guesser
#: gets 429, not our CPU.
VERIFY_BURST, VERIFY_PER_SECOND = 10, 1.0
#: Concurrent first checks of the same key share one scrypt: they queue on one of these locks
#: (chosen by the key's digest) and the later ones find the first one's result in the cache.
_VERIFY_STRIPES = 64


def hash_key(api_key: str) -> str:
    """The legacy (pre-issue-5) stored form: an unsalted SHA-256."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(SCRYPT_SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against a ``hash_secret`` result (parameters read from it)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    n, r, p = (int(x) for x in parts[1:4])
    salt, expected = _unb64(parts[4]), _unb64(parts[5])
    return hmac.compare_digest(_scrypt(secret, salt, n, r, p, len(expected)), expected)


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=64 * 1024 * 1024)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def governance_of(store: Store) -> SqlGovernance:
    """The store's governance tables (every shipped backend has them)."""
    gov = getattr(store, "governance", None)
    if not isinstance(gov, SqlGovernance):
        raise StoreError(f"{type(store).__name__} has no governance tables", code="store_unsupported")
    return gov


@dataclass(frozen=True)
class NewTenant:
    tenant: Tenant
    api_key: str  # shown once, never stored


def create_tenant(
    store: Store, name: str, *, policy_path: Path | None = None, role: str = "admin"
) -> NewTenant:
    """Create a tenant with one API key and the default policy published and active."""
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
        raise InputRejected(
            "tenant name must be 1–64 letters, digits, '-' or '_'", code="invalid_tenant_name"
        )
    source = (policy_path or default_policy_file()).read_text(encoding="utf-8")
    load_policy(source, source_name=str(policy_path or "default.yaml"))  # fail before creating anything
    tenant = store.create_tenant(name)
    api_key = issue_key(store, tenant.tenant_id, role, by="tactful tenants create")
    published = store.publish_policy(
        tenant.tenant_id, source, content_hash(source), by="tactful tenants create"
    )
    store.activate_policy(tenant.tenant_id, published.version, by="tactful tenants create")
    return NewTenant(tenant=tenant, api_key=api_key)


def issue_key(store: Store, tenant_id: TenantId, role: str, *, by: str = "tactful keys create") -> str:
    """Create a key and return it: the only time its secret exists outside the caller's hands."""
    if role not in ROLES:
        raise InputRejected(f"unknown role {role!r}; one of {', '.join(ROLES)}", code="invalid_role")
    key_id = f"key_{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    governance_of(store).add_key(tenant_id, key_id, hash_secret(secret), role, by=by)
    return f"{KEY_PREFIX}{key_id}_{secret}"


def key_id_of(api_key: str) -> str | None:
    match = _KEY_FORMAT.fullmatch(api_key)
    return match.group(1) if match else None


_MISSING = "missing API key: send 'Authorization: Bearer <api key>'"
_INVALID = "unknown or revoked API key"


class Authenticator:
    """Checks keys for one store; safe to share between threads.

    ``verify_limiter`` bounds *failed* slow verifications per (client address, key id) (default:
    ``VERIFY_BURST``, then ``VERIFY_PER_SECOND``): a client guessing secrets for a known key id meets
    429 instead of making this process spend 50 ms of CPU per guess, while the key's owner, who
    never fails, is never limited by it.
    """

    def __init__(
        self, store: Store, *, verify_limiter: TokenBucketLimiter | None = None, cache_size: int = CACHE_SIZE
    ) -> None:
        self._store = store
        self._gov = governance_of(store)
        self._failures = verify_limiter or TokenBucketLimiter(VERIFY_PER_SECOND, VERIFY_BURST)
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._verifying = [threading.Lock() for _ in range(_VERIFY_STRIPES)]

    def cached(self, api_key: str | None) -> ApiKeyRecord | None:
        """The fast path: the key's record when no slow hash is needed, else None.

        Raises ``AuthError`` for a missing, malformed, unknown or revoked key.
        """
        if not api_key:
            raise AuthError(_MISSING, code="missing_api_key")
        key_id = key_id_of(api_key)
        if key_id is None:
            return self._legacy(api_key)
        row = self._row(key_id)
        with self._lock:
            known = self._cache.get(key_id)
            if known is not None:
                self._cache.move_to_end(key_id)
        if known is not None and hmac.compare_digest(known, hashlib.sha256(api_key.encode()).digest()):
            return _record(row)
        return None

    def authenticate(self, api_key: str | None, *, source: str = "") -> ApiKeyRecord:
        """Check ``api_key``; ``source`` (the client's address) scopes the failed-check limit."""
        record = self.cached(api_key)
        if record is not None:
            return record
        assert api_key is not None  # cached() raised otherwise
        key_id, secret = _split(api_key)
        pair = f"{source}|{key_id}"
        wait = self._failures.waiting(pair)
        if wait > 0:
            raise RateLimited(wait)
        digest = hashlib.sha256(api_key.encode()).digest()
        with self._verifying[digest[0] % _VERIFY_STRIPES]:
            record = self.cached(api_key)  # a concurrent check of the same key may have just succeeded
            if record is not None:
                return record
            row = self._row(key_id)
            if not verify_secret(secret, row.key_hash):
                self._failures.acquire(pair)
                raise AuthError(_INVALID, code="invalid_api_key")
            with self._lock:
                self._cache[key_id] = digest
                self._cache.move_to_end(key_id)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return _record(row)

    def _row(self, key_id: str) -> KeyRow:
        row = self._gov.key_by_id(key_id)
        if row is None or row.revoked:
            raise AuthError(_INVALID, code="invalid_api_key")
        return row

    def _legacy(self, api_key: str) -> ApiKeyRecord:
        if not api_key.startswith(KEY_PREFIX):
            raise AuthError(_INVALID, code="invalid_api_key")
        record = self._store.find_api_key(hash_key(api_key))
        if record is None or record.revoked:
            raise AuthError(_INVALID, code="invalid_api_key")
        return record


def _split(api_key: str) -> tuple[str, str]:
    match = _KEY_FORMAT.fullmatch(api_key)
    if match is None:
        raise AuthError(_INVALID, code="invalid_api_key")
    return match.group(1), match.group(2)


def _record(row: KeyRow) -> ApiKeyRecord:
    return ApiKeyRecord(key_id=row.key_id, tenant_id=row.tenant_id, role=row.role, revoked=row.revoked)


def authenticate(store: Store, api_key: str | None) -> ApiKeyRecord:
    """Check a key without a cache (one-off callers); the HTTP service keeps an ``Authenticator``."""
    return Authenticator(store).authenticate(api_key)
