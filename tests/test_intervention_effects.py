"""Evaluating local interventions on the city's own data (docs/innovation.md, ANALYTICS.md).

- The interrupted time series (dbt Python model int_intervention_its_fits) recovers a step
  planted in the real citywide NYC shooting series within its interval, and on simulated
  series with no change it finds one at about the nominal rate.
- The difference in differences (SQL, int_intervention_did) run by dbt over a copy of the
  built warehouse: on real precinct series with a fall planted in random precincts at random
  months its interval covers the planted change at about the nominal rate; with no change
  planted, "no change detected" comes out at about the nominal rate over many placebo
  dates; and its figures equal an independent implementation of the formulas.
- Too short a history gives "too early / not enough data" and no number (also the dbt unit
  tests in models/marts/_marts_interventions.yml).
"""

from __future__ import annotations

import importlib.util
import math
import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from intervention_planting import (
    Case,
    draw_cases,
    effects,
    plant,
    precinct_months,
    run_evaluation_models,
    thin,
)

from pipelines.settings import DBT_PROJECT_DIR

ITS_MODEL = DBT_PROJECT_DIR / "models" / "intermediate" / "int_intervention_its_fits.py"
NOT_ENOUGH = "too early / not enough data"


def its_module():
    spec = importlib.util.spec_from_file_location("int_intervention_its_fits", ITS_MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def monthly_window(start: str, pre: int = 60, post: int = 36) -> dict:
    start_ts = pd.Timestamp(start)
    return {
        "grain": "month",
        "start": start_ts,
        "pre_first": start_ts - pd.DateOffset(months=pre),
        "pre_last": start_ts - pd.DateOffset(months=1),
        "post_first": start_ts,
        "post_last": start_ts + pd.DateOffset(months=post - 1),
    }


def citywide(series: pd.DataFrame) -> pd.DataFrame:
    city = series.groupby("month", as_index=False)["events"].sum()
    return pd.DataFrame(
        {
            "period_start": pd.to_datetime(city["month"]),
            "event_count": city["events"],
            "exposure": None,
        }
    )


# --------------------------------------------------------------------------------------------
# Interrupted time series (the Python model's functions)
# --------------------------------------------------------------------------------------------
def test_time_series_recovers_a_fall_planted_in_real_citywide_shootings():
    """NYC's real monthly shootings, every precinct thinned to 75 % from 2014-01 (a month
    where the real series shows no step: +1 %, interval -10 % to +13 %): the step is
    estimated within its interval and detected as a fall."""
    its = its_module()
    series = precinct_months()
    plain = its.evaluate(citywide(series), monthly_window("2014-01-01"))
    assert plain["log_ratio_lower"] < 0 < plain["log_ratio_upper"]
    planted = thin(series, set(series["area_id"]), date(2014, 1, 1), 0.75, 11)
    fit = its.evaluate(citywide(planted), monthly_window("2014-01-01"))
    assert fit["log_ratio_lower"] < math.log(0.75) < fit["log_ratio_upper"]
    assert fit["log_ratio_upper"] < 0
    assert fit["dispersion"] >= 1 and fit["degrees_of_freedom"] == 96 - 14


@pytest.mark.parametrize("with_exposure", [False, True])
def test_the_time_series_fit_is_statsmodels_poisson_glm(with_exposure):
    """The model fits with the analytic layer's own IRLS (statsmodels' import alone cost ~3 s
    of every dbt run): on NYC's real monthly shootings, with and without an exposure offset,
    its coefficients, standard errors and Pearson dispersion are statsmodels' GLM's."""
    import statsmodels.api as sm

    its = its_module()
    city = citywide(precinct_months()).sort_values("period_start")
    city = city[city["period_start"] < "2019-01-01"]
    periods, y = city["period_start"], city["event_count"].to_numpy(dtype=float)
    start = pd.Timestamp("2014-01-01")
    after = (periods >= start).to_numpy()
    exposure = np.linspace(8.2e6, 8.6e6, len(y)) if with_exposure else None
    fit = its.fit_segmented(y, exposure, periods, start, "month", after)

    X = its.design_matrix(periods, start, "month", after)
    offset = np.log(exposure) if with_exposure else None
    reference = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    np.testing.assert_allclose(fit["params"], reference.params, rtol=1e-7, atol=1e-9)
    dispersion = max(1.0, float(np.sum(reference.resid_pearson**2)) / reference.df_resid)
    assert fit["dispersion"] == pytest.approx(dispersion, rel=1e-7)
    assert fit["dispersion"] > 1  # real counts: the interval is widened
    se = reference.bse[2] * math.sqrt(dispersion)
    assert fit["standard_error"] == pytest.approx(se, rel=1e-6)
    assert fit["pre_trend_per_year"] == pytest.approx(reference.params[1], rel=1e-7)


def test_time_series_without_a_change_finds_one_at_about_the_nominal_rate():
    """200 simulated monthly series (trend, season, gamma-Poisson overdispersion and AR(1)
    noise, no change): the 95 % interval excludes no change in 2-9 % of them."""
    its = its_module()
    rng = np.random.default_rng(20261201)
    months = pd.date_range("2010-01-01", periods=96, freq="MS")
    false_alarms = 0
    for _ in range(200):
        t = np.arange(96) / 12
        noise = np.zeros(96)
        for i in range(1, 96):
            noise[i] = 0.3 * noise[i - 1] + rng.normal(0, 0.08)
        mu = np.exp(np.log(60) - 0.05 * t + 0.2 * np.sin(2 * np.pi * np.arange(96) / 12) + noise)
        y = rng.poisson(mu * rng.gamma(20, 1 / 20, 96))
        history = pd.DataFrame({"period_start": months, "event_count": y, "exposure": None})
        fit = its.evaluate(history, monthly_window("2015-01-01"), min_placebo_dates=10**6)
        false_alarms += fit["log_ratio_lower"] > 0 or fit["log_ratio_upper"] < 0
    assert 0.02 <= false_alarms / 200 <= 0.09, f"false alarms: {false_alarms} of 200"


def test_time_series_placebo_starts_use_only_history_before_the_start():
    its = its_module()
    series = citywide(precinct_months())
    window = monthly_window("2017-01-01", pre=24, post=12)
    fit = its.evaluate(series, window)
    # placebo starts from 2008-01 (its 24 months before begin with the data, 2006-01) to
    # 2016-01 (its 12 months after end before the real start, 2017-01): 97 starts
    assert fit["n_placebo_dates"] == 97
    assert 0 < fit["placebo_p_value"] <= 1


# --------------------------------------------------------------------------------------------
# Difference in differences, end to end through dbt on a copy of the warehouse
# --------------------------------------------------------------------------------------------
PLACEBO_CASES = 120
PLANTED_CASES = 40
PLANTED_FACTOR = 0.6  # a 40 % fall


@pytest.fixture(scope="module")
def planted_warehouse(built_warehouse: Path, tmp_path_factory) -> Path:
    warehouse = tmp_path_factory.mktemp("interventions") / "copy.duckdb"
    shutil.copy(built_warehouse, warehouse)
    cases = draw_cases("placebo", PLACEBO_CASES, 1.0, seed=5) + draw_cases(
        "planted", PLANTED_CASES, PLANTED_FACTOR, seed=7
    )
    cases.append(Case("short_0", "short_precinct_0", ("1", "5"), date(2019, 1, 1), 1.0))
    plant(warehouse, cases)
    run_evaluation_models(warehouse)
    return warehouse


def test_no_change_planted_gives_no_change_detected_at_about_the_nominal_rate(planted_warehouse):
    """Random precincts and start months with nothing planted: "no change detected" in
    90-99 % of the evaluated placebo dates (nominal 95 %; measured at scale in ANALYTICS.md)."""
    placebo = effects(planted_warehouse, "placebo")
    assert len(placebo) == PLACEBO_CASES
    evaluated = placebo[placebo["verdict"] != NOT_ENOUGH]
    assert len(evaluated) >= 0.8 * PLACEBO_CASES  # tiny precinct sets may have too few events
    share = (evaluated["verdict"] == "no change detected").mean()
    assert 0.90 <= share <= 0.99, f"no change detected in {share:.1%} of placebo dates"
    assert set(evaluated["design"]) == {"difference_in_differences"}


def test_a_planted_fall_is_recovered_within_its_interval(planted_warehouse):
    """A 40 % fall planted in 1-6 real precincts at a random month: the interval covers -40 %
    in at least 85 % of the cases (nominal 95 %) and most are detected as improved."""
    planted = effects(planted_warehouse, "planted")
    evaluated = planted[planted["verdict"] != NOT_ENOUGH]
    assert len(evaluated) >= 0.8 * PLANTED_CASES
    truth = 100 * (PLANTED_FACTOR - 1)
    covered = (evaluated["change_lower_pct"] <= truth) & (truth <= evaluated["change_upper_pct"])
    assert covered.mean() >= 0.85, f"coverage {covered.mean():.1%}"
    assert (evaluated["verdict"] == "improved").mean() >= 0.5
    assert not (evaluated["verdict"] == "worsened").any()
    assert evaluated["change_pct"].median() == pytest.approx(truth, abs=8)


def test_too_short_a_history_gives_not_enough_data_and_no_number(planted_warehouse):
    """Started 2019-01 with data to 2019-09: nine months after, twelve needed."""
    (row,) = effects(planted_warehouse, "short").itertuples()
    assert row.verdict == NOT_ENOUGH
    assert row.verdict_reason == "short_after"
    assert math.isnan(row.change_pct) and math.isnan(row.change_lower_pct)
    assert "only 9 months of data after the start (12 needed)" in row.verdict_sentence


def reference_did(series: pd.DataFrame, treated: set[str], start: date) -> tuple[float, float]:
    """The random-effects difference in differences written out independently of the SQL:
    (log rate ratio, its variance)."""
    months = pd.to_datetime(series["month"])
    start_ts = pd.Timestamp(start)
    window = (months >= start_ts - pd.DateOffset(months=60)) & (
        months <= start_ts + pd.DateOffset(months=35)
    )
    data = series[window].assign(after=months[window] >= start_ts)
    data = data.assign(treated=data["area_id"].isin(treated))
    groups = data.groupby(["treated", "after"])["events"].sum()
    t_b, t_a = groups[(True, False)], groups[(True, True)]
    c_b, c_a = groups[(False, False)], groups[(False, True)]
    log_ratio = math.log((t_a * c_b) / (t_b * c_a))
    per_month = data.groupby(["month", "treated"])["events"].sum().unstack()
    share_b, share_a = t_b / (t_b + c_b), t_a / (t_a + c_a)
    chi = 0.0
    for month, row in per_month.iterrows():
        n = row[True] + row[False]
        p = share_a if pd.Timestamp(month) >= start_ts else share_b
        if n > 0:
            chi += (row[True] - n * p) ** 2 / (n * p * (1 - p))
    dispersion = max(1.0, chi / (len(per_month) - 2))
    areas = data.groupby(["area_id", "treated", "after"])["events"].sum().unstack()
    comparison = areas.xs(False, level="treated")
    informative = comparison[(comparison[False] > 0) & (comparison[True] > 0)]
    g = np.log(informative[True] / informative[False])
    w = 1 / (1 / informative[True] + 1 / informative[False])
    q = float((w * (g - (w * g).sum() / w.sum()) ** 2).sum())
    tau2 = max(0.0, (q - (len(g) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    shares = []
    for flag in (True, False):
        totals = areas.xs(flag, level="treated").sum(axis=1)
        shares.append(float(((totals / totals.sum()) ** 2).sum()))
    variance = dispersion * (1 / t_b + 1 / t_a + 1 / c_b + 1 / c_a) + tau2 * sum(shares)
    return log_ratio, variance


def test_sql_estimate_equals_an_independent_implementation(planted_warehouse):
    case = draw_cases("placebo", PLACEBO_CASES, 1.0, seed=5)[0]
    with duckdb.connect(str(planted_warehouse)) as con:
        log_ratio, variance = con.execute(
            "select log_ratio, log_ratio_variance from intermediate.int_intervention_did "
            "where local_intervention_id = ?",
            [case.case_id],
        ).fetchone()
    expected = reference_did(precinct_months(), set(case.areas), case.start)
    assert log_ratio == pytest.approx(expected[0], abs=1e-9)
    assert variance == pytest.approx(expected[1], rel=1e-9)
