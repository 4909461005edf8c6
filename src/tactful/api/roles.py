"""Which key roles may call what: one table, enforced for every ``/v1`` request before the handler.

- ``decide``: the integration's key. Sends messages and outcomes, reads decisions, reads and updates a
  customer's consent and preferences (a STOP arriving through the integration must apply at once).
- ``admin``: a tenant operator. Everything, including policies, customer profiles, keys, retention.
- ``auditor``: reads the audit log, its verification, compliance reports, decisions and policies;
  cannot decide, change policy or read customer profiles.

An operation missing from :data:`MATRIX` is ``admin``-only (deny by default), so an endpoint added
without a row here is never wider open than it should be. ``tests/api/test_roles.py`` checks every
operation of the OpenAPI document against its own copy of this table.
"""

from __future__ import annotations

from starlette.requests import Request

from tactful.errors import TactfulError
from tactful.store.base import ApiKeyRecord

ADMIN = frozenset({"admin"})
DECIDE = frozenset({"admin", "decide"})
READ_AUDIT = frozenset({"admin", "auditor"})
READ_ALL = frozenset({"admin", "decide", "auditor"})

MATRIX: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/v1/messages"): DECIDE,
    ("GET", "/v1/decisions/{decision_id}"): READ_ALL,
    ("POST", "/v1/outcomes"): DECIDE,
    ("GET", "/v1/customers/{customer_id}"): DECIDE,
    ("PUT", "/v1/customers/{customer_id}"): ADMIN,
    ("GET", "/v1/customers/{customer_id}/preferences"): DECIDE,
    ("PUT", "/v1/customers/{customer_id}/preferences"): DECIDE,
    ("PATCH", "/v1/customers/{customer_id}/preferences"): DECIDE,
    ("DELETE", "/v1/customers/{customer_id}"): ADMIN,
    ("GET", "/v1/customers/{customer_id}/export"): ADMIN,
    ("GET", "/v1/policies"): READ_ALL,
    ("POST", "/v1/policies"): ADMIN,
    ("GET", "/v1/policies/active"): READ_ALL,
    ("GET", "/v1/policies/{version}"): READ_ALL,
    ("POST", "/v1/policies/{version}/activate"): ADMIN,
    ("POST", "/v1/policies/rollback"): ADMIN,
    ("GET", "/v1/audit"): READ_AUDIT,
    ("GET", "/v1/audit/verify"): READ_AUDIT,
    ("GET", "/v1/reports/compliance"): READ_AUDIT,
    ("GET", "/v1/keys"): ADMIN,
    ("POST", "/v1/keys"): ADMIN,
    ("DELETE", "/v1/keys/{key_id}"): ADMIN,
    ("GET", "/v1/retention"): READ_AUDIT,
    ("PUT", "/v1/retention"): ADMIN,
    ("POST", "/v1/retention/purge"): ADMIN,
    # The learner's state (mode, model version, shadow agreement) is part of what auditors review.
    ("GET", "/v1/learning/status"): READ_AUDIT,
    # Experiments (issue 15): auditors review them; only admins start, stop or promote one.
    ("GET", "/v1/experiments"): READ_AUDIT,
    ("GET", "/v1/experiments/{experiment_id}"): READ_AUDIT,
    # Channels (issue 14): how a decision's reply was delivered is part of the decision.
    ("GET", "/v1/decisions/{decision_id}/delivery"): READ_ALL,
    # The integration's backend opens web chat sessions for its customers.
    ("POST", "/v1/channels/webchat/sessions"): DECIDE,
}

#: Provider webhooks: authenticated by the provider's signature over the request, not by an API key,
#: so no role applies (a forged or missing signature is 401).
SIGNED_WEBHOOKS: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/v1/channels/twilio/sms"),
        ("POST", "/v1/channels/twilio/voice"),
        ("POST", "/v1/channels/slack/events"),
    }
)


class Forbidden(TactfulError):
    code = "forbidden_role"
    status = 403


def allowed_roles(method: str, path_template: str) -> frozenset[str]:
    return MATRIX.get((method.upper(), path_template), ADMIN)


def route_template(request: Request) -> str:
    """The matched route's path template (``/v1/decisions/{decision_id}``), not the concrete path."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else request.url.path


def check(request: Request, key: ApiKeyRecord) -> None:
    """Raise 403 unless the key's role may call this operation (run by ``deps.caller``, or by
    ``deps.caller_on_worker`` for a handler that checks its key on its own worker thread)."""
    roles = allowed_roles(request.method, route_template(request))
    if key.role not in roles:
        raise Forbidden(f"a {key.role!r} key cannot do this; needs one of: {', '.join(sorted(roles))}")


def require(key: ApiKeyRecord, *roles: str) -> None:
    """A second, in-handler check kept by the original routers (defence in depth)."""
    if key.role not in roles:
        raise Forbidden(f"a {key.role!r} key cannot do this; needs one of: {', '.join(roles)}")
