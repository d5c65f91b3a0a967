"""The problem registry as Dagster assets: `sources/problems/` validated and written to `raw`.

One multi-asset writes ten normalized tables, `raw.problem_registry__<table>`, all in one
transaction (each is built as `<name>__loading`, then every table is swapped in at once), so
dbt never sees a half-updated registry. Their asset keys, ["registry", "<table>"], are the
dagster-dbt keys of the dbt source `registry` (models/staging/_registry__sources.yml).
"""

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from pipelines.interventions import LEDGER_COLUMNS, ledger_rows
from pipelines.loading import META_DDL, RAW_SCHEMA
from pipelines.problems import PROBLEMS_DIR, CityProblem, resolve_registry
from pipelines.settings import PROJECT_ROOT

REGISTRY_SOURCE = "registry"
TABLE_PREFIX = "problem_registry__"

LEDGER_TYPES = {
    "start_month": pa.date32(),
    "end_month": pa.date32(),
    "ramp_up_months": pa.int32(),
    "line_number": pa.int32(),
}
# Column name -> Arrow type of each table; the order is the column order in the warehouse.
TABLES: dict[str, dict[str, pa.DataType]] = {
    "problems": {
        "city": pa.string(),
        "problem_id": pa.string(),
        "problem_name": pa.string(),
        "description": pa.string(),
        "notes": pa.string(),
        "source_file": pa.string(),
        "city_file": pa.string(),
    },
    "outcomes": {
        "city": pa.string(),
        "problem_id": pa.string(),
        "indicator_id": pa.string(),
        "outcome_weight": pa.float64(),
        "note": pa.string(),
    },
    "factors": {
        "city": pa.string(),
        "problem_id": pa.string(),
        "factor_id": pa.string(),
        "factor_name": pa.string(),
        "description": pa.string(),
        "causal_weight": pa.float64(),
        "link_evidence": pa.string(),
        "authority": pa.string(),
        "authority_note": pa.string(),
        "authority_set_by": pa.string(),
        "sources": pa.string(),
    },
    "actors": {
        "city": pa.string(),
        "problem_id": pa.string(),
        "factor_id": pa.string(),
        "actor_name": pa.string(),
        "sector": pa.string(),
        "role": pa.string(),
        "is_engaged": pa.bool_(),
    },
    "budget_lines": {
        "city": pa.string(),
        "problem_id": pa.string(),
        "factor_id": pa.string(),
        "department_name": pa.string(),
        "attributed_share": pa.float64(),
        "note": pa.string(),
    },
    "interventions": {
        "city": pa.string(),
        "problem_id": pa.string(),
        "intervention_id": pa.string(),
        "factor_id": pa.string(),
        "intervention_name": pa.string(),
        "evidence_rating": pa.string(),
        "summary": pa.string(),
        "sources": pa.string(),
        "is_tried_locally": pa.bool_(),
        "local_where": pa.string(),
        "local_since": pa.int32(),
        "local_led_by": pa.string(),
        "local_status": pa.string(),
        "local_sources": pa.string(),
    },
    # the innovation ledger (pipelines/interventions.py)
    **{
        name: {column: LEDGER_TYPES.get(column, pa.string()) for column in columns}
        for name, columns in LEDGER_COLUMNS.items()
    },
}


def _shown(path: str | None) -> str | None:
    """Paths relative to the project (stable across machines) when inside it."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return path


def registry_rows(registry: list[CityProblem]) -> dict[str, list[dict]]:
    """The resolved registry flattened into the rows of the registry tables."""
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    for item in registry:
        problem, key = item.problem, {"city": item.city, "problem_id": item.problem.problem}
        rows["problems"].append(
            {
                **key,
                "problem_name": problem.name,
                "description": problem.description.strip(),
                "notes": "\n".join(n.strip() for n in (problem.notes, item.notes) if n.strip()),
                "source_file": _shown(item.source_file),
                "city_file": _shown(item.city_file),
            }
        )
        for indicator, outcome in problem.outcomes.items():
            rows["outcomes"].append(
                {
                    **key,
                    "indicator_id": indicator,
                    "outcome_weight": outcome.weight,
                    "note": outcome.note,
                }
            )
        for factor_id, factor in problem.factors.items():
            rows["factors"].append(
                {
                    **key,
                    "factor_id": factor_id,
                    "factor_name": factor.name,
                    "description": factor.description.strip(),
                    "causal_weight": factor.causal_weight,
                    "link_evidence": factor.evidence,
                    "authority": factor.authority,
                    "authority_note": factor.authority_note.strip(),
                    "authority_set_by": "city"
                    if factor_id in item.authority_overridden
                    else "default",
                    "sources": "; ".join(factor.sources),
                }
            )
            for actor in factor.actors:
                rows["actors"].append(
                    {
                        **key,
                        "factor_id": factor_id,
                        "actor_name": actor.name,
                        "sector": actor.sector,
                        "role": actor.role,
                        "is_engaged": actor.engaged,
                    }
                )
        for line in item.budget_lines:
            rows["budget_lines"].append(
                {
                    **key,
                    "factor_id": line.factor,
                    "department_name": line.department,
                    "attributed_share": line.share,
                    "note": line.note,
                }
            )
        trials: dict[str, list] = {}
        for trial in item.local_interventions:
            trials.setdefault(trial.intervention, []).append(trial)
        for intervention_id, intervention in problem.interventions.items():
            local = trials.get(intervention_id, [])
            for factor_id in intervention.factors:
                rows["interventions"].append(
                    {
                        **key,
                        "intervention_id": intervention_id,
                        "factor_id": factor_id,
                        "intervention_name": intervention.name,
                        "evidence_rating": intervention.evidence,
                        "summary": intervention.summary.strip(),
                        "sources": "; ".join(intervention.sources),
                        "is_tried_locally": bool(local),
                        "local_where": "; ".join(t.where for t in local) or None,
                        "local_since": min((t.start_month.year for t in local), default=None),
                        "local_led_by": "; ".join(t.led_by for t in local if t.led_by) or None,
                        "local_status": "; ".join(sorted({t.status for t in local})) or None,
                        "local_sources": "; ".join(s for t in local for s in t.sources) or None,
                    }
                )
        ledger = ledger_rows(
            item.city,
            problem.problem,
            problem.outcomes,
            item.local_interventions,
            _shown(item.city_file),
        )
        for name, table_rows in ledger.items():
            rows[name] += table_rows
    return rows


def _arrow(name: str, rows: list[dict]) -> pa.Table:
    schema = pa.schema([pa.field(column, kind) for column, kind in TABLES[name].items()])
    return pa.Table.from_pylist(rows, schema=schema)


def write_registry(
    con: duckdb.DuckDBPyConnection, registry: list[CityProblem], load_id: str | None = None
) -> dict[str, int]:
    """Replace the `raw.problem_registry__*` tables in one transaction; rows per table.

    A failure leaves the previous registry in place (nothing is swapped in until every
    table is built).
    """
    rows = registry_rows(registry)
    load_id = load_id or uuid.uuid4().hex
    loaded_at = datetime.now(UTC).replace(microsecond=0)
    con.execute(f"create schema if not exists {RAW_SCHEMA}; {META_DDL}")
    # Same registry as the one in place: keep it, so nothing downstream is rebuilt for it.
    fingerprint = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode())
    if _registry_fingerprint(con) == fingerprint.hexdigest():
        return {name: len(table_rows) for name, table_rows in rows.items()}
    built: list[str] = []
    try:
        for name, table_rows in rows.items():
            staging = f'{RAW_SCHEMA}."{TABLE_PREFIX}{name}__loading"'
            con.register("incoming_registry_rows", _arrow(name, table_rows))
            try:
                con.execute(
                    f"create or replace table {staging} as select *, "
                    "$load_id as _load_id, $loaded_at::timestamptz as _loaded_at "
                    "from incoming_registry_rows",
                    {"load_id": load_id, "loaded_at": loaded_at},
                )
            finally:
                con.unregister("incoming_registry_rows")
            built.append(staging)
        con.execute("begin transaction")
        try:
            for name, table_rows in rows.items():
                table = f"{TABLE_PREFIX}{name}"
                con.execute(f'drop table if exists {RAW_SCHEMA}."{table}"')
                con.execute(f'alter table {RAW_SCHEMA}."{table}__loading" rename to "{table}"')
                con.execute(
                    "insert into meta.load_log values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        table,
                        load_id,
                        loaded_at,
                        "replace",
                        "all",
                        len(table_rows),
                        fingerprint.hexdigest(),
                        _shown(str(PROBLEMS_DIR)),
                    ],
                )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        for staging in built:
            con.execute(f"drop table if exists {staging}")
    return {name: len(table_rows) for name, table_rows in rows.items()}


def _registry_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The content fingerprint of the registry in place (None: none, or tables missing)."""
    tables = {f"{TABLE_PREFIX}{name}" for name in TABLES}
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [RAW_SCHEMA],
        ).fetchall()
    }
    if not tables <= present:
        return None
    ((fingerprint,),) = con.execute(
        "select arg_max(watermark, loaded_at) from meta.load_log where raw_table = ?",
        [f"{TABLE_PREFIX}problems"],
    ).fetchall()  # fetched whole: DuckDB refuses `register` while a result is open
    return fingerprint


def load_problem_registry(
    con: duckdb.DuckDBPyConnection, problems_dir: Path = PROBLEMS_DIR, load_id: str | None = None
) -> dict[str, int]:
    """Validate `sources/problems/` and write it to the warehouse (what the asset runs)."""
    return write_registry(con, resolve_registry(problems_dir), load_id)


def registry_asset_key(table: str) -> AssetKey:
    return AssetKey([REGISTRY_SOURCE, f"{TABLE_PREFIX}{table}"])


def problem_registry_assets() -> list[AssetsDefinition]:
    """One multi-asset writing every `raw.problem_registry__*` table together."""
    # Validate at definition time too, so a broken registry fails loudly when the code
    # location loads (as the city catalogs do), naming the file and key.
    resolve_registry()
    descriptions = {
        "problems": "Problems of the registry, one row per city and problem.",
        "outcomes": "Outcome indicators of each problem with their importance weights.",
        "factors": "Causal factors: causal weight, evidence of the link, city authority.",
        "actors": "Actors by sector standing astride each factor (engaged or potential).",
        "budget_lines": "Departments / agencies of the spending data funding each factor.",
        "interventions": "Known interventions per factor, evidence rating, local trials.",
        "local_interventions": "The innovation ledger: efforts tried locally, lead, kind, dates.",
        "intervention_areas": "Areas each local effort treats, and its comparison areas.",
        "intervention_outcomes": "Outcome indicators each local effort aims at.",
        "intervention_budget_lines": "Spending lines (department, program) paying for an effort.",
    }

    @multi_asset(
        name="problem_registry",
        specs=[
            AssetSpec(
                registry_asset_key(name),
                description=f"{description} From sources/problems/ (pipelines/problems.py).",
                group_name="registry",
                kinds={"duckdb", "yaml"},
                skippable=False,
            )
            for name, description in descriptions.items()
        ],
    )
    def problem_registry(context: AssetExecutionContext, warehouse: DuckDBResource):
        registry = resolve_registry()
        with warehouse.get_connection() as con:
            counts = write_registry(con, registry, context.run.run_id)
        cities = sorted({item.city for item in registry})
        context.log.info(
            f"problem registry: {len(registry)} city problems ({', '.join(cities)}) written"
        )
        for name in descriptions:
            yield MaterializeResult(
                asset_key=registry_asset_key(name),
                metadata={"dagster/row_count": counts[name], "cities": ", ".join(cities)},
            )

    return [problem_registry]
