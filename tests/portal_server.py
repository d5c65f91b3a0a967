"""A real HTTP server on 127.0.0.1 (pytest-httpserver) that plays open-data portals for tests.

It runs in a background thread; each test registers what a path answers:
- `script(path, *replies)`: replies served in order (e.g. a 429, then a 500), before the route;
- `route(path, handler)`: `handler(request) -> Reply` for the rest, e.g. a recorded page or
  a small portal implementation over real rows (`socrata_rows`, `ckan_datastore`,
  `arcgis_layer` below), which answer paging and watermark filters the way the portals do.
Every request is logged (`requests`, `seen(path)`) with its query and headers, so tests assert
what the connector sent: the order parameter, the watermark filter, the app token header.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

FIXTURES = Path(__file__).parent / "fixtures" / "portals"
SOURCES = Path(__file__).parent.parent / "sources"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut_at: int | None = None  # advertise the full Content-Length, send this many bytes, hang up
    length: bool = True  # send Content-Length at all
    delay: float = 0.0  # seconds to wait before answering (to trigger client timeouts)

    @classmethod
    def json(cls, document: Any, status: int = 200, **kwargs: Any) -> Reply:
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **kwargs.pop("headers", {})}
        return cls(status, body, headers, **kwargs)

    @classmethod
    def file(cls, name: str, content_type: str = "application/json; charset=utf-8") -> Reply:
        return cls(200, (FIXTURES / name).read_bytes(), {"Content-Type": content_type})

    @classmethod
    def html(cls, title: str, status: int = 200) -> Reply:
        page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{title}</body>"
        return cls(status, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    at: float  # time.monotonic()


Handler = Callable[[Seen], Reply]


class PortalServer:
    """pytest-httpserver (threaded, so a delayed answer does not hold the next request), with
    one handler that plays the scripted replies and routes and records every request."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._routes: dict[str, Handler] = {}
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self._http.expect_request(re.compile(".*")).respond_with_handler(self._answer)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    def __enter__(self) -> PortalServer:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.clear()
        self._http.stop()

    def route(self, path: str, handler: Handler) -> None:
        self._routes[path] = handler

    def script(self, path: str, *replies: Reply) -> None:
        self._scripts[path].extend(replies)

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def _answer(self, request: Request) -> Response:
        seen = Seen(
            request.method,
            request.path,
            dict(request.args.items()),
            {k.lower(): v for k, v in request.headers.items()},
            time.monotonic(),
        )
        with self._lock:
            self.requests.append(seen)
            scripted = self._scripts[seen.path]
            reply = scripted.popleft() if scripted else None
        if reply is None:
            handler = self._routes.get(seen.path)
            reply = handler(seen) if handler else Reply.json({"error": "not found"}, 404)
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body
        headers = dict(reply.headers)
        gzipped = "gzip" in seen.headers.get("accept-encoding", "") and reply.cut_at is None
        if gzipped and len(body) > 1000:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if reply.length:
            headers["Content-Length"] = str(len(body))
        headers["Connection"] = "close"
        # A generator body is sent as is: with `cut_at`, fewer bytes than Content-Length says.
        sent = body if reply.cut_at is None else body[: reply.cut_at]
        response = Response(iter([sent]), status=reply.status, headers=headers)
        response.automatically_set_content_length = False
        return response


# -- small portal implementations over real rows ------------------------------------------------

GREATER_THAN = re.compile(r"""("?)([:\w]+)\1 > (?:TIMESTAMP )?'((?:[^']|'')*)'""")


def after_watermark(condition: str | None) -> tuple[str, str] | None:
    """(column, value) of a `<column> > '<value>'` filter, as the connectors write them."""
    match = GREATER_THAN.search(condition or "")
    return (match.group(2), match.group(3).replace("''", "'")) if match else None


def socrata_rows(rows: list[dict[str, Any]], cap: int = 50_000) -> Handler:
    """`/resource/<id>.json`: `$where` (`col > 'v'`), `$order`, `$limit`, `$offset`, `$select`."""

    def handle(request: Seen) -> Reply:
        q = request.query
        selected = [r for r in rows if _passes(r, after_watermark(q.get("$where")))]
        if q.get("$order") == ":id":
            selected.sort(key=lambda r: r.get(":id", ""))
        offset, limit = int(q.get("$offset", 0)), min(int(q.get("$limit", 1000)), cap)
        page = selected[offset : offset + limit]
        if q.get("$select") != ":*,*":
            page = [{k: v for k, v in r.items() if not k.startswith(":")} for r in page]
        return Reply.json(page)

    return handle


def ckan_datastore(
    resource_id: str, fields: list[dict[str, str]], records: list[dict[str, Any]], cap: int
) -> Handler:
    """`datastore_search`: silently caps `limit` at `cap`, reports `total` like CKAN 2.9+."""

    def handle(request: Seen) -> Reply:
        q = request.query
        if q.get("resource_id") != resource_id:
            return Reply.json({"success": False, "error": {"__type": "Not Found Error"}}, 404)
        offset, limit = int(q.get("offset", 0)), min(int(q.get("limit", 100)), cap)
        ordered = sorted(records, key=lambda r: r["_id"]) if q.get("sort") == "_id" else records
        result = {
            "include_total": q.get("include_total") == "true",
            "limit": limit,
            "records_format": "objects",
            "resource_id": resource_id,
            "total_estimation_threshold": None,
            "records": ordered[offset : offset + limit],
            "fields": [{"id": "_id", "type": "int"}, *fields],
            "_links": {
                "start": f"/api/3/action/datastore_search?resource_id={resource_id}",
                "next": f"/api/3/action/datastore_search?offset={offset + limit}"
                f"&resource_id={resource_id}",
            },
        }
        if q.get("sort"):
            result["sort"] = q["sort"]
        if q.get("include_total") == "true":
            result["total"] = len(records)
            result["total_was_estimated"] = False
        return Reply.json(
            {
                "help": "https://portal/api/3/action/help_show?name=datastore_search",
                "success": True,
                "result": result,
            }
        )

    return handle


SQL = re.compile(r'FROM "([^"]+)" WHERE (.*) ORDER BY _id LIMIT (\d+) OFFSET (\d+)$')


def ckan_datastore_sql(
    resource_id: str, fields: list[dict[str, str]], records: list[dict[str, Any]]
) -> Handler:
    """`datastore_search_sql` for `SELECT * ... WHERE "col" > 'v' ORDER BY _id LIMIT OFFSET`."""

    def handle(request: Seen) -> Reply:
        match = SQL.search(request.query.get("sql", ""))
        if not match or match.group(1) != resource_id:
            error = {"__type": "Validation Error", "query": ["unsupported in the test portal"]}
            return Reply.json({"success": False, "error": error}, 409)
        condition = after_watermark(match.group(2))
        limit, offset = int(match.group(3)), int(match.group(4))
        selected = [r for r in records if _passes(r, condition)]
        result = {
            "records": selected[offset : offset + limit],
            "fields": [
                {"id": "_id", "type": "int"},
                {"id": "_full_text", "type": "tsvector"},
                *fields,
            ],
            "sql": request.query["sql"],
        }
        return Reply.json({"help": "...", "success": True, "result": result})

    return handle


def arcgis_layer(layer: dict[str, Any], features: list[dict[str, Any]]) -> Handler:
    """`<layer>/query`: `resultOffset`/`resultRecordCount` capped by `maxRecordCount`."""
    cap = layer["maxRecordCount"]
    dates = {f["name"] for f in layer["fields"] if f["type"] == "esriFieldTypeDate"}

    def handle(request: Seen) -> Reply:
        q = request.query
        condition = after_watermark(q.get("where"))
        selected = [f for f in features if _passes_arcgis(f["attributes"], condition, dates)]
        oid = layer["objectIdField"]
        if q.get("returnIdsOnly") == "true":
            ids = [f["attributes"][oid] for f in selected]
            return Reply.json({"objectIdFieldName": oid, "objectIds": ids})
        if q.get("objectIds"):
            wanted = {int(i) for i in q["objectIds"].split(",")}
            selected = [f for f in selected if f["attributes"][oid] in wanted]
        if q.get("orderByFields"):
            selected.sort(key=lambda f: f["attributes"][q["orderByFields"]])
        offset = int(q.get("resultOffset", 0))
        count = min(int(q.get("resultRecordCount", cap)), cap)
        page = selected[offset : offset + count]
        document = {
            "objectIdFieldName": layer["objectIdField"],
            "uniqueIdField": {"name": layer["objectIdField"], "isSystemMaintained": True},
            "globalIdFieldName": "",
            "geometryType": layer["geometryType"],
            "spatialReference": {"wkid": 4326, "latestWkid": 4326},
            "fields": layer["fields"],
            "features": page
            if q.get("returnGeometry") == "true"
            else [{"attributes": f["attributes"]} for f in page],
        }
        if offset + count < len(selected):
            document["exceededTransferLimit"] = True
        return Reply.json(document)

    return handle


def _passes(row: dict[str, Any], condition: tuple[str, str] | None) -> bool:
    if condition is None:
        return True
    value = row.get(condition[0])
    return value is not None and str(value) > condition[1]


def _passes_arcgis(row: dict[str, Any], condition: tuple[str, str] | None, dates: set[str]) -> bool:
    if condition is None or condition[0] not in dates:
        return _passes(row, condition)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row[condition[0]] / 1000))
    return stamp > condition[1]


# -- real rows from the bundled Chicago extracts ---------------------------------------------


def chicago_rows(sql: str) -> Iterator[dict[str, Any]]:
    """Rows of a query over `sources/chicago/` (paths relative to `sources/`), as dicts."""
    with duckdb.connect() as con:
        con.execute(f"set file_search_path = '{SOURCES}'")
        relation = con.sql(sql)
        names = relation.columns
        for values in relation.fetchall():
            yield dict(zip(names, values, strict=True))
