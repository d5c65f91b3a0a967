"""Lock conflicts and storage failures on a real warehouse (issue 14, items 3 and 4).

- A reader holding a read-only DuckDB connection: `civic run` stops at once with rc 3 naming
  the reader's process, or waits for it with `--wait`.
- Disk full and a read-only file system, simulated with a small tmpfs mounted for the test
  (skipped where this user cannot mount): one clear line, rc 1, no traceback, data intact.
- Permission denied (root runs civic without the capabilities that bypass file permissions):
  a home the run cannot write, a warehouse file it cannot write.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from warehouse_prints import table_prints

from pipelines.locking import WarehouseBusy, warehouse_writer
from pipelines.settings import PROJECT_ROOT

READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=len(sys.argv) < 4)
print("open", flush=True)
time.sleep(float(sys.argv[2]))
"""


def civic(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "CIVIC_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("CIVIC_WAREHOUSE", None)
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def open_reader(warehouse: Path, seconds: float, *write: str) -> subprocess.Popen:
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse), str(seconds), *write],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline().strip() == "open"
    return reader


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def home(built_warehouse, tmp_path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(built_warehouse, home / "civic.duckdb")
    return home


def test_a_reader_holding_the_warehouse_is_rc_3_naming_it_at_once(home):
    warehouse = home / "civic.duckdb"
    before = digest(warehouse)
    reader = open_reader(warehouse, 120)
    try:
        started = time.monotonic()
        result = civic(home, "run", "--city", "chicago")
        took = time.monotonic() - started
    finally:
        reader.kill()
        reader.wait()

    assert result.returncode == 3, result.stderr
    assert f"is open in pid {reader.pid} (" in result.stderr and READER.split()[1] in result.stderr
    assert "--wait SECONDS" in result.stderr and "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert took < 180  # not DuckDB's and Dagster's retries (190 s and rc 1 before)
    assert not list((home / "dagster").glob("storage/*/compute_logs"))  # no step ever ran
    assert digest(warehouse) == before


def test_with_wait_a_run_waits_for_the_reader_to_close(home):
    warehouse = home / "civic.duckdb"
    reader = open_reader(warehouse, 2)
    said: list[str] = []
    started = time.monotonic()
    with warehouse_writer(
        warehouse, wait_seconds=0, poll_seconds=0.2, say=said.append, reader_wait_seconds=30
    ):
        waited = time.monotonic() - started
    reader.wait()
    assert waited >= 1.5 and said and f"pid {reader.pid}" in said[0]

    reader = open_reader(warehouse, 30)
    try:
        refused = pytest.raises(WarehouseBusy, match=f"open in pid {reader.pid}.*waited 1 s")
        with refused, warehouse_writer(warehouse, poll_seconds=0.2, reader_wait_seconds=1):
            pass
    finally:
        reader.kill()
        reader.wait()


def test_publish_from_a_warehouse_another_program_writes_is_rc_3(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    duckdb.connect(str(home / "civic.duckdb")).close()  # refused before anything is read
    writer = open_reader(home / "civic.duckdb", 120, "write")
    try:
        result = civic(home, "publish", "--version", "1.0.0")
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 3, result.stderr
    assert (
        f"is open in pid {writer.pid} (" in result.stderr
        and "nothing was published" in result.stderr
    )
    assert not (home / "releases" / "1.0.0").exists()


@pytest.fixture
def small_disk(tmp_path) -> Iterator:
    """`mount(size_mb)` -> a fresh tmpfs of that size; unmounted after the test."""
    mounted: list[Path] = []

    def mount(size_mb: int) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_full_disk_is_one_clear_line_and_the_data_stay_intact(built_warehouse, small_disk):
    size = built_warehouse.stat().st_size
    disk = small_disk(size // (1 << 20) + 4)  # room for the warehouse and ~4 MB more
    home = disk / "home"
    home.mkdir()
    shutil.copy(built_warehouse, home / "civic.duckdb")
    before = table_prints(home / "civic.duckdb")

    # --full-refresh: over an unchanged copy a run rebuilds nothing and would write too little
    result = civic(home, "run", "--full-refresh")

    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("civic run:")]
    assert len(lines) == 1, result.stderr
    assert "the disk is full" in lines[0] and "MB free" in lines[0] and "needs about" in lines[0]
    assert "previous data are intact" in lines[0]
    assert "Traceback" not in result.stderr and "OperationalError" not in result.stderr
    assert table_prints(home / "civic.duckdb") == before


def test_a_read_only_file_system_is_one_clear_line(built_warehouse, small_disk):
    disk = small_disk(built_warehouse.stat().st_size // (1 << 20) + 16)
    home = disk / "home"
    home.mkdir()
    shutil.copy(built_warehouse, home / "civic.duckdb")
    before = digest(home / "civic.duckdb")
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)

    result = civic(home, "run")

    assert result.returncode == 1, result.stderr
    assert "read-only" in result.stderr and "previous data are intact" in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(home / "civic.duckdb") == before


def without_override() -> list[str]:
    """A command prefix under which file permissions hold for this user: root keeps its uid
    but loses the capabilities that bypass them (an ordinary user needs nothing)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to run civic as root without CAP_DAC_OVERRIDE")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


@pytest.mark.parametrize("unwritable", ["home", "warehouse"])
def test_permission_denied_is_one_clear_line_and_the_data_stay_intact(home, unwritable):
    """A run whose user may not write its home (or only not the warehouse file): the one line
    names what it could not write, and the warehouse is untouched."""
    warehouse = home / "civic.duckdb"
    if unwritable == "home":
        home.chmod(0o555)
        denied = home / "dagster"
    else:
        warehouse.chmod(0o444)
        denied = warehouse
    before = digest(warehouse)
    env = {**os.environ, "CIVIC_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("CIVIC_WAREHOUSE", None)
    try:
        result = subprocess.run(
            [*without_override(), sys.executable, "-m", "pipelines.cli", "run", "--full-refresh"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        home.chmod(0o755)

    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("civic run:")]
    assert len(lines) == 1, result.stderr
    assert f"permission denied writing {denied}" in lines[0], lines[0]
    assert "previous data are intact" in lines[0] and "write access" in lines[0]
    assert "Traceback" not in result.stderr
    assert digest(warehouse) == before


@pytest.mark.parametrize("raises", [False, True])
def test_a_step_that_raises_does_not_keep_the_warehouse_open(tmp_path, raises):
    """A refused load raises inside the connection block; the connection must be closed then
    too, or this process keeps DuckDB's lock and the next step (dbt, a reader) cannot open the
    file (dagster-duckdb closes it only after a block that succeeds)."""
    from pipelines.resources import WarehouseResource

    warehouse = tmp_path / "w.duckdb"
    with pytest.raises(RuntimeError) as refused:  # noqa: PT012 - the block is the subject
        with WarehouseResource(database=str(warehouse)).get_connection() as con:
            con.execute("create table t as select 1 as x")
            if raises:
                raise RuntimeError("load refused")
            raise_after = RuntimeError("after the block")
        raise raise_after
    # `refused` keeps the traceback (and with it any connection a frame still holds) alive.
    with duckdb.connect(str(warehouse), read_only=True) as reader:
        assert reader.execute("select x from t").fetchone() == (1,)
    assert refused.value is not None


def test_the_pipelines_connections_keep_to_the_memory_limit(tmp_path, monkeypatch):
    """Loads and checks run in the Dagster process with CIVIC_DUCKDB_MEMORY_LIMIT (DuckDB's own
    default is 80 % of the machine)."""
    from pipelines.resources import WarehouseResource

    monkeypatch.setenv("CIVIC_DUCKDB_MEMORY_LIMIT", "700MB")
    with duckdb.connect(config={"memory_limit": "700MB"}) as reference:
        expected = reference.execute("select current_setting('memory_limit')").fetchone()
    warehouse = tmp_path / "w.duckdb"
    with WarehouseResource(database=str(warehouse)).get_connection() as con:
        assert con.execute("select current_setting('memory_limit')").fetchone() == expected
