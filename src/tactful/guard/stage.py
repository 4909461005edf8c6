"""The guard stage of a decision: the text sanitised and tokenised, and the personal data found in
it encrypted before anything else sees it."""

from __future__ import annotations

import logging
from datetime import datetime

from tactful.domain import InboundMessage
from tactful.errors import StoreError
from tactful.guard import GuardedText, GuardLimits, guard
from tactful.guard.crypto import VaultError
from tactful.guard.vault import SealedValue, Vault

#: The decision path logs under one name, the engine's (``TACTFUL_LOG_LEVELS=tactful.engine=...``).
log = logging.getLogger("tactful.engine")


def guard_message(
    message: InboundMessage,
    limits: GuardLimits,
    vault: Vault | None,
    transaction_rows: object | None,
    now: datetime,
    degraded: list[str],
    known_key: bytes | None = None,
) -> tuple[GuardedText, list[SealedValue]]:
    """Tokenise the text and encrypt the values found (raises ``InputRejected`` on bad input). The
    ciphertexts are returned to be written in the decision's transaction when the vault's rows are
    ``transaction_rows`` (the SQL store's vault tables); a vault over other rows keeps them at
    once, in its own. ``known_key``: the customer's wrapped data key as the decision's combined
    read found it in ``transaction_rows`` (None: not read, or the customer has none yet)."""
    tokeniser = None if vault is None else vault.tokeniser(message.tenant_id)
    guarded = guard(message.text, limits, tokeniser)
    if not guarded.pii:
        return guarded, []
    if vault is None:
        degraded.append("vault: no master key configured; personal data tokenised but not kept")
        return guarded, []
    found = {f.token: (f.kind, guarded.vault[f.token]) for f in guarded.pii}
    try:
        in_transaction = transaction_rows is not None and vault.rows is transaction_rows
        sealed = vault.seal(
            message.tenant_id,
            message.customer_id,
            found,
            now,
            known_key=known_key if in_transaction else None,  # read from these rows, or not used
        )
        if in_transaction:
            return guarded, sealed
        vault.rows.put_values(message.tenant_id, message.customer_id, sealed)
    except (StoreError, VaultError) as exc:  # the decision can go on: its text is tokenised
        log.warning("vault: keeping %d value(s) failed: %s", len(found), exc.code)
        degraded.append(f"vault: personal data not kept ({exc.code})")
    return guarded, []
