"""Golden renders: exact text for representative requests, and the renderer's contract."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tactful.domain import Action, ActionType, Channel, PiiFinding, SentimentLabel, Signals, ToneProfile
from tactful.errors import InputRejected
from tactful.render import RenderRequest, TemplateRenderer


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer()


def _req(
    action: ActionType,
    channel: Channel | None,
    inbound: Channel | None = None,
    tone: ToneProfile | None = None,
    signals: Signals | None = None,
    name: str | None = None,
    cap: int = 3,
) -> RenderRequest:
    return RenderRequest(
        action=Action(type=action),
        channel=channel,
        inbound_channel=inbound or channel or Channel.CHAT,
        tone=tone or ToneProfile(),
        signals=signals or Signals(),
        customer_name_token=name,
        max_sms_segments=cap,
    )


def test_reply_billing_chat_neutral(renderer: TemplateRenderer) -> None:
    reply = renderer.render(
        _req(ActionType.REPLY, Channel.CHAT, signals=Signals(intent="billing_question"), name="<NAME_1>")
    )
    assert reply.text == (
        "Hi <NAME_1>, thanks for your message. I've looked into your billing question. "
        "I'll go through the charge line by line and confirm exactly what it covers.\n\n"
        "If anything was charged in error, we'll put it right. Let me know if anything else looks wrong."
    )
    assert reply.channel is Channel.CHAT
    assert reply.template_id == "reply.billing"
    assert reply.template_version == renderer.version == "templates-2026.11.3"


def test_public_pii_switch_to_dm_asks_to_move_and_repeats_nothing(renderer: TemplateRenderer) -> None:
    signals = Signals(
        intent="account_access",
        sentiment=SentimentLabel.NEGATIVE,
        pii=(PiiFinding(kind="phone", token="<PHONE_1>"),),
    )
    reply = renderer.render(
        _req(ActionType.SWITCH_CHANNEL, Channel.SOCIAL_DM, Channel.SOCIAL, signals=signals, name="<NAME_1>")
    )
    assert reply.text == (
        "Hi, I've sent you a direct message so we can continue privately. "
        "For your privacy, please don't post personal details publicly."
    )
    assert reply.channel is Channel.SOCIAL  # the notice is posted where the customer wrote
    assert reply.template_id == "switch_channel.to_social_dm"
    assert "<" not in reply.text


def test_clarify_asks_a_specific_question_by_sms(renderer: TemplateRenderer) -> None:
    tone = ToneProfile(formality=0.2, warmth=0.2, brevity=0.6)
    reply = renderer.render(
        _req(ActionType.CLARIFY, Channel.SMS, tone=tone, signals=Signals(intent="where_is_my_order"))
    )
    assert reply.text == "Hi there, could you send me your order number so I can track down the parcel?"
    assert reply.encoding == "GSM-7"
    assert reply.segments == (reply.text,)
    assert reply.template_id == "clarify.delivery"


def test_clarify_on_a_public_channel_asks_for_details_by_dm(renderer: TemplateRenderer) -> None:
    reply = renderer.render(_req(ActionType.CLARIFY, Channel.SOCIAL, signals=Signals(intent="refund_status")))
    assert reply.text == (
        "Hi, thanks for your message. "
        "Could you send us the details by direct message rather than posting them here?"
    )


def test_handoff_on_voice_says_a_person_takes_over(renderer: TemplateRenderer) -> None:
    tone = ToneProfile(formality=0.8, empathy=0.9)
    signals = Signals(intent="complaint", sentiment=SentimentLabel.NEGATIVE, anger=0.8)
    reply = renderer.render(_req(ActionType.HANDOFF_HUMAN, Channel.VOICE, tone=tone, signals=signals))
    assert reply.text == (
        "Thank you for contacting us. I sincerely apologise, and I understand why you are upset. "
        "I want to make sure this gets the attention it deserves. "
        "I am transferring you to a senior member of our team now. "
        "They will have everything we have discussed, so you will not need to repeat yourself. "
        "Thank you for your patience while we resolve this."
    )
    assert reply.ssml is not None
    assert len(list(ET.fromstring(reply.ssml).iter("s"))) == 6


def test_offer_callback_email_is_formal_with_subject(renderer: TemplateRenderer) -> None:
    tone = ToneProfile(formality=0.9, warmth=0.8)
    reply = renderer.render(
        _req(
            ActionType.OFFER_CALLBACK,
            Channel.EMAIL,
            tone=tone,
            signals=Signals(intent="technical_issue"),
            name="<NAME_2>",
        )
    )
    assert reply.subject == "Would a telephone call be helpful?"
    assert reply.text == (
        "Dear <NAME_2>,\n\n"
        "Thank you very much for contacting us. This is often easier to resolve by telephone. "
        "Would you like us to arrange a call at a time that suits you?\n\n"
        "Please reply with a convenient day and time, and we will call you then. "
        "We wish you a pleasant day.\n\n"
        "With warm regards,\nCustomer Support"
    )


def test_no_contact_renders_nothing(renderer: TemplateRenderer) -> None:
    reply = renderer.render(_req(ActionType.NO_CONTACT, None, Channel.SMS))
    assert reply.channel is None
    assert reply.text == ""
    assert reply.template_id == "no_contact"
    assert reply.template_version == renderer.version


def test_a_channel_is_required_except_for_no_contact(renderer: TemplateRenderer) -> None:
    with pytest.raises(InputRejected):
        renderer.render(_req(ActionType.REPLY, None, Channel.CHAT))


@pytest.mark.parametrize("name", ["Alice", "<name_1>", "Alice <NAME_1>", ""])
def test_raw_names_are_refused(renderer: TemplateRenderer, name: str) -> None:
    with pytest.raises(InputRejected, match="PII token"):
        renderer.render(_req(ActionType.REPLY, Channel.CHAT, name=name))


def test_name_token_is_used_in_private_channels_but_never_in_public(renderer: TemplateRenderer) -> None:
    private = renderer.render(_req(ActionType.REPLY, Channel.SOCIAL_DM, name="<NAME_1>"))
    public = renderer.render(_req(ActionType.REPLY, Channel.SOCIAL, name="<NAME_1>"))
    assert private.text.startswith("Hi <NAME_1>,")
    assert "<NAME_1>" not in public.text and public.text.startswith("Hi,")


@pytest.mark.parametrize(
    ("intent", "family"),
    [
        ("billing_dispute", "billing"),
        ("REFUND_REQUEST", "refund"),
        ("order_status", "delivery"),
        ("app_crash", "technical"),
        ("password_reset", "account"),
        ("cancel_subscription", "cancel"),
        ("complaint", "complaint"),
        ("gratitude", "praise"),
        ("weather", "default"),
    ],
)
def test_intent_families_pick_the_template(renderer: TemplateRenderer, intent: str, family: str) -> None:
    reply = renderer.render(_req(ActionType.REPLY, Channel.CHAT, signals=Signals(intent=intent)))
    assert reply.template_id == f"reply.{family}"


@pytest.mark.parametrize(
    ("target", "phrase"),
    [
        (Channel.SOCIAL_DM, "I've sent you a direct message"),
        (Channel.EMAIL, "I've sent you an email"),
        (Channel.SMS, "I've sent you a text message"),
        (Channel.VOICE, "We'll call you shortly"),
        (Channel.CHAT, "continue in our live chat"),
    ],
)
def test_switch_channel_names_where_we_continue(
    renderer: TemplateRenderer, target: Channel, phrase: str
) -> None:
    reply = renderer.render(_req(ActionType.SWITCH_CHANNEL, target, Channel.SOCIAL))
    assert phrase in reply.text


def test_same_request_same_text_across_renderer_instances(renderer: TemplateRenderer) -> None:
    req = _req(
        ActionType.REPLY,
        Channel.SMS,
        tone=ToneProfile(empathy=0.9, warmth=0.9, brevity=0.1),
        signals=Signals(intent="delivery_late", sentiment=SentimentLabel.NEGATIVE, frustration=0.9),
        name="<NAME_1>",
    )
    assert renderer.render(req) == renderer.render(req) == TemplateRenderer().render(req)


def test_sms_cap_from_the_request_is_applied(renderer: TemplateRenderer) -> None:
    req = _req(
        ActionType.REPLY,
        Channel.SMS,
        tone=ToneProfile(warmth=0.9, empathy=0.9, brevity=0.0),
        signals=Signals(intent="refund", sentiment=SentimentLabel.NEGATIVE, frustration=0.9),
        cap=1,
    )
    reply = renderer.render(req)
    assert len(reply.segments) == 1 and reply.truncated
    assert reply.text.endswith((".", "!", "?"))


def test_empathy_acknowledges_the_detected_emotion(renderer: TemplateRenderer) -> None:
    tone = ToneProfile(empathy=0.9)
    cases = {
        "frustrat": Signals(frustration=0.8),
        "confus": Signals(emotions={"confusion": 0.8}),
        "urgent": Signals(urgency=0.9),
        "worrying": Signals(emotions={"fear": 0.7}),
    }
    for marker, signals in cases.items():
        text = renderer.render(_req(ActionType.REPLY, Channel.CHAT, tone=tone, signals=signals)).text
        assert marker in text.lower(), (marker, text)
    calm = renderer.render(_req(ActionType.REPLY, Channel.CHAT, tone=tone, signals=Signals())).text
    assert "sorry" not in calm.lower() and "frustrat" not in calm.lower()
