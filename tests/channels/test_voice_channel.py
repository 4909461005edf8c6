from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tactful.channels import VoiceChannel
from tactful.channels.voice import short_sentences
from tactful.domain import Channel, ToneProfile
from tactful.errors import InputRejected

TONE = ToneProfile()


def _sentences(ssml: str) -> list[str]:
    root = ET.fromstring(ssml)
    assert root.tag == "speak"
    return [s.text or "" for s in root.iter("s")]


def test_ssml_has_one_s_per_sentence_and_breaks_between() -> None:
    reply = VoiceChannel().fit("I've checked your order. It ships today!\n\nAnything else?", tone=TONE)
    assert reply.channel is Channel.VOICE
    assert reply.ssml is not None
    root = ET.fromstring(reply.ssml)
    assert _sentences(reply.ssml) == ["I've checked your order.", "It ships today!", "Anything else?"]
    breaks = [b.attrib["time"] for b in root.iter("break")]
    assert len(breaks) == 2
    assert int(breaks[1].removesuffix("ms")) == 2 * int(breaks[0].removesuffix("ms"))  # paragraph pause
    assert reply.text == "I've checked your order. It ships today! Anything else?"


def test_xml_special_characters_are_escaped() -> None:
    reply = VoiceChannel().fit('Fees & charges < 5 > 2 "quoted" it\'s fine.', tone=TONE)
    assert reply.ssml is not None
    assert "&amp;" in reply.ssml and "&lt;" in reply.ssml and "&quot;" in reply.ssml
    assert _sentences(reply.ssml) == ['Fees & charges < 5 > 2 "quoted" it\'s fine.']


def test_urls_and_markdown_are_not_spoken() -> None:
    text = (
        "# Update\n\n**Please** see https://example.com/help or [the guide](https://x.y/z). Use `reset` now."
    )
    reply = VoiceChannel().fit(text, tone=TONE)
    assert (
        "http" not in reply.text and "*" not in reply.text and "`" not in reply.text and "#" not in reply.text
    )
    assert reply.text == "Update. Please see our website or the guide. Use reset now."


def test_long_sentences_are_split_at_a_natural_joint() -> None:
    long = (
        "We have looked at the payment you made last week for the annual plan, and we can see that it was "
        "taken twice by mistake on the same day."
    )
    parts = short_sentences(long, 20)
    assert len(parts) == 2
    assert parts[0].endswith("annual plan.")
    assert parts[1].startswith("And we can see")
    assert all(len(p.split()) <= 20 for p in parts)


def test_a_sentence_without_joints_is_cut_at_the_word_limit() -> None:
    parts = short_sentences(" ".join(["word"] * 45), 20)
    assert [len(p.split()) for p in parts] == [20, 20, 5]
    assert all(p.endswith(".") for p in parts)


def test_pause_follows_tone() -> None:
    calm = VoiceChannel().fit("One. Two.", tone=ToneProfile(empathy=1.0, brevity=0.0)).ssml
    brisk = VoiceChannel().fit("One. Two.", tone=ToneProfile(empathy=0.0, brevity=1.0)).ssml
    assert calm is not None and brisk is not None
    assert 'time="450ms"' in calm and 'time="150ms"' in brisk


def test_text_with_nothing_speakable_is_rejected() -> None:
    with pytest.raises(InputRejected):
        VoiceChannel().fit("\x00\x01 ,", tone=TONE)
