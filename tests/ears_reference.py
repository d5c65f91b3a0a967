"""Independent Python implementation of the CDC EARS C1/C2/C3 detectors.

Written from the published algorithm, as implemented in R `surveillance::earsC`
(file R/earsC.R) and described by Hutwagner et al. (2003), without looking at our SQL:

- C1: baseline = the `baseline` (7) periods t-7..t-1; mean and sample sd (n - 1);
  sigma = max(sd, min_sigma); statistic C1 = (y_t - mean) / sigma; alarm if
  y_t > mean + z * sigma.
- C2: the same with the baseline t-9..t-3 (a 2-period guard band).
- C3: C3_t = max(0, C2_t - 1) + max(0, C2_{t-1} - 1) + max(0, C2_{t-2} - 1), the sum of the
  excesses of C2 over 1 in the current and two previous periods (the CDC definition);
  alarm if C3_t > z.

`direction = -1` mirrors the detectors for series where a fall is the bad news
(statistic = (mean - y_t) / sigma), as the warehouse does for higher-is-better indicators.

Only the standard library and plain lists are used, so the reference shares no code or
library (not even numpy) with the warehouse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class EarsPoint:
    """Detector output for one period (None when the baseline is incomplete)."""

    mean: float | None
    sigma: float | None
    statistic: float | None
    alarm: bool | None


def _mean_sd(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var)


def _standardize(y: float, mean: float, sigma: float, direction: int) -> float:
    excess = direction * (y - mean)
    if sigma > 0:
        return excess / sigma
    # sigma = 0 (constant baseline and no floor): R divides by zero -> +/-Inf or NaN.
    if excess > 0:
        return math.inf
    if excess < 0:
        return -math.inf
    return 0.0


def ears_c1_c2(
    counts: list[float],
    *,
    guard: int,
    baseline: int = 7,
    min_sigma: float = 0.0,
    z: float = NormalDist().inv_cdf(1 - 0.001),
    direction: int = 1,
) -> list[EarsPoint]:
    """C1 (guard=0) or C2 (guard=2) for every period of a dense series."""
    out: list[EarsPoint] = []
    for t, y in enumerate(counts):
        start, stop = t - guard - baseline, t - guard
        if start < 0:
            out.append(EarsPoint(None, None, None, None))
            continue
        mean, sd = _mean_sd(list(counts[start:stop]))
        sigma = max(sd, min_sigma)
        stat = _standardize(y, mean, sigma, direction)
        alarm = direction * (y - mean) > z * sigma
        out.append(EarsPoint(mean, sigma, stat, alarm))
    return out


def ears_c3(
    counts: list[float],
    *,
    baseline: int = 7,
    min_sigma: float = 0.0,
    z: float = NormalDist().inv_cdf(1 - 0.001),
    direction: int = 1,
) -> list[EarsPoint]:
    """C3 = sum of max(0, C2 - 1) over t, t-1 and t-2."""
    c2 = ears_c1_c2(
        counts, guard=2, baseline=baseline, min_sigma=min_sigma, z=z, direction=direction
    )
    out: list[EarsPoint] = []
    for t, point in enumerate(c2):
        if (
            t < 2
            or point.statistic is None
            or c2[t - 1].statistic is None
            or c2[t - 2].statistic is None
        ):
            out.append(EarsPoint(None, None, None, None))
            continue
        stat = sum(max(0.0, c2[t - i].statistic - 1) for i in range(3))
        out.append(EarsPoint(point.mean, point.sigma, stat, stat > z))
    return out


def poisson_exact_interval(k: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson mean given k events, by bisection on the CDF."""
    alpha = 1 - level

    def cdf(k_: int, mu: float) -> float:  # P(X <= k_)
        if mu == 0:
            return 1.0
        term = math.exp(-mu)
        total = term
        for i in range(1, k_ + 1):
            term *= mu / i
            total += term
        return total

    def solve(f, lo: float, hi: float) -> float:
        for _ in range(200):
            mid = (lo + hi) / 2
            if f(mid):
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    k = int(k)
    hi_bound = k + 20 * math.sqrt(k + 1) + 20
    # upper: P(X <= k; mu) = alpha / 2
    upper = solve(lambda mu: cdf(k, mu) > alpha / 2, 0.0, hi_bound)
    # lower: P(X >= k; mu) = alpha / 2  <=>  P(X <= k - 1; mu) = 1 - alpha / 2
    lower = 0.0 if k == 0 else solve(lambda mu: cdf(k - 1, mu) > 1 - alpha / 2, 0.0, hi_bound)
    return lower, upper
