"""Row 4's bucket: one prefix of 100,000 objects, served by the JSON API's `objects.list` only.

fake-gcs-server cannot hold that many objects in one prefix in a benchmark's time: its memory backend
seeds them in quadratic time (measured: 5,000 objects 2.1 s, 10,000 8 s, 20,000 33 s at start-up, and
uploads after start slow down the same way), and its filesystem backend re-reads the whole folder for
every page (10,000 objects: 0.17 s a page). So this server answers the one call the listing makes,
with resources shaped like GCS's (same fields, same sizes), in name order, 1,000 a page at most.

It honours what `objects.list` takes the way the JSON API reference describes it: `prefix`, `delimiter`
(names with the delimiter after the prefix collapse to one entry of `prefixes`), `startOffset`
(inclusive) and `endOffset` (exclusive), `maxResults` (items and prefixes together) and `pageToken`. The
offsets filter object names, and a prefix is reported when an object in range lies under it, so a
prefix whose objects straddle an offset comes back from both sides of it, as GCS does (fake-gcs-server
instead compares the prefix string itself with the offsets).
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BUCKET = "tfscope-listing"
PREFIX = "shards/"
UPDATED = "2026-11-01T09:30:00.000Z"


def _resource(index: int, name: str | None = None) -> str:
    name = name or f"{PREFIX}part-{index:06d}-of-100000.tfrecord"
    generation = str(1761989400000000 + index)
    return json.dumps({
        "kind": "storage#object", "id": f"{BUCKET}/{name}/{generation}",  # (links not escaped like GCS's)
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{BUCKET}/o/{name.replace('/', '%2F')}",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{BUCKET}/o/"
                     f"{name.replace('/', '%2F')}?generation={generation}&alt=media",
        "name": name, "bucket": BUCKET, "generation": generation, "metageneration": "1",
        "contentType": "application/octet-stream", "storageClass": "STANDARD", "size": str(4_000_000 + index),
        "md5Hash": "XrY7u+Ae7tCTyyK7j1rNww==", "crc32c": "yZRlqg==", "etag": "CMe/3eSPqpEDEAE=",
        "timeCreated": UPDATED, "updated": UPDATED, "timeStorageClassUpdated": UPDATED,
    })  # fmt: skip


class ListingServer:
    """`GET /storage/v1/b/<BUCKET>/o?prefix=...&delimiter=/&startOffset=...&maxResults=N&pageToken=T`.

    Args:
        count: Objects `shards/part-NNNNNN-of-100000.tfrecord`, when `names` is not given.
        fields: Partial-response selectors to prepare before any listing is timed.
        names: Any object names instead (tests: unicode, folders, uneven numbering).
    """

    def __init__(self, count: int = 100_000, fields: tuple[str, ...] = (), names: Sequence[str] = ()) -> None:
        self.names = sorted(names) if names else [f"{PREFIX}part-{i:06d}-of-100000.tfrecord" for i in range(count)]
        self.count = len(self.names)
        self.resources = [_resource(i, n if names else None) for i, n in enumerate(self.names)]
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
        def arg(key: str) -> str:
            return query.get(key, [""])[0]

        prefix, delimiter, end_offset = arg("prefix"), arg("delimiter"), arg("endOffset")
        size = min(1000, int(arg("maxResults") or 1000))
        start = max(arg("startOffset"), prefix)
        index = bisect.bisect_left(self.names, start)
        token = arg("pageToken")
        if token:  # the last entry returned: go on after it (after every name under it, for a prefix)
            after = token + "\U0010ffff" if delimiter and token.endswith(delimiter) else token
            index = max(index, bisect.bisect_right(self.names, after))
        resources = self._resources(arg("fields"))
        items: list[str] = []
        prefixes: list[str] = []
        last = ""
        while index < self.count and len(items) + len(prefixes) < size:
            name = self.names[index]
            if not name.startswith(prefix) or (end_offset and name >= end_offset):
                break
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                items.append(resources[index])
                last = name
                index += 1
                continue
            folder = name[: cut + len(delimiter)]
            prefixes.append(folder)
            last = folder
            # Every object under it, as far as the range goes, is this one entry.
            index = bisect.bisect_left(self.names, folder + "\U0010ffff")
        more = (
            index < self.count
            and self.names[index].startswith(prefix)
            and not (end_offset and self.names[index] >= end_offset)
        )
        self.pages_served += 1
        answer = f'{{"kind": "storage#objects", "items": [{",".join(items)}]'
        if prefixes:
            answer += f', "prefixes": {json.dumps(prefixes)}'
        if more:
            answer += f', "nextPageToken": {json.dumps(last)}'
        return (answer + "}").encode()

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
                # Headers and body in one write: as two, Nagle's algorithm holds the body back until the
                # headers' delayed ACK (40 ms on Linux), which GCS's and fake-gcs-server's answers never wait.
                self._headers_buffer.append(b"\r\n")
                self.wfile.write(b"".join(self._headers_buffer) + body)
                self._headers_buffer = []

            def log_message(self, *args: object) -> None:
                pass

        return Handler
