"""One learner per tenant, many readers (issue 13): a process that only reads chooses with the
learner's newest snapshot, picks up a newer one after its refresh interval, and never learns."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from tactful.config import default_policy_file
from tactful.domain import Channel, TenantId
from tactful.learn.arms import Arm
from tactful.learn.bandit import BanditLearner
from tactful.learn.reader import SnapshotReader
from tactful.learn.store import MemoryLearningStore
from tactful.policy.loader import load_policy_file

TENANT = TenantId("t-reader")
POLICY = load_policy_file(default_policy_file())
NOW = datetime(2026, 6, 17, 15, 0, tzinfo=UTC)


def teach(learner: BanditLearner, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    cfg = POLICY.document.learning
    channels = list(Channel)
    for _ in range(rounds):
        arms = [Arm(c, s) for c in rng.sample(channels, 3) for s in cfg.styles]
        feats = {"in": rng.choice(channels).value}
        learner.learn(TENANT, cfg, feats, arms, rng.randrange(len(arms)), rng.random(), 1 / len(arms))


def test_reader_loads_the_newest_snapshot_and_never_learns() -> None:
    store = MemoryLearningStore()
    learner = BanditLearner(store, lambda _t: POLICY, clock=lambda: NOW, seed=1)
    teach(learner, 20, seed=2)
    first = learner.snapshot(TENANT)
    reader = SnapshotReader(store, lambda _t: POLICY, clock=lambda: NOW, seed=1, refresh_s=0.0)
    assert reader.model_version(TENANT) == f"vw-s{first.version}+0"

    teach(learner, 20, seed=3)
    second = learner.snapshot(TENANT)
    assert second.version > first.version
    assert reader.model_version(TENANT) == f"vw-s{second.version}+0"  # refreshed from the store

    assert reader.close_due(NOW) == 0
    assert [s.version for s in store.list_snapshots(TENANT)] == [second.version, first.version]


def test_reader_keeps_its_model_within_the_refresh_interval() -> None:
    store = MemoryLearningStore()
    learner = BanditLearner(store, lambda _t: POLICY, clock=lambda: NOW, seed=1)
    teach(learner, 5, seed=2)
    first = learner.snapshot(TENANT)
    reader = SnapshotReader(store, lambda _t: POLICY, clock=lambda: NOW, seed=1, refresh_s=3600.0)
    assert reader.model_version(TENANT) == f"vw-s{first.version}+0"
    learner.snapshot(TENANT)
    assert reader.model_version(TENANT) == f"vw-s{first.version}+0"  # not re-read yet
