"""Where things live: the project folders and the warehouse, overridable by environment variables.

`CIVIC_HOME` moves everything a run writes (warehouse, exports, Dagster's run storage) to another
folder, which is how the tests run the whole pipeline in a temporary directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCES_DIR = PROJECT_ROOT / "sources"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# civic runs keep their own dbt target folder: a hand-run `dbt build` or `dbt docs generate`
# (which write dbt_project/target/) never leaves a manifest or parse cache the runs would reuse.
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target" / "civic"
DASHBOARDS_DIR = PROJECT_ROOT / "dashboards"


@dataclass(frozen=True)
class Paths:
    """Everything a run writes, under one home folder."""

    home: Path

    @property
    def warehouse(self) -> Path:
        return Path(os.environ.get("CIVIC_WAREHOUSE", self.home / "civic.duckdb"))

    @property
    def exports(self) -> Path:
        return self.home / "exports"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


def paths() -> Paths:
    """The current run's paths (read from the environment each time, so tests can redirect)."""
    return Paths(home=Path(os.environ.get("CIVIC_HOME", PROJECT_ROOT / "warehouse")).resolve())
