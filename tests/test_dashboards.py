"""Fast tests of pipelines/dashboards.py (no npm, no Evidence build)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipelines import dashboards
from pipelines.dashboards import DashboardBuildError


def _project(tmp_path: Path, *tables: str) -> Path:
    """A minimal dashboards dir whose source queries read the given export tables."""
    project = tmp_path / "dashboards"
    queries = project / "sources" / "warehouse"
    queries.mkdir(parents=True)
    for table in tables:
        (queries / f"{table}.sql").write_text(
            f"select * from read_parquet('exports/{table}.parquet')\n"
        )
    return project


def _exports(tmp_path: Path, *names: str) -> Path:
    exports = tmp_path / "exports_in"
    exports.mkdir()
    for name in names:
        (exports / name).write_bytes(b"PAR1 fake " + name.encode())
    return exports


def test_real_source_queries_read_the_contract_tables():
    assert {"fct_indicator_values.parquet", "dim_indicators.parquet"} <= set(
        dashboards.required_exports()
    )


def test_stage_exports_copies_parquet_and_drops_stale_files(tmp_path):
    project = _project(tmp_path, "fct_indicator_values", "dim_indicators")
    exports = _exports(
        tmp_path, "fct_indicator_values.parquet", "dim_indicators.parquet", "extra.parquet"
    )
    (exports / "notes.txt").write_text("not parquet")
    staged_dir = project / "exports"
    staged_dir.mkdir()
    (staged_dir / "removed_mart.parquet").write_bytes(b"old")

    staged = dashboards.stage_exports(exports, project)

    names = sorted(p.name for p in staged_dir.iterdir())
    assert names == ["dim_indicators.parquet", "extra.parquet", "fct_indicator_values.parquet"]
    assert sorted(p.name for p in staged) == names
    assert (staged_dir / "dim_indicators.parquet").read_bytes() == (
        exports / "dim_indicators.parquet"
    ).read_bytes()


def test_missing_exports_dir_names_the_path(tmp_path):
    project = _project(tmp_path, "dim_indicators")
    missing = tmp_path / "no" / "such" / "exports"
    with pytest.raises(DashboardBuildError) as err:
        dashboards.stage_exports(missing, project)
    assert err.value.step == "stage exports"
    assert str(missing) in str(err.value)
    assert "Next:" in str(err.value)


def test_missing_required_export_is_named_and_nothing_is_staged(tmp_path):
    project = _project(tmp_path, "fct_indicator_values", "dim_indicators")
    exports = _exports(tmp_path, "dim_indicators.parquet")
    with pytest.raises(DashboardBuildError, match="fct_indicator_values.parquet"):
        dashboards.stage_exports(exports, project)
    assert not (project / "exports").exists()


def test_npm_deps_stale_when_missing_or_older_than_lockfile(tmp_path):
    project = tmp_path / "dashboards"
    project.mkdir()
    lock = project / "package-lock.json"
    lock.write_text("{}")
    assert dashboards.npm_deps_stale(project)  # no node_modules

    marker = project / "node_modules" / ".package-lock.json"
    marker.parent.mkdir()
    marker.write_text("{}")
    os.utime(lock, (1_000, 1_000))
    os.utime(marker, (2_000, 2_000))
    assert not dashboards.npm_deps_stale(project)

    os.utime(lock, (3_000, 3_000))  # lockfile changed after the install
    assert dashboards.npm_deps_stale(project)


def test_run_step_raises_with_step_name_and_output_tail(tmp_path, capsys):
    cmd = [sys.executable, "-c", "print('progress line'); print('boom'); raise SystemExit(3)"]
    with pytest.raises(DashboardBuildError) as err:
        dashboards.run_step("evidence build", cmd, tmp_path, "fix the page")
    message = str(err.value)
    assert err.value.step == "evidence build"
    assert "exit code 3" in message and "boom" in message and "Next: fix the page" in message
    assert "progress line" in capsys.readouterr().out  # output is streamed


def test_run_step_missing_command_is_a_build_error(tmp_path):
    with pytest.raises(DashboardBuildError, match="command not found"):
        dashboards.run_step("npm ci", ["definitely-not-a-command-xyz"], tmp_path, "install npm")


def test_serve_site_without_build_says_to_build_first(tmp_path):
    with pytest.raises(DashboardBuildError, match="build it first"):
        dashboards.serve_site(port=0, build_dir=tmp_path / "build")


def test_run_step_turns_a_hang_into_a_timeout_error(tmp_path, monkeypatch):
    monkeypatch.setattr(dashboards, "STEP_TIMEOUT_SECONDS", 0.5)
    cmd = [sys.executable, "-c", "import time; print('waiting', flush=True); time.sleep(60)"]
    with pytest.raises(DashboardBuildError, match="timed out"):
        dashboards.run_step("evidence sources", cmd, tmp_path, "check the network patch")


def test_query_errors_are_found_in_evidence_build_output():
    output = [
        "  ✔ Loading plugins & sources",
        'bad | Error in Query! Binder Error: Referenced column "x" not found',
        "Build complete --> ./build",
    ]
    assert dashboards.query_errors(output) == [output[1]]
    assert dashboards.query_errors(output[::2]) == []


def test_source_errors_are_found_in_evidence_sources_output():
    output = [
        "    dim_indicators ✔ Finished, wrote 11 rows.",
        "    fct_indicator_gaps ✖ Invalid argument error: Need at least 128 bytes for bitmap",
        "  [INFO]:    ✅ Done!",
    ]
    assert dashboards.source_errors(output) == [output[1].strip()]
    assert dashboards.source_errors(output[::2]) == []
