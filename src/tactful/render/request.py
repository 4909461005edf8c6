"""What the renderer needs to produce one reply."""

from __future__ import annotations

from dataclasses import dataclass

from tactful.domain import Action, Channel, Signals, ToneProfile


@dataclass(frozen=True, slots=True)
class RenderRequest:
    action: Action
    channel: Channel | None  # the primary channel chosen (None only for no_contact)
    inbound_channel: Channel
    tone: ToneProfile
    signals: Signals  # already PII-tokenised upstream: intent, sentiment, emotions, pii findings ...
    customer_name_token: str | None = None  # a PII token like "<NAME_1>", never a raw name
    max_sms_segments: int = 3
