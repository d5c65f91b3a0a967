"""Reference tables every city shares: the dataset catalog, city tables, populations and the
problem registry (`pipelines.assets.reference`, `pipelines.assets.problems`)."""

from __future__ import annotations

from dagster import Definitions, definitions

from pipelines.assets.problems import problem_registry_assets
from pipelines.assets.reference import census_population, city_reference, dataset_catalog


@definitions
def reference() -> Definitions:
    return Definitions(
        assets=[dataset_catalog, city_reference, census_population, *problem_registry_assets()]
    )
