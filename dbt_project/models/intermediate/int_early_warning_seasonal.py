"""Seasonal baseline of every monthly count series: a Farrington-style quasi-Poisson GLM with
season (two harmonics) and a trend kept only when significant, fitted to the previous five
years (at least three) ending two months before the month tested; earlier outbreaks are
dropped from the fit; the predictive variance is widened by the series' own earlier
prediction errors; p-values one-sided (a rise, or a fall when worse_sign = -1). Series with
less than three years of history get no row. Method: pipelines/statistics/seasonal.py and
ANALYTICS.md. Settings: the var ew_seasonal_overrides, a JSON object of SeasonalSettings
fields, e.g. '{"years": 4, "harmonics": 1}'.

Incremental: each row's glm_input_hash covers every input its result depends on, so a build
recomputes a city and indicator only from its first month whose inputs changed and returns
all its rows (delete+insert by city and indicator); a city and indicator left without rows
gets a marker row (null hash) that the post-hook deletes. Exactly a full build's table
(pipelines/statistics/seasonal_incremental.py, tests/test_seasonal_incremental.py);
--full-refresh rebuilds everything.
"""

from pipelines.statistics.seasonal_incremental import (
    full_rows,
    incremental_rows,
    settings_from,
)


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        # one expression, not a list: dbt-duckdb deletes a list key by a join (every stored row
        # of a city and indicator times every returned one: 27 s) but an expression by `in`
        unique_key="row(city, indicator_id)",
        on_schema_change="append_new_columns",
        # post_hook (deleting marker rows): in _analytics_intermediate.yml
    )
    settings = settings_from(dbt.config.get("seasonal_overrides"))
    series = (
        dbt.ref("int_early_warning_series")
        .filter("series_grain = 'month'")
        .project(
            "city, area_type, area_id, indicator_id, breakdown_type, breakdown_value, "
            "series_grain, period_start, observed, worse_sign"
        )
        .df()
    )
    if not dbt.is_incremental:
        return full_rows(series, settings)
    stored = session.sql(f"select * from {dbt.this}").df()
    return incremental_rows(series, stored, settings)
