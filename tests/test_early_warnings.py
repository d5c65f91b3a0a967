"""The analytic layer on real data: intervals and small-number flags, EARS statistics against
an independent implementation, the published EARS thresholds' false-alarm rate, and planted
spikes that go all the way through dbt to the board (fct_early_warnings).

Calibration (false-alarm rates, power, false discoveries) of the production detectors:
tests/test_detector_calibration.py.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ears_reference import ears_c1_c2, ears_c3, poisson_exact_interval  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"

# production settings (vars: in dbt_project/dbt_project.yml)
SETTINGS = {
    "day": {"baseline": 28, "guard": 2, "min_sigma": 1.0},
    "month": {"baseline": 7, "guard": 2, "min_sigma": 1.0},
}
LEVEL_Z = {"watch": 1.96, "warning": 2.576, "alert": 3.09}
# nominal one-sided false-alarm rate of each level = the normal tail beyond its threshold
NOMINAL = {level: 0.5 * math.erfc(z / math.sqrt(2)) for level, z in LEVEL_Z.items()}
PLANTED_SPIKE_PATH = [
    "int_indicator_values__crime",
    "int_indicator_values__building_permits",
    "fct_indicator_values",
    "int_analytic_values",
    "int_early_warning_series",
    "int_early_warning_ears",
    "int_early_warning_counts",
    "int_early_warning_seasonal",
    "int_early_warning_annual",
    "int_early_warning_tests",
    "int_early_warning_fdr",
    "fct_early_warnings",
]
SERIES_KEY = "city, area_type, area_id, indicator_id, breakdown_type, breakdown_value"


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def _series(con, grain: str) -> dict[tuple, list[tuple]]:
    rows = con.execute(
        f"""
        select {SERIES_KEY}, period_start, observed, worse_sign, c1_stat, c2_stat, c3_stat,
               c2_mean, c2_sigma
        from intermediate.int_early_warning_ears
        where series_grain = ?
        order by {SERIES_KEY}, period_start
        """,
        [grain],
    ).fetchall()
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for row in rows:
        out[row[:6]].append(row[6:])
    return out


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


# --- indicator layer ---------------------------------------------------------------------


def test_small_number_rates_are_flagged_and_intervals_contain_the_value(built_warehouse):
    con = _connect(built_warehouse)
    rows = con.execute(
        """
        select indicator_id, area_type, area_id, period_start, value, numerator, denominator,
               is_small_number, value_lower, value_upper
        from marts.fct_indicator_values
        where indicator_id in ('violent_crime_rate', 'property_crime_rate', 'building_permits_rate')
        """
    ).fetchall()
    assert rows
    flagged = [r for r in rows if r[7]]
    assert flagged, "some community-area months have fewer than 20 events"
    for indicator_id, *_, value, numerator, _denominator, small, lower, upper in rows:
        assert small == (numerator < 20), (indicator_id, numerator, small)
        assert lower <= value <= upper
    # other kinds of value carry no small-number flag and no interval (no cohort sizes)
    grad = con.execute(
        """
        select count(*), count(is_small_number), count(value_lower), bool_or(is_suppressed)
        from marts.fct_indicator_values
        where indicator_id = 'graduation_rate_4yr' and city = 'chicago'
        """
    ).fetchone()
    assert grad[0] > 0 and grad[1:] == (0, 0, False)


def test_poisson_intervals_match_the_exact_interval(built_warehouse):
    """Byar's approximation (k >= 2) and the closed forms (k = 0, 1) against exact limits."""
    con = _connect(built_warehouse)
    rows = con.execute(
        """
        select distinct numerator,
            value_lower * denominator / 100000, value_upper * denominator / 100000
        from marts.fct_indicator_values
        where indicator_id = 'violent_crime_rate' and numerator < 60
        """
    ).fetchall()
    assert {r[0] for r in rows} >= {0.0, 1.0, 5.0, 19.0}
    for k, lower, upper in rows:
        exact_lower, exact_upper = poisson_exact_interval(k)
        assert upper == pytest.approx(exact_upper, rel=0.002)
        tolerance = 0.08 if k < 5 else 0.01
        assert lower == pytest.approx(exact_lower, rel=tolerance, abs=1e-9)
        assert lower <= exact_lower + 1e-9  # never narrower than exact on the low side


# --- EARS against the independent implementation ------------------------------------------


@pytest.mark.parametrize("grain", ["day", "month"])
def test_ears_statistics_match_the_reference_implementation(built_warehouse, grain):
    con = _connect(built_warehouse)
    series = _series(con, grain)
    assert len(series) >= 150
    cfg = SETTINGS[grain]
    compared = 0
    for key, points in series.items():
        counts = [p[1] for p in points]
        direction = points[0][2]
        ref_c1 = ears_c1_c2(
            counts,
            guard=0,
            baseline=cfg["baseline"],
            min_sigma=cfg["min_sigma"],
            direction=direction,
        )
        ref_c2 = ears_c1_c2(
            counts,
            guard=cfg["guard"],
            baseline=cfg["baseline"],
            min_sigma=cfg["min_sigma"],
            direction=direction,
        )
        ref_c3 = ears_c3(
            counts, baseline=cfg["baseline"], min_sigma=cfg["min_sigma"], direction=direction
        )
        for point, c1, c2, c3 in zip(points, ref_c1, ref_c2, ref_c3, strict=True):
            _, _, _, c1_stat, c2_stat, c3_stat, c2_mean, c2_sigma = point
            assert _close(c1_stat, c1.statistic), (key, point[0], "C1", c1_stat, c1.statistic)
            assert _close(c2_stat, c2.statistic), (key, point[0], "C2", c2_stat, c2.statistic)
            assert _close(c3_stat, c3.statistic), (key, point[0], "C3", c3_stat, c3.statistic)
            assert _close(c2_mean, c2.mean) and _close(c2_sigma, c2.sigma)
            compared += c2_stat is not None
    assert compared > (1000 if grain == "day" else 300)


# --- published thresholds -----------------------------------------------------------------
# (the calibration of the production detectors on real series: test_detector_calibration.py)


def test_published_ears_defaults_alarm_far_above_nominal(built_warehouse):
    """Why the production rule adds a sigma floor, a Poisson confirmation and a minimum count:
    R's defaults (baseline 7, minSigma 0) flag ~3.8 % of real area-days at alpha = 0.001."""
    con = _connect(built_warehouse)
    flagged = total = 0
    for points in _series(con, "day").values():
        counts = [p[1] for p in points]
        for point in ears_c1_c2(counts, guard=2, baseline=7, min_sigma=0.0):
            if point.alarm is not None:
                total += 1
                flagged += point.alarm
    rate = flagged / total
    print(f"published EARS C2 defaults: {flagged}/{total} = {rate:.4f}")
    assert rate > 10 * NOMINAL["alert"]


# --- planted spike ------------------------------------------------------------------------


def _dbt(warehouse: Path, tmp_path: Path, *args: str) -> None:
    env = {**os.environ, "CIVIC_WAREHOUSE": str(warehouse)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dbt.cli.main",
            *args,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=DBT_PROJECT,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_planted_spike_raises_an_alert_at_the_right_day_and_area(built_warehouse, tmp_path):
    """Real data everywhere, plus 25 violent incidents in Austin (community area 25) on
    15 Aug 2022 (the daily count scan), and no building permits in Near North Side (8) in
    Nov 2022 instead of its 214 (the monthly scan of its share of the city's permits: a fall
    is the bad news there); both real series are quiet there before. Both survive
    false-discovery control across the city's areas and reach the board at the alert level;
    no other area is flagged that day."""
    con = _connect(built_warehouse)
    before = con.execute(
        """
        select count(*) from marts.fct_early_warnings
        where area_type = 'community_area'
          and ((area_id = '25' and indicator_id = 'violent_crime_rate'
                and period_start = date '2022-08-15')
            or (area_id = '8' and indicator_id = 'building_permits_rate'
                and series_grain = 'month' and period_start = date '2022-11-01'))
        """
    ).fetchone()[0]
    assert before == 0, "the real series is quiet on the planted periods"
    con.close()

    copy = tmp_path / "civic.duckdb"
    shutil.copy(built_warehouse, copy)
    with duckdb.connect(str(copy)) as rw:
        template = (
            "select * replace ({ts} as occurred_at, cast({ts} as date) as occurred_on,"
            " cast(date_trunc('month', {ts}) as date) as occurred_month, '{area}' as area_id)"
            " from intermediate.int_crime_incidents_classified"
            " where city = 'chicago' and crime_category = '{cat}' limit 1"
        )
        for i in range(25):
            rw.execute(
                "insert into intermediate.int_crime_incidents_classified "
                + template.format(
                    ts=f"timestamp '2022-08-15 {i % 24:02d}:00:00'", area=25, cat="violent"
                )
            )
        rw.execute(
            "delete from intermediate.int_building_permits where city = 'chicago'"
            " and area_type = 'community_area' and cast(area_id as varchar) = '8'"
            " and issued_month = date '2022-11-01'"
        )
    # only the path from the crime counts to the alerts (other marts are not needed here)
    _dbt(copy, tmp_path, "run", "-s", *PLANTED_SPIKE_PATH)

    with duckdb.connect(str(copy), read_only=True) as spiked:
        day_alert = spiked.execute(
            """
            select level, run_start_period, observed, expected, message, window_periods,
                   q_value, family_tests
            from marts.fct_early_warnings
            where area_id = '25' and indicator_id = 'violent_crime_rate'
              and series_grain = 'day' and period_start = date '2022-08-15'
            """
        ).fetchone()
        month_alert = spiked.execute(
            """
            select level, observed, expected, message
            from marts.fct_early_warnings
            where area_id = '8' and indicator_id = 'building_permits_rate'
              and series_grain = 'month' and period_start = date '2022-11-01'
            """
        ).fetchone()
        other_areas = spiked.execute(
            """
            select count(*) from marts.fct_early_warnings
            where area_id <> '25' and area_type = 'community_area'
              and series_grain = 'day' and period_start = date '2022-08-15'
              and indicator_id = 'violent_crime_rate' and level = 'alert'
            """
        ).fetchone()[0]
    assert day_alert is not None and day_alert[0] == "alert", day_alert
    assert str(day_alert[1]) == "2022-08-15"
    assert day_alert[5] == 1 and day_alert[2] - day_alert[3] >= 20  # 25 planted on one day
    assert day_alert[6] <= 0.01 and day_alert[7] > 100  # BH across the city's 156 series
    assert "Austin" in day_alert[4] and "15 Aug 2022" in day_alert[4]
    assert month_alert is not None and month_alert[0] == "alert", month_alert
    assert month_alert[1] == 0 and month_alert[2] > 100, month_alert  # fell to 0
    assert "Near North Side" in month_alert[3] and "fell to 0" in month_alert[3]
    assert other_areas == 0


def test_expected_false_alerts_per_week_recomputed_from_the_tests(built_warehouse):
    """Each period's tests and flags are spread over the weeks of that period (a 28-day
    February is 7/28 of a month's tests per week, a 31-day month 7/31), then averaged; the
    board's 'all' row sums the grains. Recomputed here in Python from the FDR table."""
    import calendar

    ranks = {"watch": 1, "warning": 2, "alert": 3}
    alpha = {"watch": 0.025, "warning": 0.005, "alert": 0.001}
    target = {"watch": 0.10, "warning": 0.05, "alert": 0.01}

    def weeks_share(grain, day) -> float:
        if grain == "day":
            return 7.0
        if grain == "week":
            return 1.0
        if grain == "month":
            return 7.0 / calendar.monthrange(day.year, day.month)[1]
        return 7.0 / (366 if calendar.isleap(day.year) else 365)

    with _connect(built_warehouse) as con:
        rows = con.execute(
            "select city, series_grain, period_start, level from intermediate.int_early_warning_fdr"
        ).fetchall()
        mart = {
            (city, grain, level): (tests, reported, expected, without)
            for city, grain, level, tests, reported, expected, without in con.execute(
                "select city, series_grain, level, tests_per_week, reported_per_week, "
                "expected_false_per_week, expected_false_per_week_without_control "
                "from marts.fct_early_warning_false_alerts"
            ).fetchall()
        }
    periods = defaultdict(lambda: [0, defaultdict(int)])  # (city, grain, period) -> tests, flags
    for city, grain, period, flag in rows:
        cell = periods[(city, grain, period)]
        cell[0] += 1
        for level, rank in ranks.items():
            cell[1][level] += ranks.get(flag, 0) >= rank
    expected = defaultdict(lambda: [0.0, 0.0, 0])
    for (city, grain, period), (tests, flags) in periods.items():
        share = weeks_share(grain, period)
        for level in ranks:
            cell = expected[(city, grain, level)]
            cell[0] += tests * share
            cell[1] += flags[level] * share
            cell[2] += 1
    totals = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    months_differ = False
    for (city, grain, level), (tests, reported, n) in expected.items():
        got = mart[(city, grain, level)]
        want = (tests / n, reported / n, target[level] * reported / n, alpha[level] * tests / n)
        assert got == pytest.approx(want, rel=1e-9), (city, grain, level)
        months_differ |= grain == "month" and n > 1
        for i, value in enumerate(want):
            totals[(city, level)][i] += value
    assert months_differ, "the data should hold months of different lengths"
    for (city, level), want in totals.items():
        assert mart[(city, "all", level)] == pytest.approx(want, rel=1e-9), (city, level)
