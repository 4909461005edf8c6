"""Which adapter serves which channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache, lru_cache

from tactful.channels.base import ChannelAdapter
from tactful.channels.chat import ChatChannel
from tactful.channels.email import EmailChannel
from tactful.channels.recording import RecordingChannel
from tactful.channels.sms import SmsChannel
from tactful.channels.social import SocialChannel
from tactful.channels.voice import VoiceChannel
from tactful.domain import Channel
from tactful.errors import NotFound


@lru_cache(maxsize=64)
def fitter_for(channel: Channel, *, max_sms_segments: int = 3) -> ChannelAdapter:
    """The stateless adapter that shapes text for ``channel`` (shared; it keeps no per-call state)."""
    if channel is Channel.SMS:
        return SmsChannel(max_segments=max_sms_segments)
    if channel is Channel.CHAT:
        return ChatChannel()
    if channel is Channel.VOICE:
        return VoiceChannel()
    if channel is Channel.EMAIL:
        return EmailChannel()
    return SocialChannel(channel)


class ChannelRegistry:
    """Adapters by channel. Build one with real transports, or ``recording()`` for the in-process default."""

    def __init__(self, adapters: Mapping[Channel, ChannelAdapter]) -> None:
        for channel, adapter in adapters.items():
            if adapter.channel is not channel:
                raise ValueError(f"adapter for {adapter.channel.value} registered under {channel.value}")
        self._adapters = dict(adapters)

    @classmethod
    def recording(
        cls, *, clock: Callable[[], datetime] | None = None, capacity: int = 1000, max_sms_segments: int = 3
    ) -> ChannelRegistry:
        return cls(
            {
                ch: RecordingChannel(
                    fitter_for(ch, max_sms_segments=max_sms_segments), clock=clock, capacity=capacity
                )
                for ch in Channel
            }
        )

    def adapter_for(self, channel: Channel) -> ChannelAdapter:
        try:
            return self._adapters[channel]
        except KeyError:
            raise NotFound(f"no adapter registered for channel {channel.value!r}") from None

    def replace(self, adapter: ChannelAdapter) -> ChannelRegistry:
        """A copy with ``adapter`` serving its channel (e.g. a real SMS gateway)."""
        return ChannelRegistry({**self._adapters, adapter.channel: adapter})


@cache
def default_registry() -> ChannelRegistry:
    """The process-wide default: recording adapters. Built on first use, not at import."""
    return ChannelRegistry.recording()


def adapter_for(channel: Channel) -> ChannelAdapter:
    return default_registry().adapter_for(channel)
