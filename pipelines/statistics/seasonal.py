"""Seasonal baseline for monthly counts: a Farrington-style quasi-Poisson GLM.

For every month t of a series, a log-linear quasi-Poisson model is fitted to the months of
the previous `years` years that end `guard` months before t:

    log E[y_j] = log(days_j) + b0 + b1 trend_j + sum_k (a_k cos(2 pi k m_j / 12) + c_k sin(...))

with k = 1..harmonics (annual and half-yearly waves). As in Farrington et al. (1996) and
Noufaily et al. (2013): the trend is kept only when significant (t test, 5 %); months with a
standardized Anscombe residual above 2.58 (earlier outbreaks) are dropped and the model
refitted once; the dispersion phi = Pearson chi2 / (n - p) is floored at 1. The predictive
variance of the month's count includes the uncertainty of the prediction itself,

    v = phi mu + mu^2 var(eta),

times an inflation c >= 1: the mean squared standardized residual of the series' own earlier
predictions (the last `residual_history` months, each predicted from the data before it), so
misfit the in-sample dispersion cannot see (a trend that bends, a shift in level) widens the
baseline honestly; a month is tested only once `residual_min_history` such predictions
exist. The p-value (one-sided, a rise) is the larger of a negative binomial tail
with mean mu and variance c v (exact for small counts) and a Student-t tail on
(y - mu) / sqrt(c v) with `tail_df` degrees of freedom (heavy-tailed shocks, large counts).
A window with fewer than `min_events` events cannot support a GLM: the month is then tested
with the exact conditional Poisson test against the window's total.

Fits are batched over the series of a matrix that share the months (same design matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from pipelines.statistics.distributions import nbinom_cdf, nbinom_sf, t_sf


@dataclass(frozen=True)
class SeasonalSettings:
    years: int = 5
    min_years: int = 3
    guard: int = 2
    harmonics: int = 2
    min_events: int = 10
    outlier_z: float = 2.58
    iterations: int = 25
    residual_history: int = 36
    residual_min_history: int = 12
    tail_df: float = 8.0


def _design(months: np.ndarray, index: np.ndarray, harmonics: int, trend: bool) -> np.ndarray:
    columns = [np.ones(len(index))]
    if trend:
        columns.append((index - index.mean()) / 12.0)
    for k in range(1, harmonics + 1):
        angle = 2 * np.pi * k * months / 12.0
        columns += [np.cos(angle), np.sin(angle)]
    return np.column_stack(columns)


def _irls(x: np.ndarray, y: np.ndarray, offset: np.ndarray, weight: np.ndarray, iterations: int):
    """Batched Poisson IRLS: x (n, p) shared, y / weight (s, n), offset (n,).
    Returns beta (s, p), mu (s, n), inverse information (s, p, p)."""
    s, n = y.shape
    rate = (y * weight).sum(1) / np.maximum((np.exp(offset) * weight).sum(1), 1e-12)
    eta = np.log(np.maximum(rate, 1e-8))[:, None] + offset[None, :]
    for _ in range(iterations):
        mu = np.exp(eta)
        z = eta - offset[None, :] + (y - mu) / mu
        w = weight * mu
        xtwx = np.einsum("np,sn,nq->spq", x, w, x) + 1e-9 * np.eye(x.shape[1])
        xtwz = np.einsum("np,sn->sp", x, w * z)
        beta = np.linalg.solve(xtwx, xtwz[..., None])[..., 0]
        new = np.clip(x @ beta.T, -30, 30).T + offset[None, :]
        if np.max(np.abs(new - eta)) < 1e-8:
            eta = new
            break
        eta = new
    mu = np.exp(eta)
    info = np.einsum("np,sn,nq->spq", x, weight * mu, x) + 1e-9 * np.eye(x.shape[1])
    return beta, mu, np.linalg.inv(info)


def poisson_fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray, iterations: int = 100):
    """One Poisson GLM with a log link and an offset, by the same IRLS: x (n, p), y and
    offset (n,). Returns beta (p,), mu (n,) and the inverse information (p, p), the
    covariance before any dispersion (statsmodels' GLM fit: tests/test_intervention_effects.py)."""
    beta, mu, cov = _irls(x, y[None, :], offset, np.ones((1, len(y))), iterations)
    return beta[0], mu[0], cov[0]


def _fit(x, y, offset, weight, settings):
    beta, mu, cov = _irls(x, y, offset, weight, settings.iterations)
    dof = np.maximum(weight.sum(1) - x.shape[1], 1)
    pearson = (weight * (y - mu) ** 2 / mu).sum(1) / dof
    phi = np.maximum(1.0, pearson)
    return beta, mu, cov, phi, dof


def seasonal_glm(
    y: np.ndarray,
    months: np.ndarray,
    days: np.ndarray,
    settings: SeasonalSettings,
    direction: int = 1,
    fit_from: int = 0,
) -> dict[str, np.ndarray]:
    """Test every month of every series (rows of y) against its seasonal GLM baseline.

    months: calendar month 1..12 of each column; days: days in each month; direction +1
    tests a rise, -1 a fall. Returns arrays (n_series, n_periods): p, expected, variance,
    dispersion, df, trend (1 when the trend term was kept), inflation (NaN = not testable).
    fit_from: the first column fitted (earlier ones are left NaN); the results are then those
    of fit_from = 0 from column fit_from + residual_history on (incremental builds).
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    s, periods = y.shape
    keys = ("p", "expected", "variance", "dispersion", "df", "trend")
    out = {k: np.full((s, periods), np.nan) for k in keys}
    index_all = np.arange(periods, dtype=float)
    for t in range(fit_from, periods):
        stop = t - settings.guard
        start = max(0, stop - 12 * settings.years)
        if stop - start < 12 * settings.min_years:
            continue
        window = slice(start, stop)
        rows = np.flatnonzero(~np.isnan(y[:, window]).any(1) & ~np.isnan(y[:, t]))
        if rows.size == 0:
            continue
        yw = y[np.ix_(rows, np.arange(start, stop))]
        offset = np.log(days[window])
        idx = index_all[window]
        totals = yw.sum(1)
        glm_rows = totals >= settings.min_events
        result = {k: np.full(rows.size, np.nan) for k in out}
        if glm_rows.any():
            result = _glm_month(
                yw[glm_rows],
                y[rows[glm_rows], t],
                months,
                days,
                idx,
                window,
                t,
                offset,
                settings,
                result,
                glm_rows,
            )
        few = ~glm_rows
        if few.any():
            # exact conditional Poisson test of the month against the window total
            q = days[t] / (days[t] + days[window].sum())
            k = y[rows[few], t]
            n_total = k + totals[few]
            with np.errstate(invalid="ignore"):
                if direction > 0:
                    p = np.where(
                        k <= 0, 1.0, special.betainc(np.maximum(k, 1e-12), n_total - k + 1, q)
                    )
                else:
                    p = np.where(
                        n_total - k <= 0,
                        1.0,
                        special.betainc(np.maximum(n_total - k, 1e-12), k + 1, 1 - q),
                    )
            result["p"][few] = p
            result["expected"][few] = totals[few] * days[t] / days[window].sum()
            result["variance"][few] = np.nan
            result["dispersion"][few] = 1.0
            result["df"][few] = np.inf
            result["trend"][few] = 0
        for key in out:
            out[key][rows, t] = result[key]
    return _calibrated(y, out, settings, direction)


def _calibrated(y: np.ndarray, out: dict, settings: SeasonalSettings, direction: int) -> dict:
    """p-values from the predictive mean and inflated variance (see the module docstring)."""
    mu, v = out["expected"], out["variance"]
    glm = ~np.isnan(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        resid2 = np.where(glm, (y - mu) ** 2 / v, np.nan)
    s, periods = y.shape
    inflation = np.ones((s, periods))
    residual_n = np.zeros((s, periods))
    for t in range(periods):
        earlier = resid2[:, max(0, t - settings.residual_history) : t]
        n = (~np.isnan(earlier)).sum(1)
        mean = np.where(n > 0, np.nansum(earlier, 1) / np.maximum(n, 1), 1.0)
        enough = n >= settings.residual_min_history
        inflation[:, t] = np.where(enough, np.maximum(1.0, mean), np.nan)
        residual_n[:, t] = n
    var = inflation * v
    with np.errstate(invalid="ignore", divide="ignore"):
        over = np.maximum(var - mu, 1e-9 * mu)
        size = mu * mu / over
        if direction > 0:
            nb = nbinom_sf(np.ceil(y) - 1, size, size / (size + mu))
        else:
            nb = nbinom_cdf(np.floor(y), size, size / (size + mu))
        # heavy tail; no heavier-than-needed df once the inflation rests on many months
        df = np.minimum(settings.tail_df, np.maximum(residual_n - 1, 1))
        tail = t_sf(direction * (y - mu) / np.sqrt(var), df)
        p = np.maximum(nb, tail)
    # a GLM month is testable once its inflation rests on residual_min_history predictions
    out["p"] = np.where(glm, np.where(np.isnan(inflation), np.nan, p), out["p"])
    out["inflation"] = np.where(glm, inflation, np.nan)
    return out


def _glm_month(yw, y_now, months, days, idx, window, t, offset, settings, result, mask):
    weight = np.ones_like(yw)
    month_window = months[window]
    fits = {}
    for trend in (True, False):
        x = _design(month_window, idx, settings.harmonics, trend)
        beta, mu, cov, phi, dof = _fit(x, yw, offset, weight, settings)
        # drop earlier outbreaks (Anscombe residual > 2.58) and refit once
        h = np.einsum("np,spq,nq->sn", x, cov, x) * mu
        anscombe = 1.5 * (np.cbrt(yw) ** 2 - np.cbrt(mu) ** 2) / np.cbrt(mu) ** 0.5
        resid = anscombe / np.sqrt(phi[:, None] * np.maximum(1 - h, 1e-6))
        w2 = np.where(resid > settings.outlier_z, 0.0, 1.0)
        beta, mu, cov, phi, dof = _fit(x, yw, offset, w2, settings)
        fits[trend] = (x, beta, cov, phi, dof)
    # keep the trend only when significant
    x_t, beta_t, cov_t, phi_t, _ = fits[True]
    se = np.sqrt(np.maximum(cov_t[:, 1, 1] * phi_t, 1e-300))
    keep_trend = np.abs(beta_t[:, 1] / se) > 1.96
    x_now = {
        tr: _design(np.array([months[t]]), np.array([float(t)]), settings.harmonics, tr)
        for tr in (True, False)
    }
    # the trend column of the prediction uses the window's centring
    x_now[True][0, 1] = (t - idx.mean()) / 12.0
    expected = np.empty(len(y_now))
    var_eta = np.empty(len(y_now))
    phi = np.empty(len(y_now))
    dof = np.empty(len(y_now))
    for tr in (True, False):
        sel = keep_trend if tr else ~keep_trend
        if not sel.any():
            continue
        _, beta, cov, ph, df = fits[tr]
        xn = x_now[tr][0]
        eta = beta[sel] @ xn + np.log(days[t])
        expected[sel] = np.exp(np.clip(eta, -30, 30))
        var_eta[sel] = np.einsum("p,spq,q->s", xn, cov[sel], xn) * ph[sel]
        phi[sel] = ph[sel]
        dof[sel] = df[sel]
    mu = expected
    result["expected"][mask] = mu
    result["variance"][mask] = phi * mu + mu * mu * var_eta
    result["dispersion"][mask] = phi
    result["df"][mask] = dof
    result["trend"][mask] = keep_trend.astype(float)
    return result
