"""Google Cloud Storage behind the Store interface.

google-cloud-storage is imported inside methods: importing it costs a few hundred milliseconds
and the UI must paint first. Calls carry a short retry deadline so a dead network or a stopped
emulator gives an error in seconds; every library error leaves this module as a TfscopeError.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, TypeVar, cast
from urllib.parse import quote

from tui.errors import BadAnswerError, FileTooLargeError, NoCredentialsError, NotFoundError
from tui.storage.base import PAGE_SIZE, Entry, ObjectStat, TransferStats
from tui.storage.errors import SERVER_FIX, STALL_SECONDS, emulator_host, translated
from tui.storage.listing_guard import LEVEL_MAX_ENTRIES, ListingGuard, level_cap_reached
from tui.storage.parallel_listing import WORKERS, ParallelListing
from tui.storage.ranged import BLOCK_SIZE, BlockCachedReader
from tui.storage.uri import GCS_SCHEME, Location

if TYPE_CHECKING:
    from google.cloud.storage import Client
    from requests import Response

T = TypeVar("T")

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
DOWNLOAD_CHUNK = 8 * 1024 * 1024
"""Bytes per ranged read of a download: each read is bounded by what it asked for."""
ERROR_BODY_BYTES = 64 * 1024
"""The most of an error answer's body read for its message."""
MAX_NAME_BYTES = 1024
"""GCS object names are at most 1,024 bytes of UTF-8; a listing naming a longer one is not GCS."""
MAX_TOKEN_CHARS = 4096

_LIBRARIES = ("google.cloud.storage", "google.cloud.storage.retry", "google.cloud._helpers",
              "google.api_core.exceptions", "google.auth.exceptions", "requests.exceptions",
              "tui.storage.bounded_http")  # fmt: skip
_imports_lock = threading.Lock()
_imported = False


def _import_libraries() -> None:
    """Import google-cloud-storage, requests and what reads their answers, once and on one thread.

    Worker threads read in parallel from the first moment; two threads importing the same packages at
    once can each meet the other's half-initialized modules (`cannot import name 'HTTPAdapter' from
    partially initialized module`, seen under `tfscope run`). After this, the methods' own imports
    only look modules up.
    """
    global _imported
    with _imports_lock:
        if _imported:
            return
        for name in _LIBRARIES:
            importlib.import_module(name)
        _imported = True


class GcsStore:
    """Buckets and objects in Google Cloud Storage (or the emulator named by STORAGE_EMULATOR_HOST).

    Args:
        project: Project whose buckets `gs://` lists; None takes the credentials' project.
        anonymous: Use no credentials at all (public buckets only).
        deadline: Seconds an interactive call may spend on retries before it fails.
        stall: Seconds without a byte after which a request fails (a stalled transfer).
        page_size: Entries per page of a level's listing (tests make it small to get many pages).
        listing_workers: Name ranges of one level listed at once (requests in flight for it).
        level_max_entries: Entries one level lists before it stops and says so.
    """

    def __init__(
        self,
        project: str | None = None,
        anonymous: bool = False,
        deadline: float = 6.0,
        stall: float = STALL_SECONDS,
        page_size: int = PAGE_SIZE,
        listing_workers: int = WORKERS,
        level_max_entries: int = LEVEL_MAX_ENTRIES,
    ) -> None:
        self.project = project
        self.anonymous = anonymous
        self.deadline = deadline
        self.stall = stall
        self.page_size = page_size
        self.listing_workers = listing_workers
        self.level_max_entries = level_max_entries
        self._client: Client | None = None
        self._lock = threading.Lock()
        self.stats = TransferStats()
        """Requests made and payload bytes received, for the inspect readers' budgets and the benchmarks."""

    # -- the client -------------------------------------------------------------------------

    def client(self) -> Client:
        """The storage client, made on first use (this resolves credentials: call it off the UI thread)."""
        _import_libraries()
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
        from tui.storage.bounded_http import BoundedAdapter

        # Every answer is read through bounded_http (bytes and time per answer); parallel reads reuse
        # connections instead of reopening them.
        for scheme in ("https://", "http://"):
            client._http.mount(scheme, BoundedAdapter(pool_connections=4, pool_maxsize=CONNECTIONS))
        return client

    def _retried(self, call: Callable[[], T]) -> Callable[[], T]:
        """`call` retried as the library retries its own (429, 5xx, a dropped connection), for `deadline` s."""
        _import_libraries()
        from google.cloud.storage.retry import DEFAULT_RETRY

        retry = DEFAULT_RETRY.with_delay(initial=0.2, maximum=2.0).with_timeout(self.deadline)
        return cast(Callable[[], T], retry(call))

    def _get(self, url: str, headers: dict[str, str], payload: int) -> Response:
        """A streamed GET whose answer may carry `payload` bytes (see bounded_http); an error status raises."""
        _import_libraries()
        from tui.storage.bounded_http import bounded, transfer_bounds

        with bounded(transfer_bounds(payload)):
            response: Response = self.client()._http.get(
                url, headers=headers, timeout=(CONNECT_SECONDS, self.stall), stream=True
            )
        if response.status_code >= 400 and response.status_code != 416:
            with response:
                raise _status_error(response)
        return response

    def _json(self, path: str, params: dict[str, Any], where: Location) -> dict[str, Any]:
        """One JSON API GET, its answer bounded and checked to be a JSON object."""
        _import_libraries()
        from tui.storage.bounded_http import JSON_MAX_BYTES, AnswerTooBig, Bounds

        url = self.client()._connection.build_api_url(path=path, query_params=params)

        def once() -> dict[str, Any]:
            with self._get(url, {"Accept-Encoding": "gzip"}, JSON_MAX_BYTES) as response:
                body = response.raw.read(JSON_MAX_BYTES + 1, decode_content=True)  # inflated at most this far
            if len(body) > JSON_MAX_BYTES:
                raise AnswerTooBig(Bounds(JSON_MAX_BYTES, 0))
            try:
                answer = json.loads(body)
            except (ValueError, RecursionError):
                answer = None
            if not isinstance(answer, dict):
                raise _bad_answer(where, "not a JSON object")
            return answer

        return self._retried(once)()

    # -- Store ------------------------------------------------------------------------------

    def list_level(self, location: Location) -> Iterator[list[Entry]]:
        if not location.bucket:
            yield from self._list_buckets()
            return
        prefix = location.as_dir().path
        folder = Location(GCS_SCHEME, location.bucket, prefix)
        guard = ListingGuard(folder)
        shown = 0
        with translated(location, stall=self.stall):

            def fetch(start: str | None, end: str | None, token: str | None) -> tuple[list[Entry], str | None]:
                with translated(location, stall=self.stall):  # also in the range workers' threads
                    params = {"delimiter": "/", "maxResults": self.page_size, "startOffset": start, "endOffset": end}
                    entries, token = self._page(folder, params, token)
                    guard.page(len(entries), token, chain=(start, end))
                    return entries, token

            first, token = fetch(None, None, None)
            while not first and token is not None:  # pages of nothing but a token: the guard bounds them
                first, token = fetch(None, None, token)
            if not first and prefix:
                raise NotFoundError(f"Nothing under {folder.uri}.", "Check the path; listings are case-sensitive.")
            first.sort(key=lambda e: e.location.path)

            def pages() -> Iterator[list[Entry]]:
                yield first
                if token is not None:
                    # Asked for more than the first page (a peek into a folder stops here): the rest in ranges.
                    yield from ParallelListing(fetch, prefix, first, self.page_size, self.listing_workers)

            for page in pages():
                if shown + len(page) > self.level_max_entries:
                    yield page[: self.level_max_entries - shown]
                    raise level_cap_reached(folder, self.level_max_entries)
                shown += len(page)
                yield page

    def _page(self, folder: Location, params: dict[str, Any], token: str | None) -> tuple[list[Entry], str | None]:
        """One page of a listing under `folder`, read from the JSON itself (the library's Blob for each of
        1,000 objects costs more CPU than the request's wait, and a row needs none of it), and checked:
        a server's answer is data from outside, like a file's bytes."""
        query: dict[str, Any] = {"projection": "noAcl", "prefix": folder.path, "fields": LISTING_FIELDS}
        query.update((k, v) for k, v in params.items() if v is not None)
        if token is not None:
            query["pageToken"] = token
        answer = self._json(f"/b/{quote(folder.bucket, safe='')}/o", query, folder)
        bucket = folder.bucket
        prefixes, items = answer.get("prefixes", []), answer.get("items", [])
        if not isinstance(prefixes, list) or not isinstance(items, list):
            raise _bad_answer(folder, "its items or prefixes are not lists")
        entries = []
        for p in prefixes:
            if not isinstance(p, str) or not p.startswith(folder.path) or not p.endswith("/") or p == folder.path:
                raise _bad_answer(folder, "a folder prefix outside the folder listed")
            entries.append(Entry(Location(GCS_SCHEME, bucket, _checked_name(p, folder))))
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise _bad_answer(folder, "an item that is not an object's resource")
            name = _checked_name(item["name"], folder)
            if name != folder.path:  # the zero-byte "folder" object some tools create
                entries.append(Entry(Location(GCS_SCHEME, bucket, name), _stat_of_resource(item, folder)))
        return entries, _next_token(answer, folder)

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
            guard = ListingGuard(where)
            token: str | None = None
            while True:
                params: dict[str, Any] = {"project": client.project, "maxResults": PAGE_SIZE}
                params["fields"] = "items(name),nextPageToken"
                if token is not None:
                    params["pageToken"] = token
                answer = self._json("/b", params, where)
                items = answer.get("items", [])
                if not isinstance(items, list) or not all(
                    isinstance(b, dict) and isinstance(b.get("name"), str) and _BUCKET_NAME.fullmatch(b["name"])
                    for b in items
                ):
                    raise _bad_answer(where, "a bucket that is not a bucket's resource")
                token = _next_token(answer, where)
                guard.page(len(items), token)
                # GCS answers in name order; the emulator does not, so sort each page to be sure.
                yield sorted((Entry(Location(GCS_SCHEME, b["name"], "")) for b in items), key=lambda e: e.name)
                if token is None:
                    return

    def list_recursive(self, location: Location) -> Iterator[list[Entry]]:
        folder = location.as_dir()
        guard = ListingGuard(folder)
        with translated(location, stall=self.stall):
            token: str | None = None
            while True:
                entries, token = self._page(folder, {"maxResults": PAGE_SIZE}, token)
                guard.page(len(entries), token)
                yield [e for e in entries if not e.is_dir]
                if token is None:
                    return

    def stat(self, location: Location) -> ObjectStat:
        with translated(location, stall=self.stall):
            path = f"/b/{quote(location.bucket, safe='')}/o/{quote(location.path, safe='')}"
            fields = LISTING_FIELDS.removeprefix("items(").partition(")")[0]
            return _stat_of_resource(self._json(path, {"fields": fields}, location), location)

    def read_range(self, location: Location, start: int, length: int, generation: int | None = None) -> bytes:
        if start < 0:
            start = max(0, self.stat(location).size + start)
        return self._read(location, start, length, generation)

    def _read(self, location: Location, start: int, length: int, generation: int | None) -> bytes:
        if length <= 0:
            return b""
        with translated(location, generation, stall=self.stall):
            url = self._media_url(location, generation)

            def once() -> bytes:
                headers = {"Range": f"bytes={start}-{start + length - 1}", "Accept-Encoding": "identity"}
                with self._get(url, headers, length) as response:
                    if response.status_code == 416:  # at or past the end: nothing there
                        return b""
                    if response.status_code == 200 and start == 0:  # the whole object, from a server that
                        return _body(response, length, exact=False)  # ignores Range: its first bytes
                    piece = _piece_of(response.status_code, response.headers)
                    if piece is None or piece.start != start or piece.length > length:
                        raise _bad_answer(location, f"not the bytes {start:,}-{start + length - 1:,} asked for")
                    return _body(response, piece.length)

            return self._retried(once)()

    def _media_url(self, location: Location, generation: int | None) -> str:
        base = self.client()._connection.API_BASE_URL
        url = (f"{base}/download/storage/v1/b/{quote(location.bucket, safe='')}"
               f"/o/{quote(location.path, safe='')}?alt=media")  # fmt: skip
        # Pinned to the generation first seen: an overwrite mid-read fails instead of mixing two files.
        return url if generation is None else f"{url}&generation={generation}"

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
        with translated(location, stall=self.stall):
            url = self._media_url(location, None)

            def get(byte_range: str, most: int) -> _Piece | None:
                headers = {"Range": f"bytes={byte_range}", "Accept-Encoding": "identity"}
                # Streamed: the body is read only once the headers say it is the piece asked for.
                with self._get(url, headers, most) as response:
                    piece = _piece_of(response.status_code, response.headers)
                    if piece is None or piece.length > most:  # not the piece asked for (an empty object's 416)
                        return None
                    return piece._replace(data=_body(response, piece.length))

            with ThreadPoolExecutor(1, thread_name_prefix="tfscope-tail") if tail > 0 else nullcontext() as pool:
                # A block more than asked: the whole blocks of the answer then cover the last `tail` bytes.
                def back_get() -> _Piece | None:
                    return get(f"-{tail + BLOCK_SIZE}", tail + BLOCK_SIZE)

                end = pool.submit(self._retried(back_get)) if pool is not None else None
                front = self._retried(lambda: get(f"0-{FIRST_READ - 1}", FIRST_READ))()
                back = end.result() if end is not None else None
            if front is None or front.start != 0:
                return None
            seeds = [(front.start, front.data)]
            if back is not None and back.generation == front.generation:  # else a new upload between: not mixed
                seeds.append((back.start, back.data))
            return front.size, front.generation, seeds

    def download(self, location: Location, dest: Path, max_bytes: int | None = None) -> None:
        stat = self.stat(location)
        if max_bytes is not None and stat.size > max_bytes:
            raise FileTooLargeError(
                f"{location.uri} is {stat.size:,} bytes, more than the {max_bytes:,} allowed here.",
                "Use a smaller file, or raise the limit where the command offers it.",
            )
        with open(dest, "wb") as out:  # the listed size, in bounded reads of the listed generation
            for start in range(0, stat.size, DOWNLOAD_CHUNK):
                length = min(DOWNLOAD_CHUNK, stat.size - start)
                data = self._read(location, start, length, stat.generation)
                if len(data) != length:
                    raise NotFoundError(
                        f"{location.uri} changed while it was downloaded ({len(data):,} of {length:,} bytes came).",
                        "Try again.",
                        title="Object changed",
                    )
                out.write(data)


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


def _bad_answer(where: Location, why: str) -> BadAnswerError:
    return BadAnswerError(f"The server's answer for {where.uri} is not what Google Cloud Storage sends: {why}.",
                          SERVER_FIX)  # fmt: skip


def _checked_name(name: str, folder: Location) -> str:
    """An object or prefix name from a listing of `folder`, once it is one GCS could hold there."""
    if not name.startswith(folder.path):
        raise _bad_answer(folder, "a name outside the prefix listed")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise _bad_answer(folder, f"a name longer than {MAX_NAME_BYTES} bytes")
    return sys.intern(name) if name.endswith("/") else name


def _next_token(answer: dict[str, Any], where: Location) -> str | None:
    token = answer.get("nextPageToken")
    if token is None or token == "":
        return None
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise _bad_answer(where, "a page token that is not a short string")
    return token


def _status_error(response: Response) -> Exception:
    """The api_core exception for an error answer (what the retry predicate and translated() know),
    its message from the first ERROR_BODY_BYTES of the body."""
    from google.api_core.exceptions import from_http_status

    body = response.raw.read(ERROR_BODY_BYTES, decode_content=True)
    try:
        message = str(json.loads(body)["error"]["message"])
    except (ValueError, RecursionError, TypeError, KeyError):
        message = body.decode("utf-8", "replace").strip()
    error = from_http_status(response.status_code, message[:500], response=response)  # type: ignore[no-untyped-call]
    return cast(Exception, error)


def _body(response: Response, length: int, exact: bool = True) -> bytes:
    """At most `length` bytes of a streamed answer's body; with `exact`, all of them or a dropped connection."""
    data: bytes = response.raw.read(length, decode_content=True)
    if exact and len(data) != length:
        raise ConnectionError(f"Response ended prematurely: {len(data)} of {length} bytes")
    return data


def _stat_of_resource(item: dict[str, Any], where: Location) -> ObjectStat:
    """An ObjectStat from an object's JSON resource (the fields LISTING_FIELDS asks for), each field
    checked to be what GCS sends."""
    size, generation = item.get("size", "0"), item.get("generation")
    updated = item.get("updated")
    texts = [item.get(k) for k in ("crc32c", "md5Hash", "contentType", "storageClass")]
    if (
        not _is_count(size)
        or not (generation is None or _is_count(generation))
        or not (updated is None or isinstance(updated, str))
        or not all(t is None or (isinstance(t, str) and len(t) <= 256) for t in texts)
    ):
        raise _bad_answer(where, "an object's size, generation or other field is not what GCS sends")
    crc32c, md5, content_type, storage_class = texts
    return ObjectStat(
        size=int(size),
        updated=_parse_time(updated, where) if updated else None,
        generation=int(generation) if generation is not None else None,
        crc32c=crc32c,
        md5=md5,
        # A level holds a handful of distinct values: one string each, not one a row.
        content_type=sys.intern(content_type) if content_type else content_type,
        storage_class=sys.intern(storage_class) if storage_class else storage_class,
    )


def _is_count(value: object) -> bool:
    """A size or generation as GCS writes them: a decimal string (or a number, from some servers)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value < 2**63
    return isinstance(value, str) and 0 < len(value) <= 19 and value.isascii() and value.isdigit()


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


def _parse_time(text: str, where: Location) -> datetime:
    """An RFC 3339 time as GCS writes it ("2026-11-01T09:30:00.123Z"), like Blob.updated reads it."""
    try:
        return datetime.fromisoformat(text)  # C, and Python 3.11 reads "Z" and any fraction
    except ValueError:
        from google.cloud._helpers import _rfc3339_nanos_to_datetime

        try:
            parsed: datetime = _rfc3339_nanos_to_datetime(text)  # type: ignore[no-untyped-call]
        except ValueError:
            raise _bad_answer(where, "an object's time that is not a time") from None
        return parsed
