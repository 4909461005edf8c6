"""Tactful's exceptions. Every error a caller can act on carries a stable machine-readable ``code``.

TactfulError
├── InputRejected        bad input: too large, invalid text, unknown channel   (HTTP 4xx)
├── NotFound             no such tenant / customer / decision / policy for this tenant (404)
├── Conflict             the request contradicts stored state (409)
├── AuthError            missing, unknown or revoked API key (401)
├── PolicyError          a policy failed to parse, validate or compile (422); names file, line, rule
└── StoreError           a storage backend failed; adapters translate driver errors into it (503)
"""

from __future__ import annotations


class TactfulError(Exception):
    code: str = "error"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InputRejected(TactfulError):
    code = "invalid_input"
    status = 422


class NotFound(TactfulError):
    code = "not_found"
    status = 404


class Conflict(TactfulError):
    code = "conflict"
    status = 409


class AuthError(TactfulError):
    code = "unauthorized"
    status = 401


class PolicyError(TactfulError):
    code = "policy_invalid"
    status = 422

    def __init__(
        self,
        message: str,
        *,
        source: str = "<policy>",
        line: int | None = None,
        rule_id: str | None = None,
        code: str | None = None,
    ) -> None:
        where = source + (f":{line}" if line is not None else "") + (f" [rule {rule_id}]" if rule_id else "")
        super().__init__(f"{where}: {message}", code=code)
        self.source = source
        self.line = line
        self.rule_id = rule_id


class StoreError(TactfulError):
    code = "store_unavailable"
    status = 503
