"""An SMS is encoded and split as carriers count the text actually sent, after the customer's own
values are re-inserted: a name with "ë" makes the whole message UCS-2. Checked against an independent
SMS library (smsutil), in every language the templates speak."""

from __future__ import annotations

import itertools

import pytest
import smsutil

from tactful.channels.gsm import encoding_of
from tactful.channels.registry import fitter_for
from tactful.channels.sms import fit_revealed
from tactful.domain import Action, ActionType, Channel, Reply, Signals, SupportIntent, ToneProfile
from tactful.engine import Engine, EngineParts
from tactful.guard.reinsert import reveal_for_delivery
from tactful.render import RenderRequest, TemplateRenderer
from tactful.store.base import Store
from tests.conftest import FixedClock, MessageFactory

RENDERER = TemplateRenderer()


def _sms(text: str, cap: int = 3) -> Reply:
    return fitter_for(Channel.SMS, max_sms_segments=cap).fit(text, tone=ToneProfile())


def _independent(text: str) -> tuple[str, list[str]]:
    split = smsutil.split(text)
    return ("GSM-7" if split.encoding == "gsm0338" else "UCS-2"), [p.content for p in split.parts]


def test_a_name_outside_gsm7_turns_a_one_part_reply_into_ucs2_parts() -> None:
    stored = _sms(
        "Hi <NAME_1>, I understand you're waiting on your order. Send me your order number and "
        "I'll chase the courier, and we'll sort it out today."
    )
    assert stored.encoding == "GSM-7" and len(stored.segments) == 1  # as counted before re-insertion
    kept, sent = fit_revealed(stored, {"<NAME_1>": "Zoë"}, max_segments=3)
    assert sent.text.startswith("Hi Zoë,")
    assert (sent.encoding, list(sent.segments)) == _independent(sent.text)
    assert sent.encoding == "UCS-2" and len(sent.segments) == 2
    # The stored copy keeps the token, split where the sent text was, and says how it was sent.
    assert kept.encoding == "UCS-2" and len(kept.segments) == 2
    assert "".join(kept.segments) == kept.text and "<NAME_1>" in kept.segments[0]


def test_a_name_that_straddles_a_part_boundary_stays_whole_in_the_stored_copy() -> None:
    stored = _sms("x" * 60 + " <NAME_1> and the rest of the message goes on for a while here.")
    kept, sent = fit_revealed(stored, {"<NAME_1>": "Łukasz"}, max_segments=3)
    assert sent.encoding == "UCS-2" and (sent.encoding, list(sent.segments)) == _independent(sent.text)
    assert "".join(kept.segments) == kept.text
    assert sum("<NAME_1>" in s for s in kept.segments) == 1


def test_the_segment_cap_holds_after_re_insertion_by_cutting_at_a_sentence() -> None:
    stored = _sms("Hi <NAME_1>, this is the first sentence of the reply. " + "Another sentence here. " * 5)
    kept, sent = fit_revealed(stored, {"<NAME_1>": "Zoë"}, max_segments=2)
    assert len(sent.segments) <= 2 and sent.truncated and kept.truncated
    assert sent.text.endswith(".") and kept.text.endswith(".")
    assert (sent.encoding, list(sent.segments)) == _independent(sent.text)


def test_a_token_without_a_value_is_removed_from_both_copies() -> None:
    stored = _sms("Hi <NAME_1>, your parcel is on its way.")
    kept, sent = fit_revealed(stored, {}, max_segments=3)
    assert kept.text == sent.text == "Hi, your parcel is on its way."


def test_other_channels_are_revealed_without_re_splitting() -> None:
    chat = Reply(channel=Channel.CHAT, text="Hi <NAME_1>, hello.")
    kept, sent = reveal_for_delivery(chat, {"<NAME_1>": "Zoë"}, public=False)
    assert kept == chat and sent.text == "Hi Zoë, hello." and sent.segments == ()


NAMES = ("Sam", "Zoë", "José", "Jürgen", "François", "Łukasz", "Ana 😊")


@pytest.mark.parametrize("language", ["en", "es", "de", "fr", "it", "pt"])
def test_every_sms_reply_is_counted_as_carriers_count_it(language: str) -> None:
    for intent, name, cap in itertools.product(SupportIntent, NAMES, (1, 2, 3)):
        out = RENDERER.render(
            RenderRequest(
                action=Action(type=ActionType.REPLY),
                channel=Channel.SMS,
                inbound_channel=Channel.SMS,
                tone=ToneProfile(brevity=0.5, warmth=0.8),
                signals=Signals(intent=intent.value),
                customer_name_token="<NAME_1>",
                max_sms_segments=cap,
                language=language,
            )
        )
        kept, sent = reveal_for_delivery(out.reply, {"<NAME_1>": name}, public=False, max_sms_segments=cap)
        assert (sent.encoding, list(sent.segments)) == _independent(sent.text), (language, intent, name)
        assert 1 <= len(sent.segments) <= cap
        assert sent.encoding == encoding_of(sent.text) == kept.encoding
        assert "".join(kept.segments) == kept.text and len(kept.segments) == len(sent.segments)


class _FixedTier:
    name = "fixed"
    version = "fixed-1"

    def extract(self, text: str) -> Signals:
        return Signals(intent="order_status", intent_confidence=0.95, language="en", language_confidence=0.9)


def test_the_engine_labels_the_sent_sms_as_carriers_count_it(
    store: Store, clock: FixedClock, message: MessageFactory
) -> None:
    engine = Engine(EngineParts(store, clock=clock, tier=_FixedTier()))
    d = engine.decide(message("Hi, my name is Zoë Martin. Where is my parcel?", channel=Channel.SMS))
    assert d.reply.channel is Channel.SMS and "Zoë" in d.reply.text, d.reply.text
    assert (d.reply.encoding, list(d.reply.segments)) == _independent(d.reply.text)
    stored = engine.store.get_decision(d.tenant_id, d.decision_id)
    assert stored is not None and "Zoë" not in stored.reply.text
    assert stored.reply.encoding == d.reply.encoding == "UCS-2"
    assert len(stored.reply.segments) == len(d.reply.segments)
