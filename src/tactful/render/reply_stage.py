"""The render stage of a decision: the reply's language, the rendering, and the reply as delivered.

The reply is stored with tokens only; the one delivered gets the customer's own values back
(private channels only), and is checked for leaks: personal data the renderer was not meant to use
makes it fall back to a reply that carries none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tactful.context import CustomerContext
from tactful.domain import PUBLIC_CHANNELS, InboundMessage, PersonalisationIntensity, Reply, Signals
from tactful.guard import GuardedText
from tactful.guard.reinsert import leaked_values, reveal_for_delivery, reveal_reply, tokens_in
from tactful.guard.vault import Vault
from tactful.policy.schema import RepliesSection
from tactful.policy.types import PolicyResult
from tactful.render import Renderer, Rendering, RenderRequest
from tactful.render.language import LanguageChoice, LanguageSetting, choose_language


def reply_language(
    replies: RepliesSection, signals: Signals, ctx: CustomerContext, languages: tuple[str, ...]
) -> LanguageChoice:
    """Spanish in, Spanish out: the message's language, else the profile's, else the tenant's."""
    setting = LanguageSetting(
        default_language=replies.default_language,
        languages=tuple(replies.languages),
        unsupported_language=replies.unsupported_language,
        detect_min_confidence=replies.detect_min_confidence,
    )
    # The profile is read only for a known customer with personalisation on (ctx.profile is
    # None otherwise); an unknown customer's default profile says nothing about them.
    profile = ctx.profile.language if ctx.profile is not None and ctx.known else None
    return choose_language(signals, profile, setting, languages)


@dataclass(frozen=True, slots=True)
class ReplyInputs:
    """What the reply is rendered from."""

    message: InboundMessage
    result: PolicyResult
    signals: Signals
    guarded: GuardedText
    ctx: CustomerContext
    language: str


def render_reply(
    renderer: Renderer,
    vault: Vault | None,
    max_sms_segments: int,
    inputs: ReplyInputs,
    degraded: list[str],
) -> tuple[Rendering, Reply, Reply]:
    """The rendering, the reply to store (tokens only) and the reply to deliver (the customer's
    own values re-inserted, private channels only; an SMS encoded and split as sent), after the
    leak check. A fallback is noted in ``degraded``."""
    message, result, signals, guarded, ctx = (
        inputs.message,
        inputs.result,
        inputs.signals,
        inputs.guarded,
        inputs.ctx,
    )
    names = [f.token for f in guarded.pii if f.kind == "name"]
    personal = ctx.preferences.personalisation is not PersonalisationIntensity.OFF
    request = RenderRequest(
        action=result.action,
        channel=result.channel.primary,
        inbound_channel=message.channel,
        tone=result.tone,
        signals=signals,
        customer_name_token=names[0] if names and personal else None,
        max_sms_segments=max_sms_segments,
        language=inputs.language,
        text=guarded.text,
        tenant_id=message.tenant_id,
    )
    rendering = renderer.render(request)
    public = rendering.reply.channel in PUBLIC_CHANNELS
    own = _own_values(vault, message, rendering.reply, guarded, public)
    reply, delivered = reveal_for_delivery(
        rendering.reply, own, public=public, max_sms_segments=max_sms_segments
    )
    leaked = _leaked(delivered, own, tuple(guarded.vault.values()))
    if leaked:
        # Never send personal data the renderer was not meant to use; fall back to a reply
        # that carries none, and say so on the decision.
        degraded.append(f"render: reply repeated {len(leaked)} personal data value(s); safe reply used")
        safe = replace(
            request,
            signals=signals.model_copy(update={"intent": "other"}),
            text="",
            customer_name_token=None,
        )
        rendering = renderer.render(safe)
        reply = rendering.reply
        delivered = reveal_reply(reply, {}, public=True)  # removes any token, inserts nothing
    return rendering, reply, delivered


#: Replies known to be free of personal data (text, subject, SSML): replies repeat (the same
#: templates), and the detectors cost more than the rest of the stage. Only clean texts of replies
#: that re-insert nothing, for a message where no personal data was found, are kept: the set holds
#: no value the guard or the detectors know as personal. Bounded (it starts over when full).
_CLEAN: set[tuple[str, str | None, str | None]] = set()
_CLEAN_MAX = 8192


def _leaked(delivered: Reply, own: dict[str, str], others: tuple[str, ...]) -> list[str]:
    """``leaked_values``, skipped for a value-free reply already found clean."""
    if own or others:
        return leaked_values(delivered, own, others)
    key = (delivered.text, delivered.subject, delivered.ssml)
    if key in _CLEAN:
        return []
    leaked = leaked_values(delivered, own, others)
    if not leaked:
        if len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.clear()
        _CLEAN.add(key)
    return leaked


def _own_values(
    vault: Vault | None, message: InboundMessage, reply: Reply, guarded: GuardedText, public: bool
) -> dict[str, str]:
    """token → value for the reply's tokens that belong to this customer: from this message,
    else from their vault (a token of someone else is not found there)."""
    wanted = set() if public else tokens_in(reply)
    own = {t: guarded.vault[t] for t in wanted if t in guarded.vault}
    missing = wanted - own.keys()
    if missing and vault is not None:
        for held in vault.reveal(message.tenant_id, message.customer_id, missing):
            own[held.token] = held.value
    return own
