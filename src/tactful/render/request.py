"""What a renderer is given for one reply, what it gives back, and the interface every renderer
(the built-in templates today, a generator over a language model later) implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tactful.domain import Action, Channel, MeasuredTone, Reply, Signals, ToneProfile


@dataclass(frozen=True, slots=True)
class RenderRequest:
    action: Action
    channel: Channel | None  # the primary channel chosen (None only for no_contact)
    inbound_channel: Channel
    tone: ToneProfile
    signals: Signals  # already PII-tokenised upstream: intent, sentiment, emotions, pii findings ...
    customer_name_token: str | None = None  # a PII token like "<NAME_1>", never a raw name
    max_sms_segments: int = 3
    language: str = "en"  # the reply language, chosen upstream (tactful.render.language)
    text: str = ""  # the customer's message, PII-tokenised: sub-situations are read from it
    tenant_id: str = ""  # whose model and knowledge base a generating renderer uses (issue 14)
    #: Receives generated text as it streams (web chat, voice); None when nobody is listening.
    on_delta: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True)
class GenerationTrace:
    """What a generating renderer did (issue 14): recorded on the decision."""

    outcome: str  # generated | regenerated | template_fallback
    prompt_version: str
    model: str
    failures: tuple[tuple[str, ...], ...] = ()  # the checks each refused draft failed
    sources: tuple[str, ...] = ()  # knowledge passages the sent reply was grounded on
    degradations: tuple[str, ...] = ()  # a missed deadline or a failing model server
    tone_distance: float | None = None  # of the sent generated reply to the target


@dataclass(frozen=True, slots=True)
class Rendering:
    """A reply with what was measured of it. ``notes`` are plain-language lines for the decision's
    explanation (a fallback language, a re-render after a tone miss)."""

    reply: Reply
    measured: MeasuredTone | None  # None for no_contact (nothing is said)
    notes: tuple[str, ...] = ()
    generation: GenerationTrace | None = None  # None when no model was asked


class Renderer(Protocol):
    """Turns a decision into the words sent. ``version`` is recorded on every decision; a reply must
    be in one of ``languages`` (or the renderer's first one, said in the notes)."""

    version: str

    @property
    def languages(self) -> tuple[str, ...]: ...

    def render(self, req: RenderRequest) -> Rendering: ...
