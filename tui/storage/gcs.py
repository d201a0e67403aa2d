"""Google Cloud Storage behind the Store interface.

google-cloud-storage is imported inside methods: importing it costs a few hundred milliseconds
and the UI must paint first. Calls carry a short retry deadline so a dead network or a stopped
emulator gives an error in seconds; every library error leaves this module as a TfscopeError.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, cast
from urllib.parse import quote

from tui.errors import NoCredentialsError, NotFoundError
from tui.storage.base import PAGE_SIZE, Entry, ObjectStat, TransferStats
from tui.storage.errors import STALL_SECONDS, emulator_host, translated
from tui.storage.parallel_listing import WORKERS, ParallelListing
from tui.storage.ranged import BLOCK_SIZE, BlockCachedReader
from tui.storage.uri import GCS_SCHEME, Location

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Client

LISTING_FIELDS = "items(name,size,updated,generation,crc32c,md5Hash,contentType,storageClass),prefixes,nextPageToken"
"""What a level's listing asks for (what `_stat` reads): about a third of each object's JSON."""
CONNECT_SECONDS = 3.05
BUCKET_METADATA_ENV = "DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA"
"""google-cloud-storage 3.17 GETs each bucket's metadata in a background thread to label OpenTelemetry
spans, even with tracing off: one more request per bucket, and a 403 for viewer-only accounts."""
FIRST_READ = 1024 * 1024
"""The first read of an object fetches up to this much of its front (all of a small object): at GCS's
~100 MB/s per stream a MiB costs ~10 ms, less than one more round trip, and model files keep their
metadata at the front (an HDF5 superblock and root attributes, a .keras zip's config.json)."""
CONNECTIONS = 64
"""Connections kept open to storage: a scan's parallel reads and chunked downloads reuse them (requests
keeps 10 by default and opens, then drops, one more for each read past that, a new handshake each)."""


class GcsStore:
    """Buckets and objects in Google Cloud Storage (or the emulator named by STORAGE_EMULATOR_HOST).

    Args:
        project: Project whose buckets `gs://` lists; None takes the credentials' project.
        anonymous: Use no credentials at all (public buckets only).
        deadline: Seconds an interactive call may spend on retries before it fails.
        stall: Seconds without a byte after which a request fails (a stalled transfer).
        page_size: Entries per page of a level's listing (tests make it small to get many pages).
        listing_workers: Name ranges of one level listed at once (requests in flight for it).
    """

    def __init__(
        self,
        project: str | None = None,
        anonymous: bool = False,
        deadline: float = 6.0,
        stall: float = STALL_SECONDS,
        page_size: int = PAGE_SIZE,
        listing_workers: int = WORKERS,
    ) -> None:
        self.project = project
        self.anonymous = anonymous
        self.deadline = deadline
        self.stall = stall
        self.page_size = page_size
        self.listing_workers = listing_workers
        self._client: Client | None = None
        self._lock = threading.Lock()
        self.stats = TransferStats()
        """Requests made and payload bytes received, for the inspect readers' budgets and the benchmarks."""

    # -- the client -------------------------------------------------------------------------

    def client(self) -> Client:
        """The storage client, made on first use (this resolves credentials: call it off the UI thread)."""
        with self._lock:
            if self._client is None:
                with translated(Location(GCS_SCHEME)):
                    self._client = self._make_client()
            return self._client

    def _make_client(self) -> Client:
        from google.cloud import storage

        os.environ.setdefault(BUCKET_METADATA_ENV, "true")  # read per call; a user's own setting wins
        if self.anonymous:
            client = storage.Client.create_anonymous_client()
            client.project = self.project
        elif emulator_host():
            # The emulator needs no credentials; the client uses anonymous ones when the variable is set.
            client = storage.Client(project=self.project or "tfscope-emulator")
        else:
            client = storage.Client(project=self.project)
        client._http.hooks["response"].append(self.stats.count_response)
        from requests.adapters import HTTPAdapter

        for scheme in ("https://", "http://"):  # parallel reads reuse connections instead of reopening them
            client._http.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=CONNECTIONS))
        return client

    def _call_options(self) -> dict[str, Any]:
        from google.cloud.storage.retry import DEFAULT_RETRY

        retry = DEFAULT_RETRY.with_delay(initial=0.2, maximum=2.0).with_timeout(self.deadline)
        return {"retry": retry, "timeout": (CONNECT_SECONDS, self.stall)}

    # -- Store ------------------------------------------------------------------------------

    def list_level(self, location: Location) -> Iterator[list[Entry]]:
        if not location.bucket:
            yield from self._list_buckets()
            return
        prefix = location.as_dir().path
        folder = Location(GCS_SCHEME, location.bucket, prefix)
        with translated(location, stall=self.stall):
            client = self.client()

            def fetch(start: str | None, end: str | None, token: str | None) -> tuple[list[Entry], str | None]:
                with translated(location, stall=self.stall):  # also in the range workers' threads
                    return self._level_page(client, folder, start, end, token)

            first, token = fetch(None, None, None)
            if not first and prefix:
                raise NotFoundError(f"Nothing under {folder.uri}.", "Check the path; listings are case-sensitive.")
            first.sort(key=lambda e: e.location.path)
            yield first
            if token is None:
                return
            # Asked for more than the first page (a peek into a folder stops here): list the rest in ranges.
            yield from ParallelListing(fetch, prefix, first, self.page_size, self.listing_workers)

    def _level_page(
        self, client: Client, folder: Location, start: str | None, end: str | None, token: str | None
    ) -> tuple[list[Entry], str | None]:
        """One page of a level's listing, read from the JSON itself: the library's Blob for each of
        1,000 objects costs more CPU than the request's wait, and a row needs none of it."""
        params: dict[str, Any] = {
            "projection": "noAcl",
            "prefix": folder.path,
            "delimiter": "/",
            "maxResults": self.page_size,
            "fields": LISTING_FIELDS,
        }
        if start is not None:
            params["startOffset"] = start
        if end is not None:
            params["endOffset"] = end
        if token is not None:
            params["pageToken"] = token
        options = self._call_options()
        answer = client._connection.api_request(
            method="GET", path=f"/b/{folder.bucket}/o", query_params=params, **options
        )
        bucket = folder.bucket
        entries = [Entry(Location(GCS_SCHEME, bucket, p)) for p in answer.get("prefixes", ())]
        entries += [
            Entry(Location(GCS_SCHEME, bucket, item["name"]), _stat_of_resource(item))
            for item in answer.get("items", ())
            if item["name"] != folder.path  # the zero-byte "folder" object some tools create
        ]
        token = answer.get("nextPageToken")
        return entries, str(token) if token else None

    def _list_buckets(self) -> Iterator[list[Entry]]:
        where = Location(GCS_SCHEME)
        with translated(where, stall=self.stall):
            client = self.client()
            if client.project is None:
                raise NoCredentialsError(
                    "Listing buckets needs a project, and there is none with these credentials.",
                    "Open a bucket directly (`tfscope gs://bucket/`) or pass --project.",
                    title="No project",
                )
            for page in client.list_buckets(page_size=PAGE_SIZE, **self._call_options()).pages:
                # GCS answers in name order; the emulator does not, so sort each page to be sure.
                yield sorted((Entry(Location(GCS_SCHEME, b.name, "")) for b in page), key=lambda e: e.name)

    def list_recursive(self, location: Location) -> Iterator[list[Entry]]:
        with translated(location, stall=self.stall):
            pages = (
                self.client()
                .list_blobs(
                    location.bucket,
                    prefix=location.as_dir().path,
                    page_size=PAGE_SIZE,
                    fields=LISTING_FIELDS,
                    **self._call_options(),
                )
                .pages
            )
            for page in pages:
                yield [Entry(Location(GCS_SCHEME, location.bucket, b.name), _stat(b)) for b in page]

    def stat(self, location: Location) -> ObjectStat:
        return _stat(self._blob(location))

    def _blob(self, location: Location) -> Blob:
        with translated(location, stall=self.stall):
            blob = self.client().bucket(location.bucket).get_blob(location.path, **self._call_options())
        if blob is None:  # get_blob answers None for a missing object and for a missing bucket alike
            raise NotFoundError(f"{location.uri} does not exist.", "Check the bucket and object names.")
        return blob

    def read_range(self, location: Location, start: int, length: int, generation: int | None = None) -> bytes:
        if start < 0:
            start = max(0, self.stat(location).size + start)
        return self._read(location, start, length, generation)

    def _read(self, location: Location, start: int, length: int, generation: int | None) -> bytes:
        if length <= 0:
            return b""
        with translated(location, generation, stall=self.stall):
            blob = self.client().bucket(location.bucket).blob(location.path, generation=generation)
            data: bytes = blob.download_as_bytes(
                start=start, end=start + length - 1, checksum=None, **self._call_options()
            )
            return data

    def open(self, location: Location, known: ObjectStat | None = None, tail: int = 0) -> BinaryIO:
        seeds: list[tuple[int, bytes]] = []
        generation: int | None
        if known is not None and known.generation is not None:
            size, generation = known.size, known.generation
        elif (front := self._front(location, tail)) is not None:  # its first bytes, size and generation at once
            size, generation, seeds = front
        else:
            stat = self.stat(location)
            size, generation = stat.size, stat.generation

        def fetch(start: int, length: int) -> bytes:
            # Pinned to the generation first seen: an overwrite mid-read fails instead of mixing two files.
            return self._read(location, start, length, generation)

        # A small object is fetched whole on the first read, a big one's first MiB (and the tail asked for):
        # one round trip where a reader's scattered reads (a header, a footer, a table) would each wait for one.
        block = size if 0 < size <= FIRST_READ else BLOCK_SIZE
        reader = BlockCachedReader(fetch, size, block_size=block, head=FIRST_READ, tail=tail, seeds=seeds)
        return cast(BinaryIO, reader)

    def _front(self, location: Location, tail: int) -> tuple[int, int, list[tuple[int, bytes]]] | None:
        """The object's size, its generation and its first FIRST_READ bytes (and its last `tail`, side by
        side), from ranged GETs alone: a stat first would cost a round trip more. None where an answer does
        not say them all (an empty object, a transcoded one): the caller then asks with a stat."""
        from google.api_core.exceptions import from_http_response

        with translated(location, stall=self.stall):
            client = self.client()
            url = (f"{client._connection.API_BASE_URL}/download/storage/v1/b/{quote(location.bucket, safe='')}"
                   f"/o/{quote(location.path, safe='')}?alt=media")  # fmt: skip
            retry = self._call_options()["retry"]

            def get(byte_range: str, most: int) -> _Piece | None:
                headers = {"Range": f"bytes={byte_range}", "Accept-Encoding": "identity"}
                # Streamed: the body is read only once the headers say it is the piece asked for.
                response = client._http.get(url, headers=headers, timeout=(CONNECT_SECONDS, self.stall), stream=True)
                with response:
                    if response.status_code == 416:  # an empty object has no bytes to range over
                        return None
                    if response.status_code >= 400:
                        raise from_http_response(response)  # type: ignore[no-untyped-call]  # reads the body
                    piece = _piece_of(response.status_code, response.headers)
                    if piece is None or piece.length > most:  # not the piece asked for: not read
                        return None
                    data = response.content
                    if len(data) != piece.length:
                        raise ConnectionError(f"Response ended prematurely: {len(data)} of {piece.length} bytes")
                    return piece._replace(data=data)

            with ThreadPoolExecutor(1, thread_name_prefix="tfscope-tail") if tail > 0 else nullcontext() as pool:
                # A block more than asked: the whole blocks of the answer then cover the last `tail` bytes.
                end = pool.submit(retry(get), f"-{tail + BLOCK_SIZE}", tail + BLOCK_SIZE) if pool is not None else None
                front = retry(get)(f"0-{FIRST_READ - 1}", FIRST_READ)
                back = end.result() if end is not None else None
            if front is None or front.start != 0:
                return None
            seeds = [(front.start, front.data)]
            if back is not None and back.generation == front.generation:  # else a new upload between: not mixed
                seeds.append((back.start, back.data))
            return front.size, front.generation, seeds

    def download(self, location: Location, dest: Path) -> None:
        with translated(location, stall=self.stall):
            blob = self.client().bucket(location.bucket).blob(location.path)
            blob.download_to_filename(str(dest), **self._call_options())


def _stat_of_resource(item: dict[str, Any]) -> ObjectStat:
    """What `_stat` reads from a Blob, from the object's JSON resource (the fields LISTING_FIELDS asks for)."""
    updated = item.get("updated")
    generation = item.get("generation")
    content_type = item.get("contentType")
    storage_class = item.get("storageClass")
    return ObjectStat(
        size=int(item.get("size") or 0),
        updated=_parse_time(updated) if updated else None,
        generation=int(generation) if generation is not None else None,
        crc32c=item.get("crc32c"),
        md5=item.get("md5Hash"),
        # A level holds a handful of distinct values: one string each, not one a row.
        content_type=sys.intern(content_type) if content_type else content_type,
        storage_class=sys.intern(storage_class) if storage_class else storage_class,
    )


class _Piece(NamedTuple):
    """What one ranged GET answered: where its bytes start, how many, and the object's size and generation."""

    start: int
    length: int
    size: int
    generation: int
    data: bytes = b""


def _piece_of(status: int, headers: Mapping[str, str]) -> _Piece | None:
    """The piece a ranged GET's headers announce, or None if the answer is not a plain 206 saying it all."""
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("Content-Range", ""))
    generation = headers.get("X-Goog-Generation", "")
    transcoded = headers.get("Content-Encoding", "identity") != "identity"
    if status != 206 or match is None or not generation.isdigit() or transcoded:
        return None
    start, last, size = int(match[1]), int(match[2]), int(match[3])
    if not start <= last < size:
        return None
    return _Piece(start, last - start + 1, size, int(generation))


def _parse_time(text: str) -> datetime:
    """An RFC 3339 time as GCS writes it ("2026-11-01T09:30:00.123Z"), like Blob.updated reads it."""
    try:
        return datetime.fromisoformat(text)  # C, and Python 3.11 reads "Z" and any fraction
    except ValueError:
        from google.cloud._helpers import _rfc3339_nanos_to_datetime

        parsed: datetime = _rfc3339_nanos_to_datetime(text)  # type: ignore[no-untyped-call]
        return parsed


def _stat(blob: Blob) -> ObjectStat:
    return ObjectStat(
        size=int(blob.size or 0),
        updated=blob.updated,
        generation=blob.generation,
        crc32c=blob.crc32c,
        md5=blob.md5_hash,
        content_type=blob.content_type,
        storage_class=blob.storage_class,
    )
