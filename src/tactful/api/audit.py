"""``/v1/audit``: the tenant's audit entries, a page at a time, and the chain's verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from tactful.api.deps import CallerDep, EngineDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    shard: int
    seq: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_after_seq: int | None  # pass as after_seq for the next page; None on the last page
    shards: list[int]  # the tenant's chains: read each with ?shard=N


class AuditVerifyOut(BaseModel):
    ok: bool
    checked: int
    decisions_checked: int
    first_bad_seq: int | None
    shard: int | None
    reason: str


@router.get("", response_model=AuditPage, summary="Audit entries after a sequence number, oldest first")
def entries(
    engine: EngineDep,
    key: CallerDep,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    shard: Annotated[int, Query(ge=0, le=255, description="Which of the tenant's chains")] = 0,
) -> AuditPage:
    found = engine.store.audit.entries(key.tenant_id, after_seq=after_seq, limit=limit, shard=shard)
    return AuditPage(
        entries=[
            AuditEntryOut(
                shard=e.shard,
                seq=e.seq,
                kind=e.kind,
                payload=e.payload,
                created_at=e.created_at,
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in found
        ],
        next_after_seq=found[-1].seq if len(found) == limit else None,
        shards=engine.store.audit.shards(key.tenant_id),
    )


@router.get("/verify", response_model=AuditVerifyOut, summary="Verify this tenant's hash chain")
def verify(engine: EngineDep, key: CallerDep) -> AuditVerifyOut:
    (result,) = engine.store.audit.verify(key.tenant_id)
    return AuditVerifyOut(
        ok=result.ok,
        checked=result.checked,
        decisions_checked=result.decisions_checked,
        first_bad_seq=result.first_bad_seq,
        shard=result.shard,
        reason=result.reason,
    )
