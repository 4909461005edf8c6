"""What an engine is built from: ``EngineParts``, one frozen object, and the composition root that
fills it from the settings (``EngineParts.from_settings``).

``Engine(EngineParts(store))`` is the library default (and the tests'): the in-process bus, the
lexicon tier run inline, the template renderer, rules only (no learner), the real clock, a vault
over the store's own tables, no hot store and no tracing. Any part passed in replaces its default::

    engine = Engine(EngineParts(store, clock=clock, tier=TierSelector([...])))
    engine = Engine.from_settings(settings)  # the services: parts named by URL and settings
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Collection
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Literal

from tactful.bus import Bus
from tactful.config import Settings
from tactful.context import FeatureStore
from tactful.guard import GuardLimits
from tactful.guard.crypto import MasterKey
from tactful.guard.vault import Vault, resolve_master_key
from tactful.hot import HotPath
from tactful.learn import Learner
from tactful.observability.tracing import Tracing
from tactful.policy.active import ActivePolicies
from tactful.render import Renderer
from tactful.signals import SignalTier
from tactful.signals.selection import TierSelector
from tactful.store.sql import SqlStore, utc_now

#: The decision path logs under one name, the engine's (``TACTFUL_LOG_LEVELS=tactful.engine=...``).
log = logging.getLogger("tactful.engine")

__all__ = ["LEARNER_GROUP", "Clock", "EngineParts", "auto_vault", "utc_now"]

Clock = Callable[[], datetime]

#: The bus group of the one process that learns from outcomes (``tactful worker --role learner``).
LEARNER_GROUP = "learner"


@dataclass(frozen=True)
class EngineParts:
    """The parts of one engine. Only the store is required; None (or "auto") takes the default."""

    #: The SQL store, over SQLite or PostgreSQL (``open_store``): a decision's own transaction
    #: carries the other stages' rows (its facts, vault values, feature events, learning log), so
    #: the engine needs the store whose tables those are, not any ``Store``.
    store: SqlStore
    _: KW_ONLY
    #: The event bus; None: in process. A durable bus also carries a decision's feature events.
    bus: Bus | None = None
    #: One tier run inline, or a ``TierSelector`` picking per message (docs/signals-tiers.md);
    #: None: the default tier.
    tier: SignalTier | TierSelector | None = None
    renderer: Renderer | None = None  # None: the template renderer
    learner: Learner | None = None  # None: rules only
    #: The active-policy cache; None: one over the store (``from_settings`` shares it with the learner).
    policies: ActivePolicies | None = None
    clock: Clock = utc_now
    guard_limits: GuardLimits = field(default_factory=GuardLimits)
    max_sms_segments: int = 3
    #: False publishes a decision's events before ``decide`` returns (tests, scripts); services
    #: relay in the background.
    background_relay: bool = False
    #: The PII vault; "auto" keys it from a file beside a SQLite database, and leaves it off on
    #: PostgreSQL unless a master key is configured (``from_settings``).
    vault: Vault | Literal["auto"] | None = "auto"
    features: FeatureStore | None = None  # None: the store's own (the SQL store carries one)
    tracing: Tracing | None = None  # None: off
    #: The hot store (issue 13; tactful/hot.py); None: SQL only.
    hot: HotPath | None = None
    #: How long a tenant's running experiment is cached, and how often its guardrails are judged.
    experiment_cache_seconds: float = 1.0
    experiment_check_seconds: float = 60.0

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock, background_relay: bool, consume: Collection[str] | None
    ) -> EngineParts:
        """The composition root (``Engine.from_settings`` says what the options mean): the store
        and bus named by URL, the tiers, vault, hot store and tracing the settings name, and the
        learner this process runs (the bandit, or a reader of the learner worker's snapshots)."""
        from tactful.bus import open_bus
        from tactful.learn.bandit import BanditLearner
        from tactful.learn.reader import SnapshotReader
        from tactful.store import open_store

        # The store stamps rows (feature state, outbox, audit) with the same clock as the decisions,
        # so a run under a fixed clock is reproducible in every field.
        store = open_store(settings.database_url, settings=settings, clock=clock)
        configured = settings.master_key
        master = None if configured is None else MasterKey.from_base64(configured, "TACTFUL_MASTER_KEY")
        policies = ActivePolicies(store)
        # The bandit learns per tenant when the policy (or `tactful learn mode`) turns it on; with
        # mode off it costs one cached mode lookup per decision.
        # Several processes on a durable bus: the learner worker learns, the others read its
        # newest snapshot (one model per tenant, not one per process; docs/scale-out.md).
        reads_only = consume is not None and LEARNER_GROUP not in consume
        learner_class = SnapshotReader if reads_only else BanditLearner
        return cls(
            store,
            vault=auto_vault(store, master),
            bus=open_bus(settings.bus_url, consume=consume),
            tier=TierSelector.from_settings(settings),
            learner=learner_class(store.learning, policies.get, clock=clock),
            policies=policies,
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
            experiment_cache_seconds=settings.experiment_cache_seconds,
            experiment_check_seconds=settings.experiment_check_seconds,
        )

    def feature_store(self) -> FeatureStore:
        if self.features is not None:
            return self.features
        return self.store.features

    def signal_tiers(self) -> TierSelector:
        from tactful.signals import default_tier

        tier = self.tier
        return tier if isinstance(tier, TierSelector) else TierSelector.single(tier or default_tier())

    def pii_vault(self) -> Vault | None:
        return auto_vault(self.store, None) if self.vault == "auto" else self.vault


def auto_vault(store: SqlStore, master: MasterKey | None) -> Vault | None:
    """A vault over the store's own tables, keyed by ``master`` or as ``resolve_master_key`` says."""
    rows = store.vault
    key = resolve_master_key(master, rows.sqlite_path(), rows.key_dir())
    if key is None:
        log.warning(
            "no TACTFUL_MASTER_KEY on PostgreSQL: the PII vault is off (personal data is tokenised "
            "but not kept, so replies cannot re-insert it); set TACTFUL_MASTER_KEY (docs/security.md)"
        )
        return None
    return Vault(rows, key)


def settle_startup_heap() -> None:
    """For a long-running process, once its engine is built (models, vocabularies, policies and
    caches loaded): collect, then move everything alive out of the garbage collector's reach
    (``gc.freeze``). A full collection otherwise walks those ~220,000 start-up objects, none of
    which is ever garbage: measured once per ~1,500 decisions, 96–110 ms in the middle of one
    (issue 12's tail), and none in 3,000 decisions with them frozen. Objects made later are
    collected as before. The services call it (``tactful serve``, ``tactful worker``); an
    embedding application decides for its own process."""
    gc.collect()
    gc.freeze()
