"""Every test run writes into a fresh temporary CIVIC_HOME, never the user's warehouse.

The environment is set at import time because the Dagster definitions read their paths when
`pipelines.definitions` is first imported.
"""

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest

TEST_HOME = Path(tempfile.mkdtemp(prefix="civic-test-"))
os.environ["CIVIC_HOME"] = str(TEST_HOME)
os.environ["DAGSTER_HOME"] = str(TEST_HOME / "dagster")
os.environ.pop("CIVIC_WAREHOUSE", None)


@pytest.fixture(scope="session")
def civic_run_output() -> str:
    """What the whole graph's `civic run` on the bundled data printed (stdout and stderr, not
    a terminal, as in CI)."""
    from pipelines.cli import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(["run"])
    assert code == 0, printed.getvalue()[-5000:]
    return printed.getvalue()


@pytest.fixture(scope="session")
def built_warehouse(civic_run_output) -> Path:
    """The whole graph materialized once on the bundled data, through `civic run`."""
    from pipelines.settings import paths

    return paths().warehouse
