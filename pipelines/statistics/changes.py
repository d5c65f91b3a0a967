"""Tests of a change between two periods of the same series (year over year, annual change).

Counts (events in an area, exposure = population): under no change in the rate, the count a
of the later period given the total n = a + b of both is binomial with p0 = E_a / (E_a + E_b),
the later period's share of the exposure (the exact conditional test). Its standardized form

    z0 = (a - n p0) / sqrt(n p0 (1 - p0))

is N(0, 1) for Poisson counts. (Equal exposures give z0 = (a - b) / sqrt(a + b); the square-
root transform 2 (sqrt a - sqrt b) has variance 2, not 1, which is why it over-rejects.)

Proportions with cohort sizes: the two-proportion z with the pooled proportion,
z0 = (p1 - p0) / sqrt(pbar (1 - pbar) (1 / n1 + 1 / n0)).

Real counts and cohorts vary more than Poisson or binomial, so both are quasi tests:
z = z0 / sqrt(phi), with the dispersion phi = mean of z0^2 over the other pairs of the same
family (one city, indicator, area type and grain), referred to Student's t on the number of
those pairs. Under the null, z0 / sqrt(phi) follows t exactly when z0 is normal and the
pairs are independent, so the test holds its level whatever the true dispersion (checked by
simulation in tests/test_change_tests.py). Real pairs include real changes, which makes phi
larger and the test conservative: "significant" then means larger than the family's usual
movement from one year to the next.
"""

from __future__ import annotations

import numpy as np

from pipelines.statistics.distributions import t_sf


def count_change_z0(a, b, exposure_a=1.0, exposure_b=1.0) -> np.ndarray:
    """Conditional (binomial) z of count a against count b, before any dispersion."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    share = np.asarray(exposure_a, dtype=float) / (
        np.asarray(exposure_a, dtype=float) + np.asarray(exposure_b, dtype=float)
    )
    n = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, (a - n * share) / np.sqrt(n * share * (1 - share)), np.nan)


def proportion_change_z0(p1, n1, p0, n0) -> np.ndarray:
    """Two-proportion z (proportions 0..1, cohort sizes n1, n0), before any dispersion."""
    p1, n1, p0, n0 = (np.asarray(v, dtype=float) for v in (p1, n1, p0, n0))
    pooled = (p1 * n1 + p0 * n0) / (n1 + n0)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        return np.where(se > 0, (p1 - p0) / se, np.nan)


def leave_one_out_dispersion(z0: np.ndarray, family: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """phi_i = mean of z0^2 over the other pairs of i's family, and its degrees of freedom."""
    z0 = np.asarray(z0, dtype=float)
    family = np.asarray(family)
    phi = np.full(z0.shape, np.nan)
    df = np.zeros(z0.shape)
    ok = ~np.isnan(z0)
    for value in np.unique(family[ok]):
        members = ok & (family == value)
        total, count = np.sum(z0[members] ** 2), members.sum()
        if count > 1:
            phi[members] = (total - z0[members] ** 2) / (count - 1)
            df[members] = count - 1
    return phi, df


def quasi_test(z0, phi, df, two_sided: bool = True, level: float = 0.05):
    """z = z0 / sqrt(phi), its p-value on Student's t(df), and whether p <= level."""
    z0, phi, df = (np.asarray(v, dtype=float) for v in (z0, phi, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where((phi > 0) & (df >= 1), z0 / np.sqrt(phi), np.nan)
        tail = t_sf(np.abs(z) if two_sided else z, np.maximum(df, 1))
        p = np.where(np.isnan(z), np.nan, 2 * tail if two_sided else tail)
    return z, p, p <= level


def historical_change_p(change, earlier_sd, n_earlier, floor: float = 0.0):
    """One-sided p of a change against the sd of the series' n earlier changes (t, n - 1 df);
    the sd is floored at `floor` (a few nearly equal changes would make any dip an alert)."""
    change, sd, n = (np.asarray(v, dtype=float) for v in (change, earlier_sd, n_earlier))
    se = np.maximum(sd, floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where((se > 0) & (n >= 2), change / se, np.nan)
        return z, np.where(np.isnan(z), np.nan, t_sf(z, np.maximum(n - 1, 1)))
