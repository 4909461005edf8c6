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
