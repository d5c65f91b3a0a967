"""Interrupted time series for every ready citywide evaluation (ANALYTICS.md, "Evaluating
local interventions").

A segmented quasi-Poisson regression of the city's event counts on a linear trend, the month
of the year (monthly series) and a step at the start, over the before and after windows of
int_intervention_evaluations (the transition periods are left out of the fit):

    log E[y_t] = log(exposure_t) + a + b * years_t + season_month(t) + c * after_t

c is the change in level after the start, as a log rate ratio; its interval uses the
Pearson dispersion (overdispersion allowed) and Student's t with n - p degrees of freedom.
The design cannot tell the effort apart from anything else that changed the city's series at
that time, so the fit is repeated at every earlier placebo start the history allows (same
window lengths, after window ending before the real start): `placebo_p_value` is the share
of placebo starts with a change at least as large in standard errors. Rows: one per
evaluation and period of the window, with the observed count, the fit, and the expected
count without the change (the counterfactual the dashboards draw).

The functions are plain Python so tests can call them on planted series
(tests/test_intervention_effects.py).
"""

import math

import numpy as np
import pandas as pd

EVALUATION_COLUMNS = [
    "log_ratio",
    "log_ratio_lower",
    "log_ratio_upper",
    "standard_error",
    "dispersion",
    "degrees_of_freedom",
    "n_periods_fit",
    "pre_trend_per_year",
    "pre_fit_mean_abs_pct_error",
    "n_placebo_dates",
    "placebo_p_value",
    "fit_error",
]


def design_matrix(periods: pd.Series, start: pd.Timestamp, grain: str, after: np.ndarray):
    """Intercept, years since the start, the step, and 11 month-of-year indicators."""
    periods = pd.to_datetime(periods)
    if grain == "month":
        years = ((periods.dt.year - start.year) * 12 + (periods.dt.month - start.month)) / 12.0
    else:
        years = (periods.dt.year - start.year).astype(float)
    columns = [np.ones(len(periods)), years.to_numpy(), after.astype(float)]
    if grain == "month":
        months = periods.dt.month.to_numpy()
        columns += [(months == m).astype(float) for m in range(2, 13)]
    return np.column_stack(columns)


def fit_segmented(y, exposure, periods, start, grain, after, level=0.95):
    """Quasi-Poisson segmented regression; returns the step, its interval and the fit."""
    from pipelines.statistics.distributions import t_ppf
    from pipelines.statistics.seasonal import poisson_fit

    y = np.asarray(y, dtype=float)
    X = design_matrix(periods, start, grain, np.asarray(after))
    keep = X.std(axis=0) > 0
    keep[0] = True  # the intercept
    X = X[:, keep]
    offset = None
    if exposure is not None:
        exposure = np.asarray(exposure, dtype=float)
        if np.all(np.isfinite(exposure)) and np.all(exposure > 0):
            offset = np.log(exposure)
    # the analytic layer's one Poisson GLM (statsmodels' costs ~3 s of import in every dbt run)
    params, mu, cov = poisson_fit(X, y, np.zeros(len(y)) if offset is None else offset)
    n, p = X.shape
    dof = n - p
    pearson = float(np.sum((y - mu) ** 2 / mu))
    dispersion = max(1.0, pearson / dof) if dof > 0 else float("nan")
    step = 2  # intercept, years, step: the step is the third column
    se = math.sqrt(cov[step, step] * dispersion)
    q = float(t_ppf(1 - (1 - level) / 2, dof))
    b = float(params[step])
    return {
        "log_ratio": b,
        "log_ratio_lower": b - q * se,
        "log_ratio_upper": b + q * se,
        "standard_error": se,
        "dispersion": dispersion,
        "degrees_of_freedom": dof,
        "n_periods_fit": n,
        "pre_trend_per_year": float(params[1]),
        "params": params,
        "columns": keep,
        "offset": offset,
        "X": X,
    }


def counterfactual(fit, periods, start, grain, exposure):
    """Expected counts from the fit with and without the step, for any periods."""
    n = len(periods)
    after = np.ones(n)
    X = design_matrix(pd.Series(periods), start, grain, after)[:, fit["columns"]]
    offset = np.zeros(n)
    if fit["offset"] is not None:
        offset = np.log(np.asarray(exposure, dtype=float))
    with_step = np.exp(X @ fit["params"] + offset)
    X_without = X.copy()
    X_without[:, 2] = 0.0
    without = np.exp(X_without @ fit["params"] + offset)
    return with_step, without


def evaluate(history: pd.DataFrame, window: dict, level=0.95, min_placebo_dates=24) -> dict:
    """Fit one evaluation on a city series (`history`: period_start, event_count, exposure,
    the whole series) with its window (pre_first, pre_last, post_first, post_last, start)."""
    history = history.sort_values("period_start").reset_index(drop=True)
    periods = pd.to_datetime(history["period_start"])
    grain = window["grain"]
    start = pd.Timestamp(window["start"])
    pre = (periods >= window["pre_first"]) & (periods <= window["pre_last"])
    post = (periods >= window["post_first"]) & (periods <= window["post_last"])
    used = pre | post
    fit = fit_segmented(
        history.loc[used, "event_count"],
        history.loc[used, "exposure"],
        periods[used].reset_index(drop=True),
        start,
        grain,
        post[used].to_numpy(),
        level,
    )
    fitted_pre = np.exp(
        fit["X"] @ fit["params"] + (fit["offset"] if fit["offset"] is not None else 0)
    )
    observed_pre = history.loc[used, "event_count"].to_numpy()[~post[used].to_numpy()]
    fitted_pre = fitted_pre[~post[used].to_numpy()]
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = np.abs(observed_pre - fitted_pre) / np.where(
            observed_pre > 0, observed_pre, np.nan
        )
    fit["pre_fit_mean_abs_pct_error"] = float(np.nanmean(errors)) if len(errors) else None
    fit.update(placebo(history, window, fit, level, min_placebo_dates))
    return fit


def _shift(value, grain, k):
    value = pd.Timestamp(value)
    return value - pd.DateOffset(months=k) if grain == "month" else value - pd.DateOffset(years=k)


def placebo(history, window, fit, level, min_placebo_dates):
    """Refit at every earlier start whose whole window lies before the real start."""
    periods = pd.to_datetime(history["period_start"])
    grain = window["grain"]
    first = periods.min()
    z_real = abs(fit["log_ratio"] / fit["standard_error"]) if fit["standard_error"] > 0 else 0
    z_placebo = []
    k = 1
    while True:
        shifted = {
            key: _shift(window[key], grain, k)
            for key in ("pre_first", "pre_last", "post_first", "post_last", "start")
        }
        if shifted["pre_first"] < first:
            break
        if shifted["post_last"] < pd.Timestamp(window["start"]):
            pre = (periods >= shifted["pre_first"]) & (periods <= shifted["pre_last"])
            post = (periods >= shifted["post_first"]) & (periods <= shifted["post_last"])
            used = pre | post
            if pre.sum() and post.sum():
                try:
                    result = fit_segmented(
                        history.loc[used, "event_count"],
                        history.loc[used, "exposure"],
                        periods[used].reset_index(drop=True),
                        shifted["start"],
                        grain,
                        post[used].to_numpy(),
                        level,
                    )
                    if result["standard_error"] > 0:
                        z_placebo.append(abs(result["log_ratio"] / result["standard_error"]))
                except (ValueError, np.linalg.LinAlgError):
                    pass
        k += 1
    if len(z_placebo) < min_placebo_dates:
        return {"n_placebo_dates": len(z_placebo), "placebo_p_value": None}
    share = (1 + sum(z >= z_real for z in z_placebo)) / (1 + len(z_placebo))
    return {"n_placebo_dates": len(z_placebo), "placebo_p_value": float(share)}


def model(dbt, session):
    dbt.config(materialized="table")
    level = float(dbt.config.get("interval_level") or 0.95)
    min_placebo = int(dbt.config.get("min_placebo_dates") or 24)
    ready = dbt.ref("int_intervention_readiness").df()
    ready = ready[ready["is_ready"] & (ready["design"] == "interrupted_time_series")]
    series = dbt.ref("int_intervention_outcome_values")
    values = series.filter("area_type = 'city' and breakdown_type = 'all'").df()
    rows = []
    for item in ready.itertuples():
        history = values[
            (values["city"] == item.city)
            & (values["indicator_id"] == item.indicator_id)
            & (values["period_grain"] == item.period_grain)
        ][["period_start", "numerator", "denominator"]].rename(
            columns={"numerator": "event_count", "denominator": "exposure"}
        )
        history = history.dropna(subset=["event_count"])
        window = {
            "grain": item.period_grain,
            "start": item.start_month,
            "pre_first": pd.Timestamp(item.pre_first_period),
            "pre_last": pd.Timestamp(item.pre_last_period),
            "post_first": pd.Timestamp(item.post_first_period),
            "post_last": pd.Timestamp(item.post_last_period),
        }
        key = {
            "city": item.city,
            "local_intervention_id": item.local_intervention_id,
            "indicator_id": item.indicator_id,
        }
        try:
            fit = evaluate(history, window, level, min_placebo)
            error = None
        except (ValueError, np.linalg.LinAlgError) as exc:  # reported, never silently dropped
            fit, error = None, f"the regression failed: {exc}"
        periods = pd.to_datetime(history["period_start"])
        in_window = (periods >= window["pre_first"]) & (periods <= window["post_last"])
        part = history[in_window.to_numpy()].sort_values("period_start")
        if fit is not None:
            with_step, without = counterfactual(
                fit,
                pd.to_datetime(part["period_start"]).reset_index(drop=True),
                pd.Timestamp(window["start"]),
                window["grain"],
                part["exposure"],
            )
        else:
            with_step = without = [None] * len(part)
        summary = {column: (fit or {}).get(column) for column in EVALUATION_COLUMNS}
        summary["fit_error"] = error
        for (period, observed, exposure), fitted, expected in zip(
            part[["period_start", "event_count", "exposure"]].itertuples(index=False),
            with_step,
            without,
        ):
            period = pd.Timestamp(period)
            phase = (
                "pre"
                if window["pre_first"] <= period <= window["pre_last"]
                else "post"
                if window["post_first"] <= period <= window["post_last"]
                else "transition"
            )
            rows.append(
                {
                    **key,
                    "period_start": period.date(),
                    "phase": phase,
                    "observed_count": float(observed),
                    "exposure": None if pd.isna(exposure) else float(exposure),
                    "fitted_count": None if fitted is None else float(fitted),
                    "expected_without_change": None if expected is None else float(expected),
                    **summary,
                }
            )
    columns = [
        "city",
        "local_intervention_id",
        "indicator_id",
        "period_start",
        "phase",
        "observed_count",
        "exposure",
        "fitted_count",
        "expected_without_change",
        *EVALUATION_COLUMNS,
    ]
    frame = pd.DataFrame(rows, columns=columns)
    for column in (
        "log_ratio",
        "log_ratio_lower",
        "log_ratio_upper",
        "standard_error",
        "dispersion",
        "pre_trend_per_year",
        "pre_fit_mean_abs_pct_error",
        "placebo_p_value",
        "observed_count",
        "exposure",
        "fitted_count",
        "expected_without_change",
    ):
        frame[column] = frame[column].astype("float64")
    for column in ("degrees_of_freedom", "n_periods_fit", "n_placebo_dates"):
        frame[column] = frame[column].astype("Int64")
    # string dtype, not object: an empty frame (a city with no citywide effort) would give
    # DuckDB columns of type NULL, which downstream casts and dbt unit tests cannot use
    for column in ("city", "local_intervention_id", "indicator_id", "phase", "fit_error"):
        frame[column] = frame[column].astype("string")
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    return frame
