"""Row 4's bucket: one prefix of 100,000 objects, served by the JSON API's `objects.list` only.

fake-gcs-server cannot hold that many objects in one prefix in a benchmark's time: its memory backend
seeds them in quadratic time (measured: 5,000 objects 2.1 s, 10,000 8 s, 20,000 33 s at start-up, and
uploads after start slow down the same way), and its filesystem backend re-reads the whole folder for
every page (10,000 objects: 0.17 s a page). So this server answers the one call the listing makes,
with resources shaped like GCS's (same fields, same sizes), in name order, 1,000 a page at most.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BUCKET = "tfscope-listing"
PREFIX = "shards/"
UPDATED = "2026-11-01T09:30:00.000Z"


def _resource(index: int) -> str:
    name = f"{PREFIX}part-{index:06d}-of-100000.tfrecord"
    generation = str(1761989400000000 + index)
    return json.dumps({
        "kind": "storage#object", "id": f"{BUCKET}/{name}/{generation}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{BUCKET}/o/{name.replace('/', '%2F')}",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{BUCKET}/o/"
                     f"{name.replace('/', '%2F')}?generation={generation}&alt=media",
        "name": name, "bucket": BUCKET, "generation": generation, "metageneration": "1",
        "contentType": "application/octet-stream", "storageClass": "STANDARD", "size": str(4_000_000 + index),
        "md5Hash": "XrY7u+Ae7tCTyyK7j1rNww==", "crc32c": "yZRlqg==", "etag": "CMe/3eSPqpEDEAE=",
        "timeCreated": UPDATED, "updated": UPDATED, "timeStorageClassUpdated": UPDATED,
    })  # fmt: skip


class ListingServer:
    """`GET /storage/v1/b/<BUCKET>/o?prefix=...&delimiter=/&maxResults=N&pageToken=T` over `count` objects."""

    def __init__(self, count: int = 100_000, fields: tuple[str, ...] = ()) -> None:
        self.count = count
        self.resources = [_resource(i) for i in range(count)]
        self._partial: dict[str, list[str]] = {}  # `fields` selector -> resources cut to it
        for selector in fields:  # prepared now, not while a timed listing waits
            self._resources(selector)
        self.pages_served = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True, name="listing-server").start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def page(self, query: dict[str, list[str]]) -> bytes:
        prefix = query.get("prefix", [""])[0]
        size = min(1000, int(query.get("maxResults", ["1000"])[0]))
        start = int(query.get("pageToken", ["0"])[0])
        if not PREFIX.startswith(prefix) and not prefix.startswith(PREFIX):
            return b'{"kind": "storage#objects"}'
        if prefix != PREFIX and "delimiter" in query:  # the bucket's root: one folder
            return json.dumps({"kind": "storage#objects", "prefixes": [PREFIX]}).encode()
        end = min(self.count, start + size)
        token = f', "nextPageToken": "{end}"' if end < self.count else ""
        self.pages_served += 1
        items = ",".join(self._resources(query.get("fields", [""])[0])[start:end])
        return f'{{"kind": "storage#objects"{token}, "items": [{items}]}}'.encode()

    def _resources(self, fields: str) -> list[str]:
        """Resources cut to a partial-response selector like GCS does, e.g. `items(name,size),nextPageToken`."""
        if "items(" not in fields:
            return self.resources
        if fields not in self._partial:
            keep = fields.split("items(", 1)[1].split(")", 1)[0].split(",")
            self._partial[fields] = [
                json.dumps({k: v for k, v in json.loads(r).items() if k in keep}) for r in self.resources
            ]
        return self._partial[fields]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urlparse(self.path)
                if url.path == f"/storage/v1/b/{BUCKET}/o":
                    self._send(200, server.page(parse_qs(url.query)))
                elif url.path == f"/storage/v1/b/{BUCKET}":
                    self._send(200, json.dumps({"kind": "storage#bucket", "name": BUCKET}).encode())
                else:
                    self._send(404, b'{"error": {"code": 404, "message": "Not Found"}}')

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
