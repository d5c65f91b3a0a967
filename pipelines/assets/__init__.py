"""Dagster assets, one module per pipeline stage: raw loads, dbt transforms, exports."""
