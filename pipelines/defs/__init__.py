"""The code location's definitions, one module per concern, loaded by `dagster.load_defs`.

Each module holds one `@definitions` function (Dagster's `dg` layout):
- `cities`: one city catalog -> its raw assets (with their quality checks) and portal sensors
- `reference`: the dataset catalog, city reference tables, populations, problem registry
- `transform`: the dbt models and tests, the mart quality checks, the Parquet exports
- `automation`: the jobs, schedules, freshness checks and the sensors that span every city
- `resources`: the warehouse, dbt and sources resources, the loggers and the executor

`pipelines/definitions.py` is the entry point (`pipelines.definitions:defs`).
"""
