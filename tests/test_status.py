"""`civic status` figures and `civic backfill`: exactly the requested months, nothing else."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from dagster import (
    AssetCheckResult,
    AssetKey,
    DagsterInstance,
    Definitions,
    asset,
    asset_check,
    define_asset_job,
)

from pipelines.backfill import BackfillError, backfill, backfill_request
from pipelines.loading import META_DDL
from pipelines.settings import paths
from pipelines.status import collect_status, status_report

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CRIMES = AssetKey(["raw", "chicago_crimes"])


def fake_warehouse(path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(META_DDL)
        con.executemany(
            "insert into meta.load_log (raw_table, load_id, loaded_at, mode, scope, rows, "
            "watermark, source) values (?, ?, ?, 'live', '', ?, ?, 'https://x')",
            [
                ["chicago_crimes", "old", NOW - timedelta(days=9), 10, None],
                ["chicago_crimes", "new", NOW - timedelta(hours=20), 1234, "2026-11-24T23:10:00"],
                ["nyc_population", "p", NOW - timedelta(days=500), 62, None],
            ],
        )
        con.executemany(
            "insert into meta.quarantined_rows (raw_table, load_id, rule, row_values, "
            "quarantined_at) values (?, 'new', 'unreadable date in Date', '{}', ?)",
            [["chicago_crimes", NOW - timedelta(hours=20)]] * 3,
        )


@asset(key=CRIMES)
def crimes_stub() -> None:
    return None


@asset_check(asset=crimes_stub)
def rows_have_dates() -> AssetCheckResult:
    return AssetCheckResult(passed=False, description="3 rows without a date")


def test_status_reports_runs_freshness_failing_checks_and_quarantine(tmp_path):
    warehouse = tmp_path / "civic.duckdb"
    fake_warehouse(warehouse)
    defs = Definitions(
        assets=[crimes_stub],
        asset_checks=[rows_have_dates],
        jobs=[define_asset_job("refresh_daily", selection=[crimes_stub])],
    )
    with DagsterInstance.ephemeral() as instance:
        run = defs.resolve_job_def("refresh_daily").execute_in_process(instance=instance)
        status = collect_status(warehouse, instance, [rows_have_dates.check_key], now=NOW)
        report = status_report(warehouse, instance, [rows_have_dates.check_key], now=NOW)
    lines = {d.raw_table: d for d in status.datasets}
    crimes = lines["chicago_crimes"]
    assert (crimes.rows, crimes.watermark, crimes.state) == (1234, "2026-11-24T23:10:00", "fresh")
    assert lines["nyc_population"].state == "STALE"  # yearly, 500 days ago
    assert lines["chicago_community_areas"].state == "static (not loaded)"
    assert lines["chicago_building_permits"].state == "never loaded"
    assert status.quarantined["chicago_crimes"][0] == 3
    assert run.run_id in report and "SUCCESS" in report and "refresh_daily" in report
    crimes_line = next(line for line in report.splitlines() if "chicago.crimes " in line)
    assert (
        "daily" in crimes_line and "1,234" in crimes_line and "2026-11-24T23:10:00" in crimes_line
    )
    assert "2026-11-24 16:00" in crimes_line and "fresh" in crimes_line
    population = next(line for line in report.splitlines() if "nyc.population" in line)
    assert "yearly" in population and "STALE" in population and " 62 " in population
    assert "raw/chicago_crimes rows_have_dates [ERROR]" in report
    assert "3 rows without a date" in report and run.run_id in report
    assert "chicago.crimes: 3 rows" in report


def test_status_without_a_warehouse_says_run_first(tmp_path):
    with DagsterInstance.ephemeral() as instance:
        report = status_report(tmp_path / "missing.duckdb", instance, [])
    assert "run `civic run` first" in report
    assert "no runs yet" in report and "never loaded" in report


def test_status_while_a_run_writes_the_warehouse(tmp_path):
    warehouse = tmp_path / "civic.duckdb"
    fake_warehouse(warehouse)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('open', flush=True); time.sleep(30)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "open"
        with DagsterInstance.ephemeral() as instance:
            report = status_report(warehouse, instance, [])
    finally:
        writer.kill()
        writer.wait()
    assert "being written by a run; try again" in report


# -- backfill ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "first", "last", "message"),
    [
        ("crimes", "2022-1", "2022-02", "--from must be a month as YYYY-MM"),
        ("crimes", "2022-03", "2022-02", "--from 2022-03 is after --to 2022-02"),
        ("crimes", "1999-01", "2000-01", "chicago.crimes starts at 2001-01"),
        ("crimes", "2022-01", "2999-01", "in the future"),
        ("community_areas", "2022-01", "2022-02", "not partitioned by month"),
        ("nonesuch", "2022-01", "2022-02", "chicago has no dataset 'nonesuch'"),
    ],
)
def test_backfill_refuses_bad_requests(dataset, first, last, message):
    with pytest.raises(BackfillError, match=message):
        backfill_request("chicago", dataset, first, last)


def test_backfill_materializes_exactly_the_requested_months():
    started = time.time()
    with DagsterInstance.ephemeral() as instance:
        result = backfill("chicago", "crimes", "2022-03", "2022-04", instance=instance)
        assert result.success
        # One materialization of the dataset's asset, for exactly those months (no partitions).
        written = instance.get_latest_materialization_event(CRIMES).asset_materialization
        assert written.metadata["write"].value == "months (months 2022-03 to 2022-05 (exclusive))"
        run = instance.get_run_by_id(result.run_id)
        assert run.asset_selection == {CRIMES}  # only the dataset's raw asset ran
        others = [
            key
            for key in instance.get_asset_keys()
            if key != CRIMES and instance.get_latest_materialization_event(key)
        ]
        assert others == []
        report = status_report(paths().warehouse, instance, [])
    with duckdb.connect(str(paths().warehouse), read_only=True) as con:
        scope, rows, loaded_at = con.execute(
            "select scope, rows, loaded_at from meta.load_log where raw_table = 'chicago_crimes' "
            "order by loaded_at desc limit 1"
        ).fetchone()
        months = con.execute(
            "select distinct strftime(_partition, '%Y-%m') from raw.chicago_crimes "
            "where _load_id = ? order by 1",
            [result.run_id],
        ).fetchall()
    assert loaded_at.timestamp() >= started - 1
    assert months == [("2022-03",), ("2022-04",)]
    crimes_line = next(line for line in report.splitlines() if "chicago.crimes " in line)
    assert f"{rows:,}" in crimes_line and "fresh" in crimes_line and result.run_id in report
