"""A SIGKILLed `civic run` (issue 14, item 2): its dbt child dies with it, the warehouse is
free at once, and `civic status` shows the run as abandoned (failed), not STARTED forever."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus

from pipelines.locking import warehouse_reader, warehouse_writer
from pipelines.settings import PROJECT_ROOT


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live descendants of `pid`."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            )
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent:
                found.append((child, commands.get(child, "")))
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_run_takes_dbt_with_it_and_shows_as_abandoned(built_warehouse, tmp_path):
    home = tmp_path / "home"
    (home / "dagster").mkdir(parents=True)
    shutil.copy(built_warehouse, home / "civic.duckdb")
    env = {**os.environ, "CIVIC_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("CIVIC_WAREHOUSE", None)
    run = subprocess.Popen(
        # --full-refresh: over an unchanged copy a run rebuilds nothing and starts no dbt
        [sys.executable, "-m", "pipelines.cli", "run", "--city", "nyc", "--full-refresh"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dbt = []
    ends = time.monotonic() + 600
    while not dbt and time.monotonic() < ends and run.poll() is None:
        dbt = [(pid, cmd) for pid, cmd in children(run.pid) if " build" in cmd and "dbt" in cmd]
        time.sleep(0.05)
    assert dbt, "dbt never started"
    time.sleep(1.0)  # dbt is now writing the warehouse
    run.send_signal(signal.SIGKILL)
    run.wait()

    killed_at = time.monotonic()
    while any(alive(pid) for pid, _ in dbt) and time.monotonic() - killed_at < 10:
        time.sleep(0.05)
    assert not any(alive(pid) for pid, _ in dbt), f"dbt outlived its run: {dbt}"
    assert time.monotonic() - killed_at < 3
    assert warehouse_reader(home / "civic.duckdb") is None  # nobody holds the file
    with warehouse_writer(home / "civic.duckdb", wait_seconds=0):
        pass

    status = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "status"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert status.returncode == 0, status.stderr
    assert "ABANDONED" in status.stdout and "STARTED" not in status.stdout
    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        # two runs: the loads (finished), then the transform killed with its dbt child
        records = instance.get_run_records()  # newest first
        assert len(records) == 2
        killed = records[0].dagster_run
        assert killed.status == DagsterRunStatus.FAILURE
        assert killed.tags["civic/abandoned"] == "true"
        assert records[1].dagster_run.status == DagsterRunStatus.SUCCESS
