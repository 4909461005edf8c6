"""The decision pipeline. ``Engine.decide`` reads as its steps:

guard → signals → context → policy → learner → render → decision → audit (+ events).

Each step's detail lives in its stage (``guard/stage.py``, ``signals/stage.py``,
``context/stage.py``, ``context/consent.py``, ``render/reply_stage.py``, ``policy/explain.py``,
``store/decision_writes.py``); the engine is built from one ``EngineParts`` (``tactful/wiring.py``).

The engine holds no per-request state; everything durable goes through the store in one
transaction per decision (decision row + audit entry + outbox event, plus the "side writes" of the
other stages: vault values, feature events and state, learning log), so a crash never leaves a
decision without its audit entry, features or learning log, and re-sending an event id returns the
original decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import timedelta

from tactful.bus import InProcessBus
from tactful.bus.relay import OutboxRelay
from tactful.config import Settings
from tactful.context import FeatureStore
from tactful.context.consent import change_consent, consent_asked, consent_read
from tactful.context.feed import decision_made, ingest_after_commit, outcome_recorded
from tactful.context.stage import customer_context
from tactful.domain import Decision, DecisionId, Envelope, InboundMessage, Outcome, OutcomeType, new_id
from tactful.errors import InputRejected
from tactful.guard.consent import ConsentChange
from tactful.guard.stage import guard_message
from tactful.invalidation import CacheInvalidation
from tactful.learn import Learner, RulesOnly
from tactful.observability.stopwatch import Stopwatch
from tactful.observability.tracing import Tracing
from tactful.policy.active import ActivePolicies
from tactful.policy.explain import audit_snapshot, explain
from tactful.policy.rollout import experiments_for
from tactful.policy.turn_overrides import confirm_consent, hand_off_for_language
from tactful.policy.types import PolicyInput
from tactful.render import Renderer, TemplateRenderer
from tactful.render.reply_stage import ReplyInputs, render_reply, reply_language
from tactful.signals.stage import read_signals
from tactful.store.decision_writes import learner_logged, side_writes
from tactful.store.replay import input_fingerprint, same_event
from tactful.store.sql_features import SqlFeatureStore
from tactful.store.sql_reads import DecisionReads
from tactful.wiring import LEARNER_GROUP, Clock, EngineParts, utc_now

log = logging.getLogger(__name__)

__all__ = ["LEARNER_GROUP", "Engine", "EngineParts"]


class Engine:
    """Decides inbound messages with the parts it is built from (``EngineParts``)."""

    def __init__(self, parts: EngineParts) -> None:
        self.store = store = parts.store
        self.hot = parts.hot
        #: OpenTelemetry (issue 15): off unless configured; the bus is wrapped to trace events too.
        self.tracing = parts.tracing if parts.tracing is not None else Tracing.off()
        #: The event log and feature store (issue 6); the SQL store carries one over its own tables.
        self.features: FeatureStore = parts.feature_store()
        self.vault = parts.pii_vault()
        #: The vault tables a decision's own transaction writes to (the SQL store's).
        self._vault_rows = store.vault
        self.bus = self.tracing.wrap_bus(parts.bus if parts.bus is not None else InProcessBus())
        durable = parts.bus is not None and not isinstance(parts.bus, InProcessBus)
        if durable and isinstance(self.features, SqlFeatureStore):
            # A durable bus has readers elsewhere: a decision's feature events go out on it too
            # (``feature.recorded``); in process nobody reads them, so no extra outbox row.
            self.features.publish_events = True
        #: Inline (the default here) publishes a decision's events before ``decide`` returns, which
        #: keeps tests and scripts deterministic; services relay in the background instead.
        self.relay = OutboxRelay(store, self.bus, background=parts.background_relay)
        # Outcomes reach the features through the bus; a decision's events only when the feature
        # store is outside the store's database (context/feed.py).
        self.bus.subscribe(
            "outcome.recorded", lambda e: outcome_recorded(self.store, self.features, e), group="features"
        )
        self.bus.subscribe(
            "decision.made", lambda e: decision_made(self.store, self.features, e), group="features"
        )
        #: Picks a tier per message by the channel's latency budget, falling back visibly.
        self.tiers = parts.signal_tiers()
        self.renderer: Renderer = parts.renderer if parts.renderer is not None else TemplateRenderer()
        self.learner: Learner = parts.learner if parts.learner is not None else RulesOnly()
        self.policies = parts.policies if parts.policies is not None else ActivePolicies(store)
        #: Changes to the active policy or the intent model reach every process's caches at once.
        self.invalidation = CacheInvalidation(self.bus, self.policies)
        #: Experiments (issue 15): the policy and arm per customer, and the guardrails' monitor,
        #: which judges a tenant's running experiment as its outcomes arrive.
        self.clock: Clock = parts.clock
        self.experiments, self.monitor = experiments_for(
            store, self.policies, self.clock, lambda: self.learner
        )
        self.experiments.ttl_s = parts.experiment_cache_seconds
        if self.monitor is not None:
            self.monitor.every = timedelta(seconds=parts.experiment_check_seconds)
            self.bus.subscribe("outcome.recorded", self.monitor.on_outcome, group="experiments")
        self.guard_limits = parts.guard_limits
        self.max_sms_segments = parts.max_sms_segments
        #: Called with every newly made decision (metrics, tests); never with a replayed one.
        self.observers: list[Callable[[Decision], None]] = []

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        background_relay: bool = False,
        consume: Collection[str] | None = None,
    ) -> Engine:
        """The engine the settings describe (``EngineParts.from_settings``, tactful/wiring.py):
        the store and bus opened by URL and the default parts. ``background_relay`` applies when
        the settings leave the relay mode open. ``consume`` names the bus groups this process works
        for (``tactful worker --role``; an API process on a durable bus consumes none); None, the
        embedded default, consumes all."""
        return cls(
            EngineParts.from_settings(
                settings, clock=clock, background_relay=background_relay, consume=consume
            )
        )

    def close(self) -> None:
        self.tiers.close()
        self.relay.close()
        self.bus.close()
        if self.hot is not None:
            self.hot.close()
        self.store.close()
        self.tracing.flush()

    # -- the pipeline ---------------------------------------------------------------------------

    def decide(self, message: InboundMessage) -> Decision:
        if self.hot is not None:  # concurrent copies of one event id wait for the first (tactful/hot.py)
            return self.hot.claims.deciding(
                message.tenant_id, message.event_id, lambda: self.tracing.decide(message, self._decide)
            )
        return self.tracing.decide(message, self._decide)  # one span per decision when tracing is on

    def _decide(self, message: InboundMessage) -> Decision:
        fingerprint = input_fingerprint(self.store, message)
        reads = self._read(message)
        existing = None if reads.existing is None else Decision.model_validate_json(reads.existing)
        self.policies.observe(message.tenant_id, reads.policy_ref)  # the policy cache's check
        if existing is not None:
            return same_event(existing, fingerprint)  # a re-sent event: same answer, no second side effect

        watch = Stopwatch(self.tracing.tracer)
        degraded: list[str] = []
        now = self.clock()

        with watch.stage("guard"):  # raises InputRejected on bad input
            guarded, sealed = guard_message(
                message,
                self.guard_limits,
                self.vault,
                self._vault_rows,
                now,
                degraded,
                known_key=reads.customer_key,
            )
            consent = consent_asked(self.store, message, guarded.text)
        with watch.stage("signals"):
            signals = read_signals(
                self.tiers, self.store, message.tenant_id, guarded, message.channel, degraded,
                reads.intent_version,
            )  # fmt: skip
            consent, signals = consent_read(consent, message.channel, guarded.text, signals)
        with watch.stage("context"):
            if consent is ConsentChange.SMS_OPT_IN:  # the confirmation goes out under the new consent
                change_consent(self.store, message, consent)
            row = None  # the combined read's, unless an opt-in was just stored or the features live elsewhere
            if consent is not ConsentChange.SMS_OPT_IN and self._features_in_store:
                row = reads.context_row
            hot = None if self.hot is None else self.hot.features
            ctx, seen = customer_context(self.features, hot, message, now, row, degraded)
            if consent is ConsentChange.SMS_OPT_OUT:  # ... and the opt-out binds from the next decision
                change_consent(self.store, message, consent)
        with watch.stage("policy"):
            policy, arm = self.experiments.assign(message.tenant_id, message.customer_id)
            inp = PolicyInput(
                message=message,
                signals=signals,
                preferences=ctx.preferences,
                profile=ctx.profile,
                features=ctx.features,
                now=now,
            )
            result = policy.evaluate(inp)
        with watch.stage("learner"):
            choice = self.learner.choose(policy, inp, result)
            result = choice.result
            if consent is not None:
                result, signals = confirm_consent(result, signals, consent, ctx.preferences)
        with watch.stage("render"):
            language = reply_language(policy.document.replies, signals, ctx, self.renderer.languages)
            if language.handoff:
                result = hand_off_for_language(result, language)
            rendering, reply, delivered = render_reply(
                self.renderer,
                self.vault,
                self.max_sms_segments,
                ReplyInputs(message, result, signals, guarded, ctx, language.language),
                degraded,
            )
            generation = rendering.generation  # issue 14: a generated reply, or why the template went
            if generation is not None:
                degraded.extend(generation.degradations)

        decision = Decision(
            decision_id=DecisionId(new_id("dec")),
            tenant_id=message.tenant_id,
            event_id=message.event_id,
            customer_id=message.customer_id,
            conversation_id=message.conversation_id,
            inbound_channel=message.channel,
            tone=result.tone.model_copy(update={"measured": rendering.measured}),
            channel=result.channel,
            action=result.action,
            reply=reply,
            explanation=explain(
                result, signals, ctx, (*filter(None, [language.note()]), *rendering.notes)
            ).model_copy(update={"sources": generation.sources if generation else ()}),
            policy_version=result.policy_version,
            model_versions={
                **signals.model_versions,
                "renderer": self.renderer.version,
                "learner": choice.trace.model_version if choice.trace else self.learner.version,
                **(
                    {"prompt_version": generation.prompt_version, "generator": generation.model}
                    if generation is not None
                    else {}
                ),
            },
            latency_ms={},
            degraded=bool(degraded),
            degradations=tuple(degraded),
            proactive=result.proactive,
            decided_at=now,
            learner=choice.trace,
            features=ctx.vector.record() if ctx.vector is not None else {},
            experiment=arm.experiment_id if arm else None,
            arm=arm.arm if arm else None,
            input_fingerprint=fingerprint,
        )
        # The stored record carries its own latency, so the durable write itself cannot be in it:
        # ``latency_ms`` covers the stages up to here; the write is measured by the benchmark.
        timed = decision.model_copy(update={"latency_ms": watch.total()})
        snapshot = audit_snapshot(message, guarded, signals, ctx, consent)
        writes = side_writes(
            self.store, self.features, self.learner, message, signals, ctx, timed, choice, sealed, seen
        )
        with watch.stage("store"):  # not in latency_ms (taken above): only a span, when tracing
            stored, created = self.store.record_decision(timed, snapshot, writes.in_transaction)
        if not created:
            return same_event(stored, fingerprint)  # a concurrent duplicate won the race
        if not writes.features:
            ingest_after_commit(self.features, message, signals, ctx, stored)
        elif self.hot is not None and writes.feature_write is not None:
            self.hot.features.write(writes.feature_write.written)  # write-through, best effort
        learner_logged(self.learner, stored, choice, written=writes.learning)
        for observe in self.observers:
            observe(stored)
        self.relay.kick()
        if delivered != stored.reply:
            # Only the caller gets the reply with the customer's values re-inserted; the
            # stored decision, its audit entry and its event keep the tokens.
            return stored.model_copy(update={"reply": delivered})
        return stored

    def record_outcome(self, outcome: Outcome) -> tuple[Outcome, bool]:
        """Store an outcome of one of the tenant's decisions (idempotent by event id)."""
        if outcome.type is OutcomeType.CSAT and (outcome.value is None or not 1 <= outcome.value <= 5):
            raise InputRejected("a csat outcome needs a value from 1 to 5", code="invalid_csat")
        stored, created = self.store.record_outcome(outcome)
        if created:
            self.relay.kick()
            # Closes the reward windows that are due (this one's too, once its window has passed).
            try:
                self.learner.outcome_recorded(stored, self.clock())
            except Exception:  # the outcome is stored; `tactful learn close-windows` retries the windows
                log.exception("learner: closing reward windows failed after outcome %s", stored.event_id)
        return stored, created

    # -- the steps' details -----------------------------------------------------------------------

    def _read(self, message: InboundMessage) -> DecisionReads:
        """The decision's one combined read (event id, context, policy and intent refs)."""
        # With a hot store the read leaves the feature state's JSON to it (only which state is current).
        return self.store.read_for_decision(
            message.tenant_id, message.event_id, message.customer_id, state=self.hot is None
        )

    @property
    def _features_in_store(self) -> bool:
        return self.features is self.store.features

    # -- events ---------------------------------------------------------------------------------

    def relay_events(self) -> int:
        """Publish every queued outbox event now (tests, shutdown); returns how many went out."""
        return self.relay.drain()

    def on_message_received(self, envelope: Envelope) -> None:
        """Bus entry point: a ``message.received`` event becomes a decision (idempotent by event id)."""
        self.decide(InboundMessage.model_validate(envelope.payload))

    def listen(self) -> None:
        self.bus.subscribe("message.received", self.on_message_received, group="engine")

    def on_outcome_for_learner(self, envelope: Envelope) -> None:
        """Bus entry point of the learner worker: an outcome may close reward windows."""
        self.learner.outcome_recorded(Outcome.model_validate(envelope.payload), self.clock())

    def learn_from_bus(self) -> None:
        self.bus.subscribe("outcome.recorded", self.on_outcome_for_learner, group=LEARNER_GROUP)
