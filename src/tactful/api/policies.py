"""``/v1/policies``: upload (publish), list, read, activate, roll back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from tactful.api.deps import CallerDep, EngineDep
from tactful.api.dto import PolicyIn, PolicyOut
from tactful.api.roles import require
from tactful.errors import NotFound
from tactful.policy import lifecycle
from tactful.store.base import PolicyVersion

router = APIRouter(prefix="/v1/policies", tags=["policies"])

# Versions count up from 1; the bound keeps a huge number a 422, not a database overflow.
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _out(version: PolicyVersion, *, with_source: bool = False) -> PolicyOut:
    return PolicyOut(
        version=version.version,
        label=version.label,
        content_hash=version.content_hash,
        active=version.active,
        created_at=version.created_at,
        created_by=version.created_by,
        source=version.source if with_source else None,
    )


@router.post("", response_model=PolicyOut, status_code=201, summary="Validate and publish a policy version")
def publish(body: PolicyIn, engine: EngineDep, key: CallerDep, response: Response) -> PolicyOut:
    require(key, "admin")
    by = f"api-key:{key.key_id}"
    version, created = lifecycle.publish(engine.store, key.tenant_id, body.source, by=by)
    if body.activate:
        version = lifecycle.activate(engine.store, key.tenant_id, version.version, by=by)
        engine.invalidation.announce("policy", key.tenant_id)
    if not created:
        response.status_code = 200
    return _out(version)


@router.get("", response_model=list[PolicyOut])
def list_versions(engine: EngineDep, key: CallerDep) -> list[PolicyOut]:
    return [_out(v) for v in engine.store.list_policies(key.tenant_id)]


@router.get("/active", response_model=PolicyOut)
def active(engine: EngineDep, key: CallerDep) -> PolicyOut:
    version = engine.store.get_policy(key.tenant_id)
    if version is None:
        raise NotFound("no active policy", code="no_active_policy")
    return _out(version, with_source=True)


@router.get("/{version}", response_model=PolicyOut)
def get_version(version: VersionPath, engine: EngineDep, key: CallerDep) -> PolicyOut:
    found = engine.store.get_policy(key.tenant_id, version)
    if found is None:
        raise NotFound(f"no policy version {version}", code="policy_version_not_found")
    return _out(found, with_source=True)


@router.post("/{version}/activate", response_model=PolicyOut)
def activate(version: VersionPath, engine: EngineDep, key: CallerDep) -> PolicyOut:
    require(key, "admin")
    done = lifecycle.activate(engine.store, key.tenant_id, version, by=f"api-key:{key.key_id}")
    engine.invalidation.announce("policy", key.tenant_id)
    return _out(done)


@router.post("/rollback", response_model=PolicyOut, summary="Re-activate the version active before this one")
def rollback(engine: EngineDep, key: CallerDep) -> PolicyOut:
    require(key, "admin")
    done = lifecycle.rollback(engine.store, key.tenant_id, by=f"api-key:{key.key_id}")
    engine.invalidation.announce("policy", key.tenant_id)
    return _out(done)
