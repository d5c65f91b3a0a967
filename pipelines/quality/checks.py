"""Dagster asset checks from the quality suites: one check per rule.

- Raw tables: the rules are evaluated by the load itself, on the staged rows before the swap
  (`pipelines.loader.checks`); the raw asset declares one check spec per rule (`raw_check_specs`)
  and returns the results with its materialization. A critical rule that fails refuses the
  load, so nothing downstream ever reads the bad rows; a load that found its source
  unchanged reports the results of the load that is still in place.
- Key marts: a multi-asset check per suite runs it inside DuckDB after dbt builds the mart
  (`build_quality_check`); a critical rule is a blocking check: when it fails (severity
  ERROR), the assets downstream (the Parquet exports) do not run in that run.
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

from pipelines.quality.evaluate import RuleResult
from pipelines.quality.runner import suite_results
from pipelines.quality.suites import QUALITY_DIR, Rule, Suite, mart_suites
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


def raw_check_specs(key: AssetKey, suite: Suite) -> list[AssetCheckSpec]:
    """The check specs a raw asset declares: one per rule of its suite."""
    return [_spec(key, rule) for rule in suite.rules]


def _metadata(result: RuleResult, scope: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"rows_scope": scope}
    for name, value in result.metadata().items():
        if value is None or value == "":
            continue
        metadata[name] = MetadataValue.json(value) if isinstance(value, list) else value
    return metadata


def check_result(key: AssetKey, result: RuleResult, scope: str, **extra: Any) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=key,
        check_name=result.rule.name,
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR if result.rule.blocking else AssetCheckSeverity.WARN,
        description=result.describe(),
        metadata={**_metadata(result, scope), **extra},
    )


def build_quality_check(key: AssetKey, suite: Suite) -> AssetChecksDefinition:
    """One multi-asset check running the whole suite of `key`'s table inside DuckDB."""

    @multi_asset_check(
        specs=[_spec(key, rule) for rule in suite.rules],
        name=f"quality__{suite.schema_name}__{suite.table}",
        description=f"Quality suite of {suite.relation} ({', '.join(suite.files)})",
    )
    def quality(context: AssetCheckExecutionContext, warehouse: DuckDBResource):
        try:
            with warehouse.get_connection() as con:
                results, scope = suite_results(con, suite, paths().exports)
        except LookupError as error:
            for rule in suite.rules:
                yield check_result(key, RuleResult(rule, False, observed=str(error)), "none")
            return
        failed = [r for r in results if not r.passed]
        rows = next((r.rows_checked for r in results if r.rows_checked is not None), 0)
        summary = f"{suite.relation}: {len(results)} rules on {rows:,} rows"
        if failed:
            context.log.warning(f"{summary}; failed: " + "; ".join(r.describe() for r in failed))
        else:
            context.log.info(f"{summary}; all passed")
        for result in results:
            yield check_result(key, result, scope)

    return quality


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
    """The mart checks, for `Definitions(asset_checks=...)` (raw checks live on the raw
    assets). Needs the `warehouse` resource."""
    return mart_quality_checks()
