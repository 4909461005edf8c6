"""The vault's cryptography: key wrapping, authenticated encryption and value-hiding tokens.

Three layers of keys, each a random 256-bit AES key:

    master key (settings / key file)  ──AES-KW──▶  tenant key  ──AES-KW──▶  customer data key
                                                        │                          │
                                                HMAC → token key             AES-GCM values

* A **customer data key** encrypts that customer's values with AES-256-GCM under a fresh 96-bit
  nonce; the associated data binds tenant, customer and token, so a ciphertext copied to another
  row (another customer, another token) fails to decrypt instead of revealing a value.
* Destroying the wrapped data key is the erasure (crypto-shredding): without it the ciphertexts,
  and any copy of them in a backup, are noise.
* The **token key** (derived from the tenant key) turns a value into a stable token such as
  ``<EMAIL_0412345678>``: the same value gets the same token in every message of that tenant, and
  without the key a token says nothing about its value (HMAC-SHA256, not a plain hash, because
  phone numbers and card numbers are few enough to enumerate).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from tactful.errors import TactfulError

KEY_BYTES = 32
NONCE_BYTES = 12
#: Token digits: 10 decimal digits (~33 bits) keep tokens short and matched by the ``<KIND_123>``
#: token pattern the rest of the pipeline knows; a collision matters only between two values of
#: the same kind of one customer (about one in 10^10 per pair).
TOKEN_DIGITS = 10
_TOKEN_KEY_LABEL = b"tactful/pii-token/v1"


class VaultError(TactfulError):
    """A key or ciphertext could not be used: erased, tampered with, or the wrong master key."""

    code = "vault_error"
    status = 409


@dataclass(frozen=True)
class MasterKey:
    """The key that wraps every tenant key. ``source`` says where it came from (never the key)."""

    key: bytes = field(repr=False)
    source: str

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise VaultError(
                f"a master key must be {KEY_BYTES} bytes, not {len(self.key)}", code="invalid_master_key"
            )

    @property
    def key_id(self) -> str:
        """A short fingerprint stored beside each wrapped tenant key, so a wrong master key is named
        as such instead of failing as a corrupt key. It reveals nothing usable about the key."""
        return hashlib.sha256(b"tactful/master-key-id/v1" + self.key).hexdigest()[:16]

    @classmethod
    def from_base64(cls, text: str, source: str) -> MasterKey:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except ValueError as exc:
            raise VaultError(
                f"{source}: the master key is not valid base64", code="invalid_master_key"
            ) from exc
        return cls(raw, source)


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def wrap_key(kek: bytes, key: bytes) -> bytes:
    """AES key wrap (RFC 3394): deterministic and integrity-checked, made for wrapping keys."""
    return aes_key_wrap(kek, key)


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(kek, wrapped)
    except InvalidUnwrap as exc:
        raise VaultError("a wrapped key failed its integrity check", code="vault_key_invalid") from exc


def associated_data(tenant_id: str, customer_id: str, token: str) -> bytes:
    """Length-prefixed, so ("ab", "c") and ("a", "bc") can never produce the same bytes."""
    parts = [p.encode("utf-8") for p in ("tactful/vault/v1", tenant_id, customer_id, token)]
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def seal(key: bytes, plaintext: str, aad: bytes) -> bytes:
    """AES-256-GCM; the result is ``nonce ‖ ciphertext ‖ tag``."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> str:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad).decode("utf-8")
    except (InvalidTag, ValueError) as exc:
        raise VaultError("a vault value failed to decrypt", code="vault_value_invalid") from exc


def token_key(tenant_key: bytes) -> bytes:
    return hmac.new(tenant_key, _TOKEN_KEY_LABEL, hashlib.sha256).digest()


def stable_token(key: bytes, kind: str, canonical_value: str) -> str:
    """``<KIND_dddddddddd>``: the same (kind, value) under the same tenant always gives the same token."""
    digest = hmac.new(key, kind.encode() + b"\x00" + canonical_value.encode("utf-8"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big") % 10**TOKEN_DIGITS
    return f"<{kind.upper()}_{number:0{TOKEN_DIGITS}d}>"


def purpose_key(tenant_key: bytes, purpose: str) -> bytes:
    """A 256-bit key for one kind of the tenant's own secrets (channel credentials, delivery
    recipients), derived from the tenant key: it dies with the tenant key and never wraps values."""
    return hmac.new(
        tenant_key, b"tactful/purpose-key/v1\x00" + purpose.encode("utf-8"), hashlib.sha256
    ).digest()


def subject_ref(key: bytes, customer_id: str) -> str:
    """A pseudonymous reference to a customer for audit entries about them (e.g. an erasure)."""
    return hmac.new(key, b"customer\x00" + customer_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
