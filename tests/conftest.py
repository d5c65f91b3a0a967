"""Every test run writes into a fresh temporary CIVIC_HOME, never the user's warehouse.

The environment is set at import time because the Dagster definitions read their paths when
`pipelines.definitions` is first imported.
"""

import os
import tempfile
from pathlib import Path

import pytest

TEST_HOME = Path(tempfile.mkdtemp(prefix="civic-test-"))
os.environ["CIVIC_HOME"] = str(TEST_HOME)
os.environ["DAGSTER_HOME"] = str(TEST_HOME / "dagster")
os.environ.pop("CIVIC_WAREHOUSE", None)


@pytest.fixture(scope="session")
def built_warehouse() -> Path:
    """The whole graph materialized once on the bundled data, through `civic run`."""
    from pipelines.cli import main
    from pipelines.settings import paths

    assert main(["run"]) == 0
    return paths().warehouse
