"""``/v1/customers/{id}`` and its preferences; erasure (``DELETE``) and the access report (``/export``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from tactful.api.deps import CallerDep, EngineDep
from tactful.api.dto import CustomerIn, CustomerOut
from tactful.api.roles import require
from tactful.domain import Customer, CustomerId, Preferences, TenantId
from tactful.errors import NotFound
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
    current = engine.store.get_customer(key.tenant_id, CustomerId(customer_id))
    preferences = body.preferences or (current.preferences if current else Preferences())
    customer = Customer(
        tenant_id=key.tenant_id,
        customer_id=CustomerId(customer_id),
        profile=body.profile,
        preferences=preferences,
    )
    return _out(engine.store.put_customer(customer))


@router.get("/{customer_id}/preferences", response_model=Preferences)
def get_preferences(customer_id: CustomerPath, engine: EngineDep, key: CallerDep) -> Preferences:
    return _get(engine.store, key.tenant_id, customer_id).preferences


@router.put(
    "/{customer_id}/preferences",
    response_model=Preferences,
    summary="Replace consent and preferences; takes effect on the next decision",
)
def put_preferences(
    customer_id: CustomerPath, body: Preferences, engine: EngineDep, key: CallerDep
) -> Preferences:
    require(key, "admin", "decide")
    current = engine.store.get_customer(key.tenant_id, CustomerId(customer_id))
    base = current or Customer(tenant_id=key.tenant_id, customer_id=CustomerId(customer_id))
    return engine.store.put_customer(base.model_copy(update={"preferences": body})).preferences


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
