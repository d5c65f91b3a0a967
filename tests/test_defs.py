"""The code location in Dagster's `dg` layout: `pipelines/defs/` loaded by `load_defs`.

The loaded definitions must be exactly the ones the code location listed by hand before the
move (`hand_listed`, kept here as the reference): same asset keys and groups, checks, jobs and
their selections, schedules, sensors, resources, loggers and executor.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetSelection,
    Definitions,
    colored_console_logger,
    define_asset_job,
    in_process_executor,
)

ROOT = Path(__file__).resolve().parents[1]
INTERNALS = ROOT / "pipelines" / "dagster_internals.py"


def hand_listed() -> Definitions:
    """`pipelines/definitions.py` as it was before `pipelines/defs/` (the reference)."""
    from pipelines.assets.exports import marts_parquet
    from pipelines.assets.problems import problem_registry_assets
    from pipelines.assets.raw import raw_assets
    from pipelines.assets.reference import census_population, city_reference, dataset_catalog
    from pipelines.assets.transform import civic_dbt_models
    from pipelines.automation import WAREHOUSE_WRITER_TAGS
    from pipelines.automation import jobs as automation_jobs
    from pipelines.freshness import freshness_checks
    from pipelines.progress import progress_logger
    from pipelines.quality import quality_checks
    from pipelines.resources import dbt_resource, warehouse_resource
    from pipelines.schedules import schedules
    from pipelines.sensors import sensors
    from pipelines.sources import DataSources

    everything = define_asset_job(
        "civic_everything", selection=AssetSelection.all(), run_tags=WAREHOUSE_WRITER_TAGS
    )
    return Definitions(
        assets=[
            *raw_assets(),
            dataset_catalog,
            city_reference,
            census_population,
            *problem_registry_assets(),
            civic_dbt_models,
            marts_parquet,
        ],
        asset_checks=[*quality_checks(), *freshness_checks()],
        jobs=[everything, *automation_jobs()],
        schedules=schedules(),
        sensors=sensors(),
        resources={
            "warehouse": warehouse_resource(),
            "dbt": dbt_resource(),
            "sources": DataSources(),
        },
        loggers={"console": colored_console_logger, "progress": progress_logger},
        executor=in_process_executor,
    )


def shape(definitions: Definitions) -> dict:
    """What other code and the UI rely on, as plain names."""
    graph = definitions.resolve_asset_graph()
    repo = definitions.get_repository_def()
    keys = graph.get_all_asset_keys()
    jobs = repo.get_all_jobs()
    return {
        "groups": {key.to_user_string(): graph.get(key).group_name for key in keys},
        "checks": {key.to_user_string() for key in graph.asset_check_keys},
        "jobs": {
            job.name: (
                sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys),
                job.executor_def.name,
                sorted(job.loggers),
                job.op_retry_policy,
            )
            for job in jobs
        },
        "schedules": {
            s.name: (s.job_name, s.cron_schedule, s.default_status) for s in repo.schedule_defs
        },
        "sensors": {s.name: s.default_status for s in repo.sensor_defs},
        "resources": sorted(repo.get_top_level_resources()),
    }


@pytest.fixture(scope="module")
def loaded() -> dict:
    from pipelines.definitions import defs

    return shape(defs)


def test_load_defs_gives_exactly_the_hand_listed_definitions(loaded):
    reference = shape(hand_listed())
    for part in reference:
        assert loaded[part] == reference[part], part
    # Not vacuous: every city's raw group, the shared jobs, schedules and sensors are there.
    from pipelines.catalog import city_catalogs

    groups = set(loaded["groups"].values())
    assert {f"raw_{catalog.city}" for catalog in city_catalogs()} <= groups
    assert {"civic_everything", "civic_transform", "refresh_on_portal_update"} <= set(
        loaded["jobs"]
    )
    assert "refresh_daily_schedule" in loaded["schedules"]
    assert {"notify_run_failure", "freshness_checks", "portal_update_chicago_crimes"} <= set(
        loaded["sensors"]
    )
    assert loaded["jobs"]["civic_everything"][1] == "in_process"


def test_the_city_factory_turns_a_catalog_into_its_assets_checks_and_sensors():
    from pipelines.assets.raw import raw_asset_key
    from pipelines.catalog import city_catalogs
    from pipelines.defs.cities import city_definitions
    from pipelines.quality.suites import raw_suite
    from pipelines.sensors import watched_datasets

    for catalog in city_catalogs():
        city = city_definitions(catalog)
        groups = {key: a.group_names_by_key[key] for a in city.assets for key in a.keys}
        expected = {raw_asset_key(dataset) for dataset in catalog.datasets.values()}
        assert set(groups) == expected, catalog.city
        assert set(groups.values()) == {f"raw_{catalog.city}"}
        rules = {
            (raw_asset_key(dataset), rule.name)
            for dataset in catalog.datasets.values()
            for rule in raw_suite(dataset).rules
        }
        checks = {(key.asset_key, key.name) for a in city.assets for key in a.check_keys}
        assert checks == rules, catalog.city
        watched = {
            f"portal_update_{d.raw_table}" for c, _, d in watched_datasets() if c == catalog.city
        }
        assert {s.name for s in city.sensors} == watched, catalog.city


def test_no_private_dagster_import_outside_the_one_isolated_module():
    private = re.compile(r"^\s*(from|import)\s+dagster\._", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "pipelines").rglob("*.py")
        if path != INTERNALS and private.search(path.read_text())
    ]
    assert offenders == [], f"import these through pipelines/dagster_internals.py: {offenders}"
    assert private.search(INTERNALS.read_text())  # the isolated module is where they went
    deprecated = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "pipelines").rglob("*.py")
        if re.search(r"context\.run_id\b", path.read_text())
    ]
    assert deprecated == [], f"use context.run.run_id in {deprecated}"


def test_dg_check_defs_passes():
    """Dagster's own validation of the project ([tool.dg] in pyproject.toml)."""
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "VIRTUAL_ENV": sys.prefix,  # as if activated: dg compares it with the project's .venv
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [str(bin_dir / "dg"), "check", "defs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr
