"""Hard limits on one HTTP exchange: a total deadline, body sizes, bounded decompression.

- `Deadline` really bounds a request: at the deadline a timer shuts the request's sockets, so
  a portal trickling one byte per read (which per-read timeouts never stop) is cut off too.
- `BodyReader` counts the bytes on the wire and after decompression against `Limits`, and
  inflates gzip/deflate itself in small pieces, so a compression bomb costs a few MB of memory
  and stops at the limit (or at an absurd compression ratio) instead of filling memory or disk.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.connectors.base import ConnectorError

MB = 1 << 20
PIECE_BYTES = 1 * MB  # the most one inflate step produces
RATIO_CHECK_AFTER = 16 * MB  # the ratio is judged once this much has been inflated
OPTION_NAMES = ("max_body_mb", "max_decompressed_mb")


@dataclass(frozen=True)
class Limits:
    """How much one request may bring. Catalog `portal.options`: max_body_mb, max_decompressed_mb.

    The defaults let through the largest real city extracts (a few GB of CSV) and stop a
    runaway or hostile answer; bodies parsed in memory (JSON pages) have a lower bound.
    """

    max_body_bytes: int = 4096 * MB  # bytes received on the wire
    max_decompressed_bytes: int = 8192 * MB  # bytes after Content-Encoding is undone
    max_in_memory_bytes: int = 512 * MB  # a JSON page held whole
    max_ratio: float = 200.0  # real CSV/JSON compress 5-30x; bombs 1000x

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Limits:
        """Limits from (and removed from) a connector's catalog options."""
        values = {}
        for name, field in zip(
            OPTION_NAMES, ("max_body_bytes", "max_decompressed_bytes"), strict=True
        ):
            if name in options:
                value = options.pop(name)
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ConnectorError(f"portal.options.{name} must be a positive number of MB")
                values[field] = int(value * MB)
        return cls(**values)


class LimitExceeded(ConnectorError):
    """The answer is larger than a limit allows; retrying will not help."""


class Deadline:
    """Shuts the sockets of an exchange when `at` (time.monotonic) passes."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, at - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def remaining(self) -> float:
        return self.at - time.monotonic()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace hook: remember each socket as it is connected."""
        if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with self._lock:
                    self._sockets.append(sock)
                    expired = self.expired
                if expired:
                    _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class BodyReader:
    """Turns raw (still encoded) chunks into body bytes, enforcing `limits`."""

    def __init__(self, encoding: str, limits: Limits, in_memory: bool, what: str) -> None:
        self.what = what
        self.limits = limits
        self.max_out = (
            min(limits.max_decompressed_bytes, limits.max_in_memory_bytes)
            if in_memory
            else limits.max_decompressed_bytes
        )
        encoding = (encoding or "identity").strip().lower()
        self._wbits = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16}.get(
            encoding, zlib.MAX_WBITS
        )
        if encoding in {"gzip", "x-gzip", "deflate"}:
            self._inflater = zlib.decompressobj(wbits=self._wbits)
        elif encoding in {"identity", ""}:
            self._inflater = None
        else:
            raise ConnectorError(
                f"{what}: the server answered with Content-Encoding {encoding!r}, which was not "
                "asked for; only gzip is accepted"
            )
        self.received = 0
        self.produced = 0

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.received += len(chunk)
            if self.received > self.limits.max_body_bytes:
                raise self._too_large("received", self.limits.max_body_bytes, "max_body_mb")
            if self._inflater is None:
                yield self._count(chunk)
                continue
            data = chunk
            while data:
                piece = self._inflater.decompress(data, PIECE_BYTES)
                yield self._count(piece)
                if not self._inflater.eof:
                    data = self._inflater.unconsumed_tail
                elif data := self._inflater.unused_data:  # a further gzip member follows
                    self._inflater = zlib.decompressobj(wbits=self._wbits)
        if self._inflater is not None:
            if not self._inflater.eof:
                raise TruncatedBody("the compressed stream ended early")
            yield self._count(self._inflater.flush())

    def _count(self, piece: bytes) -> bytes:
        self.produced += len(piece)
        if self.produced > self.max_out:
            raise self._too_large("decompressed", self.max_out, "max_decompressed_mb")
        ratio = self.produced / max(1, self.received)
        if self.produced > RATIO_CHECK_AFTER and ratio > self.limits.max_ratio:
            raise LimitExceeded(
                f"{self.what}: the body inflates more than {self.limits.max_ratio:g} times "
                f"({self.received:,} bytes became {self.produced:,}): a compression bomb or a "
                "broken server; stopped, nothing was loaded"
            )
        return piece

    def _too_large(self, kind: str, limit: int, option: str) -> LimitExceeded:
        return LimitExceeded(
            f"{self.what}: the body is larger than the {limit / MB:,.0f} MB allowed ({kind}); "
            f"stopped, nothing was loaded. If the dataset really is this large, raise "
            f"portal.options.{option} in the catalog"
        )


class TruncatedBody(Exception):
    """The body ended before its announced length or its compressed stream's end."""
