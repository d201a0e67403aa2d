"""Local disk behind the Store interface, so the browser and readers treat it like a bucket."""

from __future__ import annotations

import mimetypes
import os
import shutil
import stat as stat_mode
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from tui.errors import FileTooLargeError, TfscopeError
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
        with translated(location), open_regular(location.path) as f:
            if start < 0:
                f.seek(max(0, os.fstat(f.fileno()).st_size + start))
            else:
                f.seek(start)
            return f.read(length)

    def open(self, location: Location, known: ObjectStat | None = None, tail: int = 0) -> BinaryIO:
        with translated(location):
            return open_regular(location.path)

    def download(self, location: Location, dest: Path, max_bytes: int | None = None) -> None:
        with translated(location), open_regular(location.path) as source:
            size = os.fstat(source.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise FileTooLargeError(
                    f"{location.path} is {size:,} bytes, more than the {max_bytes:,} allowed here.",
                    "Use a smaller file, or raise the limit where the command offers it.",
                )
            with open(dest, "wb") as out:
                shutil.copyfileobj(source, out)


def open_regular(path: str) -> BinaryIO:
    """`path` opened for reading, once it is a plain file: a FIFO would block the read forever and a
    device (/dev/zero) never ends, so both are refused before a byte is read. Links are followed."""
    # O_NONBLOCK: opening a FIFO with no writer would itself block; the file is made blocking again below.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat_mode.S_ISREG(mode):
            raise NotRegularFileError(path, mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class NotRegularFileError(TfscopeError):
    title = "Not a regular file"

    def __init__(self, path: str, mode: int) -> None:
        what = (
            "a folder"
            if stat_mode.S_ISDIR(mode)
            else "a named pipe (FIFO)"
            if stat_mode.S_ISFIFO(mode)
            else "a device"
            if stat_mode.S_ISCHR(mode) or stat_mode.S_ISBLK(mode)
            else "a socket or special file"
        )
        super().__init__(f"{path} is {what}, not a regular file: reading it could block or never end.",
                         "Point tfscope at the model's own files.")  # fmt: skip


def refuse_special_files(path: Path) -> None:
    """Raise NotRegularFileError for `path`, or any file under it, that is not a regular file or folder:
    TensorFlow would block on a FIFO in a SavedModel's variables and read a device without end."""
    paths = [path] if not path.is_dir() else [Path(root) / name for root, _, names in os.walk(path) for name in names]
    for found in paths:
        try:
            mode = found.stat().st_mode
        except OSError:
            continue  # a dangling link: TensorFlow says it is missing
        if not stat_mode.S_ISREG(mode):
            raise NotRegularFileError(str(found), mode)


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
