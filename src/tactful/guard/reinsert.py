"""Putting a customer's own values back into a reply, and checking a reply for anyone else's.

The renderer works on tokens only (``Hi <NAME_0412345678>,``) and the stored decision keeps them.
Just before the reply leaves, ``reveal_reply`` swaps each token for its value when, and only when,
the value belongs to the customer the reply goes to and the channel is private; on a public channel
every token is removed instead. ``leaked_values`` then checks the text that would be sent: any
personal data in it that was not re-inserted on purpose (the customer's value on a public channel,
a value from another conversation, one the renderer copied from the input) is a leak.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tactful.channels.sms import fit_revealed
from tactful.channels.tokens import PII_TOKEN, strip_tokens
from tactful.domain import Channel, Reply
from tactful.guard.pii import canonical, detect_pii
from tactful.render import check_pii_leak


def tokens_in(reply: Reply) -> set[str]:
    found: set[str] = set()
    for text in (reply.text, reply.subject or "", reply.ssml or ""):
        found.update(PII_TOKEN.findall(text))
    return found


def reveal_reply(reply: Reply, values: Mapping[str, str], *, public: bool) -> Reply:
    """``reply`` with each token in ``values`` replaced by its value (tokens of no known value are
    removed); on a public channel every token is removed and nothing is inserted."""

    def swap(text: str | None) -> str | None:
        if text is None or "<" not in text:
            return text
        if not public:
            text = PII_TOKEN.sub(lambda m: values.get(m.group(), m.group()), text)
        return strip_tokens(text) if PII_TOKEN.search(text) else text

    return reply.model_copy(
        update={
            "text": swap(reply.text) or "",
            "subject": swap(reply.subject),
            "ssml": swap(reply.ssml),
            "segments": tuple(swap(s) or "" for s in reply.segments),
        }
    )


def reveal_for_delivery(
    reply: Reply, values: Mapping[str, str], *, public: bool, max_sms_segments: int = 3
) -> tuple[Reply, Reply]:
    """The reply to store (tokens) and the reply to deliver (``reveal_reply``). An SMS is encoded and
    split again once the values are in (``tactful.channels.sms.fit_revealed``): carriers count the
    text as sent, and one "ë" in a name makes the whole message UCS-2."""
    if reply.channel is Channel.SMS and not public:
        return fit_revealed(reply, values, max_sms_segments)
    return reply, reveal_reply(reply, values, public=public)


def leaked_values(reply: Reply, allowed: Mapping[str, str], others: Iterable[str]) -> list[str]:
    """Personal data in ``reply`` that is not one of the ``allowed`` (token → value) re-insertions:
    any of ``others`` (values of this message not re-inserted), or anything the detectors find."""
    text = "\n".join(t for t in (reply.text, reply.subject, reply.ssml) if t)
    permitted = set(allowed.values())
    leaked = check_pii_leak(text, [v for v in others if v not in permitted])
    ok = {canonical(kind, value) for kind in _KINDS for value in permitted}
    for span in detect_pii(text):
        if canonical(span.kind, span.value) not in ok and span.value not in leaked:
            leaked.append(span.value)
    return leaked


_KINDS = ("email", "phone", "card", "iban", "national_id", "address", "name")
