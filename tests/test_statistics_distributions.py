"""pipelines.statistics.distributions (scipy.special) gives scipy.stats' numbers, including
the far tails, the edges (k < 0, infinite deviates) and nan."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pipelines.statistics import distributions

RNG = np.random.default_rng(20261203)
EDGE_X = [np.nan, np.inf, -np.inf, 0.0, 40.0, -40.0]


def test_student_t_tail_and_quantile():
    x = np.concatenate([RNG.normal(0, 4, 2000), EDGE_X])
    df = np.concatenate([RNG.uniform(1, 300, 2000), [5, 5, 5, np.inf, 3, 3]])
    ours, theirs = distributions.t_sf(x, df), stats.t.sf(x, df)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    q = RNG.uniform(0.0001, 0.9999, 2000)
    np.testing.assert_allclose(
        distributions.t_ppf(q, df[:2000]), stats.t.ppf(q, df[:2000]), rtol=1e-10
    )


def test_normal_deviate_of_an_upper_tail():
    p = np.concatenate([RNG.uniform(0, 1, 2000), 10.0 ** -np.arange(1, 300, 7), [0, 1, np.nan]])
    np.testing.assert_allclose(distributions.norm_isf(p), stats.norm.isf(p), rtol=1e-12)


@pytest.mark.parametrize("tail", ["cdf", "sf"])
def test_negative_binomial_with_a_real_size(tail):
    k = np.concatenate([RNG.integers(-3, 400, 3000) + RNG.uniform(0, 0.99, 3000), [np.nan, 2]])
    n = np.concatenate([RNG.uniform(0.01, 800, 3000), [3.0, 0.0]])  # size 0: undefined
    p = np.concatenate([RNG.uniform(0.0005, 1, 3000), [0.5, 0.5]])
    ours = getattr(distributions, f"nbinom_{tail}")(k, n, p)
    theirs = getattr(stats.nbinom, tail)(k, n, p)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    far = theirs < 1e-280  # below that both are denormal noise
    np.testing.assert_allclose(ours[~far], theirs[~far], rtol=1e-11, atol=0)
    assert ((ours < 1e-250) == (theirs < 1e-250))[far].all()
