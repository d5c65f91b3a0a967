"""Year-to-year changes of annual values tested against their noise (one-sided, the worse
direction), for every series with two consecutive years:

- count_change: event rates with counts and exposures (population) both years: the exact
  conditional binomial z of this year's count given both years' total and exposures,
  divided by the square root of the family's dispersion (mean z0^2 of the other pairs of the
  same city, indicator and area type), on Student's t with that many pairs;
- binomial_change: proportions with cohort sizes both years: the two-proportion z, with the
  same quasi-binomial dispersion;
- historical_change: no counts or cohort sizes (e.g. published graduation rates): the change
  over the sd of the series' own earlier year-to-year changes (at least
  ew_annual_min_history of them, sd floored at ew_annual_min_se), on t with n - 1 df.

Formulas: pipelines/statistics/changes.py; checked by simulation in tests/test_change_tests.py.
"""

import numpy as np
import pandas as pd

from pipelines.statistics.changes import (
    count_change_z0,
    historical_change_p,
    leave_one_out_dispersion,
    proportion_change_z0,
    quasi_test,
)

SERIES_KEY = ["city", "area_type", "area_id", "indicator_id", "breakdown_type", "breakdown_value"]
CARRIED = [
    "area_name",
    "indicator_name",
    "worse_sign",
    "series_label",
    "count_noun",
    "period_grain",
]
OUTPUT_COLUMNS = [
    *SERIES_KEY,
    *CARRIED,
    "period_start",
    "method",
    "value",
    "previous_value",
    "change",
    "numerator",
    "previous_numerator",
    "statistic",
    "p_value",
    "dispersion",
    "dispersion_df",
    "history_n",
]


def model(dbt, session):
    dbt.config(materialized="table")
    min_history = int(dbt.config.get("min_history") or 3)
    min_se = float(dbt.config.get("min_se") or 1.0)
    values = dbt.ref("int_analytic_values").df()
    values = values[
        (values.period_grain == "year")
        & values.value_kind.isin(["proportion", "published_rate", "event_rate"])
    ].copy()
    values["period_start"] = pd.to_datetime(values["period_start"])
    before = values[[*SERIES_KEY, "period_start", "value", "numerator", "denominator"]].copy()
    before["period_start"] = before["period_start"] + pd.DateOffset(years=1)
    pairs = values.merge(before, on=[*SERIES_KEY, "period_start"], suffixes=("", "_before"))
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in OUTPUT_COLUMNS})
    pairs = pairs.sort_values([*SERIES_KEY, "period_start"]).reset_index(drop=True)
    pairs["change"] = pairs["value"] - pairs["value_before"]
    # the sd of the series' earlier changes (not this one), for historical_change, from
    # running sums within each series (sums of the earlier changes and of their squares)
    grouped = pairs.groupby(SERIES_KEY, dropna=False, sort=False)
    pairs["history_n"] = grouped.cumcount()
    earlier_sum = grouped["change"].cumsum() - pairs["change"]
    earlier_squares = (pairs["change"] ** 2).groupby(
        [pairs[k] for k in SERIES_KEY], dropna=False, sort=False
    ).cumsum() - pairs["change"] ** 2
    n = pairs["history_n"]
    variance = (earlier_squares - earlier_sum**2 / n.where(n > 0)) / (n - 1).where(n > 1)
    pairs["history_sd"] = np.sqrt(variance.clip(lower=0))

    has_counts = (
        (pairs.value_kind == "event_rate")
        & pairs.numerator.notna()
        & pairs.numerator_before.notna()
        & (pairs.denominator > 0)
        & (pairs.denominator_before > 0)
    )
    has_cohorts = (
        (pairs.value_kind == "proportion")
        & (pairs.denominator > 0)
        & (pairs.denominator_before > 0)
    )
    pairs["method"] = np.select(
        [has_cohorts, has_counts, pairs.history_n >= min_history],
        ["binomial_change", "count_change", "historical_change"],
        default="",
    )
    pairs = pairs[pairs.method != ""].copy()
    z0 = np.full(len(pairs), np.nan)
    counts = (pairs.method == "count_change").to_numpy()
    cohorts = (pairs.method == "binomial_change").to_numpy()
    z0[counts] = count_change_z0(
        pairs.numerator[counts],
        pairs.numerator_before[counts],
        pairs.denominator[counts],
        pairs.denominator_before[counts],
    )
    scale = pairs.value_scale.fillna(1.0)
    z0[cohorts] = proportion_change_z0(
        pairs.value[cohorts] / scale[cohorts],
        pairs.denominator[cohorts],
        pairs.value_before[cohorts] / scale[cohorts],
        pairs.denominator_before[cohorts],
    )
    family = (
        pairs.city + "|" + pairs.indicator_id + "|" + pairs.area_type + "|" + pairs.method
    ).to_numpy()
    phi, df = leave_one_out_dispersion(z0, family)
    oriented = pairs.worse_sign.to_numpy() * z0
    z, p, _ = quasi_test(oriented, phi, df, two_sided=False)
    hist = (pairs.method == "historical_change").to_numpy()
    hz, hp = historical_change_p(
        pairs.worse_sign[hist] * pairs.change[hist],
        pairs.history_sd[hist],
        pairs.history_n[hist],
        floor=min_se,
    )
    z[hist], p[hist] = hz, hp
    pairs["statistic"], pairs["p_value"] = z, p
    pairs["dispersion"] = np.where(hist, np.nan, phi)
    pairs["dispersion_df"] = np.where(hist, pairs.history_n - 1, df)
    pairs = pairs.rename(
        columns={"value_before": "previous_value", "numerator_before": "previous_numerator"}
    )
    pairs["period_start"] = pairs["period_start"].dt.date
    return pairs[pairs.p_value.notna()][OUTPUT_COLUMNS].reset_index(drop=True)
