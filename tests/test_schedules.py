"""Schedules: one STOPPED schedule per catalog cadence, live load runs, recent months as run
configuration (no partitions), staggered; the transform follows each load run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from automation_defs import wired_definitions
from dagster import (
    Backoff,
    DagsterInstance,
    DefaultScheduleStatus,
    build_schedule_context,
    validate_run_config,
)

from pipelines.automation import RAW_LOAD_RETRY, WAREHOUSE_WRITER_TAG
from pipelines.catalog import city_catalogs
from pipelines.schedules import CRON, build_cadence_schedule, cadence_jobs, schedules

MONTHS = "civic/months"


def sources_config(request) -> dict:
    return request.run_config["resources"]["sources"]["config"]


@pytest.fixture(scope="module")
def repo():
    return wired_definitions().get_repository_def()


def tick(repo, name: str, when: datetime):
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=repo
        )
        (request,) = repo.get_schedule_def(name).evaluate_tick(context).run_requests
    return request


def test_one_job_per_cadence_in_the_catalogs_never_static():
    used = {d.cadence for c in city_catalogs() for d in c.datasets.values()} - {"static"}
    assert {job.name for job in cadence_jobs()} == {f"refresh_{c}" for c in used}
    assert "refresh_static" not in {job.name for job in cadence_jobs()}


def test_daily_job_loads_exactly_the_daily_raw_assets(repo):
    selected = {
        key.to_user_string()
        for key in repo.get_job("refresh_daily").asset_layer.selected_asset_keys
    }
    daily = {
        f"raw/{d.raw_table}"
        for c in city_catalogs()
        for d in c.datasets.values()
        if d.cadence == "daily"
    }
    # Loads only: the transform is its own run, started after the load (transform_runs.py).
    assert selected == daily
    assert {"raw/chicago_crimes", "raw/chicago_building_permits"} <= selected
    assert repo.get_job("refresh_daily").run_tags["civic/phase"] == "load"
    yearly = {
        key.to_user_string()
        for key in repo.get_job("refresh_yearly").asset_layer.selected_asset_keys
    }
    assert "raw/nyc_population" in yearly and "raw/chicago_crimes" not in yearly


def test_schedules_are_stopped_staggered_and_have_a_time_zone(repo):
    defined = {s.name: s for s in repo.schedule_defs}
    assert set(defined) == {f"{job.name}_schedule" for job in cadence_jobs()}
    assert {s.default_status for s in defined.values()} == {DefaultScheduleStatus.STOPPED}
    assert {s.execution_timezone for s in defined.values()} == {"UTC"}
    times = [tuple(cron.split()[:2]) for cron in CRON.values()]
    assert len(set(times)) == len(times)  # no two cadences start at the same minute


def test_time_zone_is_configurable(monkeypatch):
    monkeypatch.setenv("CIVIC_TIMEZONE", "America/Chicago")
    (job,) = [j for j in cadence_jobs() if j.name == "refresh_daily"]
    assert build_cadence_schedule(job, "daily", True).execution_timezone == "America/Chicago"


def test_daily_tick_is_a_live_run_of_the_previous_and_current_month(repo):
    request = tick(repo, "refresh_daily_schedule", datetime(2026, 11, 25, 5, 15, tzinfo=UTC))
    months = {"live": True, "first_month": "2026-10", "last_month": "2026-11"}
    assert sources_config(request) == months
    assert request.tags[MONTHS] == "2026-10..2026-11"
    assert request.tags[WAREHOUSE_WRITER_TAG] and request.tags["civic/phase"] == "load"
    job = repo.get_job("refresh_daily")
    validated = validate_run_config(job, request.run_config)
    assert validated["resources"]["sources"]["config"] == {
        **months,
        "full_refresh": False,
        "allow_shrink": False,
    }


def test_january_refreshes_december_of_the_year_before(repo):
    request = tick(repo, "refresh_daily_schedule", datetime(2026, 1, 3, 6, 45, tzinfo=UTC))
    assert (sources_config(request)["first_month"], sources_config(request)["last_month"]) == (
        "2025-12",
        "2026-01",
    )


def test_undated_cadence_loads_without_months(repo):
    request = tick(repo, "refresh_yearly_schedule", datetime(2026, 1, 4, 7, 15, tzinfo=UTC))
    assert MONTHS not in request.tags and sources_config(request) == {"live": True}
    assert request.tags["civic/trigger"] == "schedule:yearly"


def test_schedules_reuse_the_jobs_given_to_the_definitions():
    assert {s.job_name for s in schedules()} == {j.name for j in cadence_jobs()}
    assert cadence_jobs()[0] is cadence_jobs()[0]


def test_unattended_jobs_retry_raw_loads_with_backoff(repo):
    assert RAW_LOAD_RETRY.max_retries == 3 and RAW_LOAD_RETRY.backoff == Backoff.EXPONENTIAL
    assert RAW_LOAD_RETRY.delay == 60
    for name in [*(job.name for job in cadence_jobs()), "refresh_on_portal_update"]:
        job = repo.get_job(name)
        assert job.op_retry_policy == RAW_LOAD_RETRY
        # No raw asset overrides the job's policy, so every raw load step retries with it.
        raw_ops = [node.definition for node in job.graph.nodes if node.name.startswith("raw__")]
        assert raw_ops and all(op.retry_policy is None for op in raw_ops)
    assert repo.get_job("civic_everything").op_retry_policy is None  # `civic run` never waits
