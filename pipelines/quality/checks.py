"""Dagster asset checks from the quality suites: one check per rule, one step per table.

Every raw asset of the catalogs gets the rules of its suite (`sources/quality/`), checked
after it materializes; the key marts get theirs after dbt builds them. A critical rule is a
blocking check: when it fails (severity ERROR), the assets downstream of the table (the dbt
models, the Parquet exports) do not run in that run. A warn rule fails with severity WARN and
blocks nothing.
"""

from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)
from dagster_duckdb import DuckDBResource

from pipelines.catalog import city_catalogs
from pipelines.loading import META_DDL, RAW_SCHEMA
from pipelines.quality.runner import RuleResult, read_table, validate
from pipelines.quality.suites import QUALITY_DIR, Rule, Suite, mart_suites, raw_suite
from pipelines.settings import paths


def _spec(key: AssetKey, rule: Rule) -> AssetCheckSpec:
    on = ", ".join(rule.referenced_columns)
    default = f"{rule.check}{f' on {on}' if on else ''} ({rule.severity})"
    return AssetCheckSpec(
        name=rule.name,
        asset=key,
        description=rule.description or default,
        blocking=rule.blocking,
        metadata={"severity": rule.severity, "check": rule.check},
    )


def _metadata(result: RuleResult, scope: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"rows_scope": scope}
    for name, value in result.metadata().items():
        if value is None or value == "":
            continue
        metadata[name] = MetadataValue.json(value) if isinstance(value, list) else value
    return metadata


def _check_result(key: AssetKey, result: RuleResult, scope: str) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=key,
        check_name=result.rule.name,
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR if result.rule.blocking else AssetCheckSeverity.WARN,
        description=result.describe(),
        metadata=_metadata(result, scope),
    )


def build_quality_check(key: AssetKey, suite: Suite) -> AssetChecksDefinition:
    """One multi-asset check running the whole suite of `key`'s table in one short read."""

    @multi_asset_check(
        specs=[_spec(key, rule) for rule in suite.rules],
        name=f"quality__{suite.schema_name}__{suite.table}",
        description=f"Great Expectations suite of {suite.relation} ({', '.join(suite.files)})",
    )
    def quality(context: AssetCheckExecutionContext, warehouse: DuckDBResource):
        try:
            with warehouse.get_connection() as con:  # closed before the expectations run
                snapshot = read_table(con, suite, paths().exports)
        except LookupError as error:
            for rule in suite.rules:
                yield _check_result(key, RuleResult(rule, False, observed=str(error)), "none")
            return
        results = validate(snapshot)
        failed = [r for r in results if not r.passed]
        summary = f"{suite.relation}: {len(results)} rules on {len(snapshot.frame):,} rows"
        if failed:
            context.log.warning(f"{summary}; failed: " + "; ".join(r.describe() for r in failed))
        else:
            context.log.info(f"{summary}; all passed")
        if suite.schema_name == RAW_SCHEMA:
            with warehouse.get_connection() as con:
                record_results(con, suite.table, results)
        for result in results:
            yield _check_result(key, result, snapshot.scope)

    return quality


def record_results(con, table: str, results: list[RuleResult]) -> None:
    """Keep the outcome in the warehouse (meta.check_results), against the table's latest load,
    so the data-health mart and `civic status` report checks without the Dagster instance."""
    con.execute(META_DDL)
    con.executemany(
        "insert into meta.check_results select ?, ?, ?, ?, ?, now(), ("
        "select arg_max(load_id, loaded_at) from meta.load_log where raw_table = ?), ?",
        [
            (
                table,
                result.rule.name,
                "error" if result.rule.blocking else "warn",
                result.passed,
                result.unexpected_count,
                table,
                result.describe(),
            )
            for result in results
        ],
    )


def raw_quality_checks() -> list[AssetChecksDefinition]:
    from pipelines.assets.raw import raw_asset_key

    return [
        build_quality_check(raw_asset_key(dataset), raw_suite(dataset, QUALITY_DIR))
        for catalog in city_catalogs()
        for dataset in catalog.datasets.values()
    ]


def mart_quality_checks() -> list[AssetChecksDefinition]:
    """Checks of the marts that have a suite file and a dbt model of the same name."""
    from pipelines.assets.transform import civic_dbt_models

    models = set(civic_dbt_models.keys)
    checks = []
    for suite in mart_suites(QUALITY_DIR):
        key = AssetKey([suite.schema_name, suite.table])
        if key in models:
            checks.append(build_quality_check(key, suite))
    return checks


def quality_checks() -> list[AssetChecksDefinition]:
    """Every quality check, for `Definitions(asset_checks=...)`. Needs the `warehouse` resource."""
    return [*raw_quality_checks(), *mart_quality_checks()]
