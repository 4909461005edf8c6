"""Channel adapters: fit a reply to each channel's constraints, and deliver it.

``adapter_for(channel)`` returns the process default (a ``RecordingChannel`` that fits like the real
channel and keeps what it sends); ``fitter_for`` returns the bare fitting adapter.
"""

from tactful.channels.base import ChannelAdapter, DeliveryNotConfigured, DeliveryReceipt
from tactful.channels.chat import ChatChannel
from tactful.channels.email import EmailChannel
from tactful.channels.recording import RecordingChannel, SentReply
from tactful.channels.registry import ChannelRegistry, adapter_for, default_registry, fitter_for
from tactful.channels.sms import SmsChannel
from tactful.channels.social import SocialChannel
from tactful.channels.voice import VoiceChannel

__all__ = [
    "ChannelAdapter",
    "ChannelRegistry",
    "ChatChannel",
    "DeliveryNotConfigured",
    "DeliveryReceipt",
    "EmailChannel",
    "RecordingChannel",
    "SentReply",
    "SmsChannel",
    "SocialChannel",
    "VoiceChannel",
    "adapter_for",
    "default_registry",
    "fitter_for",
]
