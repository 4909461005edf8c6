"""The context stage of a decision: the customer's facts and features from the decision's one
combined read — the feature state from the hot store when there is one — or read on their own."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tactful.context.feature_store import FeatureStore
from tactful.context.loader import CustomerContext, load_context
from tactful.domain import InboundMessage

if TYPE_CHECKING:
    from tactful.context.hot import HotFeatures


def customer_context(
    features: FeatureStore,
    hot: HotFeatures | None,
    message: InboundMessage,
    now: datetime,
    row: tuple[Any, ...] | None,
    degraded: list[str],
) -> tuple[CustomerContext, tuple[Any, ...] | None]:
    """The customer's context, and the feature state it holds (folded ahead of the decision's
    feature write; None when read on its own). ``row``: the combined read's context row, None when
    it cannot serve (no combined read, a consent change just made, a feature store elsewhere).
    Stale features (and a hot store that is down) are noted in ``degraded``: defaults used, visibly."""
    read, seen = None, None
    if row is not None:
        if hot is not None:  # the state from Redis; from SQL (degraded) when it is down
            read, seen = hot.read(message.tenant_id, message.customer_id, now, row, degraded)
        else:
            read = features.from_row(message.tenant_id, row, now)  # type: ignore[attr-defined]
            seen = row
    ctx = load_context(features, message.tenant_id, message.customer_id, now, read)
    degraded.extend(ctx.degradations)
    return ctx, seen
