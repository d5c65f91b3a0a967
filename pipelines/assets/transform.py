"""The dbt project as Dagster assets: staging, intermediate and mart models and their tests.

dbt runs as one `dbt build` of the selected models (dagster-dbt passes the selection). Two
things keep it close to plain dbt's cost:

- **Partial parsing**: the profile names the warehouse through `CIVIC_WAREHOUSE`, which dbt
  hashes into its parse cache; it is set before the manifest is prepared, and the parse
  cache of each build is kept for the next one, so a run does not parse the project again.
- **Only what changed is rebuilt** (`pipelines.transform_runs` chooses): after each build the
  models that succeeded are recorded in `meta.dbt_node_state` with a fingerprint of their
  code (SQL, config, the macros they call, `dbt_project.yml`) and of the tables they read
  (the load of each raw table, the content of the small meta and registry tables). A model
  whose fingerprints are unchanged is not rebuilt, nor are its tests run again.
"""

import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_duckdb import DuckDBResource

from pipelines.automation import NO_RETRY
from pipelines.child_processes import require_dbt
from pipelines.dbt_sources import write_dbt_sources
from pipelines.settings import DBT_PROJECT_DIR, DBT_TARGET_DIR, paths

# dbt reads the warehouse path from this variable (profiles.yml) and hashes it into its
# partial-parse cache: set it before the manifest is prepared so the cache matches the runs.
os.environ.setdefault("CIVIC_WAREHOUSE", str(paths().warehouse))

# Runs keep their own manifest and parse cache (dbt run by hand writes dbt_project/target/,
# whose manifest may hold paths relative to another folder); each build's own target folder
# (logs, run_results.json) is under the run's home, so a run writes nothing else in the project.
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=DBT_TARGET_DIR
)

WATCHED = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")
ASSET_TYPES = ("model", "seed", "snapshot")
KEPT_TARGETS = 3  # per-build dbt target folders kept (logs, run_results.json)
STATE_DDL = """
create schema if not exists meta;
create table if not exists meta.dbt_node_state (
    unique_id varchar, code_fingerprint varchar, inputs_fingerprint varchar,
    built_at timestamptz
);
"""


def manifest_is_stale(project: DbtProject) -> bool:
    """True when manifest.json is missing, older than any file of the dbt project, or parsed
    for a project in another folder (a moved or copied checkout)."""
    if not project.manifest_path.exists():
        return True
    try:
        roots = {
            node.get("root_path")
            for node in json.loads(project.manifest_path.read_text())["nodes"].values()
            if node.get("resource_type") == "seed"
        }
    except (OSError, ValueError, KeyError):  # half-written or foreign: parse again
        return True
    if roots - {str(project.project_dir)}:
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
require_dbt()
if manifest_is_stale(dbt_project):
    dbt_project.preparer.prepare(dbt_project)


class CivicDbtTranslator(DagsterDbtTranslator):
    """Groups dbt models by layer folder (staging, intermediate, marts)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else super().get_group_name(dbt_resource_props)


@cache
def manifest() -> dict[str, Any]:
    return json.loads(dbt_project.manifest_path.read_text())


def asset_key_of(unique_id: str) -> AssetKey:
    return CivicDbtTranslator().get_asset_key(manifest()["nodes"][unique_id])


# -- fingerprints ------------------------------------------------------------------------------


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def code_fingerprints(document: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> fingerprint of what a model's result depends on besides its inputs."""
    project = (DBT_PROJECT_DIR / "dbt_project.yml").read_text()
    macros = document["macros"]

    def macro_closure(names: list[str]) -> list[str]:
        seen, frontier = set(), list(names)
        while frontier:
            name = frontier.pop()
            if name in seen or name not in macros:
                continue
            seen.add(name)
            frontier.extend(macros[name]["depends_on"]["macros"])
        return sorted(seen)

    sources = document["sources"]
    fingerprints = {}
    for unique_id, node in document["nodes"].items():
        if node["resource_type"] not in ASSET_TYPES:
            continue
        depends_on = node.get("depends_on", {})
        used = [macros[name]["macro_sql"] for name in macro_closure(depends_on.get("macros", []))]
        # A canonical staging model is written from its sources' catalog mapping
        # (config.meta.civic, pipelines/dbt_sources.py): a changed mapping changes the model.
        mappings = [
            (parent, sources[parent]["config"], sources[parent].get("meta", {}))
            for parent in sorted(depends_on.get("nodes", []))
            if parent in sources
        ]
        fingerprints[unique_id] = _digest(node["checksum"], node["config"], used, mappings, project)
    # An incremental model keeps rows built by earlier code (macros/incremental_loads.sql): its
    # fingerprint covers every model upstream, so a change there rebuilds it in full.
    nodes = document["nodes"]
    for unique_id, node in nodes.items():
        if unique_id in fingerprints and is_incremental(node):
            upstream = sorted(_ancestors(nodes, unique_id) & fingerprints.keys())
            fingerprints[unique_id] = _digest(
                fingerprints[unique_id], [fingerprints[u] for u in upstream]
            )
    return fingerprints


def _ancestors(nodes: Mapping[str, Any], unique_id: str) -> set[str]:
    found, frontier = set(), list(nodes[unique_id].get("depends_on", {}).get("nodes", []))
    while frontier:
        parent = frontier.pop()
        if parent not in found:
            found.add(parent)
            frontier.extend(nodes.get(parent, {}).get("depends_on", {}).get("nodes", []))
    return found


def source_versions(con: duckdb.DuckDBPyConnection, document: Mapping[str, Any]) -> dict[str, str]:
    """source unique_id -> a version of the table now: the latest load of a raw table, else a
    hash of its content (the meta and registry tables are small); missing: ''."""
    tables = {
        (schema, name)
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    loads: dict[str, str] = {}
    if ("meta", "load_log") in tables:
        loads = dict(
            con.execute(
                "select raw_table, arg_max(load_id, loaded_at) from meta.load_log group by 1"
            ).fetchall()
        )
    versions = {}
    for unique_id, source in document["sources"].items():
        schema, name = source["schema"], source["identifier"] or source["name"]
        if (schema, name) not in tables:
            versions[unique_id] = ""
        elif schema == "raw" and name in loads:
            versions[unique_id] = f"load:{loads[name]}"
        else:
            count, content = con.execute(
                f'select count(*), sum(hash(t))::varchar from "{schema}"."{name}" as t'
            ).fetchone()
            versions[unique_id] = f"rows:{count}:{content}"
    return versions


def inputs_fingerprints(document: Mapping[str, Any], versions: Mapping[str, str]) -> dict[str, str]:
    """unique_id -> fingerprint of the source tables a model reads directly."""
    return {
        unique_id: _digest(
            [
                (parent, versions.get(parent, ""))
                for parent in sorted(node.get("depends_on", {}).get("nodes", []))
                if parent.startswith("source.")
            ]
        )
        for unique_id, node in document["nodes"].items()
        if node["resource_type"] in ASSET_TYPES
    }


def built_state(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    con.execute(STATE_DDL)
    return {
        unique_id: (code, inputs)
        for unique_id, code, inputs in con.execute(
            "select unique_id, arg_max(code_fingerprint, built_at), "
            "arg_max(inputs_fingerprint, built_at) from meta.dbt_node_state group by 1"
        ).fetchall()
    }


def record_built(
    con: duckdb.DuckDBPyConnection,
    built: list[str],
    code: Mapping[str, str],
    inputs: Mapping[str, str],
) -> None:
    """Models built successfully now carry these fingerprints (one line per model)."""
    if not built:
        return
    con.execute(STATE_DDL)
    con.execute("begin transaction")
    con.execute("delete from meta.dbt_node_state where unique_id in (select unnest(?))", [built])
    con.executemany(
        "insert into meta.dbt_node_state values (?, ?, ?, now())",
        [(unique_id, code[unique_id], inputs[unique_id]) for unique_id in built],
    )
    con.execute("commit")


def is_incremental(node: Mapping[str, Any]) -> bool:
    return node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"


def needs_full_refresh(document: Mapping[str, Any], code: Mapping[str, str], state) -> list[str]:
    """Incremental models whose code (their own or upstream, see code_fingerprints) changed
    since they were built, or that never built: the build then runs with `--full-refresh`,
    as dbt advises, since the rows they keep may have been made by the old code."""
    return sorted(
        unique_id
        for unique_id, node in document["nodes"].items()
        if is_incremental(node) and state.get(unique_id, ("", ""))[0] != code.get(unique_id)
    )


# -- the dbt build -----------------------------------------------------------------------------


def _succeeded(target_path: Path) -> list[str]:
    path = target_path / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text())["results"]
    return [
        r["unique_id"]
        for r in results
        if r["status"] == "success" and r["unique_id"].split(".")[0] in ASSET_TYPES
    ]


def _keep_parse_cache(target_path: Path) -> None:
    """The build's partial-parse cache becomes the next build's (same profile, same files).

    The cache lives beside the manifest in the project; where the project is read-only (an
    installed checkout run by another user) it is not kept and the next build parses in full.
    """
    built = target_path / "partial_parse.msgpack"
    kept = DBT_TARGET_DIR / "partial_parse.msgpack"
    if built.exists():
        partial = kept.with_suffix(".partial")
        try:
            shutil.copyfile(built, partial)
            os.replace(partial, kept)
        except PermissionError:
            pass
        except OSError as error:
            if error.errno != errno.EROFS:
                raise
    runs = sorted(
        (p for p in target_path.parent.glob("build-*") if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
    )
    for old in runs[:-KEPT_TARGETS]:
        shutil.rmtree(old, ignore_errors=True)


def build_target(run_id: str) -> Path:
    """A fresh target folder for one build, under the run's home (`paths().dbt_builds`),
    starting from the runs' parse cache (dagster-dbt would otherwise copy the one in
    dbt_project/target/, which a hand-run dbt may have written for another working directory)."""
    target = paths().dbt_builds / f"build-{run_id[:8]}-{uuid.uuid4().hex[:6]}"
    target.mkdir(parents=True)
    cache = DBT_TARGET_DIR / "partial_parse.msgpack"
    if cache.exists():
        shutil.copyfile(cache, target / cache.name)
    return target


# Retrying a failed dbt build only repeats the failure (retries are for network loads).
@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=CivicDbtTranslator(),
    retry_policy=NO_RETRY,
)
def civic_dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBResource
):
    document = manifest()
    code = code_fingerprints(document)
    with warehouse.get_connection() as con:  # closed before dbt opens the file
        inputs = inputs_fingerprints(document, source_versions(con, document))
        refresh = needs_full_refresh(document, code, built_state(con))
    args = ["build", "--exclude-resource-type", "unit_test"]
    if refresh:
        context.log.info(
            f"dbt build --full-refresh: the code of {', '.join(u.split('.')[-1] for u in refresh)}"
            " or of a model upstream changed since they were built"
        )
        args.append("--full-refresh")
    # dbt's unit tests check the SQL, not the data: as dbt advises for production, runs leave
    # them out (about 4 s a run); the test suite runs them (tests/test_transform.py).
    invocation = dbt.cli(
        args,
        context=context,
        target_path=build_target(context.run.run_id),
    )
    try:
        yield from invocation.stream()
    finally:
        built = _succeeded(invocation.target_path)
        with warehouse.get_connection() as con:
            record_built(con, built, code, inputs)
        _keep_parse_cache(invocation.target_path)
