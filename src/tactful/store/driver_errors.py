"""Translation of driver and SQLAlchemy errors into Tactful's error hierarchy at the store boundary.

Callers only ever see ``TactfulError`` subclasses from a store; nothing falls back silently.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from tactful.errors import Conflict, StoreError

P = ParamSpec("P")
R = TypeVar("R")


def _describe(exc: SQLAlchemyError) -> str:
    # The driver's own message, never SQLAlchemy's str(): that embeds bound parameters, which can
    # hold customer data.
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {str(exc.orig).strip()}"
    return type(exc).__name__


def translate_driver_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Wrap a public store method so driver failures surface as ``StoreError`` / ``Conflict``."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except IntegrityError as exc:
            # The expected constraint violations are handled inside the methods; one that escapes
            # means the request contradicts stored state in a way we did not anticipate.
            raise Conflict(f"{method.__name__}: {_describe(exc)}", code="integrity_conflict") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"{method.__name__}: storage failed: {_describe(exc)}") from exc

    return wrapper
