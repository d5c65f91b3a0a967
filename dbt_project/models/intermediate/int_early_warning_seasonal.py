"""Seasonal baseline of every monthly count series: a Farrington-style quasi-Poisson GLM with
season (two harmonics) and a trend kept only when significant, fitted to the previous five
years (at least three) ending two months before the month tested; earlier outbreaks are
dropped from the fit; the predictive variance is widened by the series' own earlier
prediction errors; p-values one-sided (a rise, or a fall when worse_sign = -1). Series with
less than three years of history get no row. Method: pipelines/statistics/seasonal.py and
ANALYTICS.md. Settings: the var ew_seasonal_overrides, a JSON object of SeasonalSettings
fields, e.g. '{"years": 4, "harmonics": 1}'.
"""

import datetime as dt
import json

import numpy as np
import pandas as pd

from pipelines.statistics.distributions import norm_isf
from pipelines.statistics.seasonal import SeasonalSettings, seasonal_glm

SERIES_KEY = ["city", "area_type", "area_id", "indicator_id", "breakdown_type", "breakdown_value"]
OUTPUT_COLUMNS = [
    *SERIES_KEY,
    "series_grain",
    "period_start",
    "glm_p",
    "glm_z",
    "glm_expected",
    "glm_dispersion",
    "glm_inflation",
    "glm_trend",
    "glm_df",
]


def month_grid(first: dt.date, last: dt.date) -> list[dt.date]:
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    return [
        dt.date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(months)
    ]


def family_rows(family: pd.DataFrame, settings: SeasonalSettings) -> pd.DataFrame | None:
    dates = month_grid(family.period_start.min(), family.period_start.max())
    if len(dates) < 12 * settings.min_years + settings.guard + 1:
        return None
    matrix = (
        family.set_index([*SERIES_KEY, "period_start"])["observed"]
        .unstack("period_start")
        .reindex(columns=dates)
    )
    y = matrix.to_numpy(dtype=float)
    months = np.array([d.month for d in dates])
    days = np.array(
        [((d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - d).days for d in dates],
        dtype=float,
    )
    fitted = seasonal_glm(y, months, days, settings, int(family.worse_sign.iloc[0]))
    tested = ~np.isnan(fitted["p"])
    rows, cols = np.nonzero(tested)
    out = matrix.index.to_frame(index=False).iloc[rows].reset_index(drop=True)
    out["series_grain"] = "month"
    out["period_start"] = [dates[c] for c in cols]
    for name, key in [
        ("glm_p", "p"),
        ("glm_expected", "expected"),
        ("glm_dispersion", "dispersion"),
        ("glm_inflation", "inflation"),
        ("glm_trend", "trend"),
        ("glm_df", "df"),
    ]:
        out[name] = fitted[key][rows, cols]
    out["glm_z"] = norm_isf(out["glm_p"])
    return out


def model(dbt, session):
    dbt.config(materialized="table")
    overrides = json.loads(dbt.config.get("seasonal_overrides") or "{}")
    settings = SeasonalSettings(**{**SeasonalSettings().__dict__, **overrides})
    series = dbt.ref("int_early_warning_series").df()
    series = series[series.series_grain == "month"].copy()
    series["period_start"] = pd.to_datetime(series["period_start"]).dt.date
    frames = []
    for _, family in series.groupby(["city", "indicator_id", "worse_sign"], sort=True):
        rows = family_rows(family, settings)
        if rows is not None and len(rows):
            frames.append(rows)
    if not frames:
        empty = {c: pd.Series(dtype="float64") for c in OUTPUT_COLUMNS}
        for c in [*SERIES_KEY, "series_grain"]:
            empty[c] = pd.Series(dtype="object")
        empty["period_start"] = pd.Series(dtype="datetime64[ns]")
        return pd.DataFrame(empty)[OUTPUT_COLUMNS]
    result = pd.concat(frames, ignore_index=True)[OUTPUT_COLUMNS]
    result["glm_trend"] = result["glm_trend"].astype(bool)
    return result
