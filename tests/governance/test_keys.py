"""API keys: slow salted hashes, the verification cache, revocation across processes, legacy keys."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tactful import tenants
from tactful.domain import TenantId
from tactful.errors import AuthError, NotFound
from tactful.governance.ratelimit import RateLimited, TokenBucketLimiter
from tactful.store import SqlStore, open_store
from tactful.tenants import Authenticator, hash_key, issue_key, key_id_of, verify_secret


def _tenant(store: SqlStore, name: str = "acme") -> TenantId:
    return store.create_tenant(name).tenant_id


def test_a_key_is_shown_once_and_stored_only_as_a_salted_scrypt_hash(gstore: SqlStore) -> None:
    tid = _tenant(gstore)
    api_key = issue_key(gstore, tid, "decide")
    key_id = key_id_of(api_key)
    assert key_id is not None and api_key.startswith(f"tk_{key_id}_")
    secret = api_key[len(f"tk_{key_id}_") :]
    row = gstore.governance.key_by_id(key_id)
    assert row is not None and row.role == "decide" and not row.revoked
    algorithm, n, r, p, salt, digest = row.key_hash.split("$")
    assert (algorithm, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1)
    assert secret not in row.key_hash and len(salt) >= 22 and len(digest) >= 43
    assert verify_secret(secret, row.key_hash)
    assert not verify_secret(secret[:-1] + ("A" if secret[-1] != "A" else "B"), row.key_hash)
    # Same secret, new salt: a different hash (no precomputed tables across keys).
    assert tenants.hash_secret(secret) != row.key_hash


def test_the_first_check_is_slow_then_cached_and_revocation_still_applies(
    gstore: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    tid = _tenant(gstore)
    api_key = issue_key(gstore, tid, "admin")
    issue_key(gstore, tid, "admin")  # the tenant's last admin key cannot be revoked (issue 11)
    auth = Authenticator(gstore)
    assert auth.cached(api_key) is None  # not verified yet in this process
    record = auth.authenticate(api_key)
    assert (record.tenant_id, record.role, record.revoked) == (tid, "admin", False)

    def no_scrypt(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("scrypt ran for a cached key")

    monkeypatch.setattr(tenants, "_scrypt", no_scrypt)
    assert auth.cached(api_key) == record
    assert auth.authenticate(api_key) == record

    key_id = key_id_of(api_key)
    assert key_id is not None
    gstore.governance.revoke_key(tid, key_id, by="test")
    with pytest.raises(AuthError) as exc:
        auth.authenticate(api_key)
    assert exc.value.code == "invalid_api_key"


def test_revocation_in_one_process_applies_to_the_next_request_in_another(
    gstore: SqlStore, gurl: str
) -> None:
    tid = _tenant(gstore)
    api_key = issue_key(gstore, tid, "decide")
    other = open_store(gurl)  # a second process's store: its own engine, pool and cache
    try:
        here, there = Authenticator(gstore), Authenticator(other)
        here.authenticate(api_key)
        there.authenticate(api_key)  # both caches warm
        key_id = key_id_of(api_key)
        assert key_id is not None
        other.governance.revoke_key(tid, key_id, by="test")
        for auth in (here, there):
            with pytest.raises(AuthError):
                auth.cached(api_key)
    finally:
        other.close()


@pytest.mark.parametrize(
    ("presented", "code"),
    [
        (None, "missing_api_key"),
        ("", "missing_api_key"),
        ("nope", "invalid_api_key"),
        ("tk_key_0000000000000000_" + "A" * 43, "invalid_api_key"),  # well-formed, unknown id
        ("tk_" + "x" * 43, "invalid_api_key"),  # legacy shape, unknown hash
    ],
)
def test_missing_malformed_and_unknown_keys_are_refused(
    gstore: SqlStore, presented: str | None, code: str
) -> None:
    _tenant(gstore)
    with pytest.raises(AuthError) as exc:
        Authenticator(gstore).authenticate(presented)
    assert exc.value.code == code


def test_a_right_id_with_a_wrong_secret_is_refused_and_not_cached(gstore: SqlStore) -> None:
    tid = _tenant(gstore)
    api_key = issue_key(gstore, tid, "decide")
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    auth = Authenticator(gstore)
    with pytest.raises(AuthError):
        auth.authenticate(forged)
    assert auth.cached(forged) is None  # a failure is never remembered as a success
    assert auth.authenticate(api_key).tenant_id == tid


def test_guessing_secrets_for_a_known_id_meets_the_rate_limit(gstore: SqlStore) -> None:
    tid = _tenant(gstore)
    api_key = issue_key(gstore, tid, "decide")
    limiter = TokenBucketLimiter(rate=1, burst=2, clock=lambda: 0.0)  # frozen clock: no refill
    auth = Authenticator(gstore, verify_limiter=limiter)
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(AuthError):
            auth.authenticate(forged)
    with pytest.raises(RateLimited) as exc:
        auth.authenticate(forged)
    assert exc.value.retry_after == pytest.approx(1.0)


def test_keys_issued_before_scrypt_still_work_until_revoked(gstore: SqlStore) -> None:
    tid = _tenant(gstore)
    legacy = "tk_" + "L" * 43
    record = gstore.add_api_key(tid, hash_key(legacy), "decide")
    auth = Authenticator(gstore)
    assert auth.authenticate(legacy).key_id == record.key_id
    gstore.governance.revoke_key(tid, record.key_id, by="test")
    with pytest.raises(AuthError):
        auth.authenticate(legacy)


def test_key_changes_are_audited_and_scoped_to_their_tenant(gstore: SqlStore) -> None:
    acme, globex = _tenant(gstore, "acme"), _tenant(gstore, "globex")
    key_id = key_id_of(issue_key(gstore, acme, "auditor", by="alice"))
    assert key_id is not None
    with pytest.raises(NotFound):
        gstore.governance.revoke_key(globex, key_id, by="mallory")
    assert not gstore.governance.key_by_id(key_id).revoked  # type: ignore[union-attr]
    gstore.governance.revoke_key(acme, key_id, by="alice")
    gstore.governance.revoke_key(acme, key_id, by="alice")  # idempotent: audited once
    kinds = [(e.kind, e.payload["by"]) for e in gstore.audit.entries(acme)]
    assert kinds == [("key.create", "alice"), ("key.revoke", "alice")]
    assert [k.key_id for k in gstore.governance.list_keys(acme)] == [key_id]
    assert gstore.governance.list_keys(globex) == []
    assert all(v.ok for v in gstore.audit.verify())


def test_a_cold_process_lets_16_simultaneous_checks_of_a_valid_key_through(
    gstore: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 item 6: 6 of 16 got 429 when every first check counted against the key's limit."""
    tid = _tenant(gstore)
    api_key = issue_key(gstore, tid, "decide")
    calls: list[int] = []
    real = tenants.verify_secret
    monkeypatch.setattr(tenants, "verify_secret", lambda s, h: calls.append(1) or real(s, h))
    auth = Authenticator(gstore)
    start = threading.Barrier(16)

    def check() -> str:
        start.wait()
        return auth.authenticate(api_key, source="10.0.0.1").tenant_id

    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(lambda _: check(), range(16))) == [tid] * 16
    assert len(calls) == 1  # one slow check; the other 15 waited for it and found it cached


def test_someone_guessing_with_a_known_key_id_cannot_lock_its_owner_out(gstore: SqlStore) -> None:
    tid = _tenant(gstore)
    api_key = issue_key(gstore, tid, "decide")
    forged = api_key[:-4] + ("AAAA" if not api_key.endswith("AAAA") else "BBBB")
    auth = Authenticator(gstore, verify_limiter=TokenBucketLimiter(rate=1, burst=3, clock=lambda: 0.0))
    for _ in range(3):
        with pytest.raises(AuthError):
            auth.authenticate(forged, source="203.0.113.9")
    with pytest.raises(RateLimited):  # the guesser is stopped ...
        auth.authenticate(forged, source="203.0.113.9")
    with pytest.raises(RateLimited):  # ... even with the right secret, from that address
        auth.authenticate(api_key, source="203.0.113.9")
    # ... while the owner, elsewhere, passes on a cold process, and then from the cache anywhere.
    assert auth.authenticate(api_key, source="198.51.100.7").tenant_id == tid
    assert auth.authenticate(api_key, source="203.0.113.9").tenant_id == tid


def test_valid_checks_never_use_up_the_failure_budget(gstore: SqlStore) -> None:
    tid = _tenant(gstore)
    keys = [issue_key(gstore, tid, "decide") for _ in range(3)]
    limiter = TokenBucketLimiter(rate=1, burst=1, clock=lambda: 0.0)  # frozen clock: no refill
    for _ in range(2):  # two cold processes, each checking every key from the same address
        auth = Authenticator(gstore, verify_limiter=limiter)
        assert all(auth.authenticate(k, source="10.0.0.1").tenant_id == tid for k in keys)
