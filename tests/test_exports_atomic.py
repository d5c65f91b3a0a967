"""Exports and releases as one atomic set (issue 14, item 1 and the publish half of item 2).

A real export process (the `exports/marts_parquet` asset, materialized by Dagster) and a real
`civic publish` are SIGKILLed midway: readers keep seeing the previous complete generation,
byte for byte, and the next run removes what the killed writer left.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.generations import MANIFEST, current_generation, generations_dir, read_manifest
from pipelines.settings import PROJECT_ROOT

EXPORT = """
import sys
from dagster import materialize
from dagster_duckdb import DuckDBResource
from pipelines.assets.exports import marts_parquet
result = materialize(
    [marts_parquet],
    resources={"warehouse": DuckDBResource(database=sys.argv[1])},
    raise_on_error=False,
)
sys.exit(0 if result.success else 1)
"""


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (links followed) -> sha256."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture
def home(built_warehouse, tmp_path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(built_warehouse, home / "civic.duckdb")
    return home


def environment(home: Path) -> dict[str, str]:
    env = {**os.environ, "CIVIC_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("CIVIC_WAREHOUSE", None)
    (home / "dagster").mkdir(exist_ok=True)
    return env


def export(home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", EXPORT, str(home / "civic.duckdb")],
        cwd=PROJECT_ROOT,
        env=environment(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(process: subprocess.Popen, ready, timeout: float = 120) -> bool:
    """SIGKILL `process` as soon as `ready()` holds; False if it finished first."""
    ends = time.monotonic() + timeout
    while time.monotonic() < ends and process.poll() is None:
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.001)
    process.wait()
    return False


def test_a_killed_export_leaves_the_previous_generation_whole_and_is_cleaned(home):
    exports = home / "exports"
    first = export(home)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    before = snapshot(exports)
    generation = current_generation(exports)
    assert exports.is_symlink() and MANIFEST in before and len(before) > 10

    def half_written() -> bool:
        partials = list(generations_dir(exports).glob("*.partial"))
        return any(len(list(p.glob("*.parquet"))) >= 3 for p in partials)

    for _ in range(5):  # the export is fast: try again if it finished before the kill
        if kill_when(export(home), half_written):
            break
    else:
        pytest.fail("the export always finished before it could be killed")

    assert [p.name.endswith(".partial") for p in generations_dir(exports).iterdir()].count(True)
    assert current_generation(exports) == generation
    assert snapshot(exports) == before  # readers still see the old set, byte for byte

    again = export(home)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert not list(generations_dir(exports).glob("*.partial"))  # the leftover is gone
    assert current_generation(exports) != generation
    manifest = read_manifest(exports)
    with duckdb.connect(str(home / "civic.duckdb"), read_only=True) as con:
        for table in manifest["files"]:
            in_warehouse = con.execute(f'select count(*) from marts."{table}"').fetchone()[0]
            exported = con.execute(
                "select count(*) from read_parquet(?)", [str(exports / f"{table}.parquet")]
            ).fetchone()[0]
            assert exported == in_warehouse, table


def test_a_killed_publish_leaves_no_release_and_its_partial_is_cleaned(home):
    env = environment(home)
    releases = home / "releases"
    command = [sys.executable, "-m", "pipelines.cli", "publish"]
    first = subprocess.run(
        [*command, "--version", "1.0.0"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    before = {p.name: snapshot(p / "data") for p in releases.iterdir() if p.is_dir()}
    latest = (releases / "latest").read_text()

    def staging() -> bool:
        return any(p.is_dir() and list(p.rglob("*.csv")) for p in releases.glob(".*.partial"))

    publish = subprocess.Popen(
        [*command, "--version", "1.1.0"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL
    )
    assert kill_when(publish, staging), "the publish finished before it could be killed"

    assert list(releases.glob(".*.partial"))
    assert not (releases / "1.1.0").exists()
    assert (releases / "latest").read_text() == latest
    again = subprocess.run(
        [*command, "--version", "1.2.0"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert not list(releases.glob(".*.partial"))
    assert {p.name: snapshot(p / "data") for p in releases.iterdir() if p.is_dir()} == {
        **before,
        "1.2.0": snapshot(releases / "1.2.0" / "data"),
    }
    assert (releases / "latest").read_text().strip() == "1.2.0"


def test_only_partials_of_processes_that_are_gone_are_removed(tmp_path):
    from pipelines.publishing.release import clean_partials

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    dead_pid = int(gone.stdout)
    live = tmp_path / f".2.0.0.{os.getpid()}.k3j4h5g6.partial"
    dead = tmp_path / f".2.0.0.{dead_pid}.a1b2c3d4.partial"
    pointer = tmp_path / f".latest.{dead_pid}.partial"
    for folder in (live, dead):
        (folder / "data").mkdir(parents=True)
    pointer.write_text("2.0.0\n")

    assert sorted(clean_partials(tmp_path)) == sorted([dead, pointer])
    assert live.exists() and not dead.exists() and not pointer.exists()
