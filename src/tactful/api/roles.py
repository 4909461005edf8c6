"""Which key roles may call what. Fuller least-privilege rules arrive with the governance issue."""

from __future__ import annotations

from tactful.errors import TactfulError
from tactful.store.base import ApiKeyRecord


class Forbidden(TactfulError):
    code = "forbidden_role"
    status = 403


def require(key: ApiKeyRecord, *roles: str) -> None:
    if key.role not in roles:
        raise Forbidden(f"a {key.role!r} key cannot do this; needs one of: {', '.join(roles)}")
