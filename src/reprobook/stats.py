"""Uncertainty: confidence intervals from seeds (Student t) and from resampling (bootstrap).

Every interval function returns an :class:`Estimate`; every bootstrap ends in :meth:`Estimate.from_draws`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as st

from .units import minus


@dataclass(frozen=True)
class Estimate:
    """A measured number with a confidence interval [low, high] from ``n`` values."""

    mean: float
    low: float
    high: float
    n: int = 1

    @classmethod
    def point(cls, value: float) -> Estimate:
        """An exact, deterministic number (e.g. a float64 identity check): no interval."""
        value = float(value)
        return cls(value, value, value, 1)

    @classmethod
    def from_draws(cls, point: float, draws, n: int, level: float = 0.95) -> Estimate:
        """``point`` with the percentile interval of bootstrap ``draws`` (a central ``level`` share),
        extended to ``point`` where the point lies outside it. That happens where resampling biases
        the statistic (a rank correlation of noisy means: :func:`~reprobook.papers.zeroq.quant.
        rank_agreement`, where all but a few draws fall below the point). Extending only widens the
        interval, so a criterion judged on it can turn uncertain, never met or not met."""
        low, high = np.quantile(
            np.asarray(draws, dtype=float), [0.5 - level / 2, 0.5 + level / 2]
        )
        return cls(float(point), min(float(low), point), max(float(high), point), n)

    def scaled(self, factor: float) -> Estimate:
        """The same estimate in other units (e.g. ``factor=100`` for percentage points)."""
        return Estimate(
            self.mean * factor, self.low * factor, self.high * factor, self.n
        )

    @property
    def yerr(self) -> list[float]:
        """``[[below], [above]]``-ready distances from the mean to the interval's ends (matplotlib)."""
        return [self.mean - self.low, self.high - self.mean]

    def to_dict(self) -> dict:
        return asdict(self)

    def __format__(self, spec: str) -> str:
        spec = spec or ".3g"
        if self.low == self.high:
            return minus(format(self.mean, spec))
        return minus(f"{self.mean:{spec}} [{self.low:{spec}}, {self.high:{spec}}]")


def mean_ci(
    values: Sequence[float],
    level: float = 0.95,
    bounds: tuple[float, float] | None = None,
) -> Estimate:
    """Mean with a Student-t interval. One value has no spread to build an interval from, so its
    interval is unbounded: a single seed can never make a criterion met or not met.

    ``bounds`` (e.g. ``(0, 1)`` for an accuracy) intersects the interval with the values the quantity
    can take: the true mean lies inside them, so the coverage is unchanged and the interval is honest.
    Non-finite values (a diverged run) make the mean non-finite: that is reported, not hidden.
    """
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        raise ValueError("mean_ci needs at least one value")
    m = float(x.mean())
    if not np.isfinite(x).all():
        return Estimate(m, m, m, len(x))
    if len(x) == 1:  # no spread: the interval is every value the quantity can take
        low, high = -math.inf, math.inf
    else:
        half = float(
            st.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
        )
        low, high = m - half, m + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Estimate(m, low, high, len(x))


def proportion_ci(k: int, n: int, level: float = 0.95) -> Estimate:
    """``k`` successes in ``n`` trials: the fraction k/n with its exact (Clopper–Pearson) interval,
    ``[B(α/2; k, n−k+1), B(1−α/2; k+1, n−k)]`` — inside [0, 1] by construction."""
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    alpha = 1 - level
    low = 0.0 if k == 0 else float(st.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(st.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Estimate(k / n, low, high, n)


def k_of_n(successes: Sequence[bool], level: float = 0.95) -> Estimate:
    """A bimodal outcome (trains / diverges) judged as k of n seeds: :func:`proportion_ci`."""
    s = np.asarray(successes, dtype=bool)
    return proportion_ci(int(s.sum()), len(s), level)


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = np.mean,
    level: float = 0.95,
    resamples: int = 4000,
    seed: int = 0,
) -> Estimate:
    """Percentile bootstrap interval of ``statistic`` over ``values`` (resampled with replacement)."""
    x = np.asarray(values, dtype=float)
    estimate = float(statistic(x))
    if len(x) < 2:  # nothing to resample: no interval can be claimed
        return Estimate(estimate, -math.inf, math.inf, len(x))
    rng = np.random.default_rng(seed)
    draws = [statistic(x[rng.integers(0, len(x), len(x))]) for _ in range(resamples)]
    return Estimate.from_draws(estimate, draws, len(x), level)


def paired_difference(a: Sequence[float], b: Sequence[float], **kw) -> Estimate:
    """Bootstrap interval of mean(a − b) for paired measurements (same seed, same cell of a grid)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(
            f"paired values must have the same shape, got {a.shape} and {b.shape}"
        )
    return bootstrap_ci(a - b, **kw)


def _groups(x) -> list[np.ndarray]:
    if isinstance(x, (list, tuple)):
        return [np.asarray(g, dtype=float) for g in x]
    x = np.asarray(x, dtype=float)
    return [x] if x.ndim == 2 else list(x)


def paired_accuracy_difference(
    a, b, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> Estimate:
    """Mean accuracy difference a − b with a percentile interval from a two-level bootstrap.

    ``a`` and ``b`` hold correctness (0/1) per [seed, test example], one such array per group (task ×
    attention type, say): a list of [S, N_g] arrays, or one [S, N] or [G, S, N] array. In each group
    the seeds are resampled with replacement and, independently, the test examples (the same examples
    for both models: the difference is paired). The statistic is the mean over groups of the group's
    mean difference, so it captures seed-to-seed and test-sample variation. With ``b`` all zeros it is
    an interval for the accuracy of ``a``.
    """
    ga, gb = _groups(a), _groups(b)
    if len(ga) != len(gb) or any(
        x.shape != y.shape or x.ndim != 2 for x, y in zip(ga, gb)
    ):
        raise ValueError(
            f"paired arrays must have the same shape, got {[x.shape for x in ga]} and "
            f"{[y.shape for y in gb]}"
        )
    diffs = [x - y for x, y in zip(ga, gb)]
    point = float(np.mean([d.mean() for d in diffs]))
    rng = np.random.default_rng(seed)
    draws = np.zeros(resamples)
    for diff in diffs:
        s, n = diff.shape
        chunk = max(1, min(resamples, 2_000_000 // max(1, s * n)))
        for start in range(0, resamples, chunk):
            r = min(chunk, resamples - start)
            seeds = rng.integers(0, s, (r, s))
            examples = rng.integers(0, n, (r, n))
            seed_mean = diff[seeds].mean(
                1
            )  # [r, N]: mean over the resampled seeds, per example
            draws[start : start + r] += np.take_along_axis(
                seed_mean, examples, axis=1
            ).mean(1) / len(diffs)
    return Estimate.from_draws(point, draws, min(d.shape[0] for d in diffs), level)


def accuracy(correct, **kw) -> Estimate:
    """Mean accuracy of 0/1 correctness per [seed, test example] with the same two-level bootstrap."""
    groups = _groups(correct)
    return paired_accuracy_difference(groups, [np.zeros_like(g) for g in groups], **kw)


def slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``y`` against ``x``: Σ(x−x̄)(y−ȳ) / Σ(x−x̄)²."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2:
        raise ValueError("a slope needs at least two points")
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc * xc).sum())
