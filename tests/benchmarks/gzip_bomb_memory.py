"""Peak memory of fetching a 1 MB gzip bomb (1 GiB of zeros) from a local server.

Not a pytest: a script to run under a whole-process meter, e.g. `/usr/bin/time -v`:

    /usr/bin/time -v uv run python tests/benchmarks/gzip_bomb_memory.py            # HttpClient
    /usr/bin/time -v uv run python tests/benchmarks/gzip_bomb_memory.py --baseline # read + inflate

The server (127.0.0.1, a thread of this process) answers with `Content-Encoding: gzip` and 64
gzip members of 16 MiB of zeros each (about 1 MB on the wire). `HttpClient.get_json` stops at
the compression-ratio limit after inflating a few MB in 1 MB pieces; `--baseline` does what
the stdlib client before it did: read the whole body, then `gzip.decompress` it in one call.
Prints what happened; the peak resident memory is the meter's ("Maximum resident set size").
"""

from __future__ import annotations

import argparse
import gzip
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pipelines.connectors import HttpClient, RetryPolicy
from pipelines.connectors.limits import LimitExceeded

BOMB = gzip.compress(b"\0" * (16 << 20), compresslevel=9) * 64


class Bomb(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(BOMB)))
        self.end_headers()
        self.wfile.write(BOMB)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", action="store_true", help="read whole, then inflate")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bomb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/page.json"
    if args.baseline:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = gzip.decompress(response.read())
        print(f"baseline: inflated {len(BOMB):,} bytes to {len(body):,}")
    else:
        try:
            HttpClient(policy=RetryPolicy(max_attempts=1)).get_json(url, what="bomb page")
        except LimitExceeded as error:
            print(f"HttpClient: {error}")
    server.shutdown()


if __name__ == "__main__":
    main()
