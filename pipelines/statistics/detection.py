"""Detectors for count series (events per day, week or month in one area).

Every function works on a matrix `Y` of shape (n_series, n_periods): counts, NaN where a
series has no period (before its first or after its last one). Periods are consecutive
(a day grid, a week grid, a month grid) and shared by the rows.

Building blocks (formulas in ANALYTICS.md, section "Detectors"):

- `calendar_intensity`: the relative expected volume of each period (weekday, first of the
  month and 1 January for days, where crime records with an unknown date pile up; days in
  the month for months), estimated from the pooled series.
- `window_test`: the window of the last w periods against a baseline of B periods that ends
  g periods (the guard band) before the window. Under a constant Poisson rate the window's
  count given the total of window and baseline is binomial with the window's share q of the
  calendar intensity: the exact conditional test, free of the unknown rate. Counts vary more
  than Poisson (crime clusters), so the test is quasi-binomial: counts are divided by a
  dispersion phi estimated from the series' own earlier windows of the same length, and the
  deviate is referred to Student's t on the dispersion's degrees of freedom.
- `scan`: the window p-values over several window lengths (a sudden day, a burst of a few
  days, a week) combined by Simes' rule, min_k (m p_(k) / k) (valid for positively dependent
  tests, at least as powerful as Bonferroni). A window longer than
  one period counts only while its latest period is itself above its expected count, so an
  event is not re-flagged for a week after it ended.
- `nb_cusum`: negative-binomial CUSUM for a doubling of the expected count.
- `calibrate`: a detector's statistic turned into a p-value against the same detector's
  statistics in the same family of series (one city, grain and indicator) over the earlier
  periods, a conformal p-value (1 + #{history >= s}) / (1 + n). Real crime counts have
  heavier tails than any negative binomial fitted to 28 days, so model p-values alone run
  above nominal at the 0.1 % level on long real histories; the rank against the city's own
  history does not. Before the family has `min_history` earlier statistics, the model
  p-value stands (it is flagged `is_calibrated = false`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy import special

from pipelines.statistics.distributions import norm_isf, t_sf


@dataclass(frozen=True)
class ScanSettings:
    """Settings of the window scan and the CUSUM for one grain (defaults: daily)."""

    baseline: int = 28
    guard: int = 2
    windows: tuple[int, ...] = (1, 3, 7)
    dispersion_history: int = 91
    dispersion_min_history: int = 28
    tail_df: float = 8.0
    cusum_ratio: float = 2.0


def rolling_sum(a: np.ndarray, length: int, lag: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of the non-NaN values of a[:, t-lag-length+1 .. t-lag] for every t."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    n, periods = a.shape
    valid = ~np.isnan(a)
    cum = np.zeros((n, periods + 1))
    cum[:, 1:] = np.cumsum(np.where(valid, a, 0.0), axis=1)
    cnt = np.zeros((n, periods + 1))
    cnt[:, 1:] = np.cumsum(valid, axis=1)
    t = np.arange(periods)
    hi = t - lag + 1
    lo = hi - length
    inside = lo >= 0
    hi_c, lo_c = np.clip(hi, 0, periods), np.clip(lo, 0, periods)
    total = np.where(inside, cum[:, hi_c] - cum[:, lo_c], np.nan)
    count = np.where(inside, cnt[:, hi_c] - cnt[:, lo_c], 0)
    return total, count


def calendar_intensity(dates: list[dt.date], grain: str, counts: np.ndarray) -> np.ndarray:
    """Relative expected volume of each period (mean about 1 for days).

    month: days in the month (exposure). week: 1. day: weekday x first-of-month x 1 January
    factors, each the mean ratio of the pooled count to its centred 29-day moving average,
    estimated only when there are at least 8 weeks (3 firsts of a month, 2 New Year's days).
    """
    periods = len(dates)
    if grain == "month":
        return np.array(
            [((d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - d).days for d in dates],
            dtype=float,
        )
    if grain != "day" or periods < 56:
        return np.ones(periods)
    total = np.nansum(np.atleast_2d(counts), axis=0)
    if total.sum() <= 0:
        return np.ones(periods)
    half = 14
    padded = np.pad(total, (half, half), mode="edge")
    level = np.convolve(padded, np.ones(2 * half + 1) / (2 * half + 1), mode="valid")
    ratio = np.where(level > 0, total / np.where(level > 0, level, 1), np.nan)
    weekday = np.array([d.weekday() for d in dates])
    first = np.array([d.day == 1 and d.month != 1 for d in dates])
    new_year = np.array([d.day == 1 and d.month == 1 for d in dates])
    ordinary = ~first & ~new_year
    factors = np.ones(7)
    for day in range(7):
        values = ratio[(weekday == day) & ordinary]
        if np.isfinite(values).sum() >= 8:
            factors[day] = np.nanmean(values)
    factors /= factors.mean()
    intensity = factors[weekday]
    base = np.nanmean(ratio[ordinary] / factors[weekday[ordinary]])
    for mask, needed in ((first, 3), (new_year, 2)):
        values = ratio[mask] / factors[weekday[mask]]
        if np.isfinite(values).sum() >= needed:
            intensity = np.where(mask, intensity * np.nanmean(values) / base, intensity)
    return intensity


def _t_corrected(p: np.ndarray, df: np.ndarray) -> np.ndarray:
    """The normal deviate of a one-sided p-value referred to Student's t on df."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = norm_isf(p)
        return np.where(np.isnan(p), np.nan, t_sf(z, np.maximum(df, 1)))


def window_test(
    y: np.ndarray,
    intensity: np.ndarray,
    window: int,
    settings: ScanSettings,
    direction: int = 1,
) -> dict[str, np.ndarray]:
    """Quasi-binomial conditional test of the last `window` periods against the baseline.

    Returns arrays (n_series, n_periods): p (one-sided: a rise for direction +1, a fall for
    -1), observed and expected counts of the window, the dispersion used and its degrees of
    freedom. NaN where untestable.
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    f = np.broadcast_to(np.asarray(intensity, dtype=float), y.shape).copy()
    b, g = settings.baseline, settings.guard
    observed, n_window = rolling_sum(y, window)
    base, n_base = rolling_sum(y, b, window + g)
    f_window, _ = rolling_sum(f, window)
    f_base, _ = rolling_sum(f, b, window + g)
    ok = (n_window == window) & (n_base == b) & (f_base > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = f_window / (f_window + f_base)
        expected = base * f_window / f_base
        # squared Pearson residuals of earlier windows; half an event in the baseline keeps
        # the denominator positive when the baseline is empty
        floor = 0.5 * f_window / f_base
        resid2 = np.where(ok, (observed - expected) ** 2 / (expected + floor), np.nan)
    hist_sum, hist_n = rolling_sum(resid2, settings.dispersion_history, window)
    has_hist = hist_n >= settings.dispersion_min_history
    # local dispersion: the baseline periods' own Pearson residuals against the same
    # intensity, sum (y_j - c f_j)^2 / (c f_j) / (B - 1) with c = base / f_base, which is
    # (f_base / base) sum(y_j^2 / f_j) - base
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled_sq, _ = rolling_sum(np.where(f > 0, y * y / f, np.nan), b, window + g)
        local = np.where(base > 0, (f_base / base * scaled_sq - base) / (b - 1), 1.0)
        dispersion = np.maximum(1.0, np.where(has_hist, hist_sum / np.maximum(hist_n, 1), local))
        df = np.where(has_hist, np.maximum(hist_n / window - 1, 1), b - 1)
        k = observed / dispersion
        total = (observed + base) / dispersion
        if direction > 0:  # P(Bin(n, q) >= k) = I_q(k, n - k + 1)
            exact = np.where(
                k <= 0, 1.0, special.betainc(np.maximum(k, 1e-12), np.maximum(total - k, 0) + 1, q)
            )
        else:  # P(Bin(n, q) <= k) = I_{1-q}(n - k, k + 1)
            exact = np.where(
                total - k <= 0, 1.0, special.betainc(np.maximum(total - k, 1e-12), k + 1, 1 - q)
            )
        # heavy-tailed shocks to the rate (weather, events): a Student-t tail on the
        # dispersion-scaled deviate; the larger p-value of the two models is kept
        deviate = direction * (observed - expected) / np.sqrt(dispersion * (expected + floor))
        # one tail for every series: degrees of freedom that fell with the series' own
        # dispersion (3 / (1 - 1/phi)) flattened exactly the large deviations of the noisier
        # periods and lost to a Poisson CUSUM at the same false-alarm rate (ANALYTICS.md)
        tail = t_sf(deviate, settings.tail_df) if settings.tail_df else 0.0
    p = np.where(ok, np.maximum(_t_corrected(exact, df), tail), np.nan)
    nan = np.nan
    return {
        "p": p,
        "observed": np.where(ok, observed, nan),
        "expected": np.where(ok, expected, nan),
        "dispersion": np.where(ok, dispersion, nan),
        "df": np.where(ok, df, nan),
    }


def scan(
    y: np.ndarray, intensity: np.ndarray, settings: ScanSettings, direction: int = 1
) -> dict[str, np.ndarray]:
    """Window p-values over settings.windows combined by Simes' rule; the window with the
    smallest p-value gives the observed and expected counts reported."""
    tests = [window_test(y, intensity, w, settings, direction) for w in settings.windows]
    # a window of several periods counts only while its latest period is itself above (for
    # a fall: below) its own expected count: an event days ago is not news every day after
    latest = window_test(y, intensity, 1, settings, direction)
    active = direction * (latest["observed"] - latest["expected"]) > 0
    for w, test in zip(settings.windows, tests, strict=True):
        if w > 1:
            test["p"] = np.where(active | np.isnan(test["p"]), test["p"], 1.0)
    p = np.stack([t["p"] for t in tests])
    testable = ~np.isnan(p).any(axis=0)
    best = np.argmin(np.where(np.isnan(p), np.inf, p), axis=0)
    # Simes' combination min_k (m p_(k) / k): valid for positively dependent tests (windows
    # ending on the same period share their counts) and never weaker than Bonferroni
    ordered = np.sort(np.where(np.isnan(p), 1.0, p), axis=0)
    m = len(tests)
    combined = np.min(ordered * m / np.arange(1, m + 1)[:, None, None], axis=0)
    pick = lambda key: np.take_along_axis(  # noqa: E731
        np.stack([t[key] for t in tests]), best[None], axis=0
    )[0]
    windows = np.asarray(settings.windows)[best]
    nan = np.nan
    return {
        "p": np.where(testable, np.minimum(1.0, combined), nan),
        "window": np.where(testable, windows, nan),
        "observed": np.where(testable, pick("observed"), nan),
        "expected": np.where(testable, pick("expected"), nan),
        "dispersion": np.where(testable, pick("dispersion"), nan),
    }


def nb_cusum(
    y: np.ndarray, intensity: np.ndarray, settings: ScanSettings, direction: int = 1
) -> dict[str, np.ndarray]:
    """CUSUM of negative-binomial log-likelihood ratios for mean ratio x expected vs expected
    (ratio = settings.cusum_ratio for a rise, its inverse for a fall).

    The expected count and dispersion of each period come from `window_test` with w = 1
    (guarded baseline, calendar intensity); the sum restarts at 0 where a series has no
    baseline. S_t = max(0, S_{t-1} + log f(y_t | ratio m) - log f(y_t | m)).
    """
    one = window_test(y, intensity, 1, settings, direction)
    ratio = settings.cusum_ratio if direction > 0 else 1 / settings.cusum_ratio
    f = np.broadcast_to(np.asarray(intensity, dtype=float), np.atleast_2d(y).shape)
    _, n_base = rolling_sum(y, settings.baseline, 1 + settings.guard)
    f_base, _ = rolling_sum(f, settings.baseline, 1 + settings.guard)
    m0 = one["expected"] + 0.5 * f / f_base
    m1 = ratio * m0
    phi = one["dispersion"]
    with np.errstate(divide="ignore", invalid="ignore"):
        size = m0 / (phi - 1)
        nb = y * np.log(m1 * (size + m0) / (m0 * (size + m1))) + size * np.log(
            (size + m0) / (size + m1)
        )
        poisson = y * np.log(ratio) - (m1 - m0)
        llr = np.where(phi > 1 + 1e-9, nb, poisson)
    statistic = np.full(llr.shape, np.nan)
    running = np.zeros(llr.shape[0])
    for t in range(llr.shape[1]):
        step = llr[:, t]
        ok = np.isfinite(step)
        running = np.where(ok, np.maximum(0.0, running + np.where(ok, step, 0.0)), 0.0)
        statistic[:, t] = np.where(ok, running, np.nan)
    return {"statistic": statistic, "expected": one["expected"]}


def calibrate(
    statistic: np.ndarray, family: np.ndarray, history: int, min_history: int
) -> tuple[np.ndarray, np.ndarray]:
    """Conformal p-value of each statistic (larger = more unusual) against the statistics of
    the same family in the `history` earlier periods: (1 + #{earlier >= s}) / (1 + n).

    Returns (p, n_history); p is NaN where the statistic is NaN or n_history < min_history.
    """
    statistic = np.atleast_2d(np.asarray(statistic, dtype=float))
    family = np.asarray(family)
    p = np.full(statistic.shape, np.nan)
    n_hist = np.zeros(statistic.shape)
    for value in np.unique(family):
        rows = np.flatnonzero(family == value)
        block = statistic[rows]
        for t in range(block.shape[1]):
            current = block[:, t]
            if np.isnan(current).all():
                continue
            earlier = block[:, max(0, t - history) : t].ravel()
            earlier = np.sort(earlier[~np.isnan(earlier)])
            n = earlier.size
            at_least = n - np.searchsorted(earlier, current, side="left")
            n_hist[rows, t] = n
            if n >= min_history:
                p[rows, t] = np.where(np.isnan(current), np.nan, (1 + at_least) / (1 + n))
    return p, n_hist
