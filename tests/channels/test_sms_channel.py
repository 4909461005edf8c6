from __future__ import annotations

import pytest

from tactful.channels import SmsChannel
from tactful.channels.gsm import length_in_units
from tactful.domain import Channel, ToneProfile
from tactful.errors import InputRejected

TONE = ToneProfile()


def test_short_text_is_one_gsm_segment() -> None:
    reply = SmsChannel().fit("Your parcel is on its way.", tone=TONE)
    assert reply.channel is Channel.SMS
    assert reply.encoding == "GSM-7"
    assert reply.segments == ("Your parcel is on its way.",)
    assert not reply.truncated


def test_typographic_punctuation_is_replaced_to_stay_gsm7() -> None:
    reply = SmsChannel().fit("We’ll call you – “soon”…", tone=TONE)
    assert reply.text == 'We\'ll call you - "soon"...'
    assert reply.encoding == "GSM-7"


def test_cap_truncates_at_a_sentence_boundary() -> None:
    sentence = "This sentence is exactly forty-nine characters ok."
    assert len(sentence) == 50
    text = " ".join([sentence] * 8)  # 407 chars: 3 segments
    reply = SmsChannel(max_segments=2).fit(text, tone=TONE)
    assert reply.truncated
    assert len(reply.segments) <= 2
    assert reply.text.endswith(".")
    assert reply.text == " ".join([sentence] * 6)  # 305 chars <= 306
    assert "".join(reply.segments) == reply.text


def test_cap_one_segment_uses_the_single_message_size() -> None:
    text = " ".join(["Short one."] * 20)
    reply = SmsChannel(max_segments=1).fit(text, tone=TONE)
    assert reply.segments == (reply.text,)
    assert length_in_units(reply.text) <= 160
    assert len(reply.text) > 150  # used the 160, not 153
    assert reply.text.endswith(".")


def test_one_long_sentence_is_cut_at_a_word_with_an_ellipsis() -> None:
    text = "word " * 100  # no sentence boundary at all
    reply = SmsChannel(max_segments=1).fit(text, tone=TONE)
    assert reply.truncated
    assert reply.text.endswith("word...")
    assert length_in_units(reply.text) <= 160


def test_truncation_never_splits_an_emoji() -> None:
    text = "😀" * 200
    reply = SmsChannel(max_segments=2).fit(text, tone=TONE)
    assert reply.encoding == "UCS-2"
    assert len(reply.segments) <= 2
    for segment in reply.segments:
        assert all(not 0xD800 <= ord(ch) <= 0xDFFF for ch in segment)
        assert length_in_units(segment, "UCS-2") <= 67


def test_truncated_ucs2_text_may_fall_back_to_gsm7() -> None:
    text = "Plain first sentence here. " * 3 + "Then an emoji 😀 " + "x" * 300
    reply = SmsChannel(max_segments=1).fit(text, tone=TONE)
    assert reply.encoding == "GSM-7"  # the cut dropped the only non-GSM character
    assert reply.text.endswith("here.")


def test_blank_text_is_rejected() -> None:
    with pytest.raises(InputRejected):
        SmsChannel().fit("   ", tone=TONE)


def test_invalid_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="max_segments"):
        SmsChannel(max_segments=0)
