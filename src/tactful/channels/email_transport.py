"""E-mail in and out: replies by SMTP (aiosmtplib) threaded under the customer's mail, and customer
mail read from raw RFC 5322 bytes (the aiosmtpd listener in ``channels.smtp_inbound`` hands them here).

Reading a customer's mail: the text part is preferred; an HTML-only mail is reduced to its text
(scripts and styles dropped, never run or passed on); quoted history ("On … wrote:", "> …",
"-----Original Message-----", Outlook "From:/Sent:" blocks) and the signature are cut, so a long
thread reaches the engine as the new message only and is never refused for its length.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid, parseaddr
from html import escape

import aiosmtplib

from tactful.channels.base import DeliveryReceipt
from tactful.channels.transport import (
    InboundEvent,
    InboundKind,
    Outbound,
    ProviderRejected,
    ProviderUnavailable,
    WebhookRequest,
)
from tactful.domain import Channel
from tactful.errors import InputRejected
from tactful.knowledge.chunking import html_text

#: The largest mail read (the SMTP listener refuses bigger ones before they are buffered).
MAX_MAIL_BYTES = 10 * 1024 * 1024
#: Characters of new text kept from one mail (the guard's own limit applies after).
MAX_TEXT_CHARS = 20_000
_QUOTE_START = re.compile(
    r"^(?:On .{1,200}wrote:\s*$|-{2,}\s*Original Message\s*-{2,}|_{10,}\s*$|From:\s.+$|"
    r"Le .{1,200}a écrit\s*:|El .{1,200}escribió:|Am .{1,200}schrieb .{1,200}:)",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^--\s*$", re.MULTILINE)
_MSGID = re.compile(r"<[^<>\s]{1,250}>")


class MalformedMail(InputRejected):
    code = "malformed_mail"


def strip_quoted(text: str) -> str:
    """The new part of a reply: everything before the first quote header, without "> " lines or
    the signature."""
    text = text.replace("\r\n", "\n")
    cut = _QUOTE_START.search(text)
    if cut is not None and cut.start() > 0:
        text = text[: cut.start()]
    sig = _SIGNATURE.search(text)
    if sig is not None and sig.start() > 0:
        text = text[: sig.start()]
    lines = [line for line in text.split("\n") if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def parse_mail(raw: bytes) -> InboundEvent:
    """A customer's mail as an inbound event; ``MalformedMail`` for mail we cannot read."""
    if len(raw) > MAX_MAIL_BYTES:
        raise InputRejected(f"mail larger than {MAX_MAIL_BYTES} bytes", code="payload_too_large")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser raises many kinds on garbage; all mean the same here
        raise MalformedMail("the mail could not be parsed") from exc
    if not isinstance(msg, EmailMessage):  # pragma: no cover - policy.default always builds these
        raise MalformedMail("the mail could not be parsed")
    sender = parseaddr(str(msg.get("From", "")))[1]
    message_id = str(msg.get("Message-ID", "")).strip()
    if "@" not in sender or not _MSGID.fullmatch(message_id):
        raise MalformedMail("a mail needs a From address and a Message-ID")
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
        content = "" if body is None else body.get_content()
    except (LookupError, ValueError) as exc:  # unknown charset, broken transfer encoding
        raise MalformedMail(f"the mail's text could not be decoded ({type(exc).__name__})") from exc
    if body is not None and body.get_content_subtype() == "html":
        content = html_text(str(content))
    text = strip_quoted(str(content))[:MAX_TEXT_CHARS]
    if not text:
        raise MalformedMail("the mail has no readable text once quotes, scripts and markup are removed")
    references = tuple(_MSGID.findall(str(msg.get("References", ""))))
    thread = (*[r for r in references if r != message_id], message_id)
    subject = " ".join(str(msg.get("Subject", "")).split())
    return InboundEvent(
        kind=InboundKind.MESSAGE,
        channel=Channel.EMAIL,
        provider_event_id=message_id,
        sender=sender,
        conversation=thread[0],  # the thread's first mail names the conversation
        text=f"{subject}\n\n{text}" if subject and not subject.lower().startswith("re:") else text,
        thread=thread[-20:],
    )


def build_mail(message: Outbound, from_address: str) -> EmailMessage:
    """A reply with a plain and an HTML part, threaded under the customer's mail."""
    reply = message.reply
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = message.to
    subject = reply.subject or "Your support request"
    mail["Subject"] = subject if not message.thread or subject.lower().startswith("re:") else f"Re: {subject}"
    mail["Message-ID"] = make_msgid(
        idstring=message.decision_id, domain=from_address.rpartition("@")[2] or None
    )
    if message.thread:
        mail["In-Reply-To"] = message.thread[-1]
        mail["References"] = " ".join(message.thread)
    mail.set_content(reply.text)
    paragraphs = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in reply.text.split("\n\n"))
    mail.add_alternative(f"<!doctype html><html><body>{paragraphs}</body></html>", subtype="html")
    return mail


class SmtpTransport:
    provider = "smtp"
    channels = frozenset({Channel.EMAIL})

    def __init__(self, fields: Mapping[str, str], *, timeout_s: float = 15.0) -> None:
        self._host = fields["host"]
        self._port = int(fields.get("port", "587"))
        self._from = fields["from_address"]
        self._username = fields.get("username")
        self._password = fields.get("password")
        self._starttls = fields.get("starttls", "auto")
        self._timeout = timeout_s

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """Inbound mail arrives through the SMTP listener, whose server already received the bytes."""
        return [parse_mail(request.body)]

    def send(self, message: Outbound) -> DeliveryReceipt:
        mail = build_mail(message, self._from)
        start_tls = {"auto": None, "true": True, "false": False}.get(self._starttls.lower())
        try:
            asyncio.run(
                aiosmtplib.send(
                    mail,
                    hostname=self._host,
                    port=self._port,
                    username=self._username,
                    password=self._password,
                    start_tls=start_tls,
                    timeout=self._timeout,
                )
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ProviderRejected("the mail server refused the recipient") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                raise ProviderUnavailable(f"the mail server answered {exc.code} (try later)") from exc
            raise ProviderRejected(f"the mail server refused the mail ({exc.code})") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ProviderUnavailable(f"the mail server is unreachable ({type(exc).__name__})") from exc
        return DeliveryReceipt(
            channel=Channel.EMAIL,
            to=message.to,
            message_id=str(mail["Message-ID"]),
            accepted_at=datetime.now(UTC),
        )
