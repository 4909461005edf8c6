"""``/v1/keys`` and ``/v1/retention``: a tenant operator's key and retention management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from tactful.api.deps import CallerDep, EngineDep
from tactful.governance import retention
from tactful.store.sql_governance import KeyRow
from tactful.tenants import governance_of, issue_key, key_id_of

router = APIRouter(prefix="/v1", tags=["governance"])

KeyIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class KeyOut(BaseModel):
    key_id: str
    role: str
    revoked: bool
    created_at: datetime | None


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "decide", "auditor"]


class NewKeyOut(KeyOut):
    api_key: str = Field(description="The key itself: shown once, never stored")


class RetentionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32, description="One of the keys of GET /v1/retention")
    days: int = Field(ge=retention.MIN_DAYS, le=retention.MAX_DAYS)


class RetentionOut(BaseModel):
    days: dict[str, int | None] = Field(description="Per kind; null keeps records until erased")


class PurgedOut(BaseModel):
    kind: str
    table: str
    rows: int
    cutoff: datetime


def _out(row: KeyRow) -> KeyOut:
    return KeyOut(key_id=row.key_id, role=row.role, revoked=row.revoked, created_at=row.created_at)


@router.get("/keys", response_model=list[KeyOut], summary="This tenant's API keys (never their secrets)")
def list_keys(engine: EngineDep, key: CallerDep) -> list[KeyOut]:
    return [_out(r) for r in governance_of(engine.store).list_keys(key.tenant_id)]


@router.post("/keys", response_model=NewKeyOut, status_code=201, summary="Create a key; shown once")
def create_key(body: KeyIn, engine: EngineDep, key: CallerDep) -> NewKeyOut:
    api_key = issue_key(engine.store, key.tenant_id, body.role, by=f"api-key:{key.key_id}")
    key_id = key_id_of(api_key)
    (row,) = [r for r in governance_of(engine.store).list_keys(key.tenant_id) if r.key_id == key_id]
    return NewKeyOut(**_out(row).model_dump(), api_key=api_key)


@router.delete(
    "/keys/{key_id}", response_model=KeyOut, summary="Revoke a key: refused from the next request on"
)
def revoke_key(key_id: KeyIdPath, engine: EngineDep, key: CallerDep) -> KeyOut:
    return _out(governance_of(engine.store).revoke_key(key.tenant_id, key_id, by=f"api-key:{key.key_id}"))


@router.get("/retention", response_model=RetentionOut, summary="Retention in days per kind of record")
def get_retention(engine: EngineDep, key: CallerDep) -> RetentionOut:
    return RetentionOut(days=retention.retention(engine.store, key.tenant_id))


@router.put("/retention", response_model=RetentionOut, summary="Set one kind's retention (audited)")
def put_retention(body: RetentionIn, engine: EngineDep, key: CallerDep) -> RetentionOut:
    retention.set_retention(engine.store, key.tenant_id, body.kind, body.days, by=f"api-key:{key.key_id}")
    return RetentionOut(days=retention.retention(engine.store, key.tenant_id))


@router.post(
    "/retention/purge", response_model=list[PurgedOut], summary="Delete what retention says is too old"
)
def purge(engine: EngineDep, key: CallerDep) -> list[PurgedOut]:
    counts = retention.purge(engine.store, key.tenant_id, now=engine.clock(), by=f"api-key:{key.key_id}")
    return [PurgedOut(kind=c.kind, table=c.table, rows=c.deleted, cutoff=c.cutoff) for c in counts]
