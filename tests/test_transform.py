"""dbt's manifest is prepared in code: a fresh clone loads the definitions with no manual step."""

import os
import shutil
import time

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
