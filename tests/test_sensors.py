"""Portal-update sensors against a local portal server; freshness failures -> a webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from automation_defs import wired_definitions
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SkipReason,
    build_sensor_context,
)
from notify_servers import WebhookServer
from portal_server import PortalServer, Reply

from pipelines.catalog import Dataset, city_catalog
from pipelines.freshness import FreshnessConfigError, freshness_checks, freshness_windows
from pipelines.notifications import Notifier
from pipelines.sensors import (
    build_portal_sensor,
    portal_modified,
    portal_update_job,
    stale_data_notifier,
    watched_datasets,
)

CRIMES = AssetKey(["raw", "chicago_crimes"])
VIEW = "/api/views/ijzp-q8t2.json"


@pytest.fixture(scope="module")
def defs():
    return wired_definitions()


def on_server(dataset: Dataset, url: str, **portal: object) -> Dataset:
    """The catalog entry with its portal moved to the local server."""
    return dataset.model_copy(
        update={"portal": dataset.portal.model_copy(update={"base_url": url, **portal})}
    )


def evaluate(sensor, defs, instance, cursor=None):
    context = build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, sensor_name=sensor.name
    )
    result = sensor(context)
    return result, context.cursor


def test_every_live_portal_dataset_has_a_stopped_sensor(defs):
    sensors = {s.name: s for s in defs.get_repository_def().sensor_defs}
    watched = {f"portal_update_{d.raw_table}" for _, _, d in watched_datasets()}
    assert "portal_update_chicago_crimes" in watched
    assert "portal_update_chicago_school_progress_reports" not in watched  # no dataset id
    assert "portal_update_chicago_community_areas" not in watched  # a bundled file
    for name in watched:
        assert sensors[name].default_status == DefaultSensorStatus.STOPPED
        assert sensors[name].minimum_interval_seconds == 15 * 60
    assert {"notify_run_failure", "notify_stale_data", "freshness_checks"} <= set(sensors)


def test_sensor_requests_a_load_when_the_portal_changes(defs):
    crimes = city_catalog("chicago").datasets["crimes"]
    updated = {"at": 1764000000}  # 2025-11-24T16:00:00Z
    with PortalServer() as portal, DagsterInstance.ephemeral() as instance:
        portal.route(
            VIEW, lambda _: Reply.json({"id": "ijzp-q8t2", "rowsUpdatedAt": updated["at"]})
        )
        sensor = build_portal_sensor(
            "chicago", "crimes", on_server(crimes, portal.url), portal_update_job()
        )
        first, cursor = evaluate(sensor, defs, instance)
        assert isinstance(first, RunRequest)
        assert first.run_key == "chicago_crimes@2025-11-24T16:00:00+00:00"
        this_month = datetime.now(UTC).strftime("%Y-%m")
        config = first.run_config["resources"]["sources"]["config"]
        assert config["live"] is True and config["last_month"] == this_month
        # A load of this dataset only: the transform follows the load run (transform_runs.py).
        assert first.asset_selection == [CRIMES]
        assert first.tags["civic/dataset"] == "chicago.crimes"
        assert first.tags["civic/phase"] == "load"
        assert first.tags["civic/months"].endswith(f"..{this_month}")
        assert json.loads(cursor) == {"modified": "2025-11-24T16:00:00+00:00"}

        same, cursor = evaluate(sensor, defs, instance, cursor)
        assert isinstance(same, SkipReason) and "unchanged" in same.skip_message

        updated["at"] += 3600
        changed, cursor = evaluate(sensor, defs, instance, cursor)
        assert isinstance(changed, RunRequest)
        assert changed.run_key == "chicago_crimes@2025-11-24T17:00:00+00:00"
        assert len(portal.seen(VIEW)) == 3  # one metadata request per tick, no row requests
        assert {r.path for r in portal.requests} == {VIEW}


def test_first_tick_skips_when_the_last_load_is_newer_than_the_portal(defs):
    crimes = city_catalog("chicago").datasets["crimes"]
    with PortalServer() as portal, DagsterInstance.ephemeral() as instance:
        portal.route(VIEW, lambda _: Reply.json({"rowsUpdatedAt": 1500000000}))  # 2017
        instance.report_runless_asset_event(AssetMaterialization(CRIMES))
        sensor = build_portal_sensor(
            "chicago", "crimes", on_server(crimes, portal.url), portal_update_job()
        )
        result, cursor = evaluate(sensor, defs, instance)
    assert isinstance(result, SkipReason) and "after the portal's last change" in str(result)
    assert json.loads(cursor)["modified"].startswith("2017-07-14")


def test_portal_errors_skip_the_tick_with_a_clear_message(defs):
    crimes = city_catalog("chicago").datasets["crimes"]
    with PortalServer() as portal, DagsterInstance.ephemeral() as instance:
        portal.route(VIEW, lambda _: Reply.html("Not Found", 404))
        sensor = build_portal_sensor(
            "chicago", "crimes", on_server(crimes, portal.url), portal_update_job()
        )
        result, cursor = evaluate(sensor, defs, instance, cursor='{"modified": "x"}')
        assert isinstance(result, SkipReason)
        assert "chicago.crimes: could not read the modification time" in result.skip_message
        assert "404" in result.skip_message and "next tick" in result.skip_message
        assert cursor == '{"modified": "x"}'  # unchanged: the next tick compares again

        down = build_portal_sensor(
            "chicago", "crimes", on_server(crimes, "http://127.0.0.1:9"), portal_update_job()
        )
        result, _ = evaluate(down, defs, instance)
        assert isinstance(result, SkipReason) and "ConnectorError" in result.skip_message


def test_ckan_and_arcgis_modification_times(tmp_path):
    nyc = city_catalog("nyc").datasets["index_crimes"]
    with PortalServer() as portal:
        portal.route(
            "/api/3/action/resource_show",
            lambda _: Reply.file("ckan_resource_show_appropriations_built.json"),
        )
        portal.route(
            "/api/3/action/package_show",
            lambda _: Reply.file("ckan_package_show_appropriations_built.json"),
        )
        portal.route(
            "/arcgis/FeatureServer/0",
            lambda _: Reply.file("arcgis_layer_chicago_crimes_built.json"),
        )
        ckan = on_server(nyc, portal.url, kind="ckan", dataset_id="res-1", options={})
        arcgis = on_server(
            nyc, f"{portal.url}/arcgis", kind="arcgis", dataset_id="FeatureServer/0", options={}
        )
        ckan_modified = portal_modified(ckan)
        arcgis_modified = portal_modified(arcgis)
    assert ckan_modified.tzinfo is not None and ckan_modified.year >= 2019
    assert arcgis_modified == datetime(2022, 11, 30, 23, 59, 59, tzinfo=UTC)


# -- freshness ---------------------------------------------------------------------------------


def test_freshness_windows_are_configurable():
    assert freshness_windows({})["daily"] == timedelta(days=2)
    assert freshness_windows({})["yearly"] == timedelta(days=400)
    custom = freshness_windows({"CIVIC_FRESHNESS_DAYS": "daily=3, monthly=40"})
    assert custom["daily"] == timedelta(days=3) and custom["monthly"] == timedelta(days=40)
    with pytest.raises(FreshnessConfigError, match="unknown cadence 'hourly'"):
        freshness_windows({"CIVIC_FRESHNESS_DAYS": "hourly=1"})
    with pytest.raises(FreshnessConfigError, match="positive number of days"):
        freshness_windows({"CIVIC_FRESHNESS_DAYS": "daily=soon"})


def test_stale_dataset_fails_its_check_and_notifies_the_webhook():
    """A daily window of one second (the `windows` argument, Dagster's public API) makes the
    crimes stale a moment after their load, while yearly population stays fresh."""
    import time

    from dagster import Definitions

    from pipelines.definitions import defs as location
    from pipelines.freshness import freshness_sensor

    checks = freshness_checks(windows={"daily": timedelta(seconds=1)})
    defs = Definitions(
        assets=list(location.assets or ()),
        asset_checks=checks,
        sensors=[freshness_sensor(checks)],
        resources=location.resources,
    )
    repo = defs.get_repository_def()
    population = AssetKey(["raw", "nyc_population"])
    with DagsterInstance.ephemeral() as instance, WebhookServer() as hook:
        for key in (CRIMES, population):
            instance.report_runless_asset_event(AssetMaterialization(key))
        time.sleep(1.5)  # past the daily window, far inside the yearly one

        sensor = repo.get_sensor_def("freshness_checks")
        request, _ = evaluate(sensor, defs, instance)
        assert isinstance(request, RunRequest) and request.asset_check_keys
        wanted = [k for k in request.asset_check_keys if k.asset_key in (CRIMES, population)]
        check_job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection=set(), asset_check_selection=set(wanted)
        )
        assert check_job.execute_in_process(instance=instance).success

        notifier = Notifier(webhook_url=f"{hook.url}/hook")
        notify = stale_data_notifier(checks, notifier)
        result, cursor = evaluate(notify, defs, instance)
        again, _ = evaluate(notify, defs, instance, cursor)

    assert "notified about 1 stale dataset" in result.skip_message
    assert "no new freshness failures (1 still stale)" in again.skip_message  # once per failure
    (post,) = hook.posts
    assert post["kind"] == "stale_data"
    assert "chicago.crimes (daily): last loaded" in post["text"]
    assert "nyc.population" not in post["text"]
    assert "asset raw/chicago_crimes" in post["text"]
    assert (
        "refresh_daily_schedule" in post["text"]
        and "civic run --city chicago --live" in (post["text"])
    )


# -- the transform after a load run --------------------------------------------------------------


def test_a_finished_load_run_starts_the_transform_of_what_it_changed(defs, tmp_path):
    """A real load run (the community areas from their bundled file) -> a transform run of
    what is downstream of that table only; the same load again (file unchanged) -> nothing."""
    from dagster import DagsterEventType, build_run_status_sensor_context, materialize
    from dagster_duckdb import DuckDBResource

    from pipelines.assets.raw import build_raw_asset
    from pipelines.sources import DataSources
    from pipelines.transform_runs import transform_after_load_sensors, transform_request

    catalog = city_catalog("chicago")
    asset = build_raw_asset(catalog, "community_areas", catalog.datasets["community_areas"])
    resources = {
        "warehouse": DuckDBResource(database=str(tmp_path / "w.duckdb")),
        "sources": DataSources(),
    }
    (sensor, _) = transform_after_load_sensors()

    def after(instance, result):
        run = instance.get_run_by_id(result.run_id)
        (success,) = [e for e in result.all_events if e.event_type == DagsterEventType.RUN_SUCCESS]
        context = build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=success,
            dagster_instance=instance,
            dagster_run=run,
            repository_def=defs.get_repository_def(),
        )
        return transform_request(context)

    with DagsterInstance.ephemeral() as instance:
        tags = {"civic/phase": "load"}
        loaded = materialize([asset], instance=instance, resources=resources, tags=tags)
        request = after(instance, loaded)
        assert isinstance(request, RunRequest)
        selected = {key.to_user_string() for key in request.asset_selection}
        # Canonical staging: every city's areas feed stg_areas (catalog mapping).
        assert {"staging/stg_areas", "exports/marts_parquet"} <= selected
        assert not any(key.startswith(("raw/", "registry/")) for key in selected)
        assert "staging/stg_crime_incidents" not in selected  # not built from this table
        assert request.run_key == f"transform-after-{loaded.run_id}"
        assert request.tags["civic/load-run"] == loaded.run_id
        assert request.job_name == "civic_transform"

        again = materialize([asset], instance=instance, resources=resources, tags=tags)
        skipped = after(instance, again)
    assert isinstance(skipped, SkipReason) and "changed no table" in skipped.skip_message
