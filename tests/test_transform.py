"""dbt's manifest is prepared in code: a fresh clone loads the definitions with no manual step."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.assets.transform import manifest_is_stale
from pipelines.settings import DBT_PROJECT_DIR


def test_missing_or_outdated_manifest_is_detected_and_prepared(tmp_path):
    project_dir = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project_dir, ignore=shutil.ignore_patterns("target", "logs"))
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    assert manifest_is_stale(project)

    project.preparer.prepare(project)
    assert project.manifest_path.exists()
    assert not manifest_is_stale(project)

    model = next((project_dir / "models" / "marts").glob("*.sql"))
    later = time.time() + 5
    os.utime(model, (later, later))
    assert manifest_is_stale(project)


def test_dbt_unit_tests_pass_on_the_built_warehouse(built_warehouse, tmp_path):
    """`civic run` leaves dbt's unit tests out of its builds; here they all run (and pass),
    by hand as an analyst would, on a copy of the warehouse a run built."""
    from pipelines.settings import paths

    copy = tmp_path / "civic.duckdb"
    shutil.copy(built_warehouse, copy)
    target = tmp_path / "target"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "test", "--select", "test_type:unit"]
        + ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        + ["--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "CIVIC_WAREHOUSE": str(copy)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    unit_tests = json.loads((target / "manifest.json").read_text())["unit_tests"]
    ran = json.loads((target / "run_results.json").read_text())["results"]
    assert len(unit_tests) >= 20
    assert sorted(r["unique_id"] for r in ran) == sorted(unit_tests)
    assert {r["status"] for r in ran} == {"pass"}
    # and the runs' own builds did not run them
    builds = sorted(paths().dbt_builds.glob("build-*/run_results.json"))
    assert builds, "no build folder of the run"
    for build in builds:
        built = [r["unique_id"] for r in json.loads(build.read_text())["results"]]
        assert built and not any(node.startswith("unit_test.") for node in built), build
