"""The render stage of a decision: the reply's language, the rendering, and the reply as delivered.

The reply is stored with tokens only; the one delivered gets the customer's own values back
(private channels only), and is checked for leaks: personal data the renderer was not meant to use
makes it fall back to a reply that carries none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

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
    others = tuple(guarded.vault.values())
    if own or others:
        leaked = leaked_values(delivered, own, others)
    else:  # no customer value anywhere near it: the verdict depends on the reply's words only
        leaked = list(_leaks_in_wording(delivered.text, delivered.subject, delivered.ssml))
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


@lru_cache(maxsize=4096)
def _leaks_in_wording(text: str, subject: str | None, ssml: str | None) -> tuple[str, ...]:
    """What the detectors find in a reply that re-inserts nothing and whose message held no
    personal data: a pure function of the words, and replies repeat (the renderer's templates),
    so it is kept. Only value-free texts are kept: no customer's data stays in the cache."""
    reply = Reply(channel=None, text=text, subject=subject, ssml=ssml)
    return tuple(leaked_values(reply, {}, ()))


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
