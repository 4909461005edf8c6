from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tactful.channels import (
    ChannelRegistry,
    DeliveryNotConfigured,
    RecordingChannel,
    adapter_for,
    fitter_for,
)
from tactful.domain import Channel, Reply, ToneProfile
from tactful.errors import InputRejected, NotFound

NOW = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)
TONE = ToneProfile()


def test_recording_channel_fits_like_the_real_one_and_keeps_what_it_sends() -> None:
    rec = RecordingChannel(fitter_for(Channel.SMS), clock=lambda: NOW, capacity=2)
    reply = rec.fit("x" * 200, tone=TONE)
    assert len(reply.segments) == 2
    receipt = rec.send(reply, to="<PHONE_1>")
    assert receipt.channel is Channel.SMS
    assert receipt.parts == 2
    assert receipt.accepted_at == NOW
    assert receipt.message_id == "rec-sms-00000001"
    assert [s.reply for s in rec.sent] == [reply]
    rec.send(reply, to="a")
    rec.send(reply, to="b")
    assert [s.to for s in rec.sent] == ["a", "b"]  # bounded: the oldest was dropped
    rec.clear()
    assert rec.sent == []


def test_recording_channel_rejects_wrong_channel_empty_text_and_no_recipient() -> None:
    rec = RecordingChannel(fitter_for(Channel.CHAT))
    with pytest.raises(InputRejected):
        rec.send(Reply(channel=Channel.SMS, text="hi"), to="x")
    with pytest.raises(InputRejected):
        rec.send(Reply(channel=Channel.CHAT, text=" "), to="x")
    with pytest.raises(InputRejected):
        rec.send(Reply(channel=Channel.CHAT, text="hi"), to=" ")


@pytest.mark.parametrize("channel", list(Channel))
def test_default_registry_serves_every_channel_with_a_recording_adapter(channel: Channel) -> None:
    adapter = adapter_for(channel)
    assert isinstance(adapter, RecordingChannel)
    assert adapter.channel is channel


@pytest.mark.parametrize("channel", list(Channel))
def test_bare_fitters_do_not_deliver(channel: Channel) -> None:
    fitter = fitter_for(channel)
    reply = fitter.fit("Hello there.", tone=TONE)
    with pytest.raises(DeliveryNotConfigured) as info:
        fitter.send(reply, to="x")
    assert info.value.code == "delivery_not_configured"


def test_registry_replace_and_missing_channel() -> None:
    registry = ChannelRegistry({Channel.CHAT: fitter_for(Channel.CHAT)})
    with pytest.raises(NotFound):
        registry.adapter_for(Channel.SMS)
    sms = RecordingChannel(fitter_for(Channel.SMS))
    assert registry.replace(sms).adapter_for(Channel.SMS) is sms
    with pytest.raises(ValueError, match="registered under"):
        ChannelRegistry({Channel.SMS: fitter_for(Channel.CHAT)})
