"""The null distribution of every change test and detector, by simulation: under no change,
each test rejects at its nominal rate (two-sided 5 % for the gap tests, the levels' one-sided
rates for the warnings) within Monte-Carlo error, and the detectors at or below their
nominal rates. Seeds are fixed, so the figures are reproducible.

Also shows the errors these tests replace: 2 (sqrt a - sqrt b) read as N(0, 1) rejects about
17 % of null comparisons at 5 %, and a Poisson test ignores overdispersion."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats

from pipelines.statistics.changes import (
    count_change_z0,
    historical_change_p,
    leave_one_out_dispersion,
    proportion_change_z0,
    quasi_test,
)
from pipelines.statistics.detection import ScanSettings, calendar_intensity, scan
from pipelines.statistics.seasonal import SeasonalSettings, seasonal_glm

LEVEL_ALPHA = {"watch": 0.025, "warning": 0.005, "alert": 0.001}


def within_mc_error(rate: float, nominal: float, n_effective: int, sds: float = 4.0) -> bool:
    return abs(rate - nominal) <= sds * math.sqrt(nominal * (1 - nominal) / n_effective)


def nb(rng, mean, phi, size=None):
    """Negative binomial counts with the given mean and variance phi x mean (Poisson at 1)."""
    mean = np.broadcast_to(np.asarray(mean, dtype=float), size) if size else np.asarray(mean)
    if phi <= 1:
        return rng.poisson(mean)
    r = mean / (phi - 1)
    return rng.negative_binomial(r, r / (r + mean))


def simulate_count_pairs(rng, families, years, mean, phi, growth=0.01):
    """Annual counts of `families` x 5 areas with a constant rate and a growing population."""
    out = []
    for f in range(families):
        for _area in range(5):
            exposure = 1.0 * (1 + growth) ** np.arange(years) * rng.uniform(0.5, 2.0)
            counts = nb(rng, mean * exposure, phi)
            out.append((f, counts, exposure))
    return out


@pytest.mark.parametrize(("mean", "phi"), [(40, 1.0), (40, 3.0), (2000, 8.0)])
def test_count_change_quasi_test_rejects_five_percent_under_no_change(mean, phi):
    rng = np.random.default_rng(1)
    z0, family = [], []
    for f, counts, exposure in simulate_count_pairs(rng, 600, 12, mean, phi):
        z0.append(count_change_z0(counts[1:], counts[:-1], exposure[1:], exposure[:-1]))
        family.append(np.full(len(counts) - 1, f))
    z0, family = np.concatenate(z0), np.concatenate(family)
    dispersion, df = leave_one_out_dispersion(z0, family)
    _, p, reject = quasi_test(z0, dispersion, df)
    rate = float(np.mean(reject))
    print(f"count_change, mean {mean}, phi {phi}: {rate:.4f} of {z0.size}")
    assert within_mc_error(rate, 0.05, z0.size // 2), rate
    # the dispersion is estimated, not assumed: near the simulated one
    assert np.median(dispersion) == pytest.approx(phi, rel=0.15)


def test_the_old_square_root_z_rejects_far_too_often():
    """2 (sqrt a - sqrt b) has variance 2 under no change: read as N(0, 1) it rejects ~17 %."""
    rng = np.random.default_rng(2)
    a, b = rng.poisson(44, 200000), rng.poisson(44, 200000)
    old = 2 * (np.sqrt(a) - np.sqrt(b))
    assert np.mean(np.abs(old) >= 1.96) == pytest.approx(0.166, abs=0.01)
    new = count_change_z0(a, b)
    assert np.mean(np.abs(new) >= 1.96) == pytest.approx(0.05, abs=0.005)
    # Brooklyn shootings 46 vs 42: 0.603 the old way, 0.43 by the conditional test
    assert 2 * (math.sqrt(46) - math.sqrt(42)) == pytest.approx(0.603, abs=1e-3)
    assert float(count_change_z0(46, 42)) == pytest.approx(0.4264, abs=1e-3)


@pytest.mark.parametrize("overdispersion", [0.0, 0.02])
def test_binomial_change_quasi_test_rejects_five_percent_under_no_change(overdispersion):
    """Cohorts of 60-400 students, a constant graduation probability per school; with
    overdispersion the school's probability varies from cohort to cohort (beta-binomial)."""
    rng = np.random.default_rng(3)
    z0, family = [], []
    for f in range(500):
        for _school in range(8):
            p_school = rng.uniform(0.5, 0.9)
            n = rng.integers(60, 400, size=6)
            if overdispersion:
                a = p_school * (1 / overdispersion - 1)
                b = (1 - p_school) * (1 / overdispersion - 1)
                p_year = rng.beta(a, b, size=6)
            else:
                p_year = np.full(6, p_school)
            grads = rng.binomial(n, p_year)
            z0.append(proportion_change_z0(grads[1:] / n[1:], n[1:], grads[:-1] / n[:-1], n[:-1]))
            family.append(np.full(5, f))
    z0, family = np.concatenate(z0), np.concatenate(family)
    dispersion, df = leave_one_out_dispersion(z0, family)
    _, _, reject = quasi_test(z0, dispersion, df)
    rate = float(np.mean(reject))
    print(f"binomial_change, overdispersion {overdispersion}: {rate:.4f}")
    assert within_mc_error(rate, 0.05, z0.size // 2), rate


def test_historical_change_rejects_at_each_level_under_no_change():
    """Changes i.i.d. N(0, 4^2) points; the latest against the sd of 3-7 earlier ones."""
    rng = np.random.default_rng(4)
    n_sim = 200000
    earlier = rng.integers(3, 8, size=n_sim)
    sd = np.array([rng.normal(0, 4, k).std(ddof=1) for k in earlier])
    change = rng.normal(0, 4, n_sim)
    _, p = historical_change_p(change, sd, earlier, floor=0.0)
    for level, alpha in LEVEL_ALPHA.items():
        rate = float(np.mean(p <= alpha))
        assert within_mc_error(rate, alpha, n_sim), (level, rate)


def test_trend_t_test_rejects_five_percent_under_no_trend():
    """The OLS slope over 5 years with its t test on n - 2 df (int_indicator_gaps__past)."""
    rng = np.random.default_rng(5)
    x = np.arange(5.0)
    y = rng.normal(50, 3, size=(100000, 5))
    xc = x - x.mean()
    slope = (y * xc).sum(1) / (xc**2).sum()
    fitted = y.mean(1, keepdims=True) + slope[:, None] * xc
    se = np.sqrt(((y - fitted) ** 2).sum(1) / 3 / (xc**2).sum())
    rate = float(np.mean(np.abs(slope / se) > stats.t.ppf(0.975, 3)))
    assert within_mc_error(rate, 0.05, 100000), rate


# --- detectors ----------------------------------------------------------------------------


def _days(n):
    return [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(n)]


@pytest.mark.parametrize(("mean", "phi"), [(0.3, 1.0), (2.0, 1.3), (12.0, 2.0), (80.0, 3.0)])
def test_count_scan_fires_at_or_below_nominal_under_no_change(mean, phi):
    """Stationary negative binomial daily counts with a weekday pattern: every level of the
    count scan flags at most its nominal share of days (within Monte-Carlo error)."""
    rng = np.random.default_rng(6)
    dates = _days(730)
    weekday = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.1, 0.9])[[d.weekday() for d in dates]]
    y = np.vstack([nb(rng, mean * weekday, phi) for _ in range(60)]).astype(float)
    intensity = calendar_intensity(dates, "day", y)
    p = scan(y, intensity, ScanSettings())["p"]
    tested = ~np.isnan(p)
    for level, alpha in LEVEL_ALPHA.items():
        rate = float(np.mean(p[tested] <= alpha))
        print(f"scan mean {mean} phi {phi} {level}: {rate:.5f}")
        assert rate <= alpha + 3 * math.sqrt(alpha / tested.sum() * 5), (level, rate)


def test_seasonal_glm_fires_at_or_below_nominal_under_no_change():
    """Monthly negative binomial counts with a seasonal wave and a trend (no outbreak)."""
    rng = np.random.default_rng(7)
    months = np.tile(np.arange(1, 13), 14)
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] * 14, dtype=float)
    t = np.arange(months.size)
    rows = []
    for _series in range(40):
        level = rng.uniform(5, 400)
        mu = level * np.exp(0.25 * np.cos(2 * np.pi * (months - 7) / 12) - 0.002 * t) * days / 30
        rows.append(nb(rng, mu, 1.5))
    y = np.vstack(rows).astype(float)
    p = seasonal_glm(y, months, days, SeasonalSettings())["p"]
    tested = ~np.isnan(p)
    assert tested.sum() > 3000
    for level, alpha in LEVEL_ALPHA.items():
        rate = float(np.mean(p[tested] <= alpha))
        print(f"seasonal GLM {level}: {rate:.5f}")
        assert rate <= alpha + 3 * math.sqrt(alpha / tested.sum()), (level, rate)
