"""Charts (action and channel mix over time, CSAT and resolution by tone style and channel, learner
agreement and reward, degradations) and the audit chain's status."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tactful.api.console.svg import Chart, grouped_bars, lines, stacked_bars
from tactful.api.console.web import UserDep, call, engine_of, page

router = APIRouter(prefix="/console", include_in_schema=False)
RANGES = {"24h": (timedelta(hours=24), timedelta(hours=1)), "7d": (timedelta(days=7), timedelta(days=1)),
          "30d": (timedelta(days=30), timedelta(days=1))}  # fmt: skip
TOP = 6  # series shown by name; the rest are "other"


def _buckets(now: datetime, span: timedelta, width: timedelta) -> list[datetime]:
    start = now - span
    if width >= timedelta(days=1):
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        start = start.replace(minute=0, second=0, microsecond=0)
    out, at = [], start
    while at <= now:
        out.append(at)
        at += width
    return out


def _label(at: datetime, width: timedelta) -> str:
    return at.strftime("%d %b") if width >= timedelta(days=1) else at.strftime("%H:00")


def _index(buckets: list[datetime], at: datetime) -> int | None:
    if not buckets or at < buckets[0]:
        return None
    lo, hi = 0, len(buckets) - 1
    while lo < hi:  # the last bucket starting at or before ``at``
        mid = (lo + hi + 1) // 2
        if buckets[mid] <= at:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _mix(rows: Iterable[Any], buckets: list[datetime], key: Callable[[Any], str]) -> dict[str, list[float]]:
    counts: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(buckets))
    totals: Counter[str] = Counter()
    for r in rows:
        i = _index(buckets, r.decided_at)
        if i is not None:
            name = key(r)
            counts[name][i] += 1
            totals[name] += 1
    keep = [name for name, _ in totals.most_common(TOP)]
    out = {name: counts[name] for name in keep}
    rest = [name for name in counts if name not in keep]
    if rest:
        out["other"] = [sum(counts[n][i] for n in rest) for i in range(len(buckets))]
    return out


def charts_for(
    rows: list[Any], choices: list[Any], now: datetime, span: timedelta, width: timedelta
) -> dict[str, Any]:
    buckets = _buckets(now, span, width)
    labels = [_label(b, width) for b in buckets]
    rows = [r for r in rows if r.decided_at >= buckets[0]]
    charts: list[Chart] = [
        stacked_bars("Actions over time", labels, _mix(rows, buckets, lambda r: r.action)),
        stacked_bars("Channels over time", labels, _mix(rows, buckets, lambda r: r.channel)),
    ]
    styles = [s for s, _ in Counter(r.style for r in rows).most_common(TOP)]
    channels = [c for c, _ in Counter(r.channel for r in rows).most_common(4)]
    csat: dict[str, list[float | None]] = {}
    resolution: dict[str, list[float | None]] = {}
    for channel in channels:
        csat[channel], resolution[channel] = [], []
        for style in styles:
            cell = [r for r in rows if r.style == style and r.channel == channel]
            scored = [r.csat for r in cell if r.csat is not None]
            csat[channel].append(sum(scored) / len(scored) if scored else None)
            resolution[channel].append(sum(r.resolved for r in cell) / len(cell) if cell else None)
    charts.append(grouped_bars("CSAT by tone style and channel", styles, csat, low=1.0, high=5.0))
    charts.append(
        grouped_bars(
            "Resolution rate by tone style and channel",
            styles,
            resolution,
            high=1.0,
            fmt=lambda v: f"{v:.0%}",
        )
    )
    agree: list[list[int]] = [[0, 0] for _ in buckets]
    reward: list[list[float]] = [[0.0, 0.0] for _ in buckets]
    for c in choices:
        i = _index(buckets, c.decided_at)
        if i is None:
            continue
        if c.mode == "shadow":
            agree[i][0] += c.greedy_arm == c.rules_arm
            agree[i][1] += 1
        if c.closed and c.reward is not None:
            reward[i][0] += c.reward
            reward[i][1] += 1
    charts.append(
        lines(
            "Learner: agreement with the rules (shadow) and mean reward",
            labels,
            {
                "agreement": [a / n if n else None for a, n in agree],
                "mean reward": [s / n if n else None for s, n in reward],
            },
            low=-1.0,
            high=1.0,
        )
    )
    reasons = _mix(
        [r for r in rows if r.degraded], buckets, lambda r: r.degradations[0] if r.degradations else "unknown"
    )
    charts.append(stacked_bars("Degradations by reason", labels, reasons))
    scored = [r.csat for r in rows if r.csat is not None]
    kpis = {
        "decisions": len(rows),
        "degraded": sum(r.degraded for r in rows) / len(rows) if rows else None,
        "resolution": sum(r.resolved for r in rows) / len(rows) if rows else None,
        "csat": sum(scored) / len(scored) if scored else None,
        "experiment_decisions": sum(r.experiment_id is not None for r in rows),
    }
    return {"charts": charts, "kpis": kpis}


@router.get("/charts")
async def charts(
    request: Request, user: UserDep, range: Annotated[str, Query(max_length=8)] = "7d"
) -> Response:
    span, width = RANGES.get(range, RANGES["7d"])
    engine = engine_of(request)
    store: Any = engine.store
    now = engine.clock()
    rows = await call(store.facts.rows_since, user.tenant_id, now - span - width)
    choices = await call(store.learning.choices, user.tenant_id, limit=20_000)
    found = charts_for(list(rows), choices, now, span, width)
    return page(
        request, "charts.html", user, range=range if range in RANGES else "7d", ranges=list(RANGES), **found
    )


@router.get("/audit")
async def audit(request: Request, user: UserDep) -> Response:
    store: Any = engine_of(request).store
    (verification,) = await call(store.audit.verify, user.tenant_id)
    after = max(0, verification.checked - 40)
    entries = await call(store.audit.entries, user.tenant_id, after_seq=after, limit=40)
    shown = [
        {
            "seq": e.seq,
            "kind": e.kind,
            "created_at": e.created_at,
            "hash": e.hash,
            "by": e.payload.get("by") or e.payload.get("key_id") or "",
            # Decision entries hold their decision; the rest are short operator records.
            "detail": ""
            if e.kind == "decision"
            else json.dumps(
                {k: v for k, v in e.payload.items() if k not in ("by", "settings", "guardrails")},
                sort_keys=True,
            )[:240],
        }
        for e in reversed(entries)
    ]
    return page(request, "audit.html", user, v=verification, entries=shown)
