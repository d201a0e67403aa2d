"""Every answer from storage bounded in bytes and in time, at the socket.

A server can answer with a body that never ends, or trickle a byte a second so the read timeout
(silence) never fires. Both are stopped here, under requests, urllib3 and google-cloud-storage, so
no code path above can forget them: each HTTP answer is read through a socket reader that allows at
most `max_bytes` (headers and framing included) and ends at a deadline set when the answer starts.
The caller sets both for the requests it makes with `bounded(...)`; anything else (a credential
refresh) gets the bounds of a JSON answer.

The errors are plain Exceptions, not OSErrors: urllib3 then closes the connection instead of reusing
it, and neither urllib3, requests nor google's retry predicate retries them.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

GRACE_SECONDS = 15.0
"""Time every answer gets before its bytes are counted: a round trip, the server's own work, headers."""
MIN_RATE = 64 * 1024
"""Bytes per second an answer must keep up on average: a read of N bytes has GRACE_SECONDS + N / MIN_RATE."""
SLACK_BYTES = 64 * 1024
"""Bytes an answer may hold beyond its payload: status line, headers, chunk framing, read-ahead."""
JSON_MAX_BYTES = 16 * 1024 * 1024
"""The most a JSON answer (a listing page, an object's metadata) may hold: a page of 1,000 objects is
about 300 KB."""


@dataclass(frozen=True)
class Bounds:
    """What one answer may take: bytes read off the socket, and seconds from its first read."""

    max_bytes: int
    seconds: float


def transfer_bounds(payload: int) -> Bounds:
    """The bounds of an answer carrying `payload` bytes."""
    return Bounds(payload + SLACK_BYTES, GRACE_SECONDS + payload / MIN_RATE)


class AnswerTooBig(Exception):
    """The server sent more than the request allows."""

    def __init__(self, bounds: Bounds) -> None:
        super().__init__(f"the answer went past {bounds.max_bytes:,} bytes")
        self.bounds = bounds


class AnswerTooSlow(Exception):
    """The server fell behind the minimum rate (a trickle: bytes keep coming, too few)."""

    def __init__(self, received: int, seconds: float) -> None:
        super().__init__(f"the answer had sent {received:,} bytes in {seconds:.0f} s")
        self.received = received
        self.seconds = seconds


_local = threading.local()


@contextmanager
def bounded(bounds: Bounds) -> Iterator[None]:
    """Requests made by this thread inside the block get `bounds` (each answer its own)."""
    previous = getattr(_local, "bounds", None)
    _local.bounds = bounds
    try:
        yield
    finally:
        _local.bounds = previous


class _BoundedSocketReader(io.RawIOBase):
    """A socket's bytes, at most `bounds.max_bytes` of them, each read given only the time left.

    The time an answer has grows with what it has sent: GRACE_SECONDS, plus a second per MIN_RATE bytes
    received, up to `bounds.seconds`. A trickle is stopped soon after the grace (it earns no time),
    whatever the answer was allowed to hold; an answer at the minimum rate or faster is never stopped.

    Reads through the socket file http.client made (`raw`): it holds the socket open while the
    answer is read, even after its connection lets go of it (an answer with `Connection: close`)."""

    def __init__(self, sock: socket.socket, raw: io.RawIOBase, bounds: Bounds) -> None:
        self._sock = sock
        self._raw = raw
        self._bounds = bounds
        self._left = bounds.max_bytes
        self._start = time.monotonic()
        self._grace = GRACE_SECONDS
        self._rate = MIN_RATE

    def _deadline(self) -> float:
        received = self._bounds.max_bytes - self._left
        return self._start + min(self._bounds.seconds, self._grace + received / self._rate)

    def _too_slow(self) -> AnswerTooSlow:
        return AnswerTooSlow(self._bounds.max_bytes - self._left, time.monotonic() - self._start)

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._sock.fileno()

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            raise AnswerTooBig(self._bounds)
        remaining = self._deadline() - time.monotonic()
        if remaining <= 0:
            raise self._too_slow()
        timeout = self._sock.gettimeout()  # the stall timeout urllib3 set
        self._sock.settimeout(remaining if timeout is None else min(timeout, remaining))
        try:
            count = self._raw.readinto(memoryview(buffer)[: self._left]) or 0
        except TimeoutError:
            if time.monotonic() >= self._deadline():
                raise self._too_slow() from None
            raise  # silence for the stall timeout: urllib3's ReadTimeoutError, as before
        finally:
            self._sock.settimeout(timeout)
        self._left -= count
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


class _BoundedResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None):
        super().__init__(sock, debuglevel, method, url)
        bounds = getattr(_local, "bounds", None) or transfer_bounds(JSON_MAX_BYTES)
        raw = self.fp.detach()  # the socket file under http.client's buffer, now under the bounded one
        self.fp = io.BufferedReader(_BoundedSocketReader(sock, raw, bounds))


class _HTTPConnection(HTTPConnection):
    response_class = _BoundedResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = _BoundedResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """A requests adapter whose every answer is read through the bounded reader."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
