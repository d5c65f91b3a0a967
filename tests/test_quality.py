"""Data-quality suites: they pass on the real bundled data, each kind of bad data really fails
with the right rule and count, and a failing critical check stops the assets downstream."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckSeverity, AssetKey, Definitions, asset, materialize
from dagster_duckdb import DuckDBResource

from pipelines.catalog import city_catalogs
from pipelines.quality import quality_checks
from pipelines.quality.checks import build_quality_check
from pipelines.quality.runner import RuleResult, run_suite
from pipelines.quality.suites import QUALITY_DIR, mart_suites, raw_suite, read_suite_file

DATASETS = {d.raw_table: d for c in city_catalogs() for d in c.datasets.values()}


def suite_of(table: str):
    return raw_suite(DATASETS[table])


@pytest.fixture(scope="module")
def warehouse_copy(built_warehouse: Path, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("quality") / "civic.duckdb"
    shutil.copy(built_warehouse, copy)
    return copy


@pytest.fixture(scope="module")
def con(warehouse_copy: Path):
    connection = duckdb.connect(str(warehouse_copy))
    yield connection
    connection.close()


@pytest.fixture
def changed(con):
    """A connection whose changes are rolled back after the test: each case starts clean."""
    con.execute("begin transaction")
    yield con
    con.execute("rollback")


def failures(results: list[RuleResult]) -> dict[str, RuleResult]:
    return {r.rule.name: r for r in results if not r.passed}


def test_every_suite_file_is_valid_and_every_raw_table_has_rules():
    for path in sorted(QUALITY_DIR.rglob("*.yml")):
        read_suite_file(path)
    for table, dataset in DATASETS.items():
        suite = raw_suite(dataset)
        assert any(f.endswith(f"raw/{table}.yml") for f in suite.files), table
        assert {"row_count_drop", "row_count_growth"} <= {r.name for r in suite.rules}
        assert any(r.severity == "critical" for r in suite.rules)
    from pipelines.assets.raw import raw_assets

    # Raw tables: the checks are declared by their raw assets (the load evaluates them).
    raw = {spec.asset_key for asset in raw_assets() for spec in asset.check_specs}
    assert {AssetKey(["raw", t]) for t in DATASETS} == raw
    keys = {spec.asset_key for check in quality_checks() for spec in check.check_specs}
    assert {
        AssetKey(["marts", "fct_indicator_values"]),
        AssetKey(["marts", "dim_indicators"]),
    } <= keys


def test_checks_fit_into_the_definitions_beside_the_dbt_tests():
    from pipelines.assets.exports import marts_parquet
    from pipelines.assets.raw import raw_assets
    from pipelines.assets.transform import civic_dbt_models
    from pipelines.resources import dbt_resource
    from pipelines.sources import DataSources

    defs = Definitions(
        assets=[*raw_assets(), civic_dbt_models, marts_parquet],
        asset_checks=quality_checks(),
        resources={
            "warehouse": DuckDBResource(database=":memory:"),
            "dbt": dbt_resource(),
            "sources": DataSources(),
        },
    )
    graph = defs.resolve_asset_graph()
    suites = _all_suites()
    names = {r.name for s in suites for r in s.rules}
    ours = {key for key in graph.asset_check_keys if key.name in names}
    assert len(ours) == sum(len(s.rules) for s in suites)
    blocking = {key for key in ours if graph.get_check_spec(key).blocking}
    critical = sum(r.severity == "critical" for s in suites for r in s.rules)
    assert len(blocking) == critical


def _all_suites():
    return [*(raw_suite(d) for d in DATASETS.values()), *mart_suites()]


def test_shipped_suites_pass_on_the_bundled_data(con, built_warehouse: Path):
    exports = built_warehouse.parent / "exports"
    for suite in _all_suites():
        results = run_suite(con, suite, exports)
        assert len(results) == len(suite.rules)
        assert not failures(results), (suite.relation, [r.describe() for r in results])


def test_mart_row_count_is_compared_with_the_published_export(con, built_warehouse: Path):
    suite = next(s for s in mart_suites() if s.table == "fct_indicator_values")
    result = {r.rule.name: r for r in run_suite(con, suite, built_warehouse.parent / "exports")}
    assert "vs" in result["row_count_vs_published"].observed  # a baseline was found


def first_rows(con, table: str, where: str, n: int) -> str:
    """A predicate on rowid picking n real rows of the table matching `where`."""
    sql = f"select rowid from raw.{table} where {where} limit {n}"
    rowids = [row[0] for row in con.execute(sql).fetchall()]
    assert len(rowids) == n
    return f"rowid in ({', '.join(map(str, rowids))})"


def test_a_percentage_above_100_fails(changed):
    rows = first_rows(
        changed,
        "chicago_school_progress_reports",
        "graduation_4_year_school_pct_year_1 is not null",
        3,
    )
    changed.execute(
        "update raw.chicago_school_progress_reports "
        f"set graduation_4_year_school_pct_year_1 = '150' where {rows}"
    )
    failed = failures(run_suite(changed, suite_of("chicago_school_progress_reports")))
    assert set(failed) == {"graduation_school_year_1_0_to_100"}
    result = failed["graduation_school_year_1_0_to_100"]
    assert result.unexpected_count == 3
    assert result.examples == ["150.0"]
    assert result.rule.severity == "critical"


def test_a_negative_count_fails(changed):
    rows = first_rows(changed, "nyc_index_crimes", "index_count is not null", 4)
    changed.execute(f"update raw.nyc_index_crimes set index_count = '-5' where {rows}")
    failed = failures(run_suite(changed, suite_of("nyc_index_crimes")))
    assert set(failed) == {"index_count_non_negative"}
    assert failed["index_count_non_negative"].unexpected_count == 4


def test_a_future_date_fails(changed):
    rows = first_rows(changed, "chicago_crimes", "true", 2)
    changed.execute(
        f"update raw.chicago_crimes set occurred_at = '2099-01-01 00:00:00' where {rows}"
    )
    failed = failures(run_suite(changed, suite_of("chicago_crimes")))
    assert set(failed) == {"occurred_at_not_in_future"}
    assert failed["occurred_at_not_in_future"].unexpected_count == 2
    assert failed["occurred_at_not_in_future"].examples == ["2099-01-01 00:00:00"]


def test_an_unreadable_value_fails_and_is_shown_as_published(changed):
    rows = first_rows(changed, "chicago_unemployment_rate", "true", 1)
    changed.execute(
        f"update raw.chicago_unemployment_rate set unemployment_rate = 'n/a' where {rows}"
    )
    failed = failures(run_suite(changed, suite_of("chicago_unemployment_rate")))
    assert set(failed) == {"unemployment_rate_parses"}
    assert failed["unemployment_rate_parses"].unexpected_count == 1
    assert failed["unemployment_rate_parses"].examples == ["n/a"]


def test_a_duplicated_key_fails(changed):
    rows = first_rows(changed, "chicago_building_permits", "true", 1)
    changed.execute(
        f"insert into raw.chicago_building_permits select * from raw.chicago_building_permits "
        f"where {rows}"
    )
    failed = failures(run_suite(changed, suite_of("chicago_building_permits")))
    assert set(failed) == {"permit_unique"}
    assert failed["permit_unique"].unexpected_count == 2  # both copies of the permit


def test_a_missing_required_column_fails(changed):
    changed.execute("alter table raw.chicago_population_2010 drop column population")
    failed = failures(run_suite(changed, suite_of("chicago_population_2010")))
    assert failed["required_columns"].unexpected_count == 1
    assert failed["required_columns"].examples == ["population"]
    assert set(failed) == {
        "required_columns",
        "population_not_null",
        "population_parses",
        "population_positive",
    }


def test_a_row_count_collapse_against_the_previous_load_fails(changed):
    load_id, mode, scope, rows, loaded_at = changed.execute(
        "select load_id, mode, scope, rows, loaded_at from meta.load_log "
        "where raw_table = 'nyc_population' order by loaded_at desc limit 1"
    ).fetchone()
    # The previous load of the same scope had 10 times the rows of this one.
    changed.execute(
        "insert into meta.load_log values "
        "('nyc_population', 'previous', ?::timestamptz - interval 1 day, ?, ?, ?, null, '')",
        [loaded_at, mode, scope, rows * 10],
    )
    failed = failures(run_suite(changed, suite_of("nyc_population")))
    assert set(failed) == {"row_count_drop"}
    assert failed["row_count_drop"].unexpected_count == rows * 9
    assert "-90.0%" in failed["row_count_drop"].observed


def test_a_warn_rule_fails_with_its_severity(changed):
    rows = first_rows(changed, "chicago_crimes", "true", 1)
    changed.execute(f"update raw.chicago_crimes set offense_type = 'ALIEN ABDUCTION' where {rows}")
    failed = failures(run_suite(changed, suite_of("chicago_crimes")))
    assert set(failed) == {"primary_type_known"}
    assert failed["primary_type_known"].rule.severity == "warn"
    assert failed["primary_type_known"].examples == ["ALIEN ABDUCTION"]


@pytest.mark.parametrize("bad", [True, False], ids=["bad_table_blocks", "good_table_passes"])
def test_a_failing_critical_check_stops_the_assets_downstream(built_warehouse, tmp_path, bad):
    """A real Dagster run: raw asset -> its quality checks -> a downstream asset."""
    warehouse = tmp_path / "civic.duckdb"
    shutil.copy(built_warehouse, warehouse)
    key = AssetKey(["raw", "chicago_population_2010"])
    ran: list[str] = []

    @asset(key=key)
    def population_2010(warehouse: DuckDBResource) -> None:
        if bad:  # a load that brings a negative population
            with warehouse.get_connection() as con:
                con.execute(
                    "update raw.chicago_population_2010 set population = '-1' where area = '7'"
                )

    @asset(key=["staging", "downstream_of_population"], deps=[key])
    def downstream() -> None:
        ran.append("downstream")

    check = build_quality_check(key, suite_of("chicago_population_2010"))
    result = materialize(
        [population_2010, downstream, check],
        resources={"warehouse": DuckDBResource(database=str(warehouse))},
        raise_on_error=False,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {r.name for r in suite_of("chicago_population_2010").rules}
    if bad:
        failed = evaluations["population_positive"]
        assert not failed.passed and failed.severity == AssetCheckSeverity.ERROR
        assert failed.metadata["unexpected_count"].value == 1
        assert failed.metadata["rule"].value == "population_positive"
        assert failed.metadata["examples"].value == ["-1.0"]
        assert ran == []
        assert not result.success
    else:
        assert all(e.passed for e in evaluations.values())
        assert ran == ["downstream"]
        assert result.success


# -- the SQL evaluation is Great Expectations' own verdict --------------------------------------


def great_expectations_results(con, suite) -> dict[str, RuleResult]:
    """The suite run by Great Expectations itself over a pandas frame of the same rows."""
    from pipelines.quality.expectations import read_frame, validate_frame
    from pipelines.quality.runner import latest_load, stored_columns

    stored = stored_columns(con, suite)
    relation = f'{suite.schema_name}."{suite.table}"'
    load = latest_load(con, suite.table) if suite.latest_load_only else None
    if load and "_load_id" in stored:
        relation = f"(select * from {relation} where _load_id = '{load['load_id']}')"
    resolved, frame = read_frame(con, suite, relation, stored)
    return {r.rule.name: r for r in validate_frame(resolved, frame, stored)}


def assert_same_verdicts(con, suite) -> None:
    ours = {r.rule.name: r for r in run_suite(con, suite)}
    theirs = great_expectations_results(con, suite)
    assert theirs, suite.relation
    for name, expected in theirs.items():
        got = ours[name]
        assert (got.passed, got.unexpected_count) == (expected.passed, expected.unexpected_count), (
            suite.relation,
            name,
            got.describe(),
            expected.describe(),
        )
        if expected.unexpected_percent is not None:
            assert got.unexpected_percent == pytest.approx(expected.unexpected_percent, abs=1e-3)
        assert set(got.examples) <= set(expected.examples) or not expected.examples


def test_sql_verdicts_are_great_expectations_verdicts_on_the_real_tables(con):
    for suite in _all_suites():
        assert_same_verdicts(con, suite)


BAD_EDITS = [
    ("chicago_school_progress_reports", "graduation_4_year_school_pct_year_1 = '150'", 3),
    ("nyc_index_crimes", "index_count = '-5'", 4),
    ("chicago_crimes", "occurred_at = '2099-01-01 00:00:00'", 2),
    ("chicago_crimes", "offense_type = 'ALIEN ABDUCTION'", 5),
    ("chicago_unemployment_rate", "unemployment_rate = 'n/a'", 1),
    ("nyc_graduation_outcomes", "cohort_size = ''", 40),
    ("chicago_building_permits", "latitude = 'north'", 2),
]


@pytest.mark.parametrize(("table", "assignment", "rows"), BAD_EDITS)
def test_sql_verdicts_are_great_expectations_verdicts_on_bad_rows(changed, table, assignment, rows):
    where = first_rows(changed, table, "true", rows)
    changed.execute(f"update raw.{table} set {assignment} where {where}")
    assert_same_verdicts(changed, suite_of(table))
