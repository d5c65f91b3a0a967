"""Incremental builds of int_early_warning_seasonal equal full builds, bit for bit.

Real monthly counts (tests/fixtures/history: Chicago homicides by community area and
offences by police district, NYC shootings by precinct) go through the model's functions
(pipelines/statistics/seasonal_incremental.py); the rows an incremental build returns are
applied to the stored table with the SQL of dbt-duckdb's delete+insert and the model's
post-hook, and the table must equal a full build of the changed input. Also checked: that
only the changed family and months are recomputed, and the claim the recomputation rests on
(a month's result depends only on the context_months months before it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.statistics import seasonal_incremental as si
from pipelines.statistics.seasonal import SeasonalSettings, seasonal_glm

FIXTURES = Path(__file__).parent / "fixtures" / "history"
SETTINGS = SeasonalSettings()
# (city, indicator_id, worse_sign, file, area column, first month, last month, areas kept)
FAMILIES = [
    ("chicago", "homicides", 1, "chicago_homicide_incidents_daily_2001_2023", "community_area",
     "2001-01-01", "2010-12-01", 8),
    ("chicago", "offences", 1, "chicago_district_daily_2001_2018", "district",
     "2001-01-01", "2010-12-01", 5),
    ("nyc", "shootings", -1, "nyc_precinct_shooting_incidents_daily_2006_2019", "precinct",
     "2006-01-01", "2015-12-01", 6),
]  # fmt: skip


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    """Real monthly counts shaped as int_early_warning_series (month grain)."""
    con = duckdb.connect()
    frames = []
    for city, indicator, sign, file, area, first, last, areas in FAMILIES:
        frame = con.execute(
            f"""
            with monthly as (
                select cast({area} as varchar) as area_id,
                       cast(date_trunc('month', day) as date) as period_start,
                       cast(sum(incidents) as double) as observed
                from '{FIXTURES}/{file}.parquet'
                where {area} is not null and day between ? and last_day(cast(? as date))
                group by all
            ),
            kept as (select distinct area_id from monthly order by area_id limit {areas}),
            grid as (
                select area_id, cast(unnest(generate_series(cast(? as date), cast(? as date),
                       interval 1 month)) as date) as period_start
                from kept
            )
            select grid.area_id, grid.period_start, coalesce(observed, 0) as observed
            from grid left join monthly using (area_id, period_start)
            """,
            [first, last, first, last],
        ).df()
        frame = frame.assign(
            city=city, area_type=area, indicator_id=indicator, breakdown_type="all",
            breakdown_value="all", series_grain="month", worse_sign=sign,
        )  # fmt: skip
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["period_start"] = pd.to_datetime(out["period_start"]).dt.date
    # one district's history starts two years late: series of different lengths in a family
    district = out.area_type == "district"
    late = district & (out.area_id == out[district].area_id.max())
    return out[~(late & (out.period_start < dt.date(2003, 1, 1)))].reset_index(drop=True)


@pytest.fixture(scope="module")
def stored(series) -> pd.DataFrame:
    """The table a full build of the real series writes, read back as the model reads it."""
    return _read_back(si.full_rows(series, SETTINGS))


@pytest.fixture
def fits(monkeypatch) -> list[tuple[int, int, int]]:
    """(series, months passed, months fitted) of every seasonal_glm call of the model."""
    calls = []

    def counting(y, months, days, settings, direction=1, fit_from=0):
        calls.append((y.shape[0], y.shape[1], y.shape[1] - fit_from))
        return seasonal_glm(y, months, days, settings, direction, fit_from)

    monkeypatch.setattr(si, "seasonal_glm", counting)
    return calls


def _read_back(table) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("rows", table)
    return con.sql("select * from rows").df()


def _incremental_table(stored: pd.DataFrame, update) -> pd.DataFrame:
    """stored after dbt-duckdb's delete+insert of update (the model's unique_key and
    on_schema_change append_new_columns) and the model's post-hook."""
    con = duckdb.connect()
    con.register("stored_rows", stored)
    con.register("update_rows", update)
    con.execute("create table t as select * from stored_rows")
    con.execute("create table u as select * from update_rows")
    for name, kind in con.execute("select column_name, column_type from (describe u)").fetchall():
        if name not in stored:
            con.execute(f"alter table t add column {name} {kind}")
    con.execute(
        "delete from t where (row(city, indicator_id)) in (select (row(city, indicator_id)) from u)"
    )
    con.execute("insert into t by name select * from u")
    con.execute("delete from t where glm_input_hash is null")
    return con.sql("select * from t").df()


def _assert_same_table(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal rows, floats bit for bit."""
    key = [*si.SERIES_KEY, "period_start"]
    actual = actual.sort_values(key, ignore_index=True)
    expected = expected.sort_values(key, ignore_index=True)
    assert len(actual) == len(expected)
    for column in si.OUTPUT_COLUMNS:
        a, e = actual[column].to_numpy(), expected[column].to_numpy()
        if a.dtype.kind == "f":
            assert np.array_equal(a.view(np.int64), e.view(np.int64)), column
        else:
            assert a.tolist() == e.tolist(), column


def _build(series, stored, settings=SETTINGS, fits=None) -> tuple[pd.DataFrame, object]:
    """The incremental build's table (checked against a full build) and update; fits keeps
    the incremental build's seasonal_glm calls only."""
    update = si.incremental_rows(series, stored, settings)
    recomputed = list(fits or [])
    table = _incremental_table(stored, update)
    _assert_same_table(table, _read_back(si.full_rows(series, settings)))
    if fits is not None:
        fits[:] = recomputed
    return table, update


def _units(update) -> set[tuple]:
    frame = update.to_pandas()
    return set(zip(frame.city, frame.indicator_id, strict=True))


def _with_month(series: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """One more month of the indicator's series (each series' count of a year before)."""
    family = series[series.indicator_id == indicator]
    last = family.period_start.max()
    new = family[family.period_start == last.replace(year=last.year - 1)].copy()
    new["period_start"] = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    new["observed"] += 1
    return pd.concat([series, new], ignore_index=True)


def _changed(series: pd.DataFrame, indicator: str, column: int, delta: float) -> pd.DataFrame:
    """The first series of the indicator with its count of month `column` (of the family's
    grid) changed by delta."""
    series = series.copy()
    family = series[series.indicator_id == indicator]
    month = sorted(family.period_start.unique())[column]
    area = sorted(family.area_id.unique())[0]
    cell = (series.indicator_id == indicator) & (series.area_id == area)
    series.loc[cell & (series.period_start == month), "observed"] += delta
    return series


def test_nothing_changed_returns_nothing(series, stored, fits):
    update = si.incremental_rows(series, stored, SETTINGS)
    assert update.num_rows == 0
    assert fits == []


def test_a_new_month_recomputes_only_that_month_of_its_family(series, stored, fits):
    table, update = _build(_with_month(series, "homicides"), stored, fits=fits)
    assert _units(update) == {("chicago", "homicides")}
    areas = series[series.indicator_id == "homicides"].area_id.nunique()
    # one fit on the new month's context: its inflation's 36 predictions and itself
    context = si.context_months(SETTINGS)
    assert fits == [(areas, context + 1, SETTINGS.residual_history + 1)]
    assert len(table) == len(stored) + areas


def test_a_changed_month_recomputes_its_family_from_that_month(series, stored, fits):
    column = 105
    family = si.families(_changed(series, "offences", column, 7), SETTINGS)[1]
    assert family.key == ("chicago", "offences", 1)
    old = stored[stored.indicator_id == "offences"].assign(
        period_start=lambda f: pd.to_datetime(f.period_start).dt.date
    )
    assert si.first_changed_column(family, old) == column
    _, update = _build(_changed(series, "offences", column, 7), stored, fits=fits)
    assert _units(update) == {("chicago", "offences")}
    months = len(family.dates)
    assert [f[1:] for f in fits] == [
        (months - column + si.context_months(SETTINGS), months - column + 36)
    ]


def test_a_change_in_the_untested_first_years_recomputes_the_family(series, stored, fits):
    changed = _changed(series, "shootings", 5, 3)
    _, update = _build(changed, stored, fits=fits)
    assert _units(update) == {("nyc", "shootings")}
    months = series[series.indicator_id == "shootings"].period_start.nunique()
    assert [f[1:] for f in fits] == [(months, months)]


def test_a_withdrawn_last_month_leaves_the_table(series, stored, fits):
    last = series[series.indicator_id == "offences"].period_start.max()
    shorter = series[~((series.indicator_id == "offences") & (series.period_start == last))]
    table, update = _build(shorter, stored, fits=fits)
    assert _units(update) == {("chicago", "offences")}
    assert fits == []
    assert len(table) < len(stored)


def test_a_removed_series_and_a_removed_family_leave_the_table(series, stored):
    precinct = series[series.indicator_id == "shootings"].area_id.min()
    fewer = series[~((series.indicator_id == "shootings") & (series.area_id == precinct))]
    fewer = fewer[fewer.indicator_id != "homicides"]
    table, update = _build(fewer, stored)
    assert _units(update) == {("nyc", "shootings"), ("chicago", "homicides")}
    assert "homicides" not in set(table.indicator_id)
    assert precinct not in set(table[table.indicator_id == "shootings"].area_id)


def test_changed_settings_recompute_everything(series, stored):
    settings = dataclasses.replace(SETTINGS, harmonics=1, years=4)
    table, update = _build(series, stored, settings)
    assert update.num_rows == len(table)
    assert not set(table.glm_input_hash) & set(stored.glm_input_hash)


def test_a_table_without_hashes_is_rebuilt(series, stored):
    table, update = _build(series, stored.drop(columns="glm_input_hash"))
    assert update.num_rows == len(stored)


def test_a_months_result_depends_only_on_its_context(series):
    """seasonal_glm on the matrix cut context_months before column c gives the full fit's
    results from c on, bit for bit; cut one month later, it does not."""
    family = si.families(series, SETTINGS)[0]
    months = np.array([d.month for d in family.dates])
    days = np.array([pd.Timestamp(d).days_in_month for d in family.dates], dtype=float)
    full = seasonal_glm(family.y, months, days, SETTINGS)
    c = 100
    for first, same in [(c - si.context_months(SETTINGS), True), (c - 97, False)]:
        cut = seasonal_glm(family.y[:, first:], months[first:], days[first:], SETTINGS)
        equal = [
            np.array_equal(full[k][:, c:], cut[k][:, c - first :], equal_nan=True) for k in full
        ]
        assert all(equal) is same
