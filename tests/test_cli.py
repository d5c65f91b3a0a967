"""The `civic` command line: help, and the Dagster UI bound to 127.0.0.1."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

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
        deadline = time.monotonic() + 90
        info = None
        while time.monotonic() < deadline and info is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                    info = json.load(r)
            except OSError:
                assert process.poll() is None, "civic ui exited early"
                time.sleep(1)
        assert info is not None, "Dagster UI did not answer within 90 s"
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
