"""Properties over random tones, actions, channels, signals and languages: every channel's
constraints hold (an SMS is encoded and split as an independent SMS library counts it), public text
never carries a PII token, and rendering is deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import smsutil
from hypothesis import given, settings
from hypothesis import strategies as st

from tactful.channels.email import is_greeting, is_signature
from tactful.channels.gsm import PART_LIMIT, SINGLE_LIMIT, encoding_of, length_in_units
from tactful.channels.social import weighted_length
from tactful.channels.tokens import PII_TOKEN
from tactful.domain import (
    PUBLIC_CHANNELS,
    Action,
    ActionType,
    Channel,
    PiiFinding,
    SentimentLabel,
    Signals,
    SupportIntent,
    ToneProfile,
)
from tactful.render import RenderRequest, TemplateRenderer

RENDERER = TemplateRenderer()

unit = st.floats(min_value=0, max_value=1, allow_nan=False)
tones = st.builds(ToneProfile, formality=unit, warmth=unit, empathy=unit, brevity=unit, directness=unit)
findings = st.builds(
    PiiFinding,
    kind=st.sampled_from(["email", "phone", "card", "name"]),
    token=st.sampled_from(["<EMAIL_1>", "<PHONE_1>", "<CARD_2>", "<NAME_3>"]),
)
signals = st.builds(
    Signals,
    intent=st.sampled_from(
        [
            *(i.value for i in SupportIntent),
            "billing_dispute",
            "app_crash",
            "password_reset",
            "",
            "unknown_intent_42",
        ]
    ),
    sentiment=st.sampled_from(list(SentimentLabel)),
    frustration=unit,
    anger=unit,
    urgency=unit,
    emotions=st.dictionaries(
        st.sampled_from(["confusion", "sadness", "fear", "gratitude"]), unit, max_size=3
    ),
    pii=st.lists(findings, max_size=3).map(tuple),
)


@st.composite
def requests(draw: st.DrawFn) -> RenderRequest:
    action = draw(st.sampled_from(list(ActionType)))
    inbound = draw(st.sampled_from(list(Channel)))
    channel = None if action is ActionType.NO_CONTACT else draw(st.sampled_from(list(Channel)))
    return RenderRequest(
        action=Action(type=action),
        channel=channel,
        inbound_channel=inbound,
        tone=draw(tones),
        signals=draw(signals),
        customer_name_token=draw(st.sampled_from([None, "<NAME_1>", "<NAME_12>"])),
        max_sms_segments=draw(st.integers(min_value=1, max_value=4)),
        language=draw(st.sampled_from(["en", "es", "de", "fr", "it", "pt"])),
        text=draw(
            st.sampled_from(["", "invoice please", "that fixed it, thanks", "factura", "funktioniert"])
        ),
    )


@settings(max_examples=600, deadline=None, derandomize=True)
@given(req=requests())
def test_every_render_satisfies_its_channel(req: RenderRequest) -> None:
    reply = RENDERER.render(req).reply
    assert reply.template_version == RENDERER.version
    if req.action.type is ActionType.NO_CONTACT:
        assert reply.channel is None and reply.text == ""
        return
    expected = req.inbound_channel if req.action.type is ActionType.SWITCH_CHANNEL else req.channel
    assert reply.channel is expected
    assert reply.text.strip()
    assert reply.template_id.startswith(req.action.type.value + ".")
    assert reply.language == req.language
    if req.language in ("en", "de"):  # their wording stays GSM-7; others may need their own letters
        assert encoding_of(reply.text.replace("<", "").replace(">", "")) == "GSM-7"

    if reply.channel in PUBLIC_CHANNELS:
        assert weighted_length(reply.text) <= 280
        assert PII_TOKEN.search(reply.text) is None
        for token in [f.token for f in req.signals.pii] + [req.customer_name_token or "<none>"]:
            assert token not in reply.text
        if req.signals.has_pii and req.language == "en":
            assert "privacy" in reply.text or "direct message" in reply.text or "DM us" in reply.text
    elif reply.channel is Channel.SOCIAL_DM:
        assert len(reply.text) <= 1000
    elif reply.channel is Channel.SMS:
        assert reply.segments and len(reply.segments) <= req.max_sms_segments
        assert "".join(reply.segments) == reply.text
        enc = encoding_of(reply.text)
        assert reply.encoding == enc
        limit = SINGLE_LIMIT[enc] if len(reply.segments) == 1 else PART_LIMIT[enc]
        assert all(length_in_units(s, enc) <= limit for s in reply.segments)
        # As an independent implementation counts it (smsutil: GSM 03.38 with the extension table,
        # else UTF-16).
        independent = smsutil.split(reply.text)
        assert [p.content for p in independent.parts] == list(reply.segments)
        assert (independent.encoding == "gsm0338") == (enc == "GSM-7")
    elif reply.channel is Channel.VOICE:
        assert reply.ssml is not None
        sentences = [s.text or "" for s in ET.fromstring(reply.ssml).iter("s")]
        assert " ".join(sentences) == reply.text
        assert all(len(s.split()) <= 20 for s in sentences)
    elif reply.channel is Channel.EMAIL:
        parts = reply.text.split("\n\n")
        assert len(parts) >= 3 and is_greeting(parts[0]) and is_signature(parts[-1])
        assert reply.subject and "\n" not in reply.subject
    elif reply.channel is Channel.CHAT:
        for paragraph in reply.text.split("\n\n"):
            assert sum(paragraph.count(p) for p in ".!?") <= 3


@settings(max_examples=100, deadline=None, derandomize=True)
@given(req=requests())
def test_rendering_is_deterministic(req: RenderRequest) -> None:
    assert RENDERER.render(req) == RENDERER.render(req)
