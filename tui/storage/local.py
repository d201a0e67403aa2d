"""Local disk behind the Store interface, so the browser and readers treat it like a bucket."""

from __future__ import annotations

import mimetypes
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from tui.storage.base import PAGE_SIZE, Entry, ObjectStat, TransferStats
from tui.storage.errors import translated
from tui.storage.uri import LOCAL_SCHEME, Location


class LocalStore:
    """Files and folders on this machine."""

    stats: TransferStats | None = None
    """Local reads are not counted: they cost no round trip."""

    def list_level(self, location: Location) -> Iterator[list[Entry]]:
        with translated(location), os.scandir(location.path) as it:
            entries = sorted((_entry(location, d) for d in it), key=lambda e: e.name)
        for start in range(0, max(len(entries), 1), PAGE_SIZE):
            yield entries[start : start + PAGE_SIZE]

    def list_recursive(self, location: Location) -> Iterator[list[Entry]]:
        page: list[Entry] = []
        with translated(location):
            if not os.path.isdir(location.path):
                raise FileNotFoundError(location.path)
            for root, _dirs, files in os.walk(location.path):
                folder = Location(LOCAL_SCHEME, path=root.rstrip("/") + "/")
                for name in sorted(files):
                    page.append(Entry(folder.child(name), _stat(os.path.join(root, name))))
                    if len(page) == PAGE_SIZE:
                        yield page
                        page = []
        yield page

    def stat(self, location: Location) -> ObjectStat:
        with translated(location):
            return _stat(location.path)

    def read_range(self, location: Location, start: int, length: int, generation: int | None = None) -> bytes:
        with translated(location), open(location.path, "rb") as f:
            if start < 0:
                f.seek(max(0, os.fstat(f.fileno()).st_size + start))
            else:
                f.seek(start)
            return f.read(length)

    def open(self, location: Location, known: ObjectStat | None = None, tail: int = 0) -> BinaryIO:
        with translated(location):
            return open(location.path, "rb")

    def download(self, location: Location, dest: Path) -> None:
        with translated(location):
            shutil.copyfile(location.path, dest)


def _entry(folder: Location, d: os.DirEntry[str]) -> Entry:
    if d.is_dir():
        return Entry(folder.child(d.name + "/"))
    try:
        return Entry(folder.child(d.name), _stat(d.path))
    except OSError:  # a dangling link or a file removed while listing: show it without metadata
        return Entry(folder.child(d.name))


def _stat(path: str) -> ObjectStat:
    st = os.stat(path)
    return ObjectStat(
        size=st.st_size,
        updated=datetime.fromtimestamp(st.st_mtime, tz=timezone.utc),
        content_type=mimetypes.guess_type(path)[0],
    )
