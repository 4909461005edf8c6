"""Event times accepted from outside: timezone-aware and inside a window every later step can handle.

``datetime`` itself spans years 1–9999 in local time, so ``0001-01-01T00:00:00+14:00`` parses but
overflows when converted to UTC, and a time near either end overflows once a window or TTL is added
to it. Anything outside ``EARLIEST``–``LATEST`` (UTC) is rejected at the edge with the error type
``invalid_timestamp`` (HTTP 422), so such a value never reaches the engine or the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
INVALID_TIMESTAMP = "invalid_timestamp"


def check_event_time(value: datetime) -> datetime:
    """``value`` unchanged when it lies in [EARLIEST, LATEST) UTC; else a validation error."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise PydanticCustomError(
            INVALID_TIMESTAMP,
            "timestamp {value} is outside {earliest} .. {latest} (UTC)",
            {"value": value.isoformat(), "earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )
    return value


#: A timezone-aware time inside the accepted window (message, outcome and query times).
EventTime = Annotated[AwareDatetime, AfterValidator(check_event_time)]
