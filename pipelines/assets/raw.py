"""Raw assets: one per (city, dataset) in the catalogs, loading the data into `raw.<table>`.

No Dagster partitions: the months a run loads are run configuration of the `sources`
resource (`first_month`/`last_month`, set by `civic backfill` and the schedules), so a run's
planning costs the same however many months of history the catalogs hold. A dated dataset
loads the months asked for, replacing exactly those; otherwise only what changed at the
source (see `pipelines.sources`).

Each raw asset carries one Dagster check per rule of its quality suite. The load evaluates
them on the staged rows before anything is replaced (`pipelines.loading`) and the asset
reports them with its materialization; a load whose source did not change reports the
results of the load still in place. The materialization's data version is the load id, so
Dagster (and `civic run`) can tell which tables changed.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from pipelines.catalog import CityCatalog, Dataset, city_catalogs
from pipelines.loading import RAW_SCHEMA, LoadResult, latest_watermark, load_raw_table
from pipelines.quality.checks import check_result, raw_check_specs
from pipelines.quality.runner import latest_load, suite_results
from pipelines.quality.suites import Suite, raw_suite
from pipelines.sources import DataSources


def raw_asset_key(dataset: Dataset) -> AssetKey:
    # Matches dagster-dbt's key for the dbt source `raw.<table>`, which wires the lineage.
    return AssetKey([RAW_SCHEMA, dataset.raw_table])


def portal_url(dataset: Dataset) -> str:
    portal = dataset.portal
    if portal.kind == "socrata" and portal.dataset_id:
        return f"{portal.base_url}/d/{portal.dataset_id}"
    return portal.base_url


def build_raw_asset(catalog: CityCatalog, name: str, dataset: Dataset) -> AssetsDefinition:
    key = raw_asset_key(dataset)
    suite = raw_suite(dataset)

    @asset(
        key=key,
        group_name=f"raw_{catalog.city}",
        description=f"{catalog.name}: {dataset.title}. {dataset.description}",
        kinds={"duckdb", dataset.portal.kind},
        tags={"city": catalog.city, "domain": dataset.domain, "cadence": dataset.cadence},
        check_specs=raw_check_specs(key, suite),
        metadata={
            "city": catalog.city,
            "dataset": name,
            "portal": MetadataValue.url(portal_url(dataset)),
            "portal_dataset_id": dataset.portal.dataset_id or "",
            "cadence": dataset.cadence,
            "canonical_table": dataset.feeds or "",
            "license": dataset.license,
            "provenance": dataset.provenance,
            "dated": dataset.partitioning is not None,
        },
    )
    def load(
        context: AssetExecutionContext, warehouse: DuckDBResource, sources: DataSources
    ) -> MaterializeResult:
        with warehouse.get_connection() as con:
            extract = sources.extract(con, catalog.city, name, dataset)
            rows = extract.rows()
            if rows is None and (extract.unchanged or extract.unchanged_ok):
                context.log.info(f"raw.{dataset.raw_table}: unchanged at the source, kept as is")
                return unchanged(con, key, suite, extract.mode)
            result = load_raw_table(
                con,
                dataset.raw_table,
                rows if rows is not None else [],
                context.run.run_id,
                columns=dataset.columns,
                months=extract.months,
                merge_key=extract.merge_key,
                watermark=extract.watermark,
                source=extract.connector.source_uri(),
                suite=suite,
                numbers=dataset.numbers,
                allow_shrink=sources.allow_shrink,
            )
            watermark = latest_watermark(con, dataset.raw_table)
        log_load(context, result, extract.mode)
        return MaterializeResult(
            metadata={
                "dagster/row_count": result.rows,
                "changed": True,
                "quarantined_rows": result.quarantined,
                "quarantined_by_rule": MetadataValue.json(result.quarantined_by_rule),
                "control_characters_stripped": MetadataValue.json(result.stripped),
                "source": extract.connector.source_uri(),
                "mode": extract.mode,
                "write": f"{result.mode} ({result.scope})",
                "watermark": watermark or "",
                "load_id": result.load_id,
                "loaded_at": MetadataValue.timestamp(result.loaded_at),
                "columns": len(result.columns),
            },
            check_results=[
                check_result(key, r, f"rows of load {result.load_id}") for r in result.checks
            ],
            data_version=DataVersion(result.load_id),
        )

    return load


def log_load(context: AssetExecutionContext, result: LoadResult, mode: str) -> None:
    context.log.info(
        f"raw.{result.table}: loaded {result.rows:,} rows ({mode}; {result.mode} {result.scope})"
    )
    if result.quarantined:
        rules = ", ".join(f"{rule}: {n:,}" for rule, n in result.quarantined_by_rule.items())
        context.log.warning(
            f"raw.{result.table}: {result.quarantined:,} rows quarantined ({rules}; see "
            "meta.quarantined_rows)"
        )
    if result.stripped:
        columns = ", ".join(f"{column}: {n:,}" for column, n in result.stripped.items())
        context.log.warning(
            f"raw.{result.table}: control characters stripped from values ({columns})"
        )
    for check in result.checks:
        if not check.passed:
            context.log.warning(f"raw.{result.table}: {check.describe()}")


def unchanged(con, key: AssetKey, suite: Suite, mode: str) -> MaterializeResult:
    """The source did not change: the table's last load stands, and so do its checks."""
    load = latest_load(con, suite.table)
    load_id = load["load_id"] if load else ""
    stored = {
        name: (passed, count, detail, severity)
        for name, passed, count, detail, severity in con.execute(
            "select check_name, arg_max(passed, evaluated_at), arg_max(unexpected_count, "
            "evaluated_at), arg_max(detail, evaluated_at), arg_max(severity, evaluated_at) "
            "from meta.check_results where raw_table = ? and load_id = ? group by 1",
            [suite.table, load_id],
        ).fetchall()
    }
    if all(rule.name in stored for rule in suite.rules):
        results = [
            AssetCheckResult(
                asset_key=key,
                check_name=rule.name,
                passed=bool(stored[rule.name][0]),
                severity=AssetCheckSeverity.ERROR
                if stored[rule.name][3] == "error"
                else AssetCheckSeverity.WARN,
                description=stored[rule.name][2],
                metadata={
                    "reused_from_load": load_id,
                    "unexpected_count": stored[rule.name][1] or 0,
                },
            )
            for rule in suite.rules
        ]
    else:  # the suite changed since that load: evaluate it on the table as it is
        evaluated, scope = suite_results(con, suite)
        results = [check_result(key, r, scope) for r in evaluated]
    return MaterializeResult(
        metadata={
            "dagster/row_count": load["rows"] if load else 0,
            "changed": False,
            "mode": mode,
            "load_id": load_id,
        },
        check_results=results,
        data_version=DataVersion(load_id) if load_id else None,
    )


def raw_assets() -> list[AssetsDefinition]:
    return [
        build_raw_asset(catalog, name, dataset)
        for catalog in city_catalogs()
        for name, dataset in catalog.datasets.items()
    ]
