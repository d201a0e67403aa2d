"""A GCS JSON API server of our own that answers with hostile data, for the bounds tests and `make fuzz`.

It holds a few objects in memory and serves them as GCS does (metadata, listings, ranged media) until
a trick is set: then media answers never end, trickle, or claim more than was asked, and listings
repeat their page token, hand out new ones forever, or send malformed JSON. It counts the bytes it
managed to send, so a test can tell how much a client took before it hung up. Loopback only.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MEDIA_TRICKS = ("endless_chunked", "until_close", "trickle_headers", "trickle_body", "more_than_asked")
LISTING_TRICKS = (
    "repeat_token",
    "endless_tokens",
    "empty_pages",
    "items_not_objects",
    "size_not_a_number",
    "name_outside_prefix",
    "name_too_long",
    "not_an_object",
    "endless_json",
    "trickle_listing",
)
TRICKLE_SECONDS = 0.2
"""A byte this often: far inside the 10 s stall timeout, so only a deadline ends it."""
GENERATION = 1


class HostileGcs:
    """The server; `trick` (one of MEDIA_TRICKS or LISTING_TRICKS, or None) can change at any time."""

    def __init__(self, bucket: str, objects: dict[str, bytes], trick: str | None = None) -> None:
        self.bucket = bucket
        self.objects = objects
        self.trick = trick
        self.sent = 0
        """Bytes written to clients (what the kernel took: a client's buffers included)."""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client hung up: what
                    super().handle()  # it was meant to do

            def do_GET(self) -> None:
                server._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[HostileGcs]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()

    # -- writing ---------------------------------------------------------------------------

    def _write(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(data)
        handler.wfile.flush()
        with self._lock:
            self.sent += len(data)

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._write(handler, (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body)

    def _json(self, handler: BaseHTTPRequestHandler, answer: Any, status: int = 200) -> None:
        self._send(handler, status, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    def _forever(self, handler: BaseHTTPRequestHandler, head: bytes, chunk: bytes, framed: bool) -> None:
        """`head`, then `chunk` again and again (as chunks of a chunked body where `framed`) until the
        client hangs up."""
        self._write(handler, head)
        piece = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if framed else chunk
        while not self._stopping.is_set():
            self._write(handler, piece)

    def _trickle(self, handler: BaseHTTPRequestHandler, head: bytes, byte: bytes) -> None:
        self._write(handler, head)
        while not self._stopping.is_set():
            time.sleep(TRICKLE_SECONDS)
            self._write(handler, byte)

    # -- answering -------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = unquote(url.path)
        listing_prefix = f"/storage/v1/b/{self.bucket}/o"
        if path.startswith(f"/download/storage/v1/b/{self.bucket}/o/"):
            self._media(handler, path.split("/o/", 1)[1], handler.headers.get("Range", ""))
        elif path == listing_prefix:
            self._listing(handler, query)
        elif path.startswith(listing_prefix + "/"):
            self._metadata(handler, path[len(listing_prefix) + 1 :])
        elif path == "/storage/v1/b":
            self._listing(handler, query, buckets=True)
        else:
            self._json(handler, {"error": {"code": 404, "message": "Not Found"}}, 404)

    def _resource(self, name: str) -> dict[str, Any]:
        return {"name": name, "size": str(len(self.objects[name])), "generation": str(GENERATION),
                "updated": "2026-12-01T10:00:00.000Z", "contentType": "application/octet-stream"}  # fmt: skip

    def _metadata(self, handler: BaseHTTPRequestHandler, name: str) -> None:
        if name not in self.objects:
            self._json(handler, {"error": {"code": 404, "message": "No such object"}}, 404)
        else:
            self._json(handler, self._resource(name))

    def _media(self, handler: BaseHTTPRequestHandler, name: str, asked: str) -> None:
        if name not in self.objects:
            self._json(handler, {"error": {"code": 404, "message": "No such object"}}, 404)
            return
        data = self.objects[name]
        first, _, last = asked.removeprefix("bytes=").partition("-")
        if first == "":  # a suffix range: the last N bytes
            start, end = max(0, len(data) - int(last)), len(data) - 1
        else:
            start, end = int(first), min(int(last), len(data) - 1) if last else len(data) - 1
        content_range = f"bytes {start}-{end}/{len(data)}"
        ranged = f"HTTP/1.1 206 X\r\nContent-Range: {content_range}\r\nX-Goog-Generation: {GENERATION}\r\n"
        trick = self.trick
        if trick == "endless_chunked":
            self._forever(handler, (ranged + "Transfer-Encoding: chunked\r\n\r\n").encode(), b"\0" * 65536, True)
        elif trick == "until_close":
            self._forever(handler, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"\0" * 65536, False)
        elif trick == "trickle_headers":
            self._trickle(handler, ranged.encode() + b"X-Pad: ", b"a")
        elif trick == "trickle_body":
            self._trickle(handler, (ranged + f"Content-Length: {end - start + 1}\r\n\r\n").encode(), b"\0")
        elif trick == "more_than_asked":  # a Content-Range wider than the Range asked for, and its bytes
            wide = (end - start + 1) * 100
            self._send(handler, 206, b"\0" * wide, {"Content-Range": f"bytes {start}-{start + wide - 1}/{start + wide}",
                                                   "X-Goog-Generation": str(GENERATION)})  # fmt: skip
        else:
            self._send(handler, 206, data[start : end + 1],
                       {"Content-Range": content_range, "X-Goog-Generation": str(GENERATION)})  # fmt: skip

    def _listing(self, handler: BaseHTTPRequestHandler, query: dict[str, str], buckets: bool = False) -> None:
        trick, prefix = self.trick, query.get("prefix", "")
        token = query.get("pageToken")
        page = int(token.rsplit("-", 1)[-1]) if token and token.startswith("page-") else 0
        phantoms = [{"name": f"{prefix}phantom-{page:09d}-{i:04d}", "size": "1", "generation": "1"}
                    for i in range(1000)]  # fmt: skip
        if buckets:
            phantoms = [{"name": f"phantom-{page:09d}-{i:04d}"} for i in range(1000)]
        if trick == "repeat_token":
            self._json(handler, {"items": phantoms[:1], "nextPageToken": "same"})
        elif trick == "endless_tokens":
            self._json(handler, {"items": phantoms, "nextPageToken": f"page-{page + 1}"})
        elif trick == "empty_pages":
            self._json(handler, {"nextPageToken": f"page-{page + 1}"})
        elif trick == "items_not_objects":
            self._json(handler, {"items": ["a", "b"]})
        elif trick == "size_not_a_number":
            self._json(handler, {"items": [{"name": f"{prefix}m.h5", "size": "12abc"}]})
        elif trick == "name_outside_prefix":
            self._json(handler, {"items": [{"name": "../../etc/passwd", "size": "1"}]})
        elif trick == "name_too_long":
            self._json(handler, {"items": [{"name": prefix + "x" * 5000, "size": "1"}]})
        elif trick == "not_an_object":
            self._json(handler, ["items"])
        elif trick == "endless_json":
            head = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"items": ['
            self._forever(handler, head, b'{"name": "x", "size": "1"},' * 2000, False)
        elif trick == "trickle_listing":  # whitespace is valid JSON: only the rate can end it
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            self._trickle(handler, head, b" ")
        elif buckets:
            self._json(handler, {"items": [{"name": self.bucket}]})
        else:
            self._json(handler, self._plain_listing(prefix, query.get("delimiter")))

    def _plain_listing(self, prefix: str, delimiter: str | None) -> dict[str, Any]:
        names = sorted(n for n in self.objects if n.startswith(prefix))
        if not delimiter:
            return {"items": [self._resource(n) for n in names]}
        folders = sorted({prefix + n[len(prefix) :].split("/", 1)[0] + "/" for n in names if "/" in n[len(prefix) :]})
        files = [n for n in names if "/" not in n[len(prefix) :]]
        return {"items": [self._resource(n) for n in files], "prefixes": folders}
