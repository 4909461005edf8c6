from __future__ import annotations

from tactful.channels import EmailChannel
from tactful.channels.email import SUBJECT_MAX, is_greeting, is_signature
from tactful.domain import Channel, ToneProfile

TONE = ToneProfile()


def test_full_email_keeps_its_parts_separated_by_blank_lines() -> None:
    text = (
        "Hi <NAME_1>,\n\nYour refund is on its way. It should arrive soon.\n\nBest regards,\nCustomer Support"
    )
    reply = EmailChannel().fit(text, subject="Your refund", tone=TONE)
    assert reply.channel is Channel.EMAIL
    assert reply.subject == "Your refund"
    assert reply.text.split("\n\n") == [
        "Hi <NAME_1>,",
        "Your refund is on its way. It should arrive soon.",
        "Best regards,\nCustomer Support",
    ]


def test_bare_body_gets_greeting_and_signature_in_the_tone_register() -> None:
    formal = EmailChannel().fit("Your refund is on its way.", tone=ToneProfile(formality=0.9))
    casual = EmailChannel().fit("Your refund is on its way.", tone=ToneProfile(formality=0.1))
    assert formal.text == "Dear customer,\n\nYour refund is on its way.\n\nKind regards,\nCustomer Support"
    assert casual.text == "Hi there,\n\nYour refund is on its way.\n\nThanks,\nCustomer Support"
    assert formal.subject == "Your support request"


def test_body_paragraphs_hold_at_most_three_sentences() -> None:
    body = " ".join(f"Sentence {i}." for i in range(7))
    reply = EmailChannel().fit(f"Hello,\n\n{body}\n\nThanks,\nSupport", tone=TONE)
    paragraphs = reply.text.split("\n\n")
    assert paragraphs[0] == "Hello,"
    assert paragraphs[-1] == "Thanks,\nSupport"
    assert [p.count(".") for p in paragraphs[1:-1]] == [3, 2, 2]


def test_subject_is_one_header_safe_line_of_bounded_length() -> None:
    reply = EmailChannel().fit("Body.", subject="Hello\r\nBcc: victim@example.com", tone=TONE)
    assert reply.subject == "Hello Bcc: victim@example.com"
    long = EmailChannel().fit("Body.", subject="word " * 40, tone=TONE)
    assert long.subject is not None
    assert len(long.subject) <= SUBJECT_MAX and long.subject.endswith("...")
    assert long.truncated


def test_greeting_and_signature_detection() -> None:
    assert is_greeting("Dear customer,")
    assert is_greeting("Hi <NAME_1>,")
    assert not is_greeting("Hi there, thanks for your message.")
    assert is_signature("Kind regards,\nCustomer Support")
    assert is_signature("With warm regards,\nCustomer Support")
    assert is_signature("All the best,\nCustomer Support")
    assert not is_signature("Thanks for your patience.")
