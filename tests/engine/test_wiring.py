"""The engine is built from one frozen ``EngineParts``: its defaults, and what ``from_settings``
puts in it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from tactful.bus import InProcessBus
from tactful.config import Settings
from tactful.engine import Engine, EngineParts
from tactful.learn import RulesOnly
from tactful.learn.bandit import BanditLearner
from tactful.render import TemplateRenderer
from tactful.store.base import Store
from tests.conftest import FixedClock


def test_parts_left_out_take_their_defaults(store: Store, clock: FixedClock) -> None:
    engine = Engine(EngineParts(store, clock=clock))
    try:
        assert isinstance(engine.learner, RulesOnly) and isinstance(engine.renderer, TemplateRenderer)
        assert isinstance(engine.bus, InProcessBus)
        assert [t.name for t in engine.tiers.tiers] == ["lexicon"]
        assert engine.features is store.features  # type: ignore[attr-defined]
        assert engine.vault is not None  # keyed from the file beside the SQLite database
        assert engine.hot is None and engine.clock is clock and engine.max_sms_segments == 3
        assert engine.experiments.ttl_s == 1.0
        assert engine.monitor is not None and engine.monitor.every == timedelta(seconds=60)
    finally:
        engine.close()


def test_parts_are_frozen_and_only_the_store_is_positional(store: Store) -> None:
    parts = EngineParts(store)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parts.max_sms_segments = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        EngineParts(store, None)  # type: ignore[misc]


def test_from_settings_puts_the_settings_in_the_parts(tmp_path: Path, clock: FixedClock) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/w.db",
        signal_tiers=("lexicon",),
        max_sms_segments=2,
        max_text_chars=500,
        experiment_cache_seconds=5.0,
        experiment_check_seconds=7.0,
    )
    engine = Engine.from_settings(settings, clock=clock)
    try:
        assert engine.max_sms_segments == 2 and engine.guard_limits.max_chars == 500
        assert engine.experiments.ttl_s == 5.0
        assert engine.monitor is not None and engine.monitor.every == timedelta(seconds=7)
        assert isinstance(engine.learner, BanditLearner)
        assert engine.learner._policies == engine.policies.get  # one policy cache, shared
        assert engine.clock is clock
    finally:
        engine.close()


def test_the_store_stamps_rows_with_the_engines_clock(tmp_path: Path, clock: FixedClock) -> None:
    """A run under an injected clock is reproducible in every field: the feature state a decision
    reads back was stamped by the same clock, not the wall clock."""
    from tactful.demo import bench_message, seed

    engine = Engine.from_settings(Settings(database_url=f"sqlite:///{tmp_path}/c.db"), clock=clock)
    try:
        tenant_id, _ = seed(engine)
        texts = ["my order never arrived", "still waiting for the refund"]
        # Message 0 and 8 are the same demo customer: the second reads the state the first wrote.
        engine.decide(bench_message(tenant_id, texts, 0, clock.now))
        second = engine.decide(bench_message(tenant_id, texts, 8, clock.now))
        stamps = {v["computed_at"] for v in second.features["values"].values()}
        assert stamps == {clock.now.isoformat()}
    finally:
        engine.close()
