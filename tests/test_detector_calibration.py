"""The early-warning detectors on every real count series: false-alarm rates at or below
nominal, power against a Poisson CUSUM tuned to the same false-alarm rate, false-discovery
control across a city's areas, and the tables of dbt_project/ANALYTICS.md.

Series: every daily and monthly family the warehouse holds (one city, grain and indicator,
read from int_early_warning_series, so new cities and longer histories are tested as they
arrive), each city's board (its families of one grain pooled), and the long real histories of
tests/fixtures/history/. Methods of the computation: tests/calibration.py.
"""

from __future__ import annotations

import calibration as cal
import duckdb
import numpy as np
import pytest
from scipy import stats

# a family whose expected number of flags is this small cannot show its rate to better than
# sampling error: it passes when it is not significantly above nominal (one-sided binomial)
SMALL_FAMILY_TAIL = 0.05


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    con = duckdb.connect(str(built_warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def tables(warehouse):
    return cal.compute(warehouse)


def test_every_detector_fires_at_or_below_its_nominal_rate_on_real_series(tables):
    """Each family of real series (each city x grain x indicator, each city's board, each
    long history) and each detector: flagged share of tested periods <= the level's nominal
    rate; families too small to show it (fewer than 5 flags expected) must not be
    significantly above nominal. Every flag counts as false, so these are upper bounds."""
    assert {r["source"] for r in tables["far"]} >= {"warehouse", "history"}
    assert len({r["family"] for r in tables["far"]}) >= 8
    failures = []
    for row in tables["far"]:
        expected_flags = row["tested"] * row["nominal"]
        if row["rate"] <= row["nominal"]:
            continue
        tail = stats.binom.sf(row["flagged"] - 1, row["tested"], row["nominal"])
        if expected_flags < 10 and tail >= SMALL_FAMILY_TAIL:
            continue
        failures.append((row["family"], row["method"], row["level"], row["rate"], tail))
    assert not failures, failures
    # the chosen detector is measured on every daily and monthly family
    chosen = {(r["family"], r["grain"]) for r in tables["far"] if r["is_chosen"]}
    assert {g for _, g in chosen} >= {"day", "month"}


def test_no_series_flags_significantly_more_often_than_nominal(tables):
    """Per series (each area): its number of runs of flags is consistent with the nominal
    rate (one-sided binomial, Bonferroni over the series of the family)."""
    for row in tables["far"]:
        assert row["worst_series_tail"] >= 0.01 / row["series"], row


def test_levels_are_nested_and_fire_on_real_data(tables):
    for family in {r["family"] for r in tables["far"] if r["is_chosen"]}:
        rates = {
            r["level"]: r["rate"] for r in tables["far"] if r["is_chosen"] and r["family"] == family
        }
        assert rates["watch"] >= rates["warning"] >= rates["alert"]
    boards = [r for r in tables["far"] if r["is_chosen"] and "board" in r["family"]]
    assert boards and any(r["flagged"] > 0 for r in boards if r["level"] == "alert")


def _benchmark_rows(tables, family_filter):
    return [
        r
        for r in tables["power"]
        if r["method"] == "poisson_cusum_at_same_rate" and family_filter(r["family"])
    ]


def test_chosen_detector_at_least_as_powerful_as_a_poisson_cusum_at_the_same_rate(tables):
    """For each city's board of the bundled data and for the long Chicago histories, at every
    level and rise (+50/100/200 % over 3 days; +100 % for one month): the chosen detector
    catches at least as many planted rises as a Poisson CUSUM on the same expected counts
    whose threshold is set to flag exactly as often on the real series."""
    rows = _benchmark_rows(
        tables, lambda f: "board" in f or f.startswith("Chicago police") or "homicide" in f
    )
    grains = {r["grain"] for r in rows}
    assert grains >= {"day", "month"}
    assert {r["rise"] for r in rows if r["grain"] == "day"} == {0.5, 1.0, 2.0}
    weaker = [
        (r["family"], r["rise"], r["level"], r["chosen_power"], r["power"])
        for r in rows
        if r["chosen_power"] < r["power"]
    ]
    assert not weaker, weaker
    # and the rises are not trivially caught or missed: power grows with the rise
    day = [
        r for r in rows if r["grain"] == "day" and "board" in r["family"] and r["level"] == "watch"
    ]
    by_rise = sorted((r["rise"], r["chosen_power"]) for r in day)
    assert by_rise[0][1] < by_rise[-1][1]


def test_false_discovery_rate_after_benjamini_hochberg_within_target(tables):
    """Planted rises in a city's daily board, BH across its series each day: with no real
    change anywhere (simulated counts with the series' own means and dispersions) the
    measured FDR is at or below each level's target; on the real series, counting only the
    flags that planting added as false (lower bound) too. The upper bound (every flag outside
    a planted window false, real events included) is reported in ANALYTICS.md."""
    assert tables["fdr"]
    for row in tables["fdr"]:
        assert row["reported"] > 0, row
        if "simulated" in row["family"]:
            assert row["fdr"] <= row["target"], row
        assert row["fdr_lower"] <= row["target"], row


def test_the_sql_benjamini_hochberg_matches_the_reference(warehouse):
    """int_early_warning_fdr's q-values equal the reference BH over the same p-values."""
    rows = warehouse.execute(
        """
        select city, series_grain, period_start, p_value, q_value
        from intermediate.int_early_warning_fdr order by all
        """
    ).fetchall()
    families: dict[tuple, list] = {}
    for city, grain, period, p, q in rows:
        families.setdefault((city, grain, period), []).append((p, q))
    assert len(families) > 300
    for members in families.values():
        p = np.array([[m[0]] for m in members])
        expected = cal.benjamini_hochberg(p)[:, 0]
        assert np.allclose(expected, [m[1] for m in members], atol=1e-12)
    reported = warehouse.execute(
        """
        select count(*), count(*) filter (where level is not null and test_level is null),
               count(*) filter (where level = 'alert' and (p_value > 0.001 or q_value > 0.01))
        from intermediate.int_early_warning_fdr
        """
    ).fetchone()
    assert reported[0] > 40000 and reported[1] == 0 and reported[2] == 0


def test_the_dbt_model_runs_the_tested_detectors(warehouse):
    """int_early_warning_counts holds the p-values of the functions calibrated here, for
    every daily family of the warehouse (the same code, not a copy)."""
    stored = warehouse.execute(
        """
        select city, indicator_id, area_type, area_id, period_start, scan_p
        from intermediate.int_early_warning_counts
        where series_grain = 'day' and scan_p is not null
        """
    ).fetchall()
    lookup = {(r[0], r[1], r[2], r[3], r[4]): r[5] for r in stored}
    families = [f for f in cal.warehouse_families(warehouse) if f.grain == "day"]
    keys = warehouse.execute(
        """
        select distinct city, indicator_id, area_type, area_id
        from intermediate.int_early_warning_series
        where series_grain = 'day' order by all
        """
    ).fetchall()
    checked = 0
    for family in families:
        city, indicator = family.name.split(" ")[:2]
        rows = sorted(
            [k for k in keys if k[0] == city and k[1] == indicator], key=lambda k: str((k[2], k[3]))
        )
        p = cal.levels(family, family.y)["chosen_p"]
        for i, (_, _, area_type, area_id) in enumerate(rows):
            for t, day in enumerate(family.dates):
                value = lookup.get((city, indicator, area_type, area_id, day))
                if value is not None:
                    assert value == pytest.approx(p[i, t], rel=1e-9, abs=1e-12)
                    checked += 1
    assert checked > 40000


def test_analytics_tables_are_the_measured_ones(tables):
    """dbt_project/ANALYTICS.md shows the tables computed here (rewrite them with
    `.tools/bin/uv run python tests/calibration.py --write` after the data change)."""
    text = cal.ANALYTICS_MD.read_text()
    for name, body in cal.render(tables).items():
        assert cal.read_block(text, name) == body.strip(), (
            f"the {name} table of ANALYTICS.md is not the measured one: "
            "run `.tools/bin/uv run python tests/calibration.py --write` and commit it"
        )
