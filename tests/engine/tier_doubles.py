"""Test doubles of our own ``SignalTier`` interface for the tier-selection tests: a tier that
answers, one that raises, one that is held on an event until the test lets it go."""

from __future__ import annotations

import threading

from tactful.domain import Signals

WAIT_S = 30  # upper bound on a wait; reached only when the code under test is broken


class StubTier:
    """Answers with signals naming itself; ``fail`` makes it raise instead, ``gate`` holds each call
    until set (a late tier), ``started`` is set when a call begins."""

    def __init__(
        self,
        name: str,
        *,
        intent: str = "other",
        fail: Exception | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.name = name
        self.version = f"{name}-1.0"
        self.intent = intent
        self.fail = fail
        self.gate = gate
        self.started = threading.Event()
        self.calls = 0

    def extract(self, text: str) -> Signals:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT_S), "the test never released the gate"
        if self.fail is not None:
            raise self.fail
        return Signals(
            tier=self.name,
            intent=self.intent,
            intent_confidence=0.9,
            model_versions={self.name: self.version},
        )
