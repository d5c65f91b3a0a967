"""A guard in front of the local Dagster UI: only this machine's browser tabs may drive it.

The Dagster webserver accepts GraphQL mutations by GET and from any Host, so any web page an
analyst visits could delete runs or launch jobs on `127.0.0.1` (CSRF), or reach it through a
DNS name rebound to 127.0.0.1. `LocalOnly` (ASGI middleware) refuses:

- requests whose Host is not the loopback address and port the UI serves;
- GraphQL mutations sent by GET;
- state-changing requests (POST, PUT, PATCH, DELETE) and websockets whose Origin is not the
  UI's own. A POST without any Origin passes only as JSON: no browser sends that cross-site
  (it sends Origin on every cross-origin POST, and JSON needs a CORS preflight), while scripts
  and Dagster's GraphQL client do.

`python -m pipelines.ui_guard <dagster-webserver options>` runs the Dagster webserver with the
guard around its app (`civic ui` starts it beside the Dagster daemon).
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MUTATION = re.compile(r"\bmutation\b", re.IGNORECASE)
LOOPBACK_NAMES = ("127.0.0.1", "localhost")

Scope = dict[str, Any]
App = Callable[[Scope, Callable, Callable], Awaitable[None]]


def refusal(
    kind: str, method: str, path: str, query: str, headers: Mapping[str, str], port: int
) -> str | None:
    """Why a request must be refused, or None to let it through."""
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    host = headers.get("host", "")
    if host not in hosts:
        return f"Host {host!r} is not this UI's address ({', '.join(sorted(hosts))})"
    origin = headers.get("origin")
    allowed = {f"http://{h}" for h in hosts}
    if kind == "websocket":
        return None if origin in allowed else f"websocket from origin {origin!r} refused"
    if method.upper() not in SAFE_METHODS:
        if origin is None and headers.get("content-type", "").startswith("application/json"):
            # Not a browser (browsers send Origin on every cross-origin POST, and cannot send
            # JSON cross-site without a CORS preflight): scripts and Dagster's GraphQL client.
            return None
        if origin not in allowed:
            return f"{method} without this UI's Origin (got {origin!r}) refused"
        return None
    if path.rstrip("/").endswith("/graphql"):
        fields = urllib.parse.parse_qs(query)
        if any(MUTATION.search(value) for values in fields.values() for value in values):
            return "GraphQL mutations by GET are refused: use the UI"
    return None


class LocalOnly:
    """ASGI middleware applying `refusal` to every HTTP request and websocket."""

    def __init__(self, app: App, port: int) -> None:
        self.app = app
        self.port = port

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        problem = refusal(
            scope["type"],
            scope.get("method", "GET"),
            scope.get("path", ""),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            self.port,
        )
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            body = f"refused by civic ui: {problem}\n".encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"text/plain"),
                        (b"content-length", b"%d" % len(body)),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def main(argv: list[str]) -> int:
    """Run dagster-webserver with `LocalOnly` around the app it builds."""
    import dagster_webserver.cli as webserver_cli

    port = int(argv[argv.index("--port") + 1])
    build = webserver_cli.create_app_from_workspace_process_context

    # The webserver builds its Starlette app in this one function; wrapping its result is
    # the smallest hook (Dagster has no option for extra middleware).
    def guarded(*args: Any, **kwargs: Any) -> LocalOnly:
        return LocalOnly(build(*args, **kwargs), port)

    webserver_cli.create_app_from_workspace_process_context = guarded
    return webserver_cli.cli.main(args=argv, prog_name="dagster-webserver", standalone_mode=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
