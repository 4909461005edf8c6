"""A re-sent event id gets the decision made for it the first time — unless the event now says
something else, which the decision's input fingerprint (keyed by the audit key) tells."""

from __future__ import annotations

from tactful.domain import Decision, InboundMessage
from tactful.errors import Conflict
from tactful.store.base import Store


def input_fingerprint(store: Store, message: InboundMessage) -> str | None:
    """The fingerprint of what the decision is made from; None over a store without an audit key."""
    chain = getattr(store.audit, "chain", None)  # the SQL store's audit key
    if chain is None:
        return None
    return str(
        chain.fingerprint(
            message.tenant_id,
            message.customer_id,
            message.conversation_id,
            message.channel.value,
            message.text,
        )
    )


def same_event(stored: Decision, fingerprint: str | None) -> Decision:
    """The stored decision for a re-sent event id, unless the event now says something else."""
    if (
        stored.input_fingerprint is not None
        and fingerprint is not None
        and stored.input_fingerprint != fingerprint
    ):
        raise Conflict(
            f"event {stored.event_id!r} was already decided with different content; use a new event id",
            code="idempotency_conflict",
        )
    return stored
