"""The Dagster code location: `dagster dev -m pipelines.definitions`, `civic ui`, `dg check defs`.

Dagster's `dg` layout: the definitions live in `pipelines/defs/` (one module per concern, a
factory per city catalog) and `load_defs` gathers them; this module is the entry point.
"""

from __future__ import annotations

from pathlib import Path

from dagster import load_defs

import pipelines.defs
from pipelines.defs.automation import everything_job

defs = load_defs(pipelines.defs, project_root=Path(__file__).resolve().parents[1])

__all__ = ["defs", "everything_job"]
