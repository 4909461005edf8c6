"""The vault's primitives: key wrapping, AES-GCM with bound associated data, keyed tokens, master keys."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from tactful.channels.tokens import PII_TOKEN
from tactful.guard.crypto import (
    MasterKey,
    VaultError,
    associated_data,
    new_key,
    open_sealed,
    seal,
    stable_token,
    subject_ref,
    token_key,
    unwrap_key,
    wrap_key,
)
from tactful.guard.vault import KEY_FILE_SUFFIX, MASTER_KEY_FILE, resolve_master_key


def test_a_wrapped_key_unwraps_only_under_its_own_key() -> None:
    kek, key = new_key(), new_key()
    wrapped = wrap_key(kek, key)
    assert key not in wrapped and unwrap_key(kek, wrapped) == key
    with pytest.raises(VaultError) as err:
        unwrap_key(new_key(), wrapped)
    assert err.value.code == "vault_key_invalid"


def test_a_sealed_value_opens_only_with_the_same_tenant_customer_and_token() -> None:
    key = new_key()
    aad = associated_data("ten_1", "cust-1", "<EMAIL_0000000001>")
    blob = seal(key, "anna@example.com", aad)
    assert b"anna@example.com" not in blob
    assert open_sealed(key, blob, aad) == "anna@example.com"
    for other in (
        associated_data("ten_2", "cust-1", "<EMAIL_0000000001>"),
        associated_data("ten_1", "cust-2", "<EMAIL_0000000001>"),
        associated_data("ten_1", "cust-1", "<EMAIL_0000000002>"),
    ):
        with pytest.raises(VaultError):
            open_sealed(key, blob, other)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(VaultError):
        open_sealed(key, tampered, aad)


def test_two_seals_of_one_value_differ_because_each_has_a_fresh_nonce() -> None:
    key, aad = new_key(), associated_data("t", "c", "<X_1>")
    assert seal(key, "v", aad) != seal(key, "v", aad)


def test_associated_data_is_unambiguous() -> None:
    assert associated_data("ab", "c", "t") != associated_data("a", "bc", "t")


def test_tokens_are_stable_per_tenant_and_reveal_nothing_without_the_key() -> None:
    k1, k2 = token_key(new_key()), token_key(new_key())
    t = stable_token(k1, "email", "anna@example.com")
    assert t == stable_token(k1, "email", "anna@example.com")
    assert t != stable_token(k2, "email", "anna@example.com")  # another tenant: another token
    assert t != stable_token(k1, "email", "bob@example.com")
    assert t != stable_token(k1, "phone", "anna@example.com")
    assert PII_TOKEN.fullmatch(t) and t.startswith("<EMAIL_")
    assert "anna" not in t
    assert subject_ref(k1, "cust-1") != subject_ref(k2, "cust-1")


def test_master_key_from_base64_is_validated() -> None:
    good = base64.b64encode(os.urandom(32)).decode()
    assert len(MasterKey.from_base64(good, "env").key) == 32
    assert "key=" not in repr(MasterKey.from_base64(good, "env"))  # never printed
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(VaultError) as err:
            MasterKey.from_base64(bad, "env")
        assert err.value.code == "invalid_master_key"


def test_a_key_file_is_generated_0600_outside_the_database_folder_and_reused(tmp_path: Path) -> None:
    db = tmp_path / "data" / "t.db"
    keys = tmp_path / "keys"
    first = resolve_master_key(None, str(db), keys)
    path = keys / MASTER_KEY_FILE
    assert first is not None and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (tmp_path / "data").exists()  # nothing beside the database
    again = resolve_master_key(None, str(db), keys)
    assert again is not None and again.key == first.key
    path.chmod(0o644)
    with pytest.raises(VaultError) as err:
        resolve_master_key(None, str(db), keys)
    assert err.value.code == "master_key_exposed"


def test_a_legacy_key_file_beside_the_database_is_still_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "t.db"
    legacy = tmp_path / ("t.db" + KEY_FILE_SUFFIX)
    legacy.write_bytes(os.urandom(32))
    legacy.chmod(0o600)
    with caplog.at_level("WARNING"):
        found = resolve_master_key(None, str(db), tmp_path / "keys")
    assert found is not None and found.key == legacy.read_bytes()
    assert any("beside the database" in r.getMessage() for r in caplog.records)


def test_master_key_resolution_by_backend() -> None:
    configured = MasterKey(new_key(), "env")
    assert resolve_master_key(configured, None, None) is configured
    assert resolve_master_key(None, None, None) is None  # PostgreSQL without a key: the vault is off
    memory = resolve_master_key(None, ":memory:", None)
    assert memory is not None and "in-memory" in memory.source


def test_the_master_key_setting_is_validated_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tactful.config import Settings
    from tactful.engine import Engine
    from tactful.errors import InputRejected

    monkeypatch.setenv("TACTFUL_MASTER_KEY", "too-short")
    with pytest.raises(InputRejected) as err:
        Settings.from_env()
    assert err.value.code == "invalid_setting" and "too-short" not in err.value.message
    good = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("TACTFUL_MASTER_KEY", good)
    settings = Settings.from_env(database_url=f"sqlite:///{tmp_path / 'k.db'}")
    assert settings.master_key == good and good not in repr(settings)
    engine = Engine.from_settings(settings)
    try:
        assert engine.vault is not None and engine.vault.master_source == "TACTFUL_MASTER_KEY"
        assert not list(tmp_path.glob("*" + KEY_FILE_SUFFIX))  # no key file when a key is configured
    finally:
        engine.close()
