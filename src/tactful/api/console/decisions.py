"""The decision stream (live, filtered), one decision with its explanation, and a customer's "why"
page with its export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tactful.api.console.web import (
    HEADERS,
    ConsoleError,
    UserDep,
    call,
    engine_of,
    page,
    redirect,
    require_admin,
    templates,
)
from tactful.domain import ActionType, Channel, CustomerId, DecisionId
from tactful.subjects import export_customer

router = APIRouter(prefix="/console", include_in_schema=False)

CHANNELS = [c.value for c in Channel] + ["none"]
ACTIONS = [a.value for a in ActionType]
CustomerPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@+\-]+$")]
DecisionPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Filter = Annotated[str, Query(max_length=200)]


def _filters(channel: str, action: str, degraded: str, rule: str) -> dict[str, Any]:
    return {
        "channel": channel if channel in CHANNELS else None,
        "action": action if action in ACTIONS else None,
        "degraded": {"yes": True, "no": False}.get(degraded),
        "rule": rule.strip() or None,
    }


@router.get("")
def home() -> Response:
    return redirect("/console/decisions")


@router.get("/decisions")
async def stream(
    request: Request,
    user: UserDep,
    channel: Filter = "",
    action: Filter = "",
    degraded: Filter = "",
    rule: Filter = "",
) -> Response:
    facts = engine_of(request).store.facts
    rows = await call(facts.recent, user.tenant_id, limit=50, **_filters(channel, action, degraded, rule))
    return page(
        request,
        "decisions.html",
        user,
        rows=rows,
        channels=CHANNELS,
        actions=ACTIONS,
        chosen={"channel": channel, "action": action, "degraded": degraded, "rule": rule},
        since=engine_of(request).clock().isoformat(),
    )


@router.get("/decisions/rows")
async def stream_rows(
    request: Request,
    user: UserDep,
    after: Filter = "",
    channel: Filter = "",
    action: Filter = "",
    degraded: Filter = "",
    rule: Filter = "",
) -> Response:
    """Rows at or after ``after`` (the live stream's poll; the page skips rows it already shows)."""
    try:
        since = datetime.fromisoformat(after) if after else None
    except ValueError:
        raise ConsoleError(422, "invalid_after", "after must be an ISO date-time") from None
    if since is not None and since.tzinfo is None:
        raise ConsoleError(422, "invalid_after", "after must carry a time zone")
    facts = engine_of(request).store.facts
    found = await call(
        facts.recent, user.tenant_id, limit=50, since=since, **_filters(channel, action, degraded, rule)
    )
    html = templates.get_template("decision_rows.html").render(rows=found, user=user)
    return HTMLResponse(html, headers=HEADERS)


def _measured(document: dict[str, Any]) -> dict[str, Any] | None:
    """The tone measured on the reply, wherever the decision carries it (``tone.measured``)."""
    for holder in (document.get("tone"), document.get("reply"), document):
        if isinstance(holder, dict):
            for key in ("measured", "tone_measured", "measured_tone"):
                found = holder.get(key)
                if isinstance(found, dict):
                    return found
    return None


@router.get("/decisions/{decision_id}")
async def decision_page(request: Request, user: UserDep, decision_id: DecisionPath) -> Response:
    engine = engine_of(request)
    store: Any = engine.store
    decision = await call(store.get_decision, user.tenant_id, DecisionId(decision_id))
    if decision is None:  # another tenant's decision looks exactly like a missing one
        raise ConsoleError(404, "decision_not_found", f"no decision {decision_id}")
    fact = await call(store.facts.get, user.tenant_id, DecisionId(decision_id))
    document = decision.model_dump(mode="json")
    tone = {
        k: v for k, v in document["tone"].items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return page(
        request,
        "decision.html",
        user,
        d=decision,
        doc=document,
        fact=fact,
        tone=tone,
        measured=_measured(document),
        features=(document.get("features") or {}).get("values", {}),
        features_meta={k: v for k, v in (document.get("features") or {}).items() if k != "values"},
    )


@router.get("/customers")
def customer_lookup(request: Request, user: UserDep, id: Filter = "") -> Response:
    require_admin(user, "see customer profiles")
    if id.strip():
        return redirect(f"/console/customers/{id.strip()}")
    return page(request, "customer_lookup.html", user)


async def _why(request: Request, user: UserDep, customer_id: str) -> dict[str, Any]:
    require_admin(user, "see customer profiles")
    engine = engine_of(request)
    report = await call(export_customer, engine, user.tenant_id, CustomerId(customer_id))
    decisions = sorted(report["decisions"], key=lambda d: d["decided_at"], reverse=True)
    outcomes: dict[str, list[dict[str, Any]]] = {}
    for o in report["outcomes"]:
        outcomes.setdefault(o["decision_id"], []).append(o)
    return {"report": report, "decisions": decisions[:20], "outcomes": outcomes, "total": len(decisions)}


@router.get("/customers/{customer_id}")
async def customer_why(request: Request, user: UserDep, customer_id: CustomerPath) -> Response:
    return page(request, "customer.html", user, **(await _why(request, user, customer_id)))


@router.get("/customers/{customer_id}/why.html")
async def customer_why_export(request: Request, user: UserDep, customer_id: CustomerPath) -> Response:
    """The same page as one self-contained file, to hand to the customer."""
    found = await _why(request, user, customer_id)
    html = templates.get_template("why_export.html").render(**found, tenant=user.tenant_name)
    return HTMLResponse(
        html,
        headers={
            **HEADERS,
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Content-Disposition": f'attachment; filename="why-{customer_id}.html"',
        },
    )


@router.get("/customers/{customer_id}/export.json")
async def customer_export(request: Request, user: UserDep, customer_id: CustomerPath) -> Response:
    found = await _why(request, user, customer_id)
    return JSONResponse(
        found["report"],
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="customer-{customer_id}.json"'},
    )
