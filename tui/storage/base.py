"""The shapes every store speaks: entries of a listing, object metadata, and the Store interface."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from tui.storage.uri import Location

PAGE_SIZE = 1000
"""Entries per page of a listing: GCS's maximum, and the unit the UI receives at a time."""


@dataclass(frozen=True, slots=True)
class ObjectStat:
    """Metadata of one object, like `gcloud storage ls -L` shows.

    Fields a store does not have (local files have no generation or storage class) are None.
    Slotted, like Entry and Location: a level of 100,000 rows holds 100,000 of each.
    """

    size: int
    updated: datetime | None = None
    generation: int | None = None
    crc32c: str | None = None
    md5: str | None = None
    content_type: str | None = None
    storage_class: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of a listing: a bucket, a prefix (folder) or an object (file)."""

    location: Location
    stat: ObjectStat | None = None

    @property
    def name(self) -> str:
        return self.location.name

    @property
    def is_dir(self) -> bool:
        return self.location.is_dir

    @property
    def size(self) -> int | None:
        return self.stat.size if self.stat else None

    @property
    def updated(self) -> datetime | None:
        return self.stat.updated if self.stat else None


class TransferStats:
    """Counts HTTP responses and their payload bytes (Content-Length), thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.bytes = 0

    def count_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        size = int(response.headers.get("Content-Length") or 0)
        with self._lock:
            self.requests += 1
            self.bytes += size

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.requests, self.bytes


class Store(Protocol):
    """One interface for GCS and local disk.

    Listings come as an iterator of pages (lists of at most PAGE_SIZE entries) so a caller can show
    the first page while the rest is still coming, and stop early. Every method raises TfscopeError
    subclasses, never a library's own exceptions.
    """

    @property
    def stats(self) -> TransferStats | None:
        """Requests made and bytes received so far, where the store counts them (GCS); None on local disk."""
        ...

    def list_level(self, location: Location) -> Iterator[list[Entry]]:
        """One level under a folder (or the buckets, for `gs://`): sub-folders and objects."""
        ...

    def list_recursive(self, location: Location) -> Iterator[list[Entry]]:
        """Every object under a folder, at any depth (no folder entries)."""
        ...

    def stat(self, location: Location) -> ObjectStat:
        """Metadata of one object."""
        ...

    def read_range(self, location: Location, start: int, length: int, generation: int | None = None) -> bytes:
        """Up to `length` bytes from offset `start` (a negative start counts from the end).

        `generation` pins the read to one version of the object (GCS): if it was replaced since the
        listing, the read fails instead of mixing two files.
        """
        ...

    def open(self, location: Location, known: ObjectStat | None = None, tail: int = 0) -> BinaryIO:
        """A seekable, read-only file object that fetches the bytes it is asked for.

        `known` is the object's stat from a listing: a store that would ask for it first need not.
        `tail`: the reader will start at the object's last `tail` bytes (a zip's central directory): a
        distant store fetches them alongside its first bytes.
        """
        ...

    def download(self, location: Location, dest: Path, max_bytes: int | None = None) -> None:
        """Copy one object to a local file: the size it has when the copy starts, and no more.

        Raises:
            TfscopeError: titled "File too large" where it holds more than `max_bytes`.
        """
        ...
