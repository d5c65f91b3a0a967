"""`make test-fast` leaves out exactly the tests that need a pipeline run or a browser."""

import subprocess
import sys

from pipelines.settings import PROJECT_ROOT


def collected(*args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line for line in out.splitlines() if "::" in line}


def test_fast_selection_skips_pipeline_and_browser_tests():
    every = collected("tests")
    fast = collected("tests", "-m", "not slow and not browser")
    assert fast < every
    assert not {t for t in fast if t.startswith("tests/test_dashboards_browser.py")}
    # a test of the shared warehouse, and one of a module that builds its own pipeline
    assert "tests/test_runs.py::test_second_run_gives_the_same_warehouse" in every - fast
    assert any(t.startswith("tests/test_killed_runs.py") for t in every - fast)
    # pure unit tests stay in the quick loop
    assert "tests/test_markers.py::test_fast_selection_skips_pipeline_and_browser_tests" in fast
    assert any(t.startswith("tests/test_change_tests.py") for t in fast)
