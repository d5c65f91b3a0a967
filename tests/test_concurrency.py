"""One writer at a time: concurrent runs wait for each other or stop with a clear message."""

import os
import subprocess
import sys
import time

import duckdb
import polars as pl
import pytest

from pipelines.locking import WarehouseBusy, warehouse_writer
from pipelines.settings import PROJECT_ROOT, SOURCES_DIR

HOLD = """
import sys, time
from pathlib import Path
from pipelines.locking import warehouse_writer
with warehouse_writer(Path(sys.argv[1]), wait_seconds=0):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(warehouse, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_is_refused_with_who_holds_the_lock(tmp_path):
    warehouse = tmp_path / "civic.duckdb"
    holder = hold_lock(warehouse, 5)
    try:
        with pytest.raises(WarehouseBusy) as busy, warehouse_writer(warehouse, wait_seconds=0):
            pass
        assert f"pid {holder.pid}" in str(busy.value)
        assert "Wait for that run to finish" in str(busy.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_second_writer_waits_for_the_first(tmp_path):
    warehouse = tmp_path / "civic.duckdb"
    holder = hold_lock(warehouse, 2)
    said = []
    started = time.monotonic()
    with warehouse_writer(warehouse, wait_seconds=30, poll_seconds=0.2, say=said.append):
        waited = time.monotonic() - started
    holder.wait()
    assert waited >= 1 and said and f"pid {holder.pid}" in said[0]


def test_two_runs_started_together_both_complete_correctly(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "CIVIC_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("CIVIC_WAREHOUSE", None)
    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "backfill",
        "--city",
        "chicago",
        "--dataset",
        "crimes",
        "--from",
        "2022-03",
        "--to",
        "2022-03",
    ]
    runs = [
        subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert any("Waiting for the run writing" in out for out in outputs)

    march = pl.read_parquet(SOURCES_DIR / "chicago" / "crimes_2022.parquet").filter(
        pl.col("Date").str.starts_with("2022-03")
    )
    with duckdb.connect(str(home / "civic.duckdb"), read_only=True) as con:
        loaded = con.execute("select count(*) from raw.chicago_crimes").fetchone()[0]
        loads = con.execute(
            "select count(*) from meta.load_log where raw_table = 'chicago_crimes'"
        ).fetchone()[0]
    assert loaded == march.height  # the second run replaced March, it did not add to it
    assert loads == 2
