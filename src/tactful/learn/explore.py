"""Exploration that tunes itself: SquareCB over the regressor's predicted rewards, its ``gamma``
chosen online per tenant by AdaHedge among a geometric grid.

SquareCB (Foster & Rakhlin 2020) gives arm ``a`` probability ``1 / (K + γ (ŷ* − ŷ_a))`` and the
rest to the best arm; ``γ = scale × √n`` grows with the rewards learned in the context, as in VW's
``--squarecb``. Which ``scale`` suits a tenant depends on its reward noise and on how far apart its
arms are, so none is fixed: each candidate is scored on every learned reward by its importance-
weighted value ``r × p_scale(a) / p_logged(a)`` (an unbiased estimate of what that explorer would
have earned on the decision), and AdaHedge (de Rooij et al. 2014, no learning rate to choose) mixes
the candidates. The decision's distribution is the mixture, so its logged propensity is exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: Candidate γ scales: a wide geometric grid (VW's default is 10), not values fitted to any spec.
SCALES: tuple[float, ...] = (4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)


def squarecb(rewards: Sequence[float], gamma: float) -> list[float]:
    return _squarecb_all(rewards, (gamma,))[0]


def _squarecb_all(rewards: Sequence[float], gammas: Sequence[float]) -> list[list[float]]:
    """``squarecb`` for each gamma, the gaps to the best arm computed once (the live path calls this
    on every decision; the arithmetic and its order are those of one ``squarecb`` call each)."""
    k = len(rewards)
    top = max(rewards)
    best = rewards.index(top)  # the first best, as ``max`` with a key picks it
    gaps = [top - r for r in rewards]
    out = []
    for gamma in gammas:
        probs = [1.0 / (k + gamma * gap) for gap in gaps]
        probs[best] = 0.0
        probs[best] = 1.0 - sum(probs)
        out.append(probs)
    return out


class AdaHedge:
    """Hedge whose learning rate is set from the observed mixability gap (no constant to tune)."""

    def __init__(self, n: int) -> None:
        self.losses = [0.0] * n
        self.gap = 0.0  # Δ: cumulative mixability gap
        #: The last weights and the (gap, losses) they were computed from: every decision reads
        #: them, only a learned reward changes them.
        self._cached: tuple[tuple[float, ...], list[float]] | None = None

    def weights(self) -> list[float]:
        key = (self.gap, *self.losses)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return list(cached[1])
        found = self._weights()
        self._cached = (key, found)
        return list(found)

    def _weights(self) -> list[float]:
        low = min(self.losses)
        if self.gap <= 0.0:  # η = ∞: follow the leader(s)
            leaders = [1.0 if loss == low else 0.0 for loss in self.losses]
            total = sum(leaders)
            return [w / total for w in leaders]
        eta = math.log(len(self.losses)) / self.gap
        raw = [math.exp(-eta * (loss - low)) for loss in self.losses]
        total = sum(raw)
        return [w / total for w in raw]

    def update(self, loss: Sequence[float]) -> None:
        w = self.weights()
        hedge = sum(wi * li for wi, li in zip(w, loss, strict=True))
        low = min(loss)
        if self.gap <= 0.0:
            mix = min(li for wi, li in zip(w, loss, strict=True) if wi > 0)
        else:
            eta = math.log(len(self.losses)) / self.gap
            # log Σ w·exp(−η(ℓ − low)) in log space: with concentrated weights and a large loss the
            # plain sum underflows to 0 (a math domain error on a 20,000-decision retail run).
            terms = [math.log(wi) - eta * (li - low) for wi, li in zip(w, loss, strict=True) if wi > 0]
            top = max(terms)
            mix = low - (top + math.log(sum(math.exp(t - top) for t in terms))) / eta
        self.gap += max(hedge - mix, 0.0)
        self.losses = [a + b for a, b in zip(self.losses, loss, strict=True)]

    def state(self) -> dict[str, Any]:
        return {"losses": self.losses, "gap": self.gap}

    @classmethod
    def restore(cls, state: dict[str, Any]) -> AdaHedge:
        hedge = cls(len(state["losses"]))
        hedge.losses = [float(x) for x in state["losses"]]
        hedge.gap = float(state["gap"])
        return hedge


class TunedSquareCB:
    """SquareCB with its γ scale chosen by AdaHedge from importance-weighted rewards."""

    def __init__(self, scales: Sequence[float] = SCALES) -> None:
        self.scales = tuple(scales)
        self.hedge = AdaHedge(len(self.scales))

    def candidates(self, rewards: Sequence[float], n: int) -> list[list[float]]:
        root = math.sqrt(max(n, 1))
        return _squarecb_all(rewards, [scale * root for scale in self.scales])

    def distribution(self, rewards: Sequence[float], n: int) -> list[float]:
        weights = self.hedge.weights()
        per_arm = zip(*self.candidates(rewards, n), strict=True)  # each arm's probability per candidate
        return [sum([w * p for w, p in zip(weights, arm, strict=True)]) for arm in per_arm]

    def score(self, rewards: Sequence[float], n: int, chosen: int, reward: float, propensity: float) -> None:
        """One learned reward: each candidate's loss is minus its importance-weighted value."""
        candidates = self.candidates(rewards, n)
        # (A doubly-robust score, the model's own predictions as the direct method, was tried and
        # not kept: it moved little, and AdaHedge still settled on the least-exploring scale;
        # docs/learning.md, "confirming level alarms".)
        self.hedge.update([-reward * c[chosen] / propensity for c in candidates])

    def status(self) -> dict[str, Any]:
        weights = self.hedge.weights()
        best = max(range(len(weights)), key=lambda i: weights[i])
        return {
            "explorer": "squarecb (AdaHedge over gamma scales)",
            "gamma_scale": self.scales[best],
            "gamma_weights": {f"{s:g}": round(w, 4) for s, w in zip(self.scales, weights, strict=True)},
        }

    def state(self) -> dict[str, Any]:
        return {"scales": list(self.scales), "hedge": self.hedge.state()}

    @classmethod
    def restore(cls, state: dict[str, Any]) -> TunedSquareCB:
        tuned = cls([float(s) for s in state["scales"]])
        tuned.hedge = AdaHedge.restore(state["hedge"])
        return tuned
