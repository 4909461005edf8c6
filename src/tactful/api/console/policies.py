"""Policy versions: list, read, a side-by-side diff of any two, and validate → confirm → publish
(optionally activate), or activate an older one — each change behind a confirmation page."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from tactful.api.console.web import (
    ConsoleError,
    UserDep,
    call,
    engine_of,
    form,
    page,
    redirect,
    require_admin,
)
from tactful.errors import PolicyError
from tactful.policy import diff_policies, lifecycle

router = APIRouter(prefix="/console/policies", include_in_schema=False)
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
CONTEXT = 3  # unchanged lines shown around each change


@dataclass(frozen=True)
class DiffRow:
    kind: str  # eq | del | add | chg | gap
    left_no: int | None
    left: str
    right_no: int | None
    right: str


def side_by_side(old: str, new: str) -> list[DiffRow]:
    """Rows for a two-column diff; unchanged lines more than ``CONTEXT`` away from any change fold
    into one ``gap`` row per stretch."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(
                DiffRow("eq", i + 1, a[i], j + 1, b[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            left = i1 + k if i1 + k < i2 else None
            right = j1 + k if j1 + k < j2 else None
            kind = "chg" if left is not None and right is not None else ("del" if right is None else "add")
            rows.append(
                DiffRow(
                    kind,
                    None if left is None else left + 1,
                    "" if left is None else a[left],
                    None if right is None else right + 1,
                    "" if right is None else b[right],
                )
            )
    changed = [n for n, row in enumerate(rows) if row.kind != "eq"]
    keep = {k for n in changed for k in range(n - CONTEXT, n + CONTEXT + 1)}
    folded: list[DiffRow] = []
    for n, row in enumerate(rows):
        if row.kind != "eq" or n in keep:
            folded.append(row)
        elif not folded or folded[-1].kind != "gap":
            folded.append(DiffRow("gap", None, "", None, ""))
    return folded


def _changes(old: str, new: str) -> list[str]:
    try:
        return diff_policies(old, new)
    except PolicyError as exc:  # an old version that no longer compiles: say so, show the text diff
        return [f"(cannot compare rule by rule: {exc.message})"]


@router.get("")
async def versions(
    request: Request, user: UserDep, note: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    store: Any = engine_of(request).store
    found = await call(store.list_policies, user.tenant_id)
    return page(request, "policies.html", user, versions=list(reversed(found)), note=note)


@router.get("/diff")
async def diff(
    request: Request,
    user: UserDep,
    a: Annotated[int, Query(ge=1, le=2**31 - 1)],
    b: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Response:
    store: Any = engine_of(request).store
    old = await call(store.get_policy, user.tenant_id, a)
    new = await call(store.get_policy, user.tenant_id, b)
    if old is None or new is None:
        raise ConsoleError(404, "policy_version_not_found", f"no policy version {a if old is None else b}")
    return page(
        request,
        "policy_diff.html",
        user,
        old=old,
        new=new,
        rows=side_by_side(old.source, new.source),
        changes=await call(_changes, old.source, new.source),
    )


@router.get("/new")
async def new_version(request: Request, user: UserDep) -> Response:
    store: Any = engine_of(request).store
    active = await call(store.get_policy, user.tenant_id)
    return page(request, "policy_new.html", user, source=active.source if active else "", error=None)


@router.post("/validate")
async def validate(request: Request, user: UserDep) -> Response:
    fields = await form(request, user.csrf)
    source = fields.get("source", "")
    try:
        await call(lifecycle.validate, source, source_name="console upload")
    except ConsoleError as exc:
        return page(request, "policy_new.html", user, status=422, source=source, error=exc.message)
    store: Any = engine_of(request).store
    active = await call(store.get_policy, user.tenant_id)
    old = active.source if active else ""
    return page(
        request,
        "policy_confirm.html",
        user,
        source=source,
        active=active,
        rows=side_by_side(old, source),
        changes=await call(_changes, old, source) if active else ["(no active version: everything is new)"],
    )


@router.post("/publish")
async def publish(request: Request, user: UserDep) -> Response:
    fields = await form(request, user.csrf)
    require_admin(user, "publish a policy")
    if fields.get("confirm") != "yes":
        raise ConsoleError(400, "not_confirmed", "publishing needs the confirmation step")
    store: Any = engine_of(request).store
    by = f"console:{user.key_id}"
    version, created = await call(lifecycle.publish, store, user.tenant_id, fields.get("source", ""), by=by)
    if fields.get("activate") == "yes":
        version = await call(lifecycle.activate, store, user.tenant_id, version.version, by=by)
    what = "published" if created else "already published (same content)"
    active = " and activated" if version.active else ""
    return redirect(f"/console/policies/{version.version}?note=v{version.version}+{what}{active}")


@router.get("/{version}")
async def version_page(
    request: Request, user: UserDep, version: VersionPath, note: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    store: Any = engine_of(request).store
    found = await call(store.get_policy, user.tenant_id, version)
    if found is None:
        raise ConsoleError(404, "policy_version_not_found", f"no policy version {version}")
    listed = await call(store.list_policies, user.tenant_id)
    return page(
        request, "policy.html", user, p=found, others=[v for v in listed if v.version != version], note=note
    )


@router.get("/{version}/activate")
async def activate_confirm(request: Request, user: UserDep, version: VersionPath) -> Response:
    require_admin(user, "activate a policy")
    store: Any = engine_of(request).store
    target = await call(store.get_policy, user.tenant_id, version)
    if target is None:
        raise ConsoleError(404, "policy_version_not_found", f"no policy version {version}")
    active = await call(store.get_policy, user.tenant_id)
    old = active.source if active else ""
    return page(
        request,
        "policy_activate.html",
        user,
        target=target,
        active=active,
        rows=side_by_side(old, target.source),
        changes=await call(_changes, old, target.source),
    )


@router.post("/{version}/activate")
async def activate(request: Request, user: UserDep, version: VersionPath) -> Response:
    fields = await form(request, user.csrf)
    require_admin(user, "activate a policy")
    if fields.get("confirm") != "yes":
        raise ConsoleError(400, "not_confirmed", "activating needs the confirmation step")
    store: Any = engine_of(request).store
    done = await call(lifecycle.activate, store, user.tenant_id, version, by=f"console:{user.key_id}")
    return redirect(f"/console/policies/{done.version}?note=v{done.version}+activated")
