"""Comparisons a statistician would sign, on the real warehouse: the year-over-year test the
SQL runs is the simulated quasi test (tests/test_change_tests.py), empirical-Bayes rates
shrink small areas and beat raw rates by simulation, funnel limits are Poisson limits,
yearly targets become seasonal monthly ones for every city, rates compare only annualised,
and intervals widen with the measured dispersion."""

from __future__ import annotations

import calendar
import csv
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy import stats

from pipelines.statistics.changes import (
    count_change_z0,
    leave_one_out_dispersion,
    proportion_change_z0,
)

REPO = Path(__file__).resolve().parents[1]
SEASONALITY = REPO / "dbt_project" / "seeds" / "indicator_seasonality.csv"
HISTORY = REPO / "tests" / "fixtures" / "history" / "chicago_citywide_monthly_4types_2007_2016.csv"


@pytest.fixture(scope="module")
def con(built_warehouse):
    connection = duckdb.connect(str(built_warehouse), read_only=True)
    yield connection
    connection.close()


def test_year_over_year_z_is_the_quasi_conditional_test(con):
    """Every year-over-year z of fct_indicator_gaps equals the conditional z (counts with
    population exposures) or the two-proportion z (cohorts) over the square root of the
    family's leave-one-out dispersion, computed here independently."""
    rows = con.execute(
        """
        select g.city, g.area_type, g.area_id, g.indicator_id, g.period_grain, g.period_start,
               g.z_score, g.is_significant, s.value_kind, s.value_scale, i.polarity,
               now_.numerator, now_.denominator, now_.value,
               before.numerator, before.denominator, before.value
        from marts.fct_indicator_gaps g
        join seeds.indicator_statistics s using (indicator_id)
        join marts.dim_indicators i using (indicator_id)
        join marts.fct_indicator_values now_
            using (city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
                   period_start, period_grain)
        join marts.fct_indicator_values before
            on before.city = g.city and before.area_type = g.area_type
            and before.area_id = g.area_id and before.indicator_id = g.indicator_id
            and before.breakdown_type = g.breakdown_type
            and before.breakdown_value = g.breakdown_value
            and before.period_grain = g.period_grain
            and cast(before.period_start as varchar) = g.comparison_id
        where g.gap_type = 'year_over_year' and not now_.is_suppressed
          and not before.is_suppressed
        """
    ).fetchall()
    assert len(rows) > 1000
    z0, family, stored, significant = [], [], [], []
    for (city, area_type, _, indicator, grain, _, z, sig, kind, scale, polarity,
         n1, d1, v1, n0, d0, v0) in rows:  # fmt: skip
        sign = 1 if polarity == "lower_is_better" else -1
        if kind == "event_rate" and n1 is not None and n0 is not None:
            value = float(count_change_z0(n1, n0, d1, d0))
        elif kind == "proportion" and d1 and d0:
            value = float(proportion_change_z0(v1 / scale, d1, v0 / scale, d0))
        else:
            assert z is None
            continue
        z0.append(sign * value)
        family.append(f"{city}|{indicator}|{area_type}|{grain}")
        stored.append(z)
        significant.append(sig)
    z0, family = np.array(z0), np.array(family)
    phi, df = leave_one_out_dispersion(z0, family)
    expected = z0 / np.sqrt(phi)
    stored = np.array([np.nan if s is None else s for s in stored], dtype=float)
    ok = ~np.isnan(expected)
    assert ok.sum() > 1000
    assert np.allclose(stored[ok], expected[ok], rtol=1e-9, atol=1e-12)
    critical = np.where(df > 30, 1.96, stats.t.ppf(0.975, np.maximum(df, 1)))
    assert np.mean((np.abs(expected[ok]) > critical[ok]) == np.array(significant)[ok]) > 0.999
    # the old Poisson Z (variance 2) would have flagged many more of the same comparisons
    assert np.mean(np.array(significant)[ok]) < 0.1


def marshall(y: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Empirical-Bayes Poisson-gamma rates by the method of moments (Marshall 1991)."""
    m = y.sum() / e.sum()
    s2 = (e * (y / e - m) ** 2).sum() / e.sum()
    between = s2 - m / e.mean()
    if between <= 0:
        return np.full(y.shape, m)
    a, b = m * m / between, m / between
    return (y + a) / (e + b)


def test_empirical_bayes_rates_are_the_method_of_moments_and_shrink_small_areas(con):
    rows = con.execute(
        """
        select r.city, r.indicator_id, r.area_type, r.period_start, r.numerator, r.denominator,
               r.value, r.eb_value, r.shrinkage_weight, r.city_pooled_value, s.value_scale
        from intermediate.int_small_area_rates r
        join seeds.indicator_statistics s using (indicator_id)
        where r.breakdown_type = 'all'
        order by all
        """
    ).fetchall()
    families = defaultdict(list)
    for row in rows:
        families[row[:4]].append(row[4:])
    assert len(families) > 50
    checked = 0
    for (_, indicator, _, _), members in families.items():
        y = np.array([m[0] for m in members], dtype=float)
        e = np.array([m[1] for m in members], dtype=float)
        stored = np.array([m[3] for m in members])
        expected = marshall(y, e) * members[0][6]
        assert np.allclose(stored, expected, rtol=1e-9), indicator
        raw = np.array([m[2] for m in members])
        pooled = members[0][5]
        # every shrunken rate lies between the raw rate and the pooled rate
        low, high = np.minimum(raw, pooled), np.maximum(raw, pooled)
        assert np.all(stored >= low - 1e-9) and np.all(stored <= high + 1e-9)
        weights = np.array([m[4] for m in members])
        if np.ptp(weights) > 0:
            # larger populations keep more of their own rate
            assert stats.spearmanr(e, weights).statistic > 0.9
        checked += 1
    assert checked == len(families)


def test_empirical_bayes_beats_raw_rates_by_simulation():
    """77 areas with Chicago-like populations (a month of exposure) and true monthly rates
    from a gamma spread: the empirical-Bayes estimates are much closer to the true rates
    than the raw ones (mean squared error ratio)."""
    rng = np.random.default_rng(8)
    gains = []
    for _ in range(300):
        e = rng.lognormal(np.log(30000), 0.8, 77)
        theta = rng.gamma(4.0, 7e-5 / 4.0, 77)  # mean 7 per 100k a month, cv 50 %
        y = rng.poisson(theta * e)
        raw = y / e
        eb = marshall(y, e)
        gains.append(np.mean((eb - theta) ** 2) / np.mean((raw - theta) ** 2))
    print("EB / raw mean squared error:", np.mean(gains))
    assert np.mean(gains) < 0.6


def test_funnel_limits_are_poisson_limits_around_the_city_rate(con):
    rows = con.execute(
        """
        select expected, observed, population, city_rate, value, limit_95_lower, limit_95_upper,
               limit_998_lower, limit_998_upper, limit_998_lower_overdispersed,
               limit_998_upper_overdispersed, overdispersion, position
        from marts.fct_area_funnel where expected >= 5
        """
    ).fetchall()
    assert len(rows) > 1000
    for mu, y, _pop, rate, _value, l95, u95, l998, u998, l998od, u998od, phi, position in rows:
        assert l998 <= l95 <= rate <= u95 <= u998
        assert l998od <= l998 + 1e-9 and u998od >= u998 - 1e-9 and phi >= 1
        per_event = rate / mu
        # the Cornish-Fisher quantile is within one event of the exact Poisson quantile
        assert abs(u95 / per_event - stats.poisson.ppf(0.975, mu)) <= 1.0 + 1e-6
        assert abs(u998 / per_event - stats.poisson.ppf(0.999, mu)) <= 1.5 + 1e-6
        inside = l95 / per_event <= y <= u95 / per_event
        assert (position == "inside") == inside or position.endswith("_998")


def test_yearly_targets_apply_to_every_city_with_seasonal_monthly_shares(con):
    rows = con.execute(
        """
        select city, indicator_id, period_start, comparison_value
        from marts.fct_indicator_gaps
        where gap_type = 'target' and comparison_id = 'us_violent_rate_2022'
          and area_type = 'city' and period_grain = 'month'
        order by period_start
        """
    ).fetchall()
    assert rows, "the US reference violent crime rate applies to every city's months"
    index = {
        int(r["month"]): float(r["seasonal_index"])
        for r in csv.DictReader(SEASONALITY.open())
        if r["profile_id"] == "urban_violent_crime_2007_2016"
    }
    for _, _, period, target in rows:
        days = calendar.monthrange(period.year, period.month)[1]
        year = 366 if calendar.isleap(period.year) else 365
        assert target == pytest.approx(380.7 * days / year * index[period.month], rel=1e-9)
    july = [target for _, _, period, target in rows if period.month == 7]
    assert july and july[0] > 380.7 / 12  # summer is held to a summer rate, not the year / 12
    cities = {
        r[0]
        for r in con.execute(
            "select distinct city from marts.fct_indicator_gaps "
            "where comparison_id = 'us_unemployment_4pct'"
        ).fetchall()
    }
    assert cities >= {"chicago", "nyc"}


def test_seasonal_profile_seed_is_recomputed_from_its_source():
    """The seed's indices are the 2007-2016 monthly shape of the bundled real counts."""
    counts = defaultdict(int)
    months = {m: i for i, m in enumerate(calendar.month_abbr) if m}
    types = {
        "urban_violent_crime_2007_2016": {"ASSAULT", "ROBBERY"},
        "urban_property_crime_2007_2016": {"BURGLARY", "MOTOR VEHICLE THEFT"},
    }
    rows = list(csv.DictReader(HISTORY.open()))
    seed = {(r["profile_id"], int(r["month"])): float(r["seasonal_index"])
            for r in csv.DictReader(SEASONALITY.open())}  # fmt: skip
    for profile, members in types.items():
        counts.clear()
        for r in rows:
            if r["primary_type"] in members:
                counts[(int(r["year"]), months[r["month"]])] += int(r["count"])
        ratios = defaultdict(list)
        for year in range(2007, 2017):
            days = {m: calendar.monthrange(year, m)[1] for m in range(1, 13)}
            daily = sum(counts[(year, m)] for m in range(1, 13)) / sum(days.values())
            for m in range(1, 13):
                ratios[m].append(counts[(year, m)] / days[m] / daily)
        mean = {m: np.mean(v) for m, v in ratios.items()}
        norm = sum(mean[m] * calendar.monthrange(2022, m)[1] for m in range(1, 13)) / 365
        for m in range(1, 13):
            assert seed[(profile, m)] == pytest.approx(mean[m] / norm, abs=5e-5)


def test_rates_are_annualised_before_they_are_compared_across_grains(con):
    rows = con.execute(
        """
        select value_kind, period_start, period_grain, value, value_annualised
        from intermediate.int_analytic_values
        where value_kind in ('event_rate', 'amount_rate', 'proportion')
        """
    ).fetchall()
    assert rows
    for kind, period, grain, value, annualised in rows:
        if kind == "proportion":
            assert annualised == value
            continue
        year = 366 if calendar.isleap(period.year) else 365
        days = {"year": year, "month": calendar.monthrange(period.year, period.month)[1]}[grain]
        assert annualised == pytest.approx(value * year / days, rel=1e-12)


def test_intervals_widen_by_the_measured_dispersion(con):
    rows = con.execute(
        """
        select dispersion, value, value_lower, value_upper, interval_lower, interval_upper
        from intermediate.int_analytic_values
        where value_kind = 'event_rate' and numerator >= 20
        """
    ).fetchall()
    widened = 0
    for phi, value, lower, upper, wide_lower, wide_upper in rows:
        assert wide_lower <= lower + 1e-9 and wide_upper >= upper - 1e-9
        assert wide_lower <= value <= wide_upper
        if phi > 1.2:
            # roughly sqrt(phi) times the Poisson half-width
            ratio = (wide_upper - wide_lower) / (upper - lower)
            assert ratio == pytest.approx(np.sqrt(phi), rel=0.25)
            widened += 1
    assert widened > 500
    # crime counts vary more than Poisson between periods in every city (dispersion > 1)
    phis = con.execute(
        "select city, max(dispersion) from intermediate.int_analytic_values "
        "where value_kind = 'event_rate' group by city"
    ).fetchall()
    assert all(p > 1.2 for _, p in phis)


def test_people_affected_is_not_scored_from_a_citywide_series(con):
    """Chicago's unemployment exists only for its county: it says nothing about how many
    residents are affected, so people_affected is left out, not 'everyone'."""
    row = con.execute(
        """
        select affected_share, reference_area_type
        from intermediate.int_problem_outcome_status
        where city = 'chicago' and indicator_id = 'unemployment_rate'
        """
    ).fetchone()
    assert row == (None, "county")
