from __future__ import annotations

import pytest

from tactful.channels import ChatChannel, SocialChannel
from tactful.channels.sentences import group, shorten, split_sentences
from tactful.channels.social import weighted_length
from tactful.channels.tokens import strip_tokens
from tactful.domain import Channel, ToneProfile
from tactful.errors import InputRejected

TONE = ToneProfile()


def test_chat_paragraphs_hold_at_most_three_sentences_balanced() -> None:
    text = " ".join(f"Point {i} is made." for i in range(7))
    reply = ChatChannel().fit(text, tone=TONE)
    paragraphs = reply.text.split("\n\n")
    assert [len(split_sentences(p)) for p in paragraphs] == [3, 2, 2]


def test_group_balances_paragraphs() -> None:
    assert group(["a.", "b.", "c.", "d."], 3) == ["a. b.", "c. d."]
    assert group(["a."], 3) == ["a."]
    assert group([], 3) == []


def test_shorten_prefers_sentence_then_word_then_hard_cut() -> None:
    assert shorten("One. Two. Three.", lambda t: len(t) <= 9) == ("One. Two.", True)
    assert shorten("alpha beta gamma", lambda t: len(t) <= 13) == ("alpha beta...", True)
    assert shorten("abcdefghij", lambda t: len(t) <= 6) == ("abc...", True)
    assert shorten("fits", lambda t: len(t) <= 10) == ("fits", False)


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("hello", 5),
        ("héllo", 5),  # Latin-1 weighs 1
        ("e\u0301", 1),  # NFC composes e + combining acute into one code point
        ("日本", 4),  # CJK weighs 2
        ("😀", 2),
        ("see https://t.co/x", 4 + 23),  # a short link still counts 23
        ("see example.com", 4 + 23),  # a bare domain counts as a link
        ("x" + " https://example.com/" + "a" * 40, 2 + 60),  # a long link counts its real length
    ],
)
def test_weighted_length(text: str, weight: int) -> None:
    assert weighted_length(text) == weight


def test_public_post_is_capped_at_280_and_cut_at_a_sentence() -> None:
    text = " ".join(["This is a perfectly ordinary sentence of support text."] * 10)
    reply = SocialChannel(Channel.SOCIAL).fit(text, tone=TONE)
    assert reply.truncated
    assert weighted_length(reply.text) <= 280
    assert reply.text.endswith(".")


def test_public_post_never_carries_pii_tokens() -> None:
    reply = SocialChannel(Channel.SOCIAL).fit("Hi <NAME_1>, we emailed <EMAIL_2> today.", tone=TONE)
    assert reply.text == "Hi, we emailed today."


def test_nested_tokens_do_not_survive_stripping() -> None:
    assert strip_tokens("a <A<NAME_1>_1> b") == "a b"


def test_dm_keeps_tokens_and_allows_1000_chars() -> None:
    dm = SocialChannel(Channel.SOCIAL_DM)
    assert dm.fit("Hi <NAME_1>, thanks.", tone=TONE).text == "Hi <NAME_1>, thanks."
    reply = dm.fit(" ".join(["A sentence that is forty characters long."] * 40), tone=TONE)
    assert reply.truncated and len(reply.text) <= 1000 and len(reply.text) > 900


def test_public_post_of_only_tokens_is_rejected() -> None:
    with pytest.raises(InputRejected):
        SocialChannel(Channel.SOCIAL).fit("<NAME_1> <EMAIL_1>", tone=TONE)


def test_social_adapter_refuses_other_channels() -> None:
    with pytest.raises(ValueError, match="social"):
        SocialChannel(Channel.SMS)
