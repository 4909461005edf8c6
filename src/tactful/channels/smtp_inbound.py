"""The inbound mail listener: an aiosmtpd server that takes customer mail for a tenant's address
(``anything+<tenant_id>@your-domain``) and hands the raw bytes to the channel service.

Memory stays bounded: aiosmtpd refuses a mail over ``data_size_limit`` (552) while it streams in,
so a 25 MB attachment is never held whole. A mail we cannot read is refused with 550 and the reason
(the sender's server bounces it to them); a failure on our side answers 451, so the sending server
keeps the mail and retries: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller

from tactful.channels.email_transport import MAX_MAIL_BYTES
from tactful.errors import InputRejected

log = logging.getLogger(__name__)

_TENANT = re.compile(r"^[^@+\s]+\+(ten_[A-Za-z0-9]{1,60})@", re.IGNORECASE)


def tenant_of(address: str) -> str | None:
    match = _TENANT.match(address.strip())
    return None if match is None else match.group(1)


class InboundMailHandler:
    """aiosmtpd handler; ``on_mail(tenant_id, raw)`` runs in a worker thread (it decides and queues)."""

    def __init__(self, on_mail: Callable[[str, bytes], object]) -> None:
        self._on_mail = on_mail

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if tenant_of(address) is None:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "replace")
        tenants = {t for t in map(tenant_of, envelope.rcpt_tos) if t is not None}
        try:
            for tenant in sorted(tenants):
                await asyncio.to_thread(self._on_mail, tenant, data)
        except InputRejected as exc:
            return f"550 5.6.0 {exc.code}: {exc.message}"[:500]
        except Exception:
            log.exception("inbound mail could not be processed; the sender will retry")
            return "451 4.3.0 temporary failure, try again later"
        return "250 OK"


def mail_listener(
    on_mail: Callable[[str, bytes], object], *, host: str = "127.0.0.1", port: int = 2525
) -> Controller:
    """A started-on-``start()`` SMTP listener (``controller.stop()`` ends it)."""
    return Controller(InboundMailHandler(on_mail), hostname=host, port=port, data_size_limit=MAX_MAIL_BYTES)
