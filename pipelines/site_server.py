"""Serve the built dashboards site: precompressed files, cache headers, nothing else.

The build (``pipelines.dashboards``) writes ``<file>.br`` and ``<file>.gz`` beside every
compressible file. This server sends the brotli or gzip copy when the browser accepts it
(``Content-Encoding`` with the original file's type, ``Vary: Accept-Encoding``), so the home
page moves a fraction of its bytes (DuckDB-Wasm alone: 34 MB raw, about 6 MB as brotli).
Content-hashed assets under ``/_app/immutable/`` may be cached for a year, so DuckDB-Wasm is
downloaded once per browser; every other file is revalidated (``Last-Modified`` -> 304).
"""

from __future__ import annotations

import email.utils
import os
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

IMMUTABLE_PREFIX = "/_app/immutable/"  # SvelteKit's content-hashed build output
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first


class ServeError(RuntimeError):
    """The site cannot be served (e.g. not built yet); the message says what to do."""


def accepted_encodings(header: str | None) -> set[str]:
    """Content codings the client accepts (``Accept-Encoding``), ignoring those with q=0."""
    accepted = set()
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            if float(q) > 0 and name:
                accepted.add(name.strip().lower())
        except ValueError:
            continue
    return accepted


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files with precompressed variants and cache headers."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".geojson": "application/geo+json",
        ".parquet": "application/octet-stream",
        ".arrow": "application/vnd.apache.arrow.stream",
        ".webmanifest": "application/manifest+json",
    }

    def send_head(self):  # noqa: C901 - one request's decisions, in order
        path = self.translate_path(self.path)
        url_path = urlsplit(self.path).path
        if os.path.isdir(path):
            if not url_path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                parts = urlsplit(self.path)
                self.send_header(
                    "Location", parts.path + "/" + ("?" + parts.query if parts.query else "")
                )
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            path = os.path.join(path, "index.html")
        if not os.path.isfile(path):
            return self._not_found()
        ctype = self.guess_type(path)
        encoding, served = None, path
        accepted = accepted_encodings(self.headers.get("Accept-Encoding"))
        for name, suffix in ENCODINGS:
            if name in accepted and os.path.isfile(path + suffix):
                encoding, served = name, path + suffix
                break
        stat = os.stat(served)
        modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        since = self.headers.get("If-Modified-Since")
        if since and "If-None-Match" not in self.headers:
            try:
                if int(stat.st_mtime) <= email.utils.parsedate_to_datetime(since).timestamp():
                    self.send_response(HTTPStatus.NOT_MODIFIED)
                    self._common_headers(url_path, modified)
                    self.end_headers()
                    return None
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
        handle = open(served, "rb")  # noqa: SIM115 - closed by the base class after copying
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(stat.st_size))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self._common_headers(url_path, modified)
        self.end_headers()
        return handle

    def _common_headers(self, url_path: str, modified: str) -> None:
        self.send_header("Last-Modified", modified)
        self.send_header("Vary", "Accept-Encoding")
        immutable = url_path.startswith(IMMUTABLE_PREFIX)
        self.send_header(
            "Cache-Control", "public, max-age=31536000, immutable" if immutable else "no-cache"
        )

    def _not_found(self):
        page = Path(self.directory) / "404.html"
        if not page.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        body = page.read_bytes()
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None


def make_server(build_dir: Path, host: str = "127.0.0.1", port: int = 4000) -> ThreadingHTTPServer:
    """A server for ``build_dir`` (not started); port 0 picks a free port."""
    build_dir = Path(build_dir)
    if not (build_dir / "index.html").is_file():
        raise ServeError(f"no built site in {build_dir}: build it first (civic dashboards build)")
    return ThreadingHTTPServer((host, port), partial(SiteHandler, directory=str(build_dir)))


def serve_site(build_dir: Path, host: str = "127.0.0.1", port: int = 4000) -> None:
    """Serve ``build_dir`` until Ctrl-C. Use host="0.0.0.0" to reach it from other machines."""
    server = make_server(build_dir, host, port)
    print(f"[dashboards] serving {build_dir} at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("[dashboards] stopped", flush=True)
    finally:
        server.server_close()
