"""The decision's one read: everything ``Engine.decide`` needs from the database before it decides.

One statement (one round trip on PostgreSQL): the decision already made for this event id (a
re-sent event), the customer's context (``sql_features.decision_query``), the tenant's active
policy ref and its newest intent model version, and the customer's wrapped vault data key (so a
message with personal data seals its values without a read of its own). The refs are the caches'
version checks: the compiled policy and the decoded intent model are kept per process and re-read
only when the version this read returns is not the cached one, so a change made by any process is
in force from the next decision on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, func, select

from tactful.store.schema import decisions, intent_models, policies, vault_customer_keys
from tactful.store.sql_features import CONTEXT_COLUMNS, decision_query


@dataclass(frozen=True)
class DecisionReads:
    existing: str | None  # the stored decision's JSON when this event id was decided already
    policy_ref: tuple[int, str] | None  # (version, content hash) of the active policy
    intent_version: int | None  # the tenant's newest intent model, None when it has none
    context_row: tuple[Any, ...]  # for ``SqlFeatureStore.from_row``
    #: The customer's data key, wrapped under the tenant key; None before their first personal value.
    customer_key: bytes | None = None


def combined_query(backend: str, *, state: bool = True) -> Any:
    """``state=False``: without the feature state's JSON (a hot store holds it)."""
    tenant = bindparam("b_tenant_id", type_=String())
    existing = (
        select(decisions.c.document)
        .where(decisions.c.tenant_id == tenant, decisions.c.event_id == bindparam("b_event_id"))
        .scalar_subquery()
    )
    active = (policies.c.tenant_id == tenant, policies.c.active.is_(True))
    policy_version = select(policies.c.version).where(*active).scalar_subquery()
    policy_hash = select(policies.c.content_hash).where(*active).scalar_subquery()
    intent_version = (
        select(func.max(intent_models.c.version)).where(intent_models.c.tenant_id == tenant).scalar_subquery()
    )
    customer_key = (
        select(vault_customer_keys.c.wrapped_key)
        .where(
            vault_customer_keys.c.tenant_id == tenant,
            vault_customer_keys.c.customer_id == bindparam("b_customer_id"),
        )
        .scalar_subquery()
    )
    return decision_query(
        backend, existing, policy_version, policy_hash, intent_version, customer_key, state=state
    )


def decision_reads(row: tuple[Any, ...]) -> DecisionReads:
    existing, policy_version, policy_hash, intent_version, customer_key = row[CONTEXT_COLUMNS:]
    return DecisionReads(
        existing=existing,
        policy_ref=None if policy_version is None else (int(policy_version), str(policy_hash)),
        intent_version=None if intent_version is None else int(intent_version),
        context_row=row,
        customer_key=None if customer_key is None else bytes(customer_key),
    )
