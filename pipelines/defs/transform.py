"""The transform: dbt models and tests as assets and checks, the mart quality checks, and the
Parquet exports readers use (`pipelines.assets.transform`, `pipelines.assets.exports`)."""

from __future__ import annotations

from dagster import Definitions, definitions

from pipelines.assets.exports import marts_parquet
from pipelines.assets.transform import civic_dbt_models
from pipelines.quality import quality_checks


@definitions
def transform() -> Definitions:
    return Definitions(assets=[civic_dbt_models, marts_parquet], asset_checks=quality_checks())
