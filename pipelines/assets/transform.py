"""The dbt project as Dagster assets: staging, intermediate and mart models and their tests."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.automation import NO_RETRY
from pipelines.child_processes import put_dbt_on_path
from pipelines.dbt_sources import write_dbt_sources
from pipelines.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

WATCHED = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")


def manifest_is_stale(project: DbtProject) -> bool:
    """True when manifest.json is missing or older than any file of the dbt project."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    for name in WATCHED:
        path = project.project_dir / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        if any(f.stat().st_mtime > built for f in files):
            return True
    return False


# The dbt sources come from the city catalogs: regenerate them (a changed file makes the
# manifest stale), then parse, since @dbt_assets reads manifest.json at import time and a
# fresh clone has none.
write_dbt_sources(DBT_PROJECT_DIR)
put_dbt_on_path()
if manifest_is_stale(dbt_project):
    dbt_project.preparer.prepare(dbt_project)


class CivicDbtTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer folder (staging, intermediate, marts)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else super().get_group_name(dbt_resource_props)


# Retrying a failed dbt build only repeats the failure (retries are for network loads).
@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=CivicDbtTranslator(),
    retry_policy=NO_RETRY,
)
def civic_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
