"""dbt conventions: settings are `vars:` overridable with --vars; source freshness per dataset.

dbt runs in-process (dbtRunner) on the repository's project with a scratch DuckDB file and
target path, so these tests need no built warehouse and leave the project's target/ alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from dbt.cli.main import dbtRunner

from pipelines.catalog import city_catalogs
from pipelines.dbt_sources import write_dbt_sources
from pipelines.loading import META_DDL
from pipelines.settings import DBT_PROJECT_DIR, DEFAULT_DUCKDB_MEMORY_LIMIT, stale_after_days


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, monkeypatch_module) -> Path:
    directory = tmp_path_factory.mktemp("dbt-conventions")
    monkeypatch_module.setenv("CIVIC_WAREHOUSE", str(directory / "scratch.duckdb"))
    write_dbt_sources()
    return directory


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def dbt(scratch: Path, *args: str, target: str = "target"):
    return dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(scratch / target),
            "--log-path",
            str(scratch / "logs"),
            "--quiet",
        ]
    )


def compiled(scratch: Path, model: str, target: str, *extra: str) -> str:
    result = dbt(scratch, "compile", "--select", model, *extra, target=target)
    assert result.success, result.exception
    (path,) = (scratch / target / "compiled").rglob(f"{model}.sql")
    return path.read_text()


def test_dbt_keeps_to_the_pipelines_memory_limit(scratch, monkeypatch):
    """dbt's warehouse connection takes CIVIC_DUCKDB_MEMORY_LIMIT, and by hand (unset) the
    same default as the pipeline's."""
    query = "select current_setting('memory_limit') as memory_limit"

    def dbt_limit() -> str:
        result = dbt(scratch, "show", "--inline", query)
        assert result.success, result.exception
        return result.result.results[0].agate_table.rows[0][0]

    def duckdb_limit(limit: str) -> str:
        with duckdb.connect(config={"memory_limit": limit}) as con:
            return con.execute(query).fetchone()[0]

    monkeypatch.setenv("CIVIC_DUCKDB_MEMORY_LIMIT", "700MB")
    assert dbt_limit() == duckdb_limit("700MB")
    monkeypatch.delenv("CIVIC_DUCKDB_MEMORY_LIMIT")
    assert dbt_limit() == duckdb_limit(DEFAULT_DUCKDB_MEMORY_LIMIT)


def test_every_setting_is_a_declared_var_with_its_default():
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    settings = project["vars"]
    assert settings["ew_day_baseline"] == 28
    assert settings["interval_level"] == 0.95
    assert settings["intervention_pre_months"] == 60
    macros = (DBT_PROJECT_DIR / "macros").glob("*.sql")
    assert not any("defaults" in path.read_text() for path in macros), "defaults belong in vars:"


def test_a_var_override_changes_the_compiled_sql(scratch):
    default = compiled(scratch, "int_early_warning_ears", "default")
    override = compiled(
        scratch, "int_early_warning_ears", "override", "--vars", "{ew_day_baseline: 7}"
    )
    assert "28 as baseline_periods" in default
    assert "7 as baseline_periods" in override
    assert "28 as baseline_periods" not in override
    # the monthly series keep their own default
    assert "7 as baseline_periods" in default


def test_an_undeclared_setting_is_a_compile_error(scratch, capsys):
    result = dbt(scratch, "compile", "--inline", "select {{ analytics_setting('ew_no_such') }}")
    assert not result.success
    printed = capsys.readouterr().out
    assert "unknown analytics setting: ew_no_such" in printed
    assert "declare it under vars: in dbt_project.yml" in printed


def test_source_freshness_reports_each_scheduled_dataset(scratch):
    scheduled = [
        dataset
        for catalog in city_catalogs()
        for dataset in catalog.datasets.values()
        if stale_after_days(dataset.cadence)
    ]
    static = [
        dataset
        for catalog in city_catalogs()
        for dataset in catalog.datasets.values()
        if not stale_after_days(dataset.cadence)
    ]
    assert len(scheduled) >= 3 and static
    fresh, late, stale = scheduled[:3]
    now = datetime.now(UTC)
    loads = {
        fresh.raw_table: now - timedelta(hours=1),
        late.raw_table: now - timedelta(days=stale_after_days(late.cadence) + 1),
        stale.raw_table: now - timedelta(days=2 * stale_after_days(stale.cadence) + 1),
    }
    with duckdb.connect(str(scratch / "scratch.duckdb")) as con:
        con.execute(META_DDL)
        for table, loaded_at in loads.items():
            # an older load first: freshness reads the latest
            for when in (loaded_at - timedelta(days=30), loaded_at):
                con.execute(
                    "insert into meta.load_log (raw_table, load_id, loaded_at, mode) "
                    "values (?, ?, ?, 'replace')",
                    [table, f"{table}-{when.timestamp():.0f}", when],
                )
    result = dbt(scratch, "source", "freshness", "--select", *(f"source:raw.{t}" for t in loads))
    assert not result.success  # one source is past its error window
    statuses = {row.node.name: (row.status, row.max_loaded_at) for row in result.result.results}
    assert statuses[fresh.raw_table][0] == "pass"
    assert statuses[late.raw_table][0] == "warn"
    assert statuses[stale.raw_table][0] == "error"
    for table, loaded_at in loads.items():
        assert abs((statuses[table][1] - loaded_at).total_seconds()) < 1

    # windows from the cadence; static datasets have none (nothing to be late for)
    tables = {
        table["name"]: table["config"]
        for path in (DBT_PROJECT_DIR / "models" / "staging" / "sources").glob("*.yml")
        for table in yaml.safe_load(path.read_text())["sources"][0]["tables"]
    }
    assert tables[late.raw_table]["freshness"]["warn_after"]["count"] == stale_after_days(
        late.cadence
    )
    assert all("freshness" not in tables[d.raw_table] for d in static)
    assert all("loaded_at_query" not in tables[d.raw_table] for d in static)
