"""Channels and the facts about them that policy and rendering depend on."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    CHAT = "chat"
    SMS = "sms"
    VOICE = "voice"
    EMAIL = "email"
    SOCIAL = "social"  # a public post or reply (e.g. a tweet): anyone can read it
    SOCIAL_DM = "social_dm"  # a private message on a social network


#: Channels whose content anyone can read. Personal data must never go there.
PUBLIC_CHANNELS: frozenset[Channel] = frozenset({Channel.SOCIAL})

#: Channels that interrupt the customer (their phone rings or buzzes). Quiet hours apply to
#: initiating or switching to them.
INTRUSIVE_CHANNELS: frozenset[Channel] = frozenset({Channel.SMS, Channel.VOICE})

#: Where a conversation on a public channel continues privately with the same customer (a DM in
#: answer to a public post). Moving there answers the customer; it does not initiate a contact.
PRIVATE_COUNTERPART: dict[Channel, Channel] = {Channel.SOCIAL: Channel.SOCIAL_DM}


def continues_conversation(inbound: Channel, channel: Channel) -> bool:
    """True when answering on ``channel`` is a reply to a message received on ``inbound``, not a new
    (proactive) contact: the same channel, or its private counterpart."""
    return channel is inbound or PRIVATE_COUNTERPART.get(inbound) is channel
