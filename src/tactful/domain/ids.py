"""Identifier types. NewTypes keep a customer id from being passed where a tenant id belongs."""

from __future__ import annotations

import uuid
from typing import NewType

TenantId = NewType("TenantId", str)
CustomerId = NewType("CustomerId", str)
ConversationId = NewType("ConversationId", str)
DecisionId = NewType("DecisionId", str)
EventId = NewType("EventId", str)


def new_id(prefix: str) -> str:
    """A sortable-enough random id with a readable prefix (``dec_…``, ``evt_…``)."""
    return f"{prefix}_{uuid.uuid4().hex}"
