"""Data quality: Great Expectations suites (sources/quality/) run as Dagster asset checks."""

from pipelines.quality.checks import quality_checks

__all__ = ["quality_checks"]
