"""The factory that turns one city catalog into its Dagster definitions.

A city is data (sources/cities/<city>.yml): every dataset becomes a raw asset carrying its
quality checks (`pipelines.assets.raw`), and every dataset whose portal reports a
modification time gets a STOPPED `portal_update_<raw table>` sensor (`pipelines.sensors`).
What spans the cities (cadence jobs and schedules, freshness checks) is in `automation`.
"""

from __future__ import annotations

from dagster import Definitions, definitions

from pipelines.assets.raw import build_raw_asset
from pipelines.catalog import CityCatalog, city_catalogs
from pipelines.sensors import build_portal_sensor, portal_update_job, watched_datasets


def city_definitions(catalog: CityCatalog) -> Definitions:
    """One city's raw assets (with their checks) and portal-update sensors."""
    watched = [(name, d) for city, name, d in watched_datasets() if city == catalog.city]
    return Definitions(
        assets=[build_raw_asset(catalog, name, d) for name, d in catalog.datasets.items()],
        sensors=[
            build_portal_sensor(catalog.city, name, d, portal_update_job()) for name, d in watched
        ],
    )


@definitions
def cities() -> Definitions:
    return Definitions.merge(*(city_definitions(catalog) for catalog in city_catalogs()))
