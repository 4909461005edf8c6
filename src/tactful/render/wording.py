"""What a reply's wording depends on, as small hashable values: the ``Scene`` (who is answered,
where, about what) and the ``Wording`` (which side of every tone cut-off the dial falls on).

``compose`` reads the tone only through ``Wording``: two dials with the same ``Wording`` compose
the same text by construction. That is what lets the renderer keep a rendering per
(scene, wording) and re-use it for every dial of the same bands, in this request's nearest-variant
search and in later requests, instead of composing, fitting and measuring the same text again.
"""

from __future__ import annotations

from typing import NamedTuple

from tactful.domain import PUBLIC_CHANNELS, ActionType, Channel, SentimentLabel
from tactful.render.request import RenderRequest
from tactful.render.templates import Template, Thresholds

#: A preface is dropped when the reply is direct and its directness reaches this.
SKIP_PREFACE_FROM = 0.85


class Scene(NamedTuple):
    """Everything of the request ``compose`` reads, apart from the tone."""

    action: ActionType
    target: Channel  # the channel chosen
    out: Channel  # where the text is said (for a switch notice: where the customer is now)
    inbound: Channel
    negative: bool
    has_pii: bool
    intent: str  # the raw intent: it seeds the choice among variants
    name: str | None  # the customer's name token, when the reply may greet them by name

    @classmethod
    def of(cls, req: RenderRequest) -> Scene:
        action = req.action.type
        target = req.channel or req.inbound_channel
        # A switch notice is said where the customer is now; it names the channel we move to.
        out = req.inbound_channel if action is ActionType.SWITCH_CHANNEL else target
        signals = req.signals
        return cls(
            action,
            target,
            out,
            req.inbound_channel,
            signals.sentiment is SentimentLabel.NEGATIVE,
            signals.has_pii,
            signals.intent,
            req.customer_name_token,
        )

    @property
    def public(self) -> bool:
        return self.out in PUBLIC_CHANNELS

    def plain(self) -> tuple[object, ...]:
        """The same fields, channels and action by name: a key the garbage collector need not walk.
        (``_value_``, the enum's documented value attribute: ``.value`` is a slower descriptor.)"""
        return (
            self.action._value_,
            self.target._value_,
            self.out._value_,
            self.inbound._value_,
            self.negative,
            self.has_pii,
            self.intent,
            self.name,
        )


class Wording(NamedTuple):
    """The side of each cut-off (``templates/common.yaml``) the dial falls on, for one template."""

    body: int  # the body's register (a ``Register`` as a number: the GC need not walk numbers)
    frame: int  # greeting, opener, closer, sign-off
    expand: bool  # English contractions expanded
    kept: tuple[bool, ...]  # per template line: brevity leaves it in (its drop_at)
    short: bool  # the short wording and the shortest acknowledgement
    opener_room: bool  # brevity leaves room for a warm opener
    greeting_room: bool  # ... for an inline greeting
    patience_room: bool  # ... for a patience line
    closer_room: bool  # ... for a closing line
    further_help: bool  # a long reply offers further help
    direct: bool  # the next step first
    early: bool  # the next step right after the acknowledgement
    soften: bool  # hedged wording, the request last
    framed: bool  # prefaces kept
    warm_mild: bool
    warm_closer: bool
    warm_strong: bool
    ack_emotion: bool  # the dominant emotion is acknowledged
    ack_need: bool  # else the customer's need is
    patience: bool  # an upset customer is thanked for their patience


def wording_of(
    formality: float,
    warmth: float,
    empathy: float,
    brevity: float,
    directness: float,
    th: Thresholds,
    template: Template,
    emotion: str | None,
    public: bool,
) -> Wording:
    # Public posts are kept brief: long public threads invite detail that belongs in private.
    if public:
        brevity = max(brevity, th.public_min_brevity)
    direct = directness >= th.direct_first
    # Plain negative sentiment is acknowledged a little later than a named emotion: "sorry to hear"
    # to a merely unhappy customer reads stronger than the tone asks for.
    acknowledge = th.acknowledge_from if emotion != "negative" else th.acknowledge_from + 0.1
    return Wording(
        int(th.body_register(formality)),
        int(th.frame_register(formality)),
        formality >= th.expand_from,
        tuple(line.drop_at is None or brevity < line.drop_at for line in template.lines),
        brevity >= th.short_from,
        brevity < th.opener_drop,
        brevity < th.greeting_drop,
        brevity < th.patience_max,
        brevity < th.closer_max,
        brevity < th.further_help_below,
        direct,
        directness >= th.direct_early,
        directness < th.soft_below,
        not direct or directness < SKIP_PREFACE_FROM,
        warmth >= th.warm_mild,
        warmth >= th.warm_closer,
        warmth >= th.warm_strong,
        emotion is not None and empathy >= acknowledge,
        empathy >= th.need_ack_from,
        empathy >= th.patience_from,
    )
