"""The few distribution functions the analytic layer needs, from `scipy.special`.

`scipy.stats` would give the same numbers but costs ~2 s of import in every dbt run (its
distribution classes), paid again by each test that builds the warehouse; `scipy.special`
has the same functions as ufuncs and imports in a fraction of that. Each function here equals
its `scipy.stats` counterpart (tests/test_statistics_distributions.py), nan in, nan out.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def t_sf(x, df):
    """P(T > x) for Student's t on df degrees of freedom (`stats.t.sf`)."""
    return special.stdtr(df, -np.asarray(x, dtype=float))


def t_ppf(q, df):
    """The q-quantile of Student's t on df degrees of freedom (`stats.t.ppf`)."""
    return special.stdtrit(df, q)


def norm_isf(p):
    """The standard normal deviate with upper tail p (`stats.norm.isf`)."""
    return -special.ndtri(p)


def nbinom_cdf(k, n, p):
    """P(X <= k) for a negative binomial of size n > 0 (real) and success probability p
    (`stats.nbinom.cdf`): the regularised incomplete beta I_p(n, floor(k) + 1)."""
    k, n, p = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (k, n, p)))
    k = np.floor(k)
    with np.errstate(invalid="ignore"):
        cdf = np.where(k < 0, 0.0, special.betainc(n, np.maximum(k, 0) + 1, p))
        return np.where(_valid(n, p), cdf, np.nan)


def nbinom_sf(k, n, p):
    """P(X > k), the complement computed directly (`stats.nbinom.sf`)."""
    k, n, p = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (k, n, p)))
    k = np.floor(k)
    with np.errstate(invalid="ignore"):
        sf = np.where(k < 0, 1.0, special.betaincc(n, np.maximum(k, 0) + 1, p))
        return np.where(_valid(n, p), sf, np.nan)


def _valid(n, p):
    with np.errstate(invalid="ignore"):
        return (n > 0) & (p > 0) & (p <= 1)
