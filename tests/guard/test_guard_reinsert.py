"""Keyed tokens from ``guard``, and ``reveal_reply`` / ``leaked_values`` (re-insertion and the leak check)."""

from __future__ import annotations

from tactful.domain import Channel, Reply
from tactful.guard import guard
from tactful.guard.crypto import new_key, stable_token, token_key
from tactful.guard.reinsert import leaked_values, reveal_reply, tokens_in


def test_guard_uses_the_tokeniser_so_a_value_keeps_its_token_across_messages() -> None:
    key = token_key(new_key())

    def tokeniser(kind: str, value: str) -> str:
        return stable_token(key, kind, value)

    one = guard("mail me at Anna@Example.com", tokeniser=tokeniser)
    two = guard("anna@example.com, again", tokeniser=tokeniser)
    assert one.pii[0].token == two.pii[0].token == stable_token(key, "email", "anna@example.com")
    assert one.text == f"mail me at {one.pii[0].token}"
    assert guard("mail me at anna@example.com").pii[0].token == "<EMAIL_1>"  # no tokeniser: numbered


def test_a_typed_lookalike_of_a_keyed_token_is_neutralised() -> None:
    g = guard("my code is <EMAIL_0412345678> ok")
    assert "<EMAIL_0412345678>" not in g.text and not g.pii


def _reply(text: str, channel: Channel = Channel.CHAT) -> Reply:
    return Reply(channel=channel, text=text, segments=(text,) if channel is Channel.SMS else ())


def test_reveal_inserts_known_tokens_and_removes_unknown_ones() -> None:
    reply = _reply("Hi <NAME_1>, we wrote to <EMAIL_2> and <EMAIL_9>.", Channel.SMS)
    assert tokens_in(reply) == {"<NAME_1>", "<EMAIL_2>", "<EMAIL_9>"}
    out = reveal_reply(reply, {"<NAME_1>": "Anna", "<EMAIL_2>": "a@b.io"}, public=False)
    assert out.text == "Hi Anna, we wrote to a@b.io and."
    assert out.segments == (out.text,)


def test_reveal_on_a_public_channel_inserts_nothing() -> None:
    out = reveal_reply(_reply("Hi <NAME_1>, thanks.", Channel.SOCIAL), {"<NAME_1>": "Anna"}, public=True)
    assert out.text == "Hi, thanks."


def test_leaks_are_values_not_re_inserted_on_purpose() -> None:
    sent = _reply("We wrote to a@b.io; is +44 7700 900123 yours?")
    assert leaked_values(sent, {"<EMAIL_1>": "a@b.io"}, ["a@b.io"]) == ["+44 7700 900123"]
    assert leaked_values(sent, {}, ["a@b.io"]) == ["a@b.io", "+44 7700 900123"]
    assert leaked_values(_reply("We wrote to a@b.io."), {"<EMAIL_1>": "a@b.io"}, ["a@b.io"]) == []
