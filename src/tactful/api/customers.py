"""``/v1/customers/{id}`` and its preferences; erasure (``DELETE``) and the access report (``/export``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from tactful.api.deps import CallerDep, EngineDep
from tactful.api.dto import CustomerIn, CustomerOut, PreferencesPatch
from tactful.api.roles import require
from tactful.domain import Customer, CustomerId, Preferences, TenantId
from tactful.errors import Conflict, InputRejected, NotFound
from tactful.store.base import Store
from tactful.subjects import erase_customer
from tactful.subjects import export_customer as subject_export

router = APIRouter(prefix="/v1/customers", tags=["customers"])

CustomerPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@+\-]+$")]


def _out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        customer_id=customer.customer_id,
        profile=customer.profile,
        preferences=customer.preferences,
        version=customer.version,
    )


def _get(store: Store, tenant: TenantId, customer_id: str) -> Customer:
    customer = store.get_customer(tenant, CustomerId(customer_id))
    if customer is None:
        raise NotFound(f"no customer {customer_id!r}", code="customer_not_found")
    return customer


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: CustomerPath, engine: EngineDep, key: CallerDep) -> CustomerOut:
    return _out(_get(engine.store, key.tenant_id, customer_id))


@router.put("/{customer_id}", response_model=CustomerOut, summary="Create or replace a customer's profile")
def put_customer(
    customer_id: CustomerPath, body: CustomerIn, engine: EngineDep, key: CallerDep
) -> CustomerOut:
    require(key, "admin")
    cid = CustomerId(customer_id)
    current = engine.store.get_customer(key.tenant_id, cid)
    kept = current.preferences if current else Preferences()
    if body.preferences is not None:
        refuse_silent_drops(kept, body.preferences)
    stored = engine.store.put_customer(
        Customer(tenant_id=key.tenant_id, customer_id=cid, profile=body.profile, preferences=kept)
    )
    if body.preferences is not None:
        new = body.preferences
        preferences, changed = engine.store.consent.change(
            key.tenant_id, cid, lambda _: new, source="api_put_customer", actor=f"key:{key.key_id}"
        )
        stored = stored.model_copy(
            update={"preferences": preferences, "version": stored.version + int(changed)}
        )
    return _out(stored)


@router.get("/{customer_id}/preferences", response_model=Preferences)
def get_preferences(customer_id: CustomerPath, engine: EngineDep, key: CallerDep) -> Preferences:
    return _get(engine.store, key.tenant_id, customer_id).preferences


@router.put(
    "/{customer_id}/preferences",
    response_model=Preferences,
    summary="Replace consent and preferences; takes effect on the next decision",
    description=(
        "A full replace: fields left out take their defaults, except that an opt-out "
        "(`opted_out`, `do_not_contact`) is never dropped by leaving it out: that is 409 "
        "`consent_would_be_dropped`; send the field explicitly to clear it, or use PATCH. Audited."
    ),
)
def put_preferences(
    customer_id: CustomerPath, body: Preferences, engine: EngineDep, key: CallerDep
) -> Preferences:
    require(key, "admin", "decide")

    def replace(current: Preferences) -> Preferences:
        refuse_silent_drops(current, body)
        return body

    preferences, _ = engine.store.consent.change(
        key.tenant_id,
        CustomerId(customer_id),
        replace,
        source="api_put_preferences",
        actor=f"key:{key.key_id}",
    )
    return preferences


@router.patch(
    "/{customer_id}/preferences",
    response_model=Preferences,
    summary="Change some consent and preference fields, keep the rest; applies from the next decision",
)
def patch_preferences(
    customer_id: CustomerPath, body: PreferencesPatch, engine: EngineDep, key: CallerDep
) -> Preferences:
    require(key, "admin", "decide")
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in changes.items() if v is None and k not in NULLABLE_PREFERENCES)
    if nulls:
        raise InputRejected(f"{', '.join(nulls)} cannot be null", code="invalid_preferences")
    _get(engine.store, key.tenant_id, customer_id)  # a merge needs something to merge into: else 404
    preferences, _ = engine.store.consent.change(
        key.tenant_id,
        CustomerId(customer_id),
        lambda current: Preferences.model_validate({**current.model_dump(), **changes}),
        source="api_patch_preferences",
        actor=f"key:{key.key_id}",
    )
    return preferences


#: Preference fields where null means something (no quiet hours, no preferred channel).
NULLABLE_PREFERENCES = frozenset({"quiet_hours", "preferred_channel"})


def refuse_silent_drops(current: Preferences, new: Preferences) -> None:
    """A replace that would lift an opt-out only because the field was left out of the body."""
    given = new.model_fields_set
    dropped = []
    if "opted_out" not in given and current.opted_out - new.opted_out:
        dropped.append("opted_out")
    if "do_not_contact" not in given and current.do_not_contact and not new.do_not_contact:
        dropped.append("do_not_contact")
    if dropped:
        raise Conflict(
            f"this replace would clear {' and '.join(dropped)} only because the field is missing; "
            "send it explicitly to change it, or use PATCH to change some fields",
            code="consent_would_be_dropped",
        )


@router.delete(
    "/{customer_id}",
    status_code=204,
    summary="Erase a customer: destroy their data key (crypto-shredding), profile and vault values",
)
def delete_customer(customer_id: CustomerPath, engine: EngineDep, key: CallerDep) -> Response:
    erase_customer(engine, key.tenant_id, CustomerId(customer_id), by=f"key:{key.key_id}")
    return Response(status_code=204)


@router.get(
    "/{customer_id}/export",
    summary="Everything held about a customer (data-subject access report); 404 once erased",
)
def export_customer(customer_id: CustomerPath, engine: EngineDep, key: CallerDep) -> dict[str, Any]:
    return subject_export(engine, key.tenant_id, CustomerId(customer_id))
