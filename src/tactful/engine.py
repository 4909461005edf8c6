"""The decision pipeline. ``Engine.decide`` reads as its steps:

guard → signals → context → policy → learner → decision → render → audit (+ events).

The engine holds no per-request state; everything durable goes through the store in one
transaction per decision (decision row + audit entry + outbox event, plus the "side writes" of the
other stages: vault values, feature events and state, learning log), so a crash never leaves a
decision without its audit entry, features or learning log, and re-sending an event id returns the
original decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

from tactful.bus import Bus, InProcessBus
from tactful.bus.relay import OutboxRelay
from tactful.config import Settings
from tactful.context import (
    CustomerContext,
    FeatureStore,
    decision_event,
    load_context,
    message_event,
    outcome_event,
)
from tactful.domain import (
    Channel,
    Decision,
    DecisionId,
    Envelope,
    InboundMessage,
    Outcome,
    OutcomeType,
    Signals,
    TenantId,
    new_id,
)
from tactful.errors import Conflict, InputRejected, StoreError
from tactful.guard import GuardedText, GuardLimits, guard
from tactful.guard.consent import (
    ConsentChange,
    apply_consent,
    consent_from_intent,
    consent_keyword,
    keyword_language,
)
from tactful.guard.crypto import MasterKey, VaultError
from tactful.guard.vault import SealedValue, Vault, resolve_master_key
from tactful.hot import HotPath
from tactful.invalidation import CacheInvalidation
from tactful.learn import Learner, RulesOnly
from tactful.learn.bandit import BanditLearner
from tactful.learn.base import Choice
from tactful.observability.stopwatch import Stopwatch
from tactful.observability.tracing import Tracing
from tactful.policy.active import ActivePolicies
from tactful.policy.explain import audit_snapshot, explain
from tactful.policy.rollout import experiments_for
from tactful.policy.turn_overrides import confirm_consent, hand_off_for_language
from tactful.policy.types import PolicyInput
from tactful.render import Renderer, TemplateRenderer
from tactful.render.reply_stage import ReplyInputs, render_reply, reply_language
from tactful.signals import SignalTier, default_tier
from tactful.signals.selection import TierSelector
from tactful.signals.tenant_intents import UNREAD, tenant_intent_model, with_tenant_intent
from tactful.store.base import Store
from tactful.store.database import SideWrite
from tactful.store.sql import SqlStore
from tactful.store.sql_feature_writes import DecisionFeatureWrite
from tactful.store.sql_features import SqlFeatureStore
from tactful.store.sql_reads import DecisionReads

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: The bus group of the one process that learns from outcomes (``tactful worker --role learner``).
LEARNER_GROUP = "learner"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Engine:
    def __init__(
        self,
        store: Store,
        *,
        bus: Bus | None = None,
        tier: SignalTier | TierSelector | None = None,
        renderer: Renderer | None = None,
        learner: Learner | None = None,
        clock: Clock = utc_now,
        guard_limits: GuardLimits | None = None,
        max_sms_segments: int = 3,
        background_relay: bool = False,
        vault: Vault | Literal["auto"] | None = "auto",
        features: FeatureStore | None = None,
        tracing: Tracing | None = None,
        hot: HotPath | None = None,
    ) -> None:
        self.store = store
        #: The hot store (issue 13; tactful/hot.py): feature state and event claims in Redis, with
        #: SQL as the source of truth. None (the embedded default): SQL only.
        self.hot = hot
        #: OpenTelemetry (issue 15): off unless configured; the bus is wrapped to trace events too.
        self.tracing = tracing if tracing is not None else Tracing.off()
        #: The event log and feature store (issue 6); the SQL store carries one over its own tables.
        self.features: FeatureStore = features if features is not None else _feature_store(store)
        #: The PII vault; "auto" keys it from a file beside a SQLite database, and leaves it off
        #: on PostgreSQL unless a master key is configured (``from_settings``).
        self.vault = _auto_vault(store, None) if vault == "auto" else vault
        self.bus: Bus = self.tracing.wrap_bus(bus if bus is not None else InProcessBus())
        durable = bus is not None and not isinstance(bus, InProcessBus)
        if durable and isinstance(self.features, SqlFeatureStore):
            # A durable bus has readers elsewhere: a decision's feature events go out on it too
            # (``feature.recorded``); in process nobody reads them, so no extra outbox row.
            self.features.publish_events = True
        #: Inline (the default here) publishes a decision's events before ``decide`` returns, which
        #: keeps tests and scripts deterministic; services relay in the background instead.
        self.relay = OutboxRelay(store, self.bus, background=background_relay)
        # Outcomes reach the features through the bus (at least once; ingest dedupes by event id).
        # A decision's events are written in the decision's own transaction; only a feature store
        # outside the store's database also takes them from the bus (whichever comes first wins).
        self.bus.subscribe("outcome.recorded", self._on_outcome_for_features, group="features")
        self.bus.subscribe("decision.made", self._on_decision_for_features, group="features")
        #: One tier runs inline; a ``TierSelector`` picks per message by the channel's latency
        #: budget and falls back visibly (docs/signals-tiers.md).
        self.tiers: TierSelector = (
            tier if isinstance(tier, TierSelector) else TierSelector.single(tier or default_tier())
        )
        self.renderer: Renderer = renderer if renderer is not None else TemplateRenderer()
        self.learner: Learner = learner if learner is not None else RulesOnly()
        self.policies = ActivePolicies(store)
        #: Changes to the active policy or the intent model reach every process's caches at once.
        self.invalidation = CacheInvalidation(self.bus, self.policies)
        #: Experiments (issue 15): the policy and arm per customer, and the guardrails' monitor,
        #: which judges a tenant's running experiment as its outcomes arrive.
        self.experiments, self.monitor = experiments_for(store, self.policies, clock, lambda: self.learner)
        if self.monitor is not None:
            self.bus.subscribe("outcome.recorded", self.monitor.on_outcome, group="experiments")
        self.clock = clock
        self.guard_limits = guard_limits or GuardLimits()
        self.max_sms_segments = max_sms_segments
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
        """The composition root: open the store and bus named by URL and wire the default parts.
        ``background_relay`` applies when the settings leave the relay mode open. ``consume`` names
        the bus groups this process works for (``tactful worker --role``; an API process on a
        durable bus consumes none); None, the embedded default, consumes all."""
        from tactful.bus import open_bus
        from tactful.learn.reader import SnapshotReader
        from tactful.store import open_store

        store = open_store(settings.database_url, settings=settings)
        configured = settings.master_key
        master = None if configured is None else MasterKey.from_base64(configured, "TACTFUL_MASTER_KEY")
        engine = cls(
            store,
            vault=_auto_vault(store, master),
            bus=open_bus(settings.bus_url, consume=consume),
            tier=TierSelector.from_settings(settings),
            clock=clock,
            guard_limits=GuardLimits(max_chars=settings.max_text_chars),
            max_sms_segments=settings.max_sms_segments,
            background_relay=(
                background_relay if settings.background_relay is None else settings.background_relay
            ),
            tracing=Tracing.from_settings(settings.tracing),
            hot=None
            if settings.hot_store_url is None
            else HotPath.open(settings.hot_store_url, store.features, prefix=settings.hot_store_prefix),
        )
        # The bandit learns per tenant when the policy (or `tactful learn mode`) turns it on; with
        # mode off it costs one cached mode lookup per decision.
        # Several processes on a durable bus: the learner worker learns, the others read its
        # newest snapshot (one model per tenant, not one per process; docs/scale-out.md).
        reads_only = consume is not None and LEARNER_GROUP not in consume
        learner_class = SnapshotReader if reads_only else BanditLearner
        engine.learner = learner_class(store.learning, engine.policies.get, clock=clock)
        engine.experiments.ttl_s = settings.experiment_cache_seconds
        if engine.monitor is not None:
            engine.monitor.every = timedelta(seconds=settings.experiment_check_seconds)
        return engine

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
        fingerprint = self._fingerprint(message)
        reads = self._read(message)
        if reads is None:  # pragma: no cover - every shipped store is an SqlStore
            existing = self.store.get_decision_by_event(message.tenant_id, message.event_id)
        else:
            existing = None if reads.existing is None else Decision.model_validate_json(reads.existing)
            self.policies.observe(message.tenant_id, reads.policy_ref)  # the policy cache's check
        if existing is not None:
            return _same_event(existing, fingerprint)  # a re-sent event: same answer, no second side effect

        watch = Stopwatch(self.tracing.tracer)
        degraded: list[str] = []
        now = self.clock()

        with watch.stage("guard"):
            guarded, sealed = self._guard(message, now, degraded)  # raises InputRejected on bad input
            consent = consent_keyword(message.channel, guarded.text, lambda: self._sms_closed(message))
        with watch.stage("signals"):
            intents = UNREAD if reads is None else reads.intent_version
            signals = self._signals(message.tenant_id, guarded, message.channel, degraded, intents)
            if consent is None:  # a plain-language opt-out the keyword rules miss, read by the model
                consent = consent_from_intent(
                    message.channel, guarded.text, signals.intent, signals.intent_confidence
                )
            if consent is not None and (said_in := keyword_language(guarded.text)) is not None:
                # "BAJA" is too short to detect a language from; the keyword names it
                signals = signals.model_copy(update={"language": said_in, "language_confidence": 1.0})
        with watch.stage("context"):
            if consent is ConsentChange.SMS_OPT_IN:  # the confirmation goes out under the new consent
                self._change_consent(message, consent)
            read, seen = None, None
            if reads is not None and consent is not ConsentChange.SMS_OPT_IN and self._features_in_store:
                if self.hot is not None:  # the state from Redis; from SQL (degraded) when it is down
                    read, seen = self.hot.features.read(
                        message.tenant_id, message.customer_id, now, reads.context_row, degraded
                    )
                else:
                    read = self.features.from_row(message.tenant_id, reads.context_row, now)  # type: ignore[attr-defined]
                    seen = reads.context_row  # the state ctx holds, folded ahead of the write
            ctx = load_context(self.features, message.tenant_id, message.customer_id, now, read)
            degraded.extend(ctx.degradations)  # stale features: defaults used, visibly
            if consent is ConsentChange.SMS_OPT_OUT:  # ... and the opt-out binds from the next decision
                self._change_consent(message, consent)
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
        if isinstance(self.store, SqlStore):
            writes = self._side_writes(self.store, message, signals, ctx, timed, choice, sealed, seen)
            with watch.stage("store"):  # not in latency_ms (taken above): only a span, when tracing
                stored, created = self.store.record_decision(timed, snapshot, writes.in_transaction)
        else:  # pragma: no cover - every shipped store is an SqlStore
            writes = _SideWrites()
            stored, created = self.store.record_decision(timed, snapshot)
        if not created:
            return _same_event(stored, fingerprint)  # a concurrent duplicate won the race
        if created:
            if not writes.features:
                self._record_feature_events(message, signals, ctx, stored)
            elif self.hot is not None and writes.feature_write is not None:
                self.hot.features.write(writes.feature_write.written)  # write-through, best effort
            self._learner_logged(stored, choice, written=writes.learning)
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

    def _side_writes(
        self,
        store: SqlStore,
        message: InboundMessage,
        signals: Signals,
        ctx: CustomerContext,
        decision: Decision,
        choice: Choice,
        sealed: list[SealedValue],
        context_row: tuple[Any, ...] | None,
    ) -> _SideWrites:
        """The rows the other stages add to the decision's own transaction. Each module keeps its
        SQL and hands over a write; a part that keeps its rows elsewhere (a feature store or vault
        passed in over another backend) cannot join, and is written as before instead."""
        writes = _SideWrites(in_transaction=[partial(store.facts.record_in, decision=decision)])
        if sealed:  # only when the vault's rows are this store's (see ``_guard``)
            writes.in_transaction.append(
                store.vault.put_values_write(message.tenant_id, message.customer_id, sealed)
            )
        if self.features is getattr(store, "features", None):
            events = [message_event(message, signals, personal=ctx.personal), decision_event(decision)]
            writes.feature_write = store.features.decision_write(
                events, personal=ctx.personal, context_row=context_row
            )
            writes.in_transaction.append(writes.feature_write)
            writes.features = True
        learning = self.learner.log_write(decision, choice)
        if learning is not None:
            writes.in_transaction.append(learning)
            writes.learning = True
        return writes

    def _learner_logged(self, decision: Decision, choice: Choice, *, written: bool) -> None:
        """The decision is stored and answered whatever happens here; a failure only means the
        learner will not learn from it (or, when its log row committed with the decision, only
        that reward windows close on the next call), which is logged."""
        try:
            self.learner.logged(decision, choice, written=written)
        except Exception:
            log.exception("learner: logging decision %s failed; not learned from", decision.decision_id)

    def _record_feature_events(
        self, message: InboundMessage, signals: Signals, ctx: CustomerContext, decision: Decision
    ) -> None:
        """For a feature store outside the decision's database only: the inbound message (no text;
        no signals when personalisation is off) and the decision become events the features fold
        in. The decision is stored already, so a failure here must not fail the request: it is
        logged, and the decision's outbox event re-delivers it."""
        events = [message_event(message, signals, personal=ctx.personal), decision_event(decision)]
        try:
            self.features.ingest(events, personal=ctx.personal)
        except StoreError:
            log.exception("features: could not record the events of decision %s", decision.decision_id)

    def _on_decision_for_features(self, envelope: Envelope) -> None:
        if self.features is getattr(self.store, "features", None):
            # The store's own feature store got the decision's events in the decision's own
            # transaction (``_side_writes``): the event could only be a replay of them.
            return
        self.features.ingest([decision_event(Decision.model_validate(envelope.payload))])

    def _on_outcome_for_features(self, envelope: Envelope) -> None:
        outcome = Outcome.model_validate(envelope.payload)
        decision = self.store.get_decision(outcome.tenant_id, outcome.decision_id)
        if decision is not None:  # the store only accepts outcomes of existing decisions
            self.features.ingest([outcome_event(outcome, decision)])

    # -- the steps' details -----------------------------------------------------------------------

    def _read(self, message: InboundMessage) -> DecisionReads | None:
        """The decision's one combined read (event id, context, policy and intent refs)."""
        if not isinstance(self.store, SqlStore):  # pragma: no cover - every shipped store is one
            return None
        # With a hot store the read leaves the feature state's JSON to it (only which state is current).
        return self.store.read_for_decision(
            message.tenant_id, message.event_id, message.customer_id, state=self.hot is None
        )

    @property
    def _features_in_store(self) -> bool:
        return self.features is getattr(self.store, "features", None)

    def _signals(
        self,
        tenant_id: TenantId,
        guarded: GuardedText,
        channel: Channel,
        degraded: list[str],
        intent_version: int | None = UNREAD,
    ) -> Signals:
        # The selector never raises for a failing tier: it falls back to a poorer tier (or neutral
        # signals) and returns why, which makes the decision visibly degraded.
        outcome = self.tiers.signals(guarded.text, channel)
        degraded.extend(outcome.degradations)
        found = outcome.signals
        try:
            # A tenant that trained its own intents (POST /v1/intents/examples) gets them instead of
            # the shipped support intents; one small read, the decoded model is cached per version.
            model = tenant_intent_model(self.store, tenant_id, intent_version)
            found = with_tenant_intent(found, model, guarded.text)
        except Exception as exc:  # the shipped intent stands; the decision says so
            log.exception("tenant intent model of %s failed", tenant_id)
            degraded.append(
                f"signals: tenant intent model failed ({type(exc).__name__}); shipped intent used"
            )
        return found.model_copy(
            update={"pii": guarded.pii, "injection": max(found.injection, guarded.injection)}
        )

    def _guard(
        self, message: InboundMessage, now: datetime, degraded: list[str]
    ) -> tuple[GuardedText, list[SealedValue]]:
        """Tokenise the text and encrypt the values found before anything else sees them. The
        ciphertexts are returned to be written in the decision's transaction; a vault over other
        rows than the store's keeps them at once, in its own."""
        tokeniser = None if self.vault is None else self.vault.tokeniser(message.tenant_id)
        guarded = guard(message.text, self.guard_limits, tokeniser)
        if not guarded.pii:
            return guarded, []
        if self.vault is None:
            degraded.append("vault: no master key configured; personal data tokenised but not kept")
            return guarded, []
        found = {f.token: (f.kind, guarded.vault[f.token]) for f in guarded.pii}
        try:
            sealed = self.vault.seal(message.tenant_id, message.customer_id, found, now)
            if isinstance(self.store, SqlStore) and self.vault.rows is self.store.vault:
                return guarded, sealed
            self.vault.rows.put_values(message.tenant_id, message.customer_id, sealed)
        except (StoreError, VaultError) as exc:  # the decision can go on: its text is tokenised
            log.warning("vault: keeping %d value(s) failed: %s", len(found), exc.code)
            degraded.append(f"vault: personal data not kept ({exc.code})")
        return guarded, []

    def _fingerprint(self, message: InboundMessage) -> str | None:
        chain = getattr(self.store.audit, "chain", None)  # the SQL store's audit key
        if chain is None:
            return None
        return str(
            chain.fingerprint(
                message.tenant_id,
                message.customer_id,
                message.conversation_id,
                message.channel.value,
                message.text,
            )
        )

    def _sms_closed(self, message: InboundMessage) -> bool:
        current = self.store.get_customer(message.tenant_id, message.customer_id)
        return current is not None and Channel.SMS in current.preferences.opted_out

    def _change_consent(self, message: InboundMessage, change: ConsentChange) -> None:
        """Store an SMS keyword's consent change and audit it, once per inbound event however many
        times (or how concurrently) the event arrives; it binds every later decision."""
        if change is ConsentChange.SMS_HELP:
            return  # answered, nothing changes
        self.store.consent.change(
            message.tenant_id,
            message.customer_id,
            lambda preferences: apply_consent(preferences, change),
            source=f"sms_keyword:{change.value}",
            actor="customer:sms",
            change_id=f"{message.event_id}.consent",
        )

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


@dataclass
class _SideWrites:
    """What joins the decision's transaction, and which parts did (the rest is written after)."""

    in_transaction: list[SideWrite] = field(default_factory=list)
    features: bool = False
    feature_write: DecisionFeatureWrite | None = None  # the states it wrote go to the hot store
    learning: bool = False


def _feature_store(store: Store) -> FeatureStore:
    features: FeatureStore | None = getattr(store, "features", None)  # SqlStore has one
    if features is None:
        raise TypeError("this store has no feature store; pass Engine(features=...)")
    return features


def _auto_vault(store: Store, master: MasterKey | None) -> Vault | None:
    """A vault over the store's own tables, keyed by ``master`` or as ``resolve_master_key`` says."""
    rows = getattr(store, "vault", None)  # SqlStore; a store without vault tables has no vault
    if rows is None:
        return None
    key = resolve_master_key(master, rows.sqlite_path(), rows.key_dir())
    if key is None:
        log.warning(
            "no TACTFUL_MASTER_KEY on PostgreSQL: the PII vault is off (personal data is tokenised "
            "but not kept, so replies cannot re-insert it); set TACTFUL_MASTER_KEY (docs/security.md)"
        )
        return None
    return Vault(rows, key)


def _same_event(stored: Decision, fingerprint: str | None) -> Decision:
    """The stored decision for a re-sent event id, unless the event now says something else."""
    if (
        stored.input_fingerprint is not None
        and fingerprint is not None
        and stored.input_fingerprint != fingerprint
    ):
        raise Conflict(
            f"event {stored.event_id!r} was already decided with different content; use a new event id",
            code="idempotency_conflict",
        )
    return stored
