"""The guardrails' sequential test: a one-sided mixture SPRT on the difference of two arms' means.

Why this test: the monitor looks at the data again and again as outcomes arrive, and a classical
test repeated like that raises false alarms far above its nominal rate. The mixture sequential
probability ratio test (mSPRT; Robbins 1970, as used for always-valid A/B inference by Johari et
al., 2017) gives a statistic ``Λ`` that, under "the candidate is no worse than control by more than
the margin", is a non-negative martingale with mean one: by Ville's inequality the chance it ever
crosses ``1/α``, however often it is looked at, is at most ``α``. Crossing is the stop signal.

With ``d`` the observed harm beyond the margin (candidate − control, signed so that harm is
positive, minus the margin), ``V`` the variance of that difference (``s²_c/n_c + s²_t/n_t``) and a
half-normal mixing distribution of scale ``τ`` over harmful effects only (one-sided):

    Λ = 2 Φ(z) · sqrt(V / (V + τ²)) · exp(τ² d² / (2 V (V + τ²))),   z = d τ / sqrt(V (V + τ²))

The variances are plug-in estimates, so the guarantee is asymptotic; each arm needs a minimum
number of samples before testing (``ExperimentSettings.min_samples``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower"]  # which way is worse


@dataclass(frozen=True)
class Sample:
    n: int
    mean: float
    variance: float  # of one observation

    @classmethod
    def of_rate(cls, n: int, hits: int) -> Sample:
        p = hits / n if n else 0.0
        # The variance from a half-count-smoothed rate: an arm at 0 % or 100 % still has some
        # uncertainty, so a difference between two such arms can be tested at all.
        smoothed = (hits + 0.5) / (n + 1)
        return cls(n, p, smoothed * (1 - smoothed))

    @classmethod
    def of_sums(cls, n: int, total: float, squares: float) -> Sample:
        if n == 0:
            return cls(0, 0.0, 0.0)
        mean = total / n
        return cls(n, mean, max(squares / n - mean * mean, 0.0) * n / max(n - 1, 1))


@dataclass(frozen=True)
class HarmTest:
    harm: float  # candidate − control in the harmful direction (positive: worse)
    log_lr: float  # log Λ
    threshold: float  # log(1/α)

    @property
    def breached(self) -> bool:
        return self.log_lr >= self.threshold

    @property
    def always_valid_p(self) -> float:
        """min(1, 1/Λ): the smallest α at which this would stop."""
        return min(1.0, math.exp(-self.log_lr)) if self.log_lr > 0 else 1.0


def log_normal_cdf(z: float) -> float:
    if z > -30:
        return math.log(max(0.5 * math.erfc(-z / math.sqrt(2.0)), 1e-300))
    # Mills-ratio asymptote, where erfc underflows.
    return -0.5 * z * z - math.log(-z) - 0.5 * math.log(2 * math.pi)


def harm_test(
    control: Sample, candidate: Sample, *, worse: Direction, margin: float, tau: float, alpha: float
) -> HarmTest:
    """Is ``candidate`` worse than ``control`` by more than ``margin``? (see the module docstring)"""
    threshold = math.log(1.0 / alpha)
    sign = 1.0 if worse == "higher" else -1.0
    harm = sign * (candidate.mean - control.mean)
    if control.n == 0 or candidate.n == 0:
        return HarmTest(harm, 0.0, threshold)
    # Both arms constant (a latency or CSAT that never varies): a difference is then certain.
    v = max(control.variance / control.n + candidate.variance / candidate.n, 1e-12)
    d = harm - margin
    t2 = tau * tau
    z = d * tau / math.sqrt(v * (v + t2))
    log_lr = (
        math.log(2.0) + 0.5 * math.log(v / (v + t2)) + t2 * d * d / (2 * v * (v + t2)) + log_normal_cdf(z)
    )
    return HarmTest(harm, log_lr, threshold)
