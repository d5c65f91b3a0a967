"""Data quality: suites as data (sources/quality/), evaluated in DuckDB, reported as checks.

`quality_checks` (Dagster) is imported lazily: the loader uses the evaluation modules and
must not pay for importing Dagster.
"""


def __getattr__(name: str):
    if name == "quality_checks":
        from pipelines.quality.checks import quality_checks

        return quality_checks
    raise AttributeError(name)


__all__ = ["quality_checks"]
