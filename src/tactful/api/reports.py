"""``/v1/reports/compliance``: the compliance report as JSON or HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from tactful.api.deps import CallerDep, EngineDep
from tactful.governance.report import ComplianceReport, compliance_report
from tactful.governance.report_html import render_html

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/compliance",
    response_model=ComplianceReport,
    summary="Opt-outs honoured, constraint violations, PII detections, erasures and changes since a date",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def compliance(
    engine: EngineDep,
    key: CallerDep,
    since: Annotated[datetime, Query(description="ISO date or date-time; a naive value is UTC")],
    format: Annotated[Literal["json", "html"], Query()] = "json",
) -> Response:
    start = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    report = compliance_report(engine.store.audit, key.tenant_id, start, now=engine.clock())
    if format == "html":
        return Response(render_html(report), media_type="text/html; charset=utf-8")
    return Response(report.model_dump_json(), media_type="application/json")
