"""The marts made for the dashboards, checked on the real bundled data against independent
recomputations: the brief's selection rule, "data as of", data-health freshness from the
period covered, the scorecard's scores and bands, and the alert board's now / past."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest


@pytest.fixture(scope="module")
def warehouse(built_warehouse: Path):
    con = duckdb.connect(str(built_warehouse), read_only=True)
    yield con
    con.close()


def _rows(con, sql: str, params=()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _month_end(day: dt.date) -> dt.date:
    first_next = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first_next - dt.timedelta(days=1)


def test_every_city_has_a_name_from_its_catalog(warehouse):
    from pipelines.catalog import city_catalogs

    names = dict(warehouse.execute("select city, city_name from marts.dim_cities").fetchall())
    assert names == {catalog.city: catalog.name for catalog in city_catalogs()}


def test_data_until_counts_measured_data_not_budgets(warehouse):
    """A budget (appropriations) covers a fiscal year still to come: it must not make a city's
    data look newer than its newest measured period (the home page's "Data as of")."""
    expected = dict(
        warehouse.execute(
            """
            select city, cast(max(period_start + cast('1 ' || period_grain as interval))
                - interval 1 day as date)
            from marts.fct_indicator_values
            where indicator_id not in ('appropriations_total', 'appropriations_per_resident')
            group by city
            """
        ).fetchall()
    )
    shown = dict(warehouse.execute("select city, data_until from marts.dim_cities").fetchall())
    assert shown == expected


def test_brief_follows_its_selection_rule(warehouse):
    """The rule of fct_city_brief's header, re-implemented here over the marts it reads."""
    for (city,) in warehouse.execute("select city from marts.dim_cities").fetchall():
        board = _rows(
            warehouse,
            "select * from marts.fct_alert_board where city = ? and level in ('alert', 'warning')",
            [city],
        )

        def strength(r):
            return (not r["is_current"], r["area_type"] != "city", r["level_order"],
                    -abs(r["excess"] or 0), r["alert_id"])  # fmt: skip

        best: dict[str, dict] = {}
        for r in sorted(board, key=strength):
            best.setdefault(r["indicator_id"], r)
        warnings = sorted(best.values(), key=strength)[:3]
        picked = {r["indicator_id"] for r in warnings}
        off_track = [
            r
            for r in _rows(
                warehouse,
                "select * from marts.fct_indicator_scorecard "
                "where city = ? and is_latest and band = 'off_track' order by score, indicator_id",
                [city],
            )
            if r["indicator_id"] not in picked
        ][:2]
        expected = [("early_warning", r["indicator_id"]) for r in warnings]
        expected += [("off_track", r["indicator_id"]) for r in off_track]
        brief = warehouse.execute(
            "select item_kind, indicator_id, problem_id from marts.fct_city_brief "
            "where city = ? order by item_rank",
            [city],
        ).fetchall()
        assert [(kind, ind) for kind, ind, _ in brief if kind != "priority"] == expected[:5]
        # then the best-ranked problems with data not yet covered, up to 3 items in all
        covered = {p for kind, _, p in brief if kind != "priority"}
        ranked = [
            p
            for (p,) in warehouse.execute(
                "select problem_id from marts.fct_problem_ranking "
                "where city = ? and quadrant <> 'no_data' order by priority_rank",
                [city],
            ).fetchall()
            if p not in covered
        ]
        priorities = [p for kind, _, p in brief if kind == "priority"]
        assert priorities == ranked[: max(0, 3 - len(expected))]
        # 3 to 5 items, fewer only when the city's data hold nothing more to say (a city
        # whose catalog has few datasets, e.g. two problems with data)
        assert len(brief) <= 5
        assert len(brief) >= 3 or priorities == ranked, f"{city}: brief cut short"


def test_data_as_of_is_the_newest_period_of_each_domain(warehouse):
    rows = _rows(warehouse, "select * from marts.fct_data_as_of")
    assert rows
    for r in rows:
        periods = warehouse.execute(
            "select distinct v.period_start, v.period_grain "
            "from marts.fct_indicator_values v join marts.dim_indicators d using (indicator_id) "
            "where v.city = ? and d.domain = ?",
            [r["city"], r["domain"]],
        ).fetchall()
        # the last day of the period that ends last (a domain may mix months and years)
        ends = {
            "month": _month_end,
            "year": lambda start: dt.date(start.year, 12, 31),
            "day": lambda start: start,
        }
        end = max(ends[grain](start) for start, grain in periods)
        assert r["data_until"] == end, f"{r['city']} {r['domain']}"


def test_data_health_freshness_counts_from_the_period_covered(warehouse):
    health = _rows(warehouse, "select * from marts.fct_data_health")
    partitioned = 0
    for r in health:
        columns = {c[0] for c in warehouse.execute(f'describe raw."{r["raw_table"]}"').fetchall()}
        if "_partition" in columns:
            partitioned += 1
            newest = warehouse.execute(
                f'select max(_partition) from raw."{r["raw_table"]}"'
            ).fetchone()[0]
            assert r["data_until"] == _month_end(newest), r["raw_table"]
            assert r["period_source"] == "data"
        if r["expected_within_days"] is not None and r["data_until"] is not None:
            age = (r["as_of_date"] - r["data_until"]).days - 1
            assert r["is_stale"] == (age > r["expected_within_days"]), r["raw_table"]
            assert (r["freshness"] == "current") == (not r["is_stale"])
    assert partitioned >= 2, "the bundled data have monthly-partitioned datasets"
    # the bundled extracts end years ago: freshness must say so, whatever the load time
    assert any(r["is_stale"] and not r["is_load_overdue"] for r in health)


def test_scorecard_scores_and_bands(warehouse):
    bands = dict(warehouse.execute("select band, min_score from seeds.scorecard_bands").fetchall())
    rows = _rows(
        warehouse, "select * from marts.fct_indicator_scorecard where target_value is not null"
    )
    assert rows
    for r in rows:
        ratio = r["value"] / r["target_value"]
        score = ratio if r["polarity"] == "higher_is_better" else 1 / ratio
        assert r["score"] == pytest.approx(score)
        inside = (
            r["value_lower"] is not None
            and r["value_lower"] <= r["target_value"] <= r["value_upper"]
        )
        band = (
            "on_track" if score >= bands["on_track"]
            else "near_track" if score >= bands["near_track"] or inside
            else "off_track"
        )  # fmt: skip
        assert r["band"] == band, (r["city"], r["indicator_id"], r["period_start"])


def test_alert_board_now_and_past_follow_the_window(warehouse):
    windows = dict(
        warehouse.execute(
            "select series_grain, current_for_days from seeds.alert_windows"
        ).fetchall()
    )
    ends = {"day": 1, "week": 7}
    rows = _rows(warehouse, "select * from marts.fct_alert_board")
    assert rows
    for r in rows:
        start, grain = r["latest_flagged_period"], r["series_grain"]
        if grain in ends:
            end = start + dt.timedelta(days=ends[grain])
        elif grain == "month":
            end = _month_end(start) + dt.timedelta(days=1)
        else:
            end = dt.date(start.year + 1, 1, 1)
        current = end + dt.timedelta(days=windows[grain]) > r["as_of_date"]
        assert r["is_current"] == current, r["alert_id"]
        assert r["status_label"].startswith("Now" if current else "Past: ")
        assert "ears" not in r["headline"].lower() and "_" not in r["method_name"]
