"""The bundled Dagster instance's event log (pipelines.event_log): pooled SQLite connections
that write the same files Dagster's own storage reads."""

from pathlib import Path

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

from pipelines import cli, event_log
from pipelines.dagster_internals import SqliteEventLogStorage
from pipelines.event_log import PooledSqliteEventLogStorage


@asset
def counted() -> int:
    return 1


@asset_check(asset=counted)
def counted_is_one() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


JOB = Definitions(
    assets=[counted], asset_checks=[counted_is_one], jobs=[define_asset_job("count")]
).resolve_job_def("count")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def test_the_bundled_instance_settings_are_written_upgraded_and_a_users_own_kept(home):
    settings = home / "dagster.yaml"
    cli.use_dagster_home()
    assert settings.read_text() == cli.INSTANCE_SETTINGS
    settings.write_text(cli.EARLIER_INSTANCE_SETTINGS[0])  # a home from before the pooled log
    cli.use_dagster_home()
    assert settings.read_text() == cli.INSTANCE_SETTINGS
    own = "telemetry:\n  enabled: false\nstorage:\n  postgres: {}\n"
    settings.write_text(own)
    cli.use_dagster_home()
    assert settings.read_text() == own


def test_runs_through_the_pooled_log_read_back_by_dagsters_own_storage(home, monkeypatch):
    monkeypatch.setattr(event_log, "OPEN_SHARDS", 2)
    cli.use_dagster_home()
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        runs = [JOB.execute_in_process(instance=instance).run_id for _ in range(4)]
        # Kept open between events: the index and the last run's file, no more than the bound.
        assert set(storage._engines) == {"index", runs[-1]}
        assert instance.get_latest_materialization_event(AssetKey("counted")).run_id == runs[-1]
        assert len(instance.get_records_for_run(runs[0]).records) > 5

    stock = SqliteEventLogStorage(str(home / "storage"))
    for run_id in runs:
        logs = stock.get_logs_for_run(run_id)
        kinds = {e.dagster_event_type.name for e in logs if e.is_dagster_event}
        assert {"RUN_SUCCESS", "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"} <= kinds
    records = stock.get_asset_records([AssetKey("counted")])
    assert records[0].asset_entry.last_materialization.run_id == runs[-1]
    stock.dispose()


def test_wipe_closes_the_pooled_files_before_deleting_them(home):
    cli.use_dagster_home()
    with DagsterInstance.get() as instance:
        run_id = JOB.execute_in_process(instance=instance).run_id
        instance.event_log_storage.wipe()
        # Dagster empties the index after deleting the run files: only its engine is open.
        assert set(instance.event_log_storage._engines) <= {"index"}
        assert not (home / "storage" / f"{run_id}.db").exists()
        rerun = JOB.execute_in_process(instance=instance)  # the storage still works after it
        assert rerun.success
        assert instance.get_latest_materialization_event(AssetKey("counted")).run_id == (
            rerun.run_id
        )
