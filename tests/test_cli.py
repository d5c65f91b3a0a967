"""The `civic` command line: help, and the Dagster UI bound to 127.0.0.1."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.cli import parser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "ui", "dashboards"):
        assert command in out


def test_unknown_command_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["explode"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def asset_keys_served(port: int, deadline: float) -> list[list[str]]:
    """Asset keys the UI's GraphQL API lists once the code location has loaded."""
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    while True:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=query,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            nodes = json.load(response)["data"]["assetNodes"]
        if nodes or time.monotonic() > deadline:
            return [node["assetKey"]["path"] for node in nodes]
        time.sleep(1)


def test_ui_serves_the_code_location_on_localhost():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 240  # slow on a loaded 2-core machine
        info = None
        while time.monotonic() < deadline and info is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                    info = json.load(r)
            except OSError:
                assert process.poll() is None, "civic ui exited early"
                time.sleep(1)
        assert info is not None, "Dagster UI did not answer within 240 s"
        assert "dagster_webserver_version" in info
        assert ["raw", "chicago_crimes"] in asset_keys_served(port, deadline)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_validate_checks_every_configuration_file(capsys):
    from pipelines.catalog import city_catalogs
    from pipelines.cli import main

    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    datasets = sum(len(c.datasets) for c in city_catalogs())
    cities = ", ".join(c.city for c in city_catalogs())
    assert f"{datasets} datasets with quality suites" in out and f"({cities})" in out


# -- the installed command, from any shell -------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
CIVIC = REPO / ".venv" / "bin" / "civic"


def project_copy(folder: Path) -> Path:
    """The code, dbt project and sources without any dbt target: its manifest must be made."""
    ignored = shutil.ignore_patterns("target", "logs", "__pycache__", "dbt_packages")
    for name in ("pipelines", "dbt_project", "sources"):
        shutil.copytree(REPO / name, folder / name, ignore=ignored)
    shutil.copy(REPO / "pyproject.toml", folder)  # the dg project's config: defs are found from it
    return folder


def bare_env(project: Path, home: Path) -> dict[str, str]:
    """What cron or another program gives a command: no venv on PATH, nothing activated.
    PYTHONPATH makes the installed script import the copy's code."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "PYTHONPATH": str(project),
        "CIVIC_HOME": str(home / "warehouse"),
    }


def test_installed_command_works_with_a_bare_path(tmp_path):
    project = project_copy(tmp_path / "project")
    env = bare_env(project, tmp_path / "home")
    checked = subprocess.run(
        [str(CIVIC), "validate"], cwd=project, env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("OK: ")
    # `status --checks` imports the definitions: dbt must parse the copy (found beside the
    # interpreter, not on PATH) before the dbt assets exist.
    status = subprocess.run(
        [str(CIVIC), "status", "--checks"], cwd=project, env=env, capture_output=True, text=True
    )
    assert status.returncode == 0, status.stderr
    assert "Traceback" not in status.stderr
    manifest = project / "dbt_project" / "target" / "civic" / "manifest.json"
    assert manifest.exists()
    assert not (project / "dbt_project" / "target" / "manifest.json").exists()


def test_missing_dbt_is_one_line_naming_the_fix(tmp_path, monkeypatch):
    from pipelines import child_processes

    lonely = tmp_path / "bin" / "python"  # an interpreter with no dbt beside it
    lonely.parent.mkdir()
    monkeypatch.setattr(child_processes.sys, "executable", str(lonely))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(child_processes.DbtMissingError) as error:
        child_processes.require_dbt()
    assert "make install" in str(error.value) and "\n" not in str(error.value)


# -- dbt run by hand never breaks the next run ---------------------------------------------------


def test_run_after_a_hand_run_dbt_parse_from_the_root(built_warehouse, capsys):
    """`dbt parse` from the repository root writes dbt_project/target/ with paths relative to
    the root; the next run's dbt build (here: a seed and what reads it) still works."""
    import duckdb

    from pipelines.cli import main

    hand = subprocess.run(
        [str(REPO / ".venv" / "bin" / "dbt"), "parse", "--project-dir", "dbt_project"]
        + ["--profiles-dir", "dbt_project"],
        cwd=REPO,
        env={**os.environ, "CIVIC_WAREHOUSE": str(built_warehouse)},
        capture_output=True,
        text=True,
    )
    assert hand.returncode == 0, hand.stdout[-2000:]
    hand_manifest = json.loads((REPO / "dbt_project" / "target" / "manifest.json").read_text())
    seed = "seed.civic.scoring_weights"
    assert hand_manifest["nodes"][seed]["root_path"] != str(REPO / "dbt_project")
    with duckdb.connect(str(built_warehouse)) as con:  # the seed must be built again
        con.execute("delete from meta.dbt_node_state where unique_id = ?", [seed])
    capsys.readouterr()
    assert main(["run"]) == 0, capsys.readouterr().err
    assert "model(s) rebuilt" in capsys.readouterr().out


# -- what `civic run` prints ----------------------------------------------------------------------


def test_run_output_is_short_and_names_its_log_file(civic_run_output):
    """Not on a terminal (CI): under 150 lines, ending with the summary and the log's path;
    dbt's own lines are in the log file, not on the screen."""
    lines = civic_run_output.splitlines()
    assert len(lines) < 150, "\n".join(lines)
    assert lines[-1].startswith("Full log (dbt and Dagster): ")
    log = Path(lines[-1].split(": ", 1)[1])
    assert log.parent.name == "logs" and log.exists()
    assert any(line.startswith("civic run finished in ") for line in lines[-3:])
    for stage in ("loads", "dbt models", "dbt tests", "exports"):  # the summary table
        row = re.compile(rf"^\W*{stage}\W+\d[\d,]*\W+\d")
        assert any(row.match(line) for line in lines), stage
    logged = log.read_text()
    assert "START" in logged and "START" not in civic_run_output  # dbt's lines went there
    assert "STEP_SUCCESS" in logged  # and Dagster's events
    # the screen has the rows in one line; the log file has them per raw table
    assert any(re.match(r"Rows loaded: [\d,]+ in \d+ raw tables", line) for line in lines)
    assert "Rows loaded per source:" in logged and "  raw.chicago_crimes " in logged
