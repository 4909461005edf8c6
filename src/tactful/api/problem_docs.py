"""The error responses every ``/v1`` operation can give, declared in the OpenAPI document.

Declared so clients (and the schemathesis fuzz run) know each problem's shape; without them the
document would promise FastAPI's default 422 body, which this service never sends.
"""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details with a stable machine-readable `code`.",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
    },
    "additionalProperties": True,
}

_WHY = {
    400: "Malformed JSON or undecodable body (`malformed_json`)",
    401: "No, unknown or revoked API key (`missing_api_key`, `invalid_api_key`, `invalid_auth_scheme`)",
    403: "The key's role may not call this operation (`forbidden_role`)",
    404: "No such resource for this tenant (other tenants' resources look the same)",
    409: "The request contradicts stored state",
    413: "Request body too large (`payload_too_large`)",
    422: "Invalid input (`validation_error`, `unknown_channel`, …)",
    429: "The key's rate limit is exhausted (`rate_limited`); see `Retry-After`",
    503: "The store is unavailable (`store_unavailable`)",
}


def problem_responses() -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": why,
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
            **(
                {"headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}}}
                if status == 429
                else {}
            ),
        }
        for status, why in _WHY.items()
    }
