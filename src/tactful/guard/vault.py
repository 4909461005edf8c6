"""The PII vault: values the guard took out of messages, kept encrypted per customer.

``Vault`` is the only code that sees keys. It needs a ``VaultStore`` (rows of wrapped keys and
ciphertexts; ``tactful.store.sql_vault`` implements it) and a master key (see ``resolve_master_key``).
Tenant keys are unwrapped once per process and cached in memory, because every PII-bearing message
needs its tenant's token key; customer data keys are unwrapped per use and never cached, so an
erasure takes effect at once in every process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tactful.guard.crypto import (
    MasterKey,
    VaultError,
    associated_data,
    new_key,
    open_sealed,
    purpose_key,
    seal,
    stable_token,
    subject_ref,
    token_key,
    unwrap_key,
    wrap_key,
)
from tactful.guard.keyfile import KeyFileError, read_or_create_key

log = logging.getLogger(__name__)

#: ``(kind, canonical value) -> token``: how the guard names a value.
Tokeniser = Callable[[str, str], str]


@dataclass(frozen=True)
class SealedValue:
    token: str
    kind: str
    sealed: bytes
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class VaultValue:
    """A decrypted value, for the data-subject export and for re-insertion. Never log it."""

    token: str
    kind: str
    value: str
    first_seen: datetime
    last_seen: datetime

    def __repr__(self) -> str:
        return f"VaultValue(token={self.token!r}, kind={self.kind!r}, value=<hidden>)"


class VaultStore(Protocol):
    """Rows of wrapped keys and ciphertexts, every one scoped by tenant."""

    def tenant_key(self, tenant_id: str, wrapped: bytes, master_key_id: str) -> tuple[bytes, str]:
        """The tenant's wrapped key and its master key id; stores the given one if there is none yet."""
        ...

    def customer_key(self, tenant_id: str, customer_id: str, wrapped: bytes | None) -> bytes | None:
        """The customer's wrapped data key; with ``wrapped`` given, stores it if there is none yet."""
        ...

    def put_values(self, tenant_id: str, customer_id: str, values: list[SealedValue]) -> None:
        """Insert values not held yet; for tokens already held only ``last_seen`` moves."""
        ...

    def get_values(self, tenant_id: str, customer_id: str, tokens: Iterable[str] | None) -> list[SealedValue]:
        """The customer's values with these tokens (all of them when ``tokens`` is None)."""
        ...


class Vault:
    def __init__(self, store: VaultStore, master: MasterKey) -> None:
        self._store = store
        self._master = master
        self._tenant_keys: dict[str, bytes] = {}
        self._token_keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def master_source(self) -> str:
        return self._master.source

    # -- keys ------------------------------------------------------------------------------------

    def _tenant_key(self, tenant_id: str) -> bytes:
        key = self._tenant_keys.get(tenant_id)
        if key is not None:
            return key
        with self._lock:
            key = self._tenant_keys.get(tenant_id)
            if key is None:
                fresh = new_key()
                wrapped, master_id = self._store.tenant_key(
                    tenant_id, wrap_key(self._master.key, fresh), self._master.key_id
                )
                if master_id != self._master.key_id:
                    raise VaultError(
                        f"tenant {tenant_id!r} was keyed under another master key ({master_id}); "
                        f"the configured one ({self._master.source}) is {self._master.key_id}",
                        code="wrong_master_key",
                    )
                key = unwrap_key(self._master.key, wrapped)
                self._tenant_keys[tenant_id] = key
        return key

    def _data_key(
        self, tenant_id: str, customer_id: str, *, create: bool, known: bytes | None = None
    ) -> bytes | None:
        tenant_key = self._tenant_key(tenant_id)
        if known is not None:  # read already, with the decision's other reads
            return unwrap_key(tenant_key, known)
        wrapped = self._store.customer_key(
            tenant_id, customer_id, wrap_key(tenant_key, new_key()) if create else None
        )
        return None if wrapped is None else unwrap_key(tenant_key, wrapped)

    # -- the guard's side ------------------------------------------------------------------------

    def _token_key(self, tenant_id: str) -> bytes:
        key = self._token_keys.get(tenant_id)
        if key is None:  # derived once per tenant and process: it is needed on every message
            key = self._token_keys[tenant_id] = token_key(self._tenant_key(tenant_id))
        return key

    def tokeniser(self, tenant_id: str) -> Tokeniser:
        key = self._token_key(tenant_id)
        return lambda kind, canonical_value: stable_token(key, kind, canonical_value)

    def purpose_key(self, tenant_id: str, purpose: str) -> bytes:
        """A key for the tenant's own secrets of one ``purpose`` (e.g. channel credentials), under the
        same key hierarchy as the values (tactful.guard.crypto.purpose_key)."""
        return purpose_key(self._tenant_key(tenant_id), purpose)

    def subject_ref(self, tenant_id: str, customer_id: str) -> str:
        """A pseudonym for audit entries about a customer (no personal data in the audit log)."""
        return subject_ref(self._token_key(tenant_id), customer_id)

    @property
    def rows(self) -> VaultStore:
        """Where the ciphertexts go (the engine writes ``seal``'s output in its decision's transaction)."""
        return self._store

    def keep(
        self, tenant_id: str, customer_id: str, values: Mapping[str, tuple[str, str]], now: datetime
    ) -> None:
        """Encrypt and store ``token -> (kind, raw value)`` for the customer who sent them."""
        sealed = self.seal(tenant_id, customer_id, values, now)
        if sealed:
            self._store.put_values(tenant_id, customer_id, sealed)

    def seal(
        self,
        tenant_id: str,
        customer_id: str,
        values: Mapping[str, tuple[str, str]],
        now: datetime,
        *,
        known_key: bytes | None = None,
    ) -> list[SealedValue]:
        """Encrypt ``token -> (kind, raw value)`` under the customer's data key, for the caller to
        store. The key itself is stored here on the customer's first value, in its own small
        transaction: it must exist before anything is sealed, and an unused key holds no data.
        ``known_key``: the wrapped key as the caller read it from these rows (the decision's
        combined read), which saves reading it again."""
        if not values:
            return []
        key = self._data_key(tenant_id, customer_id, create=True, known=known_key)
        assert key is not None  # create=True always yields a key
        sealed = [
            SealedValue(
                token=token,
                kind=kind,
                sealed=seal(key, kept_form(kind, raw), associated_data(tenant_id, customer_id, token)),
                first_seen=now,
                last_seen=now,
            )
            for token, (kind, raw) in values.items()
        ]
        return sealed

    # -- reading ---------------------------------------------------------------------------------

    def reveal(
        self, tenant_id: str, customer_id: str, tokens: Iterable[str] | None = None
    ) -> list[VaultValue]:
        """The customer's own values for ``tokens`` (all when None). A token of another customer
        is simply not found; an erased customer has no key, and then nothing is returned."""
        key = self._data_key(tenant_id, customer_id, create=False)
        if key is None:
            return []
        return [
            VaultValue(
                token=row.token,
                kind=row.kind,
                value=open_sealed(key, row.sealed, associated_data(tenant_id, customer_id, row.token)),
                first_seen=row.first_seen,
                last_seen=row.last_seen,
            )
            for row in self._store.get_values(tenant_id, customer_id, tokens)
        ]

    def decrypt(self, tenant_id: str, customer_id: str, row: SealedValue) -> str:
        """Decrypt one stored ciphertext; raises ``VaultError`` (``customer_key_missing``) once the
        customer is erased, even if a copy of the ciphertext survived somewhere."""
        key = self._data_key(tenant_id, customer_id, create=False)
        if key is None:
            raise VaultError("the customer's data key does not exist (erased?)", code="customer_key_missing")
        return open_sealed(key, row.sealed, associated_data(tenant_id, customer_id, row.token))


def kept_form(kind: str, raw: str) -> str:
    """What the vault keeps of a value: all of it, except for payment card numbers, of which only
    the last four digits are kept (``•••• 4242``): with the token, that is all a support reply or an
    export needs, and never holding full card numbers keeps Tactful out of PCI DSS scope."""
    if kind != "card":
        return raw
    digits = "".join(ch for ch in raw if ch.isdigit())
    return f"•••• {digits[-4:]}"


# -- the master key ----------------------------------------------------------------------------------

KEY_FILE_SUFFIX = ".master-key"  # the legacy place: beside the SQLite file (before issue 11)
MASTER_KEY_FILE = "master.key"


def resolve_master_key(
    configured: MasterKey | None, sqlite_path: str | None, key_dir: Path | None
) -> MasterKey | None:
    """The configured key; else, for a SQLite file, the key file ``master.key`` in ``key_dir``
    (created 0600 on first use) — outside the database's folder, so a copy of that folder cannot
    decrypt anything; for in-memory SQLite (``sqlite_path`` ":memory:") a key that lives as long as
    the database does; for PostgreSQL (``sqlite_path`` None) without a configured key, None: the
    vault is then off (a warning at start-up) and every decision that found personal data says so
    in ``degradations``.

    A key file left beside the database by an older version is still used, with a warning to
    move it (it defeats erasure for anyone who copies that folder)."""
    if configured is not None:
        return configured
    if sqlite_path is None:
        return None
    if sqlite_path == ":memory:":
        return MasterKey(new_key(), "in-memory (ephemeral, for an in-memory database)")
    path = Path(sqlite_path)
    legacy = path.with_name(path.name + KEY_FILE_SUFFIX)
    if legacy.exists():
        log.warning(
            "the vault's master key %s sits beside the database: a copy of that folder can decrypt "
            "erased data; move it to %s (or set TACTFUL_MASTER_KEY)",
            legacy,
            (key_dir or Path("<TACTFUL_KEY_DIR>")) / MASTER_KEY_FILE,
        )
        return _key_file(legacy)
    if key_dir is None:
        raise VaultError("no key folder given for the generated master key", code="master_key_missing")
    return _key_file(key_dir / MASTER_KEY_FILE)


def _key_file(path: Path) -> MasterKey:
    try:
        key = read_or_create_key(path, "vault master key")
    except KeyFileError as exc:
        code = "master_key_exposed" if exc.code == "key_file_exposed" else exc.code
        raise VaultError(exc.message, code=code) from exc
    return MasterKey(key, f"key file {path}")
