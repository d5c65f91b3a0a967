"""The transform phase: which dbt models a run rebuilds, and the runs that rebuild them.

A run is two phases (`pipelines.runs` for `civic run`, the sensors below for scheduled and
portal-triggered runs): load the raw tables, then transform. The transform runs whatever
the loads did, so one city's failed or unreachable load never stops the other cities'
marts and exports; the failed tables keep their previous good data.

What the transform rebuilds (`stale_models`): a model whose code changed since it was last
built (SQL, config, macros), whose source tables changed (a new load, other registry or meta
rows), that never built or whose table is missing, and everything downstream of those. The
exports run when a mart was rebuilt. Nothing changed: no transform at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import duckdb
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SensorDefinition,
    SkipReason,
    define_asset_job,
    run_status_sensor,
)

from pipelines.automation import (
    LOAD_RUN_TAG,
    PHASE_TAG,
    TRIGGER_TAG,
    WAREHOUSE_WRITER_TAGS,
)
from pipelines.dagster_internals import UnresolvedAssetJobDefinition

TRANSFORM_JOB = "civic_transform"
EXPORTS_KEY = AssetKey(["exports", "marts_parquet"])


def stale_models(con: duckdb.DuckDBPyConnection, full: bool = False) -> set[str]:
    """dbt unique ids to rebuild (see the module doc); `full`: every model."""
    from pipelines.assets.transform import (
        ASSET_TYPES,
        built_state,
        code_fingerprints,
        inputs_fingerprints,
        manifest,
        source_versions,
    )

    document = manifest()
    nodes = {u: n for u, n in document["nodes"].items() if n["resource_type"] in ASSET_TYPES}
    if full:
        return set(nodes)
    code = code_fingerprints(document)
    inputs = inputs_fingerprints(document, source_versions(con, document))
    state = built_state(con)
    present = {
        (schema, name)
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    changed = {
        unique_id
        for unique_id, node in nodes.items()
        if state.get(unique_id) != (code[unique_id], inputs[unique_id])
        or (
            node["resource_type"] != "snapshot"
            and (node["schema"], node["alias"] or node["name"]) not in present
            and node["config"].get("materialized") != "ephemeral"
        )
    }
    return _downstream(changed, document["child_map"], set(nodes))


def _downstream(start: Iterable[str], children: dict[str, list[str]], keep: set[str]) -> set[str]:
    found, frontier = set(start), list(start)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child in keep and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def transform_selection(con: duckdb.DuckDBPyConnection, full: bool = False) -> list[AssetKey]:
    """Asset keys of the transform phase: stale dbt models, and the exports if any ran."""
    from pipelines.assets.transform import asset_key_of

    keys = sorted((asset_key_of(unique_id) for unique_id in stale_models(con, full)), key=str)
    return [*keys, EXPORTS_KEY] if keys else []


# -- unattended runs: a transform after every load run -----------------------------------------


def transform_job() -> UnresolvedAssetJobDefinition:
    """The job transform runs belong to: every dbt model and test and the exports.

    The same job object on every call (Definitions refuse two jobs of one name)."""
    return _transform_job()


@cache
def _transform_job() -> UnresolvedAssetJobDefinition:
    from pipelines.assets.exports import marts_parquet
    from pipelines.assets.transform import civic_dbt_models

    return define_asset_job(
        TRANSFORM_JOB,
        selection=AssetSelection.assets(civic_dbt_models, marts_parquet),
        description="Rebuild the dbt models (and run their tests) downstream of the raw tables "
        "that changed, then export the marts. Started after each load run.",
        run_tags={**WAREHOUSE_WRITER_TAGS, PHASE_TAG: "transform"},
    )


def changed_raw_assets(instance, run_id: str) -> list[AssetKey]:
    """Raw assets a load run materialized with new data (not 'unchanged at the source')."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
    ).records
    changed = []
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is None:
            continue
        flag = materialization.metadata.get("changed")
        if flag is None or flag.value:
            changed.append(materialization.asset_key)
    return sorted(set(changed), key=str)


def transform_request(context: RunStatusSensorContext) -> RunRequest | SkipReason:
    """What a finished load run asks for: the transform of what its loads changed."""
    run = context.dagster_run
    if run.tags.get(PHASE_TAG) != "load":
        return SkipReason(f"run {run.run_id} is not a load run")
    changed = changed_raw_assets(context.instance, run.run_id)
    if not changed:
        return SkipReason(f"load run {run.run_id} changed no table: nothing to rebuild")
    graph = context.repository_def.asset_graph if context.repository_def else None
    if graph is None:
        return SkipReason("no asset graph to select the transform from")
    downstream = AssetSelection.assets(*changed).downstream() - AssetSelection.assets(*changed)
    keys = sorted(downstream.resolve(graph), key=str)
    if not keys:
        return SkipReason(f"nothing is built from {', '.join(map(str, changed))}")
    return RunRequest(
        run_key=f"transform-after-{run.run_id}",
        job_name=TRANSFORM_JOB,
        asset_selection=keys,
        tags={
            **WAREHOUSE_WRITER_TAGS,
            PHASE_TAG: "transform",
            LOAD_RUN_TAG: run.run_id,
            TRIGGER_TAG: run.tags.get(TRIGGER_TAG, "load"),
        },
    )


def transform_after_load_sensors() -> list[SensorDefinition]:
    """Two run-status sensors (a load run succeeded / failed) that start its transform."""
    return list(_sensors())


@cache
def _sensors() -> tuple[SensorDefinition, ...]:
    sensors = []
    for status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE):

        @run_status_sensor(
            run_status=status,
            name=f"transform_after_load_{status.value.lower()}",
            request_job=transform_job(),
            minimum_interval_seconds=30,
            # Running by default: it only acts after load runs (whose schedules and
            # sensors start stopped), and a load with no transform would leave marts behind.
            default_status=DefaultSensorStatus.RUNNING,
            description="When a load run ends "
            + ("successfully" if status == DagsterRunStatus.SUCCESS else "with failures")
            + ", rebuild what is downstream of the tables it changed.",
        )
        def after_load(context: RunStatusSensorContext):
            return transform_request(context)

        sensors.append(after_load)
    return tuple(sensors)


__all__ = [
    "changed_raw_assets",
    "stale_models",
    "transform_after_load_sensors",
    "transform_job",
    "transform_selection",
]
