"""`civic status`: what ran, how fresh each dataset is, what fails, what was quarantined.

Reads the Dagster instance (runs, materializations, asset check results) and the warehouse's
`meta` schema, read-only. A missing warehouse, or one a run is writing, is reported as such:
the rest of the report still prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from dagster import AssetCheckKey, DagsterInstance

from pipelines.assets.raw import raw_asset_key
from pipelines.automation import catalog_datasets
from pipelines.child_processes import ABANDONED_TAG, mark_abandoned_runs
from pipelines.freshness import freshness_check_keys, freshness_checks, freshness_windows


@dataclass(frozen=True)
class RunLine:
    run_id: str
    job: str
    status: str
    started: float | None
    ended: float | None


@dataclass(frozen=True)
class DatasetLine:
    city: str
    dataset: str
    raw_table: str
    cadence: str
    last_load: datetime | None  # meta.load_log
    rows: int | None  # rows of that load
    watermark: str | None
    last_success: datetime | None  # latest materialization in Dagster (includes "unchanged")
    state: str  # fresh, STALE, never loaded, static


@dataclass(frozen=True)
class CheckLine:
    check: str
    severity: str
    at: float
    run_id: str
    description: str


@dataclass
class Status:
    warehouse: Path
    now: datetime
    warehouse_note: str | None = None
    runs: list[RunLine] = field(default_factory=list)
    datasets: list[DatasetLine] = field(default_factory=list)
    failing_checks: list[CheckLine] = field(default_factory=list)
    quarantined: dict[str, tuple[int, datetime | None]] = field(default_factory=dict)

    @property
    def stale(self) -> list[DatasetLine]:
        return [line for line in self.datasets if line.state in {"STALE", "never loaded"}]


# -- collection -------------------------------------------------------------------------------


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_warehouse(
    warehouse: Path,
) -> tuple[str | None, dict[str, tuple], dict[str, tuple[int, datetime | None]]]:
    """(note, latest load per raw table, quarantined rows per raw table), read-only."""
    if not warehouse.exists():
        return (
            f"no warehouse at {warehouse}: run `civic run` first (it loads the bundled data)",
            {},
            {},
        )
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        if "lock" in str(error).lower():
            note = f"the warehouse {warehouse} is being written by a run; try again when it ends"
        else:
            note = f"cannot open the warehouse {warehouse}: {error}"
        return note, {}, {}
    with con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'meta'"
            ).fetchall()
        }
        loads: dict[str, tuple] = {}
        if "load_log" in tables:
            for table, loaded_at, rows, watermark in con.execute(
                "select raw_table, max(loaded_at), arg_max(rows, loaded_at), "
                "arg_max(watermark, loaded_at) filter (where watermark is not null) "
                "from meta.load_log group by raw_table"
            ).fetchall():
                loads[table] = (_aware(loaded_at), rows, watermark)
        quarantined: dict[str, tuple[int, datetime | None]] = {}
        if "quarantined_rows" in tables:
            for table, count, last in con.execute(
                "select raw_table, count(*), max(quarantined_at) from meta.quarantined_rows "
                "group by raw_table"
            ).fetchall():
                quarantined[table] = (count, _aware(last))
    note = None if loads else f"the warehouse {warehouse} has no loads yet: run `civic run`"
    return note, loads, quarantined


def latest_runs(instance: DagsterInstance, limit: int = 5) -> list[RunLine]:
    """The latest runs; those whose process was killed are marked failed first (abandoned)."""
    mark_abandoned_runs(instance)
    return [
        RunLine(
            record.dagster_run.run_id,
            record.dagster_run.job_name,
            "ABANDONED"
            if record.dagster_run.tags.get(ABANDONED_TAG)
            else record.dagster_run.status.value,
            record.start_time or record.create_timestamp.timestamp(),
            record.end_time,
        )
        for record in instance.get_run_records(limit=limit)
    ]


def failing_checks(instance: DagsterInstance, check_keys: Iterable[AssetCheckKey]) -> list:
    """The asset checks whose latest completed evaluation failed."""
    keys = list(check_keys)
    if not keys:
        return []
    failing = []
    summaries = instance.event_log_storage.get_asset_check_summary_records(keys)
    for key, summary in sorted(summaries.items(), key=lambda item: item[0].to_user_string()):
        record = summary.last_completed_check_execution_record
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is None or evaluation.passed:
            continue
        failing.append(
            CheckLine(
                check=f"{key.asset_key.to_user_string()} {key.name}",
                severity=evaluation.severity.value,
                at=record.event.timestamp,
                run_id=record.run_id,
                description=(evaluation.description or "").strip(),
            )
        )
    return failing


def freshness_state(
    cadence: str, last: datetime | None, now: datetime, windows: Mapping[str, timedelta]
) -> str:
    if cadence == "static":
        return "static" if last else "static (not loaded)"
    if last is None:
        return "never loaded"
    return "fresh" if now - last <= windows[cadence] else "STALE"


def collect_status(
    warehouse: Path,
    instance: DagsterInstance,
    check_keys: Iterable[AssetCheckKey] | None = None,
    now: datetime | None = None,
    run_limit: int = 5,
) -> Status:
    """Everything `civic status` shows. `check_keys`: the checks to report (default: the
    freshness checks; the CLI passes every check of the definitions, dbt tests included)."""
    now = now or datetime.now(UTC)
    note, loads, quarantined = read_warehouse(warehouse)
    windows = freshness_windows()
    datasets = []
    for city, name, dataset in catalog_datasets():
        last_load, rows, watermark = loads.get(dataset.raw_table, (None, None, None))
        event = instance.get_latest_materialization_event(raw_asset_key(dataset))
        success = datetime.fromtimestamp(event.timestamp, UTC) if event else None
        newest = max((t for t in (last_load, success) if t is not None), default=None)
        datasets.append(
            DatasetLine(
                city,
                name,
                dataset.raw_table,
                dataset.cadence,
                last_load,
                rows,
                watermark,
                success,
                freshness_state(dataset.cadence, newest, now, windows),
            )
        )
    if check_keys is None:
        check_keys = freshness_check_keys(freshness_checks())
    return Status(
        warehouse=warehouse,
        now=now,
        warehouse_note=note,
        runs=latest_runs(instance, run_limit),
        datasets=datasets,
        failing_checks=failing_checks(instance, check_keys),
        quarantined=quarantined,
    )


# -- formatting -------------------------------------------------------------------------------


def _when(value: datetime | float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _duration(run: RunLine) -> str:
    if run.started is None or run.ended is None:
        return "-"
    seconds = int(run.ended - run.started)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def format_status(status: Status) -> str:
    lines = [f"civic status at {_when(status.now)} UTC", ""]
    lines.append("Last runs:")
    if status.runs:
        lines += _table(
            [["status", "started (UTC)", "took", "job", "run id"]]
            + [[r.status, _when(r.started), _duration(r), r.job, r.run_id] for r in status.runs]
        )
    else:
        lines.append("  no runs yet: `civic run` loads the bundled data")
    lines += ["", f"Datasets (warehouse {status.warehouse}):"]
    if status.warehouse_note:
        lines.append(f"  note: {status.warehouse_note}")
    rows = [["dataset", "cadence", "last load (UTC)", "rows", "watermark", "state"]]
    for d in status.datasets:
        rows.append(
            [
                f"{d.city}.{d.dataset}",
                d.cadence,
                _when(d.last_load),
                f"{d.rows:,}" if d.rows is not None else "-",
                (d.watermark or "-")[:25],
                d.state
                + (
                    f" (checked {_when(d.last_success)})"
                    if d.last_success
                    and d.last_load
                    and d.last_success - d.last_load > timedelta(hours=1)
                    else ""
                ),
            ]
        )
    lines += _table(rows)
    stale = status.stale
    if stale:
        lines.append(
            f"  {len(stale)} dataset(s) not loaded within their cadence's window: "
            "`civic run --city <city> --live` loads them now"
        )
    lines += ["", "Failing checks:"]
    if status.failing_checks:
        for check in status.failing_checks:
            lines.append(
                f"  {check.check} [{check.severity}] at {_when(check.at)} UTC "
                f"(run {check.run_id}): {check.description}"
            )
    else:
        lines.append("  none")
    lines += ["", "Quarantined rows (meta.quarantined_rows):"]
    names = {d.raw_table: f"{d.city}.{d.dataset}" for d in status.datasets}
    if status.quarantined:
        for table, (count, last) in sorted(status.quarantined.items()):
            lines.append(f"  {names.get(table, table)}: {count:,} rows (latest {_when(last)} UTC)")
    else:
        lines.append("  none")
    return "\n".join(lines)


def status_report(
    warehouse: Path,
    instance: DagsterInstance,
    check_keys: Iterable[AssetCheckKey] | None = None,
    now: datetime | None = None,
) -> str:
    return format_status(collect_status(warehouse, instance, check_keys, now))
