"""Generated replies: a language model writes the reply, grounded on the tenant's knowledge base,
and the template reply stands behind it.

For each turn: the template reply is rendered first (cheap, and always the fallback); when the
tenant has a model configured, the prompt (``render.prompts``) goes to it with the channel's
deadline; the draft must pass ``render.generation_checks``; a failed draft is regenerated once
(with the reasons) if the deadline allows; then the template reply goes out. The rendering's
``generation`` trace says which happened and why; a missed deadline or a failing model server makes
the decision ``degraded``, a draft refused by the checks does not (that is the checks working).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar

from tactful.channels.registry import fitter_for
from tactful.domain import ActionType, Channel, MeasuredTone
from tactful.errors import TactfulError
from tactful.knowledge import KnowledgeBase, Passage
from tactful.render.generation_checks import check_generated, tone_distance
from tactful.render.llm import ChatModel, GenerationFailed, GenerationTimeout, LlmConfig
from tactful.render.prompts import PROMPT_VERSION, build_prompt
from tactful.render.renderer import TemplateRenderer
from tactful.render.request import GenerationTrace, Rendering, RenderRequest

log = logging.getLogger(__name__)

#: Seconds a generation may take per channel: a caller on the phone waits least, e-mail most.
DEFAULT_BUDGETS: dict[Channel, float] = {
    Channel.VOICE: 2.5,
    Channel.CHAT: 5.0,
    Channel.SMS: 8.0,
    Channel.SOCIAL: 8.0,
    Channel.SOCIAL_DM: 8.0,
    Channel.EMAIL: 30.0,
}
#: Where generated text streams for the decision being made on this thread (web chat, voice): set
#: by the caller around ``Engine.decide``, so the engine's signature stays the same.
STREAM: ContextVar[Callable[[str], None] | None] = ContextVar("tactful_generation_stream", default=None)
#: Actions a model may word; the rest (no_contact) never reach it.
GENERATED_ACTIONS = frozenset(ActionType) - {ActionType.NO_CONTACT}


class GeneratingRenderer:
    """A ``Renderer``: generated replies with the template renderer behind them."""

    def __init__(
        self,
        templates: TemplateRenderer,
        models: Callable[[str], LlmConfig | None],
        knowledge: KnowledgeBase | None = None,
        *,
        budgets: Mapping[Channel, float] | None = None,
        top_k: int = 3,
    ) -> None:
        self.templates = templates
        self.version = templates.version
        self._models = models
        self.knowledge = knowledge
        self.budgets = dict(DEFAULT_BUDGETS if budgets is None else budgets)
        self.top_k = top_k
        self._clients: dict[LlmConfig, ChatModel] = {}
        self._lock = threading.Lock()

    @property
    def languages(self) -> tuple[str, ...]:
        return self.templates.languages

    def _client(self, config: LlmConfig) -> ChatModel:
        with self._lock:
            client = self._clients.get(config)
            if client is None:
                if len(self._clients) >= 64:  # tenants change models rarely; keep the pool bounded
                    for old in self._clients.values():
                        old.close()
                    self._clients.clear()
                client = self._clients[config] = ChatModel(config)
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def render(self, req: RenderRequest) -> Rendering:
        base = self.templates.render(req)
        channel = base.reply.channel
        if channel is None or req.action.type not in GENERATED_ACTIONS or not req.tenant_id:
            return base
        try:
            config = self._models(req.tenant_id)
        except TactfulError as exc:
            log.warning("generation: model settings of %s unreadable (%s)", req.tenant_id, exc.code)
            return _fallback(base, "", (), f"model settings unreadable ({exc.code})", degraded=True)
        if config is None:
            return base
        budget = self.budgets.get(channel, 5.0)
        deadline = time.monotonic() + budget
        passages = self._passages(req)
        sources = tuple(p.citation for p in passages)
        failures: list[tuple[str, ...]] = []
        feedback = ""
        for _ in range(2):  # the draft, then one regeneration with the reasons
            prompt = build_prompt(
                channel=channel,
                action=req.action.type,
                action_reason=req.action.reason,
                intent=req.signals.intent,
                tone=req.tone,
                language=base.reply.language or req.language,
                customer_text=req.text,
                passages=passages,
                feedback=feedback,
            )
            try:
                text = self._client(config).complete(
                    prompt.messages(), deadline=deadline, on_delta=req.on_delta or STREAM.get()
                )
            except GenerationTimeout:
                why = f"generation passed the {channel.value} deadline ({budget:g} s)"
                return _fallback(base, config.model, tuple(failures), why, degraded=True)
            except GenerationFailed as exc:
                why = f"{exc.code}: {exc.message}"
                return _fallback(base, config.model, tuple(failures), why, degraded=True)
            result = check_generated(
                text,
                channel=channel,
                action=req.action,
                tone=req.tone,
                language=base.reply.language or req.language,
                customer_text=req.text,
                system_prompt=prompt.system,
                scorer=self.templates.scorer,
                allowed_tokens=frozenset(filter(None, [req.customer_name_token])),
            )
            if result.passed:
                return self._generated(base, req, text, config, tuple(failures), sources)
            failures.append(result.failures)
            feedback = ", ".join(result.failures)
            if time.monotonic() >= deadline:
                break
        why = "; ".join(f"draft {i + 1}: {', '.join(f)}" for i, f in enumerate(failures))
        return _fallback(base, config.model, tuple(failures), f"checks failed ({why})", degraded=False)

    def _passages(self, req: RenderRequest) -> list[Passage]:
        if self.knowledge is None or not req.text.strip():
            return []
        try:
            return self.knowledge.search(req.tenant_id, req.text, self.top_k)
        except TactfulError as exc:  # an answer without grounding beats no answer: said in the notes
            log.warning("knowledge search failed for %s: %s", req.tenant_id, exc.code)
            return []

    def _generated(
        self,
        base: Rendering,
        req: RenderRequest,
        text: str,
        config: LlmConfig,
        failures: tuple[tuple[str, ...], ...],
        sources: tuple[str, ...],
    ) -> Rendering:
        assert base.reply.channel is not None
        channel = base.reply.channel
        fitter = fitter_for(channel, max_sms_segments=req.max_sms_segments if channel is Channel.SMS else 3)
        fitted = fitter.fit(text, subject=base.reply.subject, tone=req.tone)
        reply = fitted.model_copy(
            update={
                "template_id": f"generated.{req.action.type.value}",
                "template_version": PROMPT_VERSION,
                "language": base.reply.language,
            }
        )
        language = base.reply.language or req.language
        measured = self.templates.scorer.score(reply.text, language, channel)
        outcome = "regenerated" if failures else "generated"
        note = f"reply {outcome} by {config.model} ({PROMPT_VERSION})"
        if failures:
            note += f" after draft 1 failed checks ({', '.join(failures[0])})"
        if sources:
            note += f"; grounded on {len(sources)} knowledge passage(s)"
        trace = GenerationTrace(
            outcome=outcome,
            prompt_version=PROMPT_VERSION,
            model=config.model,
            failures=failures,
            sources=sources,
            tone_distance=tone_distance(measured, req.tone),
        )
        return Rendering(
            reply=reply,
            measured=MeasuredTone(
                **measured, scorer=self.templates.scorer.version, rerendered=bool(failures)
            ),
            notes=(note,),
            generation=trace,
        )


def _fallback(
    base: Rendering,
    model: str,
    failures: tuple[tuple[str, ...], ...],
    why: str,
    *,
    degraded: bool,
) -> Rendering:
    trace = GenerationTrace(
        outcome="template_fallback",
        prompt_version=PROMPT_VERSION,
        model=model,
        failures=failures,
        degradations=(f"render: {why}; template reply used",) if degraded else (),
    )
    note = f"generation: {why}; template reply used"
    return Rendering(reply=base.reply, measured=base.measured, notes=(*base.notes, note), generation=trace)
