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


# Markers (registered in pyproject.toml), set here from what a test needs so no test can
# forget its own: `make test-fast` runs `-m "not slow and not browser"`.
PIPELINE_FIXTURES = {"built_warehouse", "civic_run_output", "warehouse_file"}
# Modules whose tests talk to local servers on 127.0.0.1 (portals, webhooks, SMTP).
NETWORK_MODULES = {
    *(f"test_connector_{kind}" for kind in ("arcgis", "ckan", "http", "limits", "socrata")),
    "test_any_city",
    "test_bad_input",
    "test_city_init",
    "test_new_city",
    "test_notifications",
    "test_prefetch",
    "test_redaction",
    "test_sensors",
}
BROWSER_MODULES = {"test_dashboards_browser"}
# Modules that build a whole pipeline of their own (a subprocess `civic run`, `dbt build`
# of a copied project) without the shared warehouse: slow all the same.
OWN_PIPELINE_MODULES = {
    "test_any_city",
    "test_new_city",
    "test_killed_runs",
    "test_exports_atomic",
    "test_dbt_conventions",
    "test_user_errors",
    "test_bad_input",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        fixtures = set(getattr(item, "fixturenames", ()))
        if module in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)
        if fixtures & PIPELINE_FIXTURES or module in OWN_PIPELINE_MODULES | BROWSER_MODULES:
            item.add_marker(pytest.mark.slow)
        if module in NETWORK_MODULES:
            item.add_marker(pytest.mark.network)
