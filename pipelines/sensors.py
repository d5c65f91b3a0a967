"""Sensors: load a dataset when its portal reports new data; tell operators about failures.

- `portal_update_<raw table>` (one per live Socrata, CKAN or ArcGIS dataset, STOPPED by
  default): every 15 minutes, reads the portal's modification time (Socrata `rowsUpdatedAt`,
  CKAN `last_modified`/`last_refreshed`, ArcGIS `editingInfo.lastEditDate`) and compares it
  with the sensor's cursor. Newer: a live load run of that raw asset (previous and current
  month for dated datasets), `run_key` = dataset + modification time, so one portal change
  starts one run; the `transform_after_load` sensors then rebuild what changed downstream.
  On its first tick, a change is one after the asset's last materialization. A portal that
  cannot be read gives a SkipReason saying so; never a crash.
- `notify_run_failure` (RUNNING): a run of this code location failed -> webhook/email.
- `notify_stale_data` (RUNNING): a freshness check failed -> webhook/email, once per failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache

from dagster import (
    AssetCheckKey,
    AssetChecksDefinition,
    AssetSelection,
    DagsterEvent,
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    run_failure_sensor,
    sensor,
)

from pipelines.assets.raw import raw_asset_key
from pipelines.automation import (
    DATASET_TAG,
    MONTHS_TAG,
    PHASE_TAG,
    RAW_LOAD_RETRY,
    TRIGGER_TAG,
    WAREHOUSE_WRITER_TAGS,
    catalog_datasets,
    live_run_config,
    months_tag,
    recent_months,
)
from pipelines.catalog import Dataset
from pipelines.connectors import RetryPolicy, connector_for
from pipelines.connectors.live import OUR_OPTIONS
from pipelines.dagster_internals import SerializableErrorInfo, UnresolvedAssetJobDefinition
from pipelines.freshness import freshness_check_keys
from pipelines.notifications import Delivery, Notice, Notifier
from pipelines.settings import settings

WATCHED_KINDS = ("socrata", "ckan", "arcgis")
PORTAL_UPDATE_JOB = "refresh_on_portal_update"
PORTAL_SENSOR_INTERVAL_SECONDS = 15 * 60
# A sensor tick must stay short: two quick tries, then wait for the next tick.
METADATA_RETRY = RetryPolicy(
    max_attempts=2, backoff_seconds=1.0, total_seconds=20.0, timeout_seconds=10.0
)
LAST_UPDATED_KEY = "dagster/last_updated_timestamp"


# -- portal updates ---------------------------------------------------------------------------


def watched_datasets() -> list[tuple[str, str, Dataset]]:
    """Datasets whose portal reports a modification time: Socrata, CKAN (with an id), ArcGIS."""
    return [
        (city, name, dataset)
        for city, name, dataset in catalog_datasets()
        if dataset.portal.kind in WATCHED_KINDS
        and (dataset.portal.dataset_id or dataset.portal.kind == "arcgis")
    ]


def parse_utc(value: str) -> datetime:
    """An ISO timestamp from a portal (naive means UTC) as an aware UTC datetime."""
    stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def portal_modified(dataset: Dataset, retry: RetryPolicy = METADATA_RETRY) -> datetime | None:
    """When the portal says the dataset last changed (UTC), or None if it does not say."""
    portal = dataset.portal
    options = {k: v for k, v in portal.options.items() if k not in OUR_OPTIONS}
    options.setdefault("name", dataset.raw_table)
    connector = connector_for(
        portal.kind, portal.base_url, portal.dataset_id, retry=retry, **options
    )
    if portal.kind == "socrata":
        return connector.remote_updated_at()
    stamp = connector.remote_modified() if portal.kind == "ckan" else connector.remote_updated_at()
    return parse_utc(stamp) if stamp else None


def portal_update_job() -> UnresolvedAssetJobDefinition:
    """The job portal-update runs belong to: the watched raw assets (loads only).

    The same job object on every call (Definitions refuse two jobs of one name)."""
    return _portal_update_job()


@cache
def _portal_update_job() -> UnresolvedAssetJobDefinition:
    keys = [raw_asset_key(dataset) for _, _, dataset in watched_datasets()]
    return define_asset_job(
        PORTAL_UPDATE_JOB,
        selection=AssetSelection.assets(*keys),
        description="Load a dataset its portal reports as changed (the transform_after_load "
        "sensor rebuilds downstream). Started by the portal_update_* sensors (each run "
        "selects one dataset).",
        run_tags={**WAREHOUSE_WRITER_TAGS, TRIGGER_TAG: "portal-update", PHASE_TAG: "load"},
        op_retry_policy=RAW_LOAD_RETRY,
    )


def build_portal_sensor(
    city: str,
    name: str,
    dataset: Dataset,
    job: UnresolvedAssetJobDefinition,
    minimum_interval_seconds: int = PORTAL_SENSOR_INTERVAL_SECONDS,
) -> SensorDefinition:
    key = raw_asset_key(dataset)
    label = f"{city}.{name}"

    @sensor(
        name=f"portal_update_{dataset.raw_table}",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.STOPPED,
        description=f"Load {label} ({dataset.portal.kind}) when its portal reports new data.",
    )
    def watch(context: SensorEvaluationContext) -> RunRequest | SkipReason:
        try:
            modified = portal_modified(dataset)
        except Exception as error:  # network, HTTP, JSON: skip this tick, never crash
            return SkipReason(
                f"{label}: could not read the modification time from {dataset.portal.base_url} "
                f"({type(error).__name__}: {error}). Nothing started; the next tick tries "
                "again. If this persists, check the portal and the catalog's portal entry."
            )
        if modified is None:
            return SkipReason(
                f"{label}: the portal reports no modification time; the refresh_"
                f"{dataset.cadence} schedule loads this dataset instead."
            )
        stamp = modified.isoformat()
        previous = json.loads(context.cursor)["modified"] if context.cursor else None
        context.update_cursor(json.dumps({"modified": stamp}))
        if previous is not None and modified <= datetime.fromisoformat(previous):
            return SkipReason(f"{label}: unchanged at the portal since {previous}.")
        if previous is None:
            last = context.instance.get_latest_materialization_event(key)
            if last is not None and last.timestamp >= modified.timestamp():
                return SkipReason(
                    f"{label}: last loaded {_utc(last.timestamp)}, after the portal's last "
                    f"change ({stamp}); watching for the next change."
                )
        tags = {
            **WAREHOUSE_WRITER_TAGS,
            TRIGGER_TAG: "portal-update",
            DATASET_TAG: label,
            PHASE_TAG: "load",
        }
        months = recent_months(datetime.now(UTC)) if dataset.partitioning is not None else None
        if months:
            tags.update(months_tag(months))
        context.log.info(f"{label}: the portal changed at {stamp}; requesting a live load")
        return RunRequest(
            run_key=f"{dataset.raw_table}@{stamp}",
            run_config=live_run_config(months),
            asset_selection=[key],
            tags=tags,
        )

    return watch


def portal_sensors(job: UnresolvedAssetJobDefinition | None = None) -> list[SensorDefinition]:
    job = job or portal_update_job()
    return [build_portal_sensor(city, name, d, job) for city, name, d in watched_datasets()]


# -- run failures -----------------------------------------------------------------------------


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _first_line(text: str, limit: int = 300) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _error_text(error: SerializableErrorInfo) -> str:
    """The innermost cause (Dagster wraps the asset's exception): `ConnectorError: ...`."""
    while error.cause is not None:
        error = error.cause
    message = _first_line(error.message)
    prefix, _, rest = message.partition(": ")
    return (
        f"{error.cls_name}: {rest}"
        if error.cls_name and prefix.endswith(error.cls_name)
        else message
    )


def run_link(run_id: str, dagster_url: str | None) -> str | None:
    return f"{dagster_url.rstrip('/')}/runs/{run_id}" if dagster_url else None


def run_failure_notice(
    run: DagsterRun,
    failure: DagsterEvent | None,
    step_failures: Iterable[DagsterEvent] = (),
    dagster_url: str | None = None,
) -> Notice:
    """What failed (steps and errors), where (run, job, assets, months), what to do next."""
    failed = []
    for event in step_failures:
        error = event.step_failure_data.error if event.step_failure_data else None
        message = _error_text(error) if error else "no error message"
        failed.append((event.step_key or "?", message))
    if failed:
        what = f"Run of job {run.job_name} failed in {len(failed)} step(s):\n" + "\n".join(
            f"  {step}: {message}" for step, message in failed
        )
    else:
        reason = _first_line(failure.message or "") if failure else ""
        what = f"Run of job {run.job_name} failed before its steps ran: {reason or 'see the log'}"
    assets = sorted(key.to_user_string() for key in run.asset_selection or ())
    where = [f"run id {run.run_id}", f"job {run.job_name}"]
    if assets:
        shown = ", ".join(assets[:8]) + (f" and {len(assets) - 8} more" if len(assets) > 8 else "")
        where.append(f"assets: {shown}")
    if run.tags.get(MONTHS_TAG):
        first, _, last = run.tags[MONTHS_TAG].partition("..")
        where.append(f"months {first} to {last}")
    if run.tags.get(TRIGGER_TAG):
        where.append(f"started by {run.tags[TRIGGER_TAG]}")
    link = run_link(run.run_id, dagster_url)
    where.append(f"Dagster UI: {link}" if link else "Dagster UI: Runs, search the run id")
    steps = [f"Open the run ({link or run.run_id}) and read the failed step's error and log."]
    raw = [step for step, _ in failed if step.startswith("raw__")]
    if raw:
        city = run.tags.get(DATASET_TAG, "").split(".")[0] or "<city>"
        steps.append(
            "A raw load failed: the warehouse kept the previous good data. If the portal was "
            "down or throttling, re-run when it answers: 'Re-execute from failure' in the UI, "
            f"or `civic run --city {city} --live`. If the publisher changed the columns, "
            "update the catalog's `columns` mapping (sources/<city>.yml)."
        )
    if any(not step.startswith("raw__") for step, _ in failed):
        steps.append(
            "A dbt model, test or export failed: see the dbt output in the step's log, fix the "
            "model or the data it flags, then re-execute from failure."
        )
    if not failed:
        steps.append("Nothing was loaded. Check the run configuration and the daemon's log.")
    return Notice(
        kind="run_failure",
        subject=f"civic: run {run.run_id[:8]} of {run.job_name} failed",
        what=what,
        where=where,
        next_steps=steps,
        details={"run_id": run.run_id, "job": run.job_name, "assets": ",".join(assets)},
    )


def run_failure_notifier(notifier: Notifier | None = None) -> SensorDefinition:
    @run_failure_sensor(
        name="notify_run_failure",
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Send a webhook/email (CIVIC_NOTIFY_* settings) when a run fails.",
    )
    def notify_run_failure(context: RunFailureSensorContext) -> None:
        chosen = notifier or Notifier.from_env()
        notice = run_failure_notice(
            context.dagster_run,
            context.failure_event,
            context.get_step_failure_events(),
            _dagster_url(),
        )
        delivery = chosen.send(notice)
        _log_delivery(context, delivery, notice)

    return notify_run_failure


# -- stale data -------------------------------------------------------------------------------


def _dagster_url() -> str | None:
    return settings().dagster_url


def _log_delivery(context, delivery: Delivery, notice: Notice) -> None:
    if delivery.sent:
        context.log.info(f"notified {', '.join(delivery.sent)}: {notice.subject}")
    for error in delivery.errors:
        context.log.warning(f"notification not delivered: {error}")
    if not delivery.sent and not delivery.errors:
        context.log.info(f"no notification channel configured: {notice.subject}")


def stale_notice(
    stale: Sequence[tuple[AssetCheckKey, str, float | None, str]], dagster_url: str | None = None
) -> Notice:
    """`stale`: (check key, check description, last update timestamp, run id) per dataset."""
    names = {raw_asset_key(d): (city, name, d) for city, name, d in catalog_datasets()}
    lines, where, cities = [], [], set()
    for check_key, description, last, run_id in stale:
        city, name, dataset = names.get(check_key.asset_key, ("?", "?", None))
        cities.add(city)
        cadence = dataset.cadence if dataset else "?"
        when = f"last loaded {_utc(last)}" if last else "never loaded"
        lines.append(f"  {city}.{name} ({cadence}): {when}. {description}")
        asset = check_key.asset_key.to_user_string()
        link = f" {dagster_url.rstrip('/')}/assets/{asset}" if dagster_url else ""
        where.append(f"asset {asset} (check run {run_id}){link}")
    cadences = sorted({names[k.asset_key][2].cadence for k, *_ in stale if k.asset_key in names})
    city = next(iter(cities)) if len(cities) == 1 else "<city>"
    steps = [
        "Check that the refresh schedules ("
        + ", ".join(f"refresh_{c}_schedule" for c in cadences)
        + ") are running and their last runs succeeded (Dagster UI, Automation and Runs).",
        f"Load now: `civic run --city {city} --live`; the check re-evaluates after the load.",
        "If the portal has simply not published (holiday, publisher delay), note it; to "
        "change the expected window set CIVIC_FRESHNESS_DAYS (e.g. daily=3).",
    ]
    count = len(stale)
    return Notice(
        kind="stale_data",
        subject=f"civic: {count} dataset{'s' if count > 1 else ''} not refreshed in time",
        what="Freshness checks failed: no successful load within the expected window.\n"
        + "\n".join(lines),
        where=where,
        next_steps=steps,
        details={"assets": ",".join(k.asset_key.to_user_string() for k, *_ in stale)},
    )


def stale_data_notifier(
    checks: Sequence[AssetChecksDefinition], notifier: Notifier | None = None
) -> SensorDefinition:
    check_keys = freshness_check_keys(checks)

    @sensor(
        name="notify_stale_data",
        minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description="Send a webhook/email (CIVIC_NOTIFY_* settings) when a freshness check "
        "fails: a dataset was not loaded within its cadence's window.",
    )
    def notify_stale_data(context: SensorEvaluationContext) -> SkipReason:
        notified: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        summaries = context.instance.event_log_storage.get_asset_check_summary_records(check_keys)
        stale, current = [], {}
        for check_key, summary in summaries.items():
            record = summary.last_completed_check_execution_record
            evaluation = record.event.asset_check_evaluation if record and record.event else None
            if evaluation is None or evaluation.passed:
                continue
            name = check_key.to_user_string()
            current[name] = record.id
            if notified.get(name) != record.id:
                last = evaluation.metadata.get(LAST_UPDATED_KEY)
                stale.append(
                    (
                        check_key,
                        evaluation.description or "",
                        last.value if last else None,
                        record.run_id,
                    )
                )
        context.update_cursor(json.dumps(current, sort_keys=True))
        if not stale:
            return SkipReason(f"no new freshness failures ({len(current)} still stale)")
        stale.sort(key=lambda item: item[0].to_user_string())
        notice = stale_notice(stale, _dagster_url())
        delivery = (notifier or Notifier.from_env()).send(notice)
        _log_delivery(context, delivery, notice)
        return SkipReason(f"notified about {len(stale)} stale dataset(s): {notice.subject}")

    return notify_stale_data


# -- everything, for the Definitions ------------------------------------------------------------


def shared_sensors(
    checks: Sequence[AssetChecksDefinition] | None = None,
    notifier: Notifier | None = None,
) -> list[SensorDefinition]:
    """The sensors that are no one dataset's: transform after load, the freshness-check
    sensor and the two notifiers. `checks`: the freshness checks given to Definitions
    (default `freshness_checks()`)."""
    from pipelines.freshness import freshness_checks, freshness_sensor
    from pipelines.transform_runs import transform_after_load_sensors

    checks = freshness_checks() if checks is None else checks
    return [
        *transform_after_load_sensors(),
        freshness_sensor(checks),
        run_failure_notifier(notifier),
        stale_data_notifier(checks, notifier),
    ]


def sensors(
    checks: Sequence[AssetChecksDefinition] | None = None,
    notifier: Notifier | None = None,
) -> list[SensorDefinition]:
    """Every sensor: the portal-update sensors (the code location builds them per city:
    `pipelines.defs.cities`) and the shared ones."""
    return [*portal_sensors(), *shared_sensors(checks, notifier)]
