"""Start runs of the Dagster definitions in this process: what `civic run` (and the tests) call.

One place decides what a run covers: which cities' raw assets, bundled or live sources, and
which months of the dated datasets (by default: whatever changed at the source). A run is
two Dagster runs under one writer lock:

1. **load**: the raw assets (and the registry and catalog tables); a failed load fails only
   its own step, the other loads go on;
2. **transform**: the dbt models downstream of what changed, their tests, the exports
   (`pipelines.transform_runs`), whether or not a load failed: one city's unreachable portal
   never stops the other cities' marts. Nothing changed: no transform.

The outcome says exactly which loads failed and why (`RunOutcome.skipped`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dagster import AssetKey, DagsterEvent, DagsterInstance, Definitions, ExecuteInProcessResult

from pipelines.assets.raw import raw_asset_key
from pipelines.automation import LOAD_RUN_TAG, MONTHS_TAG, PHASE_TAG
from pipelines.catalog import CatalogError, city_catalogs
from pipelines.child_processes import mark_abandoned_runs, process_tags
from pipelines.connectors.prefetch import live_datasets, prefetched
from pipelines.locking import warehouse_writer
from pipelines.settings import paths


@dataclass(frozen=True)
class RunRequest:
    city: str | None = None  # None: every city in sources/
    dataset: str | None = None  # one dataset of `city` (a catalog key): only its raw asset
    live: bool = False
    first_month: str | None = None  # YYYY-MM; with last_month: reload those months
    last_month: str | None = None
    verbose: bool = False
    full_refresh: bool = False  # read every source again, rebuild every model
    allow_shrink: bool = False  # accept loads that empty or gut what they replace
    transform: bool = True  # False: the load phase only (`civic backfill`)


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


@dataclass(frozen=True)
class Skipped:
    """A load that did not happen: its table keeps its previous data."""

    city: str
    dataset: str
    reason: str

    def line(self) -> str:
        return f"{self.city}.{self.dataset}: {self.reason}"


@dataclass
class RunOutcome:
    load: ExecuteInProcessResult
    transform: ExecuteInProcessResult | None = None
    skipped: list[Skipped] = field(default_factory=list)
    transform_note: str = ""

    @property
    def success(self) -> bool:
        return self.load.success and (self.transform is None or self.transform.success)

    @property
    def run_id(self) -> str:
        return self.load.run_id

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in (self.load, self.transform) if r is not None]

    def get_step_failure_events(self) -> list[DagsterEvent]:
        results = [r for r in (self.load, self.transform) if r is not None]
        return [event for r in results for event in r.get_step_failure_events()]

    def transform_failures(self) -> list[DagsterEvent]:
        return self.transform.get_step_failure_events() if self.transform else []


def _definitions(definitions: Definitions | None) -> Definitions:
    if definitions is not None:
        return definitions
    from pipelines.definitions import defs

    return defs


def load_keys(request: RunRequest, definitions: Definitions | None = None) -> list[AssetKey]:
    """The load phase: raw assets (of the city, or one dataset) and the reference tables."""
    graph = _definitions(definitions).resolve_asset_graph()
    if request.city is None and request.dataset:
        raise ValueError("choose the city of the dataset too (--city)")
    transforms = set(_transform_assets())
    loads = [
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_executable and key not in transforms
    ]
    # Raw assets an offline run cannot load are left out (a dataset named alone is kept: its
    # load then says to use --live).
    offline = set(offline_skips(request))
    if request.city is None:
        return sorted((key for key in loads if key not in offline), key=str)
    cities = {graph.get(key).tags.get("city") for key in loads} - {None}
    if request.city not in cities:
        raise CatalogError(
            f"no catalog for city {request.city!r} in sources/cities "
            f"(known: {', '.join(sorted(cities))})"
        )
    ours = [key for key in loads if graph.get(key).tags.get("city", request.city) == request.city]
    if not request.dataset:
        return sorted((key for key in ours if key not in offline), key=str)
    named = {graph.get(key).metadata.get("dataset"): key for key in ours}
    if request.dataset not in named:
        known = ", ".join(sorted(str(name) for name in named if name))
        raise CatalogError(f"{request.city} has no dataset {request.dataset!r} (known: {known})")
    return [named[request.dataset]]


def changed_sources(request: RunRequest, keys: list[AssetKey]) -> list[AssetKey]:
    """`keys` less the raw assets whose bundled files did not change since their last load:
    a run plans (and Dagster records) only the loads that will do something."""
    from pipelines.resources import warehouse_resource
    from pipelines.sources import DataSources

    sources = DataSources(
        live=request.live,
        first_month=request.first_month,
        last_month=request.last_month,
        full_refresh=request.full_refresh,
    )
    by_key = {raw_asset_key(d): d for c in city_catalogs() for d in c.datasets.values()}
    if not paths().warehouse.exists():
        return keys
    with warehouse_resource().get_connection() as con:
        return [key for key in keys if key not in by_key or not sources.unchanged(con, by_key[key])]


def _transform_assets() -> list[AssetKey]:
    from pipelines.assets.exports import marts_parquet
    from pipelines.assets.transform import civic_dbt_models

    return [*civic_dbt_models.keys, *marts_parquet.keys]


def selected_keys(request: RunRequest, definitions: Definitions | None = None) -> list[AssetKey]:
    """Every asset a run may materialize: its loads and, unless load-only, every transform."""
    keys = load_keys(request, definitions)
    if request.dataset or not request.transform:
        return keys
    return [*keys, *sorted(_transform_assets(), key=str)]


def run_config(request: RunRequest, selected: list[AssetKey], graph) -> dict:
    """The run's config: the progress logger (with the run's counts of assets, quality checks
    and dbt tests, from the asset graph) and the sources."""
    from pipelines.assets.transform import civic_dbt_models
    from pipelines.progress import progress_run_config

    chosen = set(selected)
    checks = [key for key in graph.asset_check_keys if key.asset_key in chosen]
    dbt_assets = set(civic_dbt_models.keys)
    dbt_tests = sum(key.asset_key in dbt_assets for key in checks)
    config = progress_run_config(request.verbose, len(selected), len(checks) - dbt_tests, dbt_tests)
    sources: dict = {"live": request.live}
    if request.first_month or request.last_month:
        sources.update(first_month=request.first_month, last_month=request.last_month)
    if request.full_refresh:
        sources["full_refresh"] = True
    if request.allow_shrink:
        sources["allow_shrink"] = True
    config["resources"] = {"sources": {"config": sources}}
    return config


def run_tags(request: RunRequest, phase: str) -> dict[str, str]:
    tags = {PHASE_TAG: phase, **process_tags()}
    if request.first_month or request.last_month:
        tags[MONTHS_TAG] = f"{request.first_month or ''}..{request.last_month or ''}"
    return tags


@contextmanager
def _opened(instance: DagsterInstance | None) -> Iterator[DagsterInstance]:
    if instance is not None:
        yield instance
        return
    with DagsterInstance.get() as opened:
        yield opened


def execute(
    request: RunRequest,
    instance: DagsterInstance | None = None,
    wait_seconds: float = 600,
    reader_wait_seconds: float = 0,
    definitions: Definitions | None = None,
) -> RunOutcome:
    """Run the request once no other run writes the warehouse (WarehouseBusy past the wait).

    Without an `instance`, Dagster's instance (DAGSTER_HOME) is opened inside the lock too:
    two processes creating its storage at once would collide. `definitions`: the code
    location (default `pipelines.definitions.defs`).
    """
    from pipelines.definitions import everything_job

    definitions = _definitions(definitions)
    job = definitions.resolve_job_def(everything_job.name)
    graph = definitions.resolve_asset_graph()
    planned = load_keys(request, definitions)
    writer = warehouse_writer(
        paths().warehouse, wait_seconds, reader_wait_seconds=reader_wait_seconds
    )
    downloads = prefetched(  # live downloads before the lock: a slow portal blocks no one
        live_datasets(planned) if request.live else [],
        paths().home,
        paths().warehouse,
        request.first_month,
        request.last_month,
    )
    with downloads, writer, _opened(instance) as active:
        mark_abandoned_runs(active)  # runs of killed processes: failed, not STARTED forever
        keys = changed_sources(request, planned)
        load = job.execute_in_process(
            instance=active,
            raise_on_error=False,
            asset_selection=keys,
            run_config=run_config(request, keys, graph),
            tags=run_tags(request, "load"),
        )
        outcome = RunOutcome(load, skipped=failed_loads(load, graph))
        if not request.transform or request.dataset:
            return outcome
        from pipelines.resources import warehouse_resource
        from pipelines.transform_runs import transform_selection

        # The resource's connection settings: DuckDB refuses a second configuration of a file
        # a step's connection may still hold open.
        with warehouse_resource().get_connection() as con:
            chosen = transform_selection(con, full=request.full_refresh)
        if not chosen:
            outcome.transform_note = "nothing changed: no model to rebuild"
            return outcome
        models = len(chosen) - 1
        outcome.transform_note = f"{models} model(s) rebuilt (the others were unchanged)"
        outcome.transform = job.execute_in_process(
            instance=active,
            raise_on_error=False,
            asset_selection=chosen,
            run_config=run_config(request, chosen, graph),
            tags={**run_tags(request, "transform"), LOAD_RUN_TAG: load.run_id},
        )
    return outcome


def failed_loads(result: ExecuteInProcessResult, graph) -> list[Skipped]:
    """Each failed step of a load run as (city, dataset, why), from its root cause."""
    from pipelines.progress import root_cause

    skipped = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        reason = without_class(root_cause(error).splitlines()[0]) if error else "failed"
        city, dataset = "-", event.step_key or "?"
        for key in result.dagster_run.asset_selection or ():
            node = graph.get(key)
            if key.to_python_identifier() == event.step_key:
                city = node.tags.get("city", "-")
                dataset = str(node.metadata.get("dataset", key.to_user_string()))
        skipped.append(Skipped(city, dataset, reason))
    return skipped


def without_class(message: str) -> str:
    """'pipelines.loader.common.LoadError: raw.x: ...' -> 'raw.x: ...' (the reason alone)."""
    return re.sub(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Failure): ", "", message)
