"""Every adapter's constraints hold for arbitrary text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from tactful.channels import ChatChannel, EmailChannel, SmsChannel, SocialChannel, VoiceChannel
from tactful.channels.gsm import PART_LIMIT, SINGLE_LIMIT, encoding_of, length_in_units
from tactful.channels.sentences import _LINE_SPACES, _SPACES, _flat
from tactful.channels.social import weighted_length
from tactful.channels.tokens import PII_TOKEN
from tactful.domain import Channel, ToneProfile
from tactful.errors import InputRejected

unit = st.floats(min_value=0, max_value=1, allow_nan=False)
tones = st.builds(ToneProfile, formality=unit, warmth=unit, empathy=unit, brevity=unit, directness=unit)
# Mix realistic prose pieces with arbitrary characters (emoji, GSM extension chars, tokens, markup).
pieces = st.sampled_from(
    [
        "Hello there.",
        "We'll fix it!",
        "Is that OK?",
        "€{}[]~",
        "😀",
        "👍🏽",
        "<NAME_1>",
        "<EMAIL_2>",
        "ж",
        "\n\n",
        "https://example.com/x",
        "**bold**",
        "&<>\"'",
        " ",
        "word",
        "ç",
    ]
)
texts = st.lists(st.one_of(pieces, st.text(max_size=30)), min_size=1, max_size=60).map("".join)


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=texts, tone=tones, cap=st.integers(min_value=1, max_value=5))
def test_sms_segments_respect_encoding_limits_and_cap(text: str, tone: ToneProfile, cap: int) -> None:
    try:
        reply = SmsChannel(max_segments=cap).fit(text, tone=tone)
    except InputRejected:
        assert not text.strip()
        return
    assert reply.encoding == encoding_of(reply.text)
    assert 1 <= len(reply.segments) <= cap
    assert "".join(reply.segments) == reply.text
    enc = encoding_of(reply.text)
    single = len(reply.segments) == 1
    for segment in reply.segments:
        assert length_in_units(segment, enc) <= (SINGLE_LIMIT[enc] if single else PART_LIMIT[enc])
        assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in segment)  # no half surrogate pairs


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=texts, tone=tones)
def test_voice_ssml_is_always_well_formed(text: str, tone: ToneProfile) -> None:
    try:
        reply = VoiceChannel().fit(text, tone=tone)
    except InputRejected:
        return  # nothing speakable (checked separately); well-formedness is about what we emit
    assert reply.ssml is not None
    root = ET.fromstring(reply.ssml)
    sentences = [s.text or "" for s in root.iter("s")]
    assert sentences and all(len(s.split()) <= 20 for s in sentences)
    assert " ".join(sentences) == reply.text
    assert "http" not in reply.text.lower()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=texts, tone=tones)
def test_public_social_is_short_and_token_free(text: str, tone: ToneProfile) -> None:
    try:
        reply = SocialChannel(Channel.SOCIAL).fit(text, tone=tone)
    except InputRejected:
        return
    assert weighted_length(reply.text) <= 280
    assert PII_TOKEN.search(reply.text) is None
    assert reply.text.strip()


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=texts, tone=tones)
def test_dm_chat_and_email_shapes(text: str, tone: ToneProfile) -> None:
    if not text.strip():
        return
    assert len(SocialChannel(Channel.SOCIAL_DM).fit(text, tone=tone).text) <= 1000
    chat = ChatChannel().fit(text, tone=tone)
    assert len(chat.text) <= 4000
    email = EmailChannel().fit(text, subject=text, tone=tone)
    parts = email.text.split("\n\n")
    assert len(parts) >= 3
    assert email.subject and "\n" not in email.subject and "\r" not in email.subject


@settings(derandomize=True)
@given(text=st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=200).filter(_has_word))
def test_voice_accepts_any_text_with_a_word(text: str) -> None:
    reply = VoiceChannel().fit(text, tone=ToneProfile())
    assert reply.text


spacey = st.lists(st.sampled_from(["a", ".", " ", "  ", "\t", "\n", "\r", "\u00a0", "\u2003", "\x0b"]))


@given(spacey.map("".join))
@settings(max_examples=300, deadline=None)
def test_flattening_skips_only_substitutions_that_change_nothing(text: str) -> None:
    # The fast path of split_sentences (issue 12) against the two substitutions it replaces.
    assert _flat(text) == _SPACES.sub(" ", _LINE_SPACES.sub(" ", text))
