"""The Dagster code location: `dagster dev -m pipelines.definitions`, `civic ui`, `dg check defs`.

Dagster's `dg` layout: the definitions live in `pipelines/defs/` (one module per concern, a
factory per city catalog) and `load_from_defs_folder` gathers them (the project and its defs
module are named in pyproject.toml's [tool.dg]); this module is the entry point.
"""

from __future__ import annotations

from pathlib import Path

from dagster import load_from_defs_folder

from pipelines.defs.automation import everything_job

defs = load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)

__all__ = ["defs", "everything_job"]
