"""Per-tenant provider credentials, sealed under the vault's key hierarchy.

master key → tenant key → purpose key "channel-credentials" → AES-256-GCM over the JSON of one
provider's fields, with the tenant and provider bound as associated data (a row copied to another
tenant or provider fails to open). Values are never logged, and the API only ever lists which
providers are configured and which field names they have.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from tactful.errors import InputRejected, TactfulError
from tactful.guard.crypto import associated_data, open_sealed, seal
from tactful.guard.vault import Vault

PURPOSE = "channel-credentials"
#: The providers a tenant can configure, and the fields each needs (others are refused: a typo
#: would otherwise be stored and silently ignored).
PROVIDER_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # provider: (required, optional)
    "twilio": (
        frozenset({"account_sid", "auth_token", "from_number"}),
        frozenset({"base_url", "status_callback"}),
    ),
    "smtp": (frozenset({"host", "from_address"}), frozenset({"port", "username", "password", "starttls"})),
    "slack": (
        frozenset({"bot_token", "signing_secret"}),
        frozenset({"base_url", "agents_channel"}),
    ),
    "llm": (frozenset({"base_url", "model"}), frozenset({"api_key", "max_tokens"})),
}


class VaultRequired(TactfulError):
    code = "vault_required"
    status = 503


class CredentialRows(Protocol):
    def put(self, tenant_id: str, provider: str, sealed: bytes) -> None: ...

    def get(self, tenant_id: str, provider: str) -> bytes | None: ...

    def providers(self, tenant_id: str) -> list[tuple[str, datetime]]: ...

    def delete(self, tenant_id: str, provider: str) -> bool: ...


class SecretFields(dict[str, str]):
    """A provider's fields. Its repr hides the values, so a stray log line or traceback cannot leak them."""

    def __repr__(self) -> str:
        return f"SecretFields({sorted(self)!r}, values=<hidden>)"


def validate_fields(provider: str, fields: Mapping[str, str]) -> None:
    spec = PROVIDER_FIELDS.get(provider)
    if spec is None:
        raise InputRejected(
            f"unknown provider {provider!r}; expected one of {', '.join(sorted(PROVIDER_FIELDS))}",
            code="unknown_provider",
        )
    required, optional = spec
    missing = required - fields.keys()
    extra = fields.keys() - required - optional
    if missing or extra:
        parts = [f"missing {sorted(missing)}" if missing else "", f"unknown {sorted(extra)}" if extra else ""]
        raise InputRejected(
            f"{provider} credentials: {'; '.join(p for p in parts if p)}", code="invalid_credentials"
        )
    if any(not isinstance(v, str) or not v.strip() for v in fields.values()):
        raise InputRejected(
            f"{provider} credentials: every field must be a non-empty string", code="invalid_credentials"
        )


class Credentials:
    def __init__(
        self,
        rows: CredentialRows,
        vault: Vault | None,
        *,
        on_change: Callable[[str, str], None] | None = None,
    ) -> None:
        self._rows = rows
        self._vault = vault
        #: Called with (tenant, provider) after a put or delete committed: caches drop their copy.
        self._on_change = on_change

    def _key(self, tenant_id: str) -> bytes:
        if self._vault is None:
            raise VaultRequired("storing provider credentials needs the vault: set TACTFUL_MASTER_KEY")
        return self._vault.purpose_key(tenant_id, PURPOSE)

    def put(self, tenant_id: str, provider: str, fields: Mapping[str, str]) -> None:
        validate_fields(provider, fields)
        blob = json.dumps(dict(fields), sort_keys=True)
        self._rows.put(
            tenant_id,
            provider,
            seal(self._key(tenant_id), blob, associated_data(tenant_id, PURPOSE, provider)),
        )
        self._changed(tenant_id, provider)

    def get(self, tenant_id: str, provider: str) -> SecretFields | None:
        sealed = self._rows.get(tenant_id, provider)
        if sealed is None:
            return None
        plain = open_sealed(self._key(tenant_id), sealed, associated_data(tenant_id, PURPOSE, provider))
        return SecretFields(json.loads(plain))

    def providers(self, tenant_id: str) -> list[tuple[str, datetime]]:
        return self._rows.providers(tenant_id)

    def delete(self, tenant_id: str, provider: str) -> bool:
        gone = self._rows.delete(tenant_id, provider)
        self._changed(tenant_id, provider)
        return gone

    def _changed(self, tenant_id: str, provider: str) -> None:
        if self._on_change is not None:
            self._on_change(tenant_id, provider)

    # -- sealing a delivery's recipients (same hierarchy, its own purpose) --------------------------

    def seal_recipients(self, tenant_id: str, decision_id: str, recipients: Mapping[str, str]) -> bytes:
        key = self._vault_key(tenant_id, "delivery-recipients")
        return seal(
            key,
            json.dumps(dict(recipients), sort_keys=True),
            associated_data(tenant_id, "recipients", decision_id),
        )

    def open_recipients(self, tenant_id: str, decision_id: str, sealed: bytes) -> dict[str, str]:
        key = self._vault_key(tenant_id, "delivery-recipients")
        found: dict[str, str] = json.loads(
            open_sealed(key, sealed, associated_data(tenant_id, "recipients", decision_id))
        )
        return found

    def _vault_key(self, tenant_id: str, purpose: str) -> bytes:
        if self._vault is None:
            raise VaultRequired(
                "delivering replies needs the vault to seal recipients: set TACTFUL_MASTER_KEY"
            )
        return self._vault.purpose_key(tenant_id, purpose)
