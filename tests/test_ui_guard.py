"""The local UI refuses cross-site and rebinding requests (issue 14, item 13).

A real Dagster webserver behind the guard, as `civic ui` starts it, on 127.0.0.1: the
red team's `deleteRun` by GET with `Host: evil.example` is refused and the run survives; a
mutation by GET, or by POST without the UI's Origin, is refused too; the UI's own requests work.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from dagster import DagsterInstance, DagsterRunStatus

from pipelines.settings import PROJECT_ROOT
from pipelines.ui_guard import refusal

DELETE = 'mutation { deleteRun(runId: "%s") { __typename } }'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui-home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.ui_guard", "--host", "127.0.0.1", "--port", str(port)]
        + ["-m", "pipelines.definitions"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    ends = time.monotonic() + 240
    while time.monotonic() < ends:
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            pytest.fail(server.stderr.read().decode())
        time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("the guarded webserver did not start")
    yield url, port, home
    server.terminate()
    server.wait(timeout=30)


def run_exists(home, run_id: str) -> bool:
    with DagsterInstance.from_config(str(home)) as instance:
        return instance.get_run_by_id(run_id) is not None


def make_run(home) -> str:
    from dagster import job, op

    @op
    def noop():
        return 1

    @job
    def guard_test():
        noop()

    with DagsterInstance.from_config(str(home)) as instance:
        result = guard_test.execute_in_process(instance=instance)
        assert result.dagster_run.status == DagsterRunStatus.SUCCESS
        return result.run_id


def test_the_red_teams_delete_by_get_from_another_host_is_refused(ui):
    url, port, home = ui
    run_id = make_run(home)

    evil = httpx.get(
        f"{url}/graphql", params={"query": DELETE % run_id}, headers={"Host": "evil.example"}
    )
    by_get = httpx.get(f"{url}/graphql", params={"query": DELETE % run_id})
    cross_site = httpx.post(
        f"{url}/graphql",
        json={"query": DELETE % run_id},
        headers={"Origin": "https://evil.example"},
    )
    form_like = httpx.post(
        f"{url}/graphql",
        content=json.dumps({"query": DELETE % run_id}),
        headers={"Content-Type": "text/plain"},
    )

    assert evil.status_code == 403 and "evil.example" in evil.text and "not this UI" in evil.text
    assert by_get.status_code == 403 and "mutations by GET" in by_get.text
    assert cross_site.status_code == 403 and "Origin" in cross_site.text
    assert form_like.status_code == 403  # what a cross-site form could send, without Origin
    assert run_exists(home, run_id)  # nothing was deleted

    # The UI's own page and same-origin GraphQL still work, mutations included.
    assert httpx.get(f"{url}/runs").status_code == 200
    listed = httpx.post(f"{url}/graphql", json={"query": "{ version }"})  # a script, no Origin
    assert listed.status_code == 200 and "version" in listed.json()["data"]
    own = httpx.post(
        f"{url}/graphql",
        json={"query": DELETE % run_id},
        headers={"Origin": f"http://127.0.0.1:{port}"},
    )
    assert own.status_code == 200 and "DeletePipelineRunSuccess" in own.text
    assert not run_exists(home, run_id)


def test_refusal_rules():
    ok = {"host": "127.0.0.1:3000", "origin": "http://127.0.0.1:3000"}
    assert refusal("http", "POST", "/graphql", "", ok, 3000) is None
    assert refusal("http", "GET", "/graphql", "query=%7Bversion%7D", ok, 3000) is None
    assert refusal("http", "GET", "/", "", {"host": "localhost:3000"}, 3000) is None
    assert "Host" in refusal("http", "GET", "/", "", {"host": "127.0.0.1:3001"}, 3000)
    assert "websocket" in refusal("websocket", "GET", "/graphql", "", {"host": ok["host"]}, 3000)
    assert refusal("websocket", "GET", "/graphql", "", ok, 3000) is None
    script = {"host": ok["host"], "content-type": "application/json"}
    assert refusal("http", "POST", "/graphql", "", script, 3000) is None
    form = {"host": ok["host"], "content-type": "text/plain"}
    assert "Origin" in refusal("http", "POST", "/graphql", "", form, 3000)
