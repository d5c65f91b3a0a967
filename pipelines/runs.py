"""Start runs of the Dagster definitions in this process: what `civic run` (and the tests) call.

One place decides what a run covers: which cities' raw assets, bundled or live sources, and
which months of the dated datasets (all of them by default, in one single-run backfill).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from pipelines.assets.raw import raw_asset_key
from pipelines.catalog import CatalogError, city_catalog, city_catalogs
from pipelines.locking import warehouse_writer
from pipelines.settings import paths


@dataclass(frozen=True)
class RunRequest:
    city: str | None = None  # None: every city in sources/
    dataset: str | None = None  # one dataset of `city` (a catalog key): only its raw asset
    live: bool = False
    first_month: str | None = None  # YYYY-MM-01 partition keys; None: from the first
    last_month: str | None = None  # None: to the last
    verbose: bool = False


def offline_skips(request: RunRequest) -> dict[AssetKey, str]:
    """Raw assets an offline run cannot load (no bundled copy): key -> '<city>.<dataset>'.

    They are left out of the run, so one live-only city never stops the others' offline run;
    the dbt models then leave out their missing raw tables too (stg_source_status).
    """
    if request.live:
        return {}
    return {
        raw_asset_key(dataset): f"{catalog.city}.{name}"
        for catalog in city_catalogs()
        for name, dataset in catalog.datasets.items()
        if dataset.bundled is None
    }


def selected_keys(request: RunRequest) -> list[AssetKey]:
    """Every asset of the job, less the raw assets of other cities when a city is chosen, and
    less those an offline run cannot load (offline_skips)."""
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    # dbt sources written by the loads themselves (meta.load_log, ...) are not executable
    skipped = offline_skips(request)
    keys = [
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_executable and key not in skipped
    ]
    if request.city is None:
        if request.dataset:
            raise ValueError("choose the city of the dataset too (--city)")
        return keys
    catalog = city_catalog(request.city)  # a clear error for an unknown city
    if request.dataset:
        if request.dataset not in catalog.datasets:
            raise CatalogError(
                f"{request.city} has no dataset {request.dataset!r} "
                f"(known: {', '.join(catalog.datasets)})"
            )
        return [raw_asset_key(catalog.datasets[request.dataset])]
    return [key for key in keys if graph.get(key).tags.get("city", request.city) == request.city]


def partition_range_tags(request: RunRequest) -> dict[str, str]:
    from pipelines.assets.raw import MONTHLY

    if MONTHLY is None:
        return {}
    months = MONTHLY.get_partition_keys()
    first = request.first_month or months[0]
    last = request.last_month or months[-1]
    for key in (first, last):
        if key not in months:
            raise ValueError(f"month {key} is outside the partitions {months[0]}..{months[-1]}")
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def run_config(request: RunRequest, total_assets: int) -> dict:
    from pipelines.progress import progress_run_config

    config = progress_run_config(request.verbose, total_assets)
    config["resources"] = {"sources": {"config": {"live": request.live}}}
    return config


@contextmanager
def _opened(instance: DagsterInstance | None) -> Iterator[DagsterInstance]:
    if instance is not None:
        yield instance
        return
    with DagsterInstance.get() as opened:
        yield opened


def execute(
    request: RunRequest, instance: DagsterInstance | None = None, wait_seconds: float = 600
) -> ExecuteInProcessResult:
    """Run the request once no other run writes the warehouse (WarehouseBusy past the wait).

    Without an `instance`, Dagster's instance (DAGSTER_HOME) is opened inside the lock too:
    two processes creating its storage at once would collide.
    """
    from pipelines.definitions import defs, everything_job

    keys = selected_keys(request)
    job = defs.resolve_job_def(everything_job.name)
    with warehouse_writer(paths().warehouse, wait_seconds), _opened(instance) as active:
        return job.execute_in_process(
            instance=active,
            raise_on_error=False,
            asset_selection=keys,
            run_config=run_config(request, len(keys)),
            tags=partition_range_tags(request),
        )
