"""Object names as local paths: derived from a bucket's names, never trusted.

Object names are written by whoever can write to the bucket: `m/../../../etc/x`, `m//tmp/x`, segments
of thousands of bytes, a zero-byte `m/variables/` marker (what the Cloud Console's "Create folder"
makes), an object `m/a` beside objects `m/a/...`. Only names that are a plain relative path inside
the artifact's folder are placed; the others are skipped with the reason, and the caller checks the
joined path once more after resolving it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tui.storage.base import Entry

NAME_MAX = 255
"""Bytes in one path segment: the limit of ext4, XFS, APFS and tmpfs."""
PATH_MAX = 1024
"""Bytes in a relative path: well inside the OS limit (4096) with the cache root in front."""


@dataclass(frozen=True)
class Placed:
    """An object and where it goes, relative to the artifact's local folder (POSIX separators)."""

    entry: Entry
    relative: str


@dataclass(frozen=True)
class Skipped:
    """An object left out, and why; `marker` is True for an empty "folder" object, which holds nothing."""

    name: str
    reason: str
    marker: bool = False


@dataclass
class Layout:
    """Where each object of an artifact goes locally, and the objects that cannot go anywhere safely."""

    placed: list[Placed]
    skipped: list[Skipped]

    @property
    def notable_skips(self) -> list[Skipped]:
        """Skips worth telling the user about (folder markers are not)."""
        return [s for s in self.skipped if not s.marker]


def path_problem(relative: str) -> str | None:
    """Why `relative` cannot be a file inside a folder, or None when it can."""
    if not relative:
        return "it names the folder itself"
    if relative.endswith("/"):
        return "it ends with '/', like a folder"
    segments = relative.split("/")
    if any(s in ("", ".", "..") for s in segments):
        return "it has an empty, '.' or '..' path segment"
    if any("\0" in s for s in segments):
        return "it holds a NUL character"
    if any(len(s.encode("utf-8", "surrogateescape")) > NAME_MAX for s in segments):
        return f"a path segment is longer than {NAME_MAX} bytes"
    if len(relative.encode("utf-8", "surrogateescape")) > PATH_MAX:
        return f"it is longer than {PATH_MAX} bytes"
    return None


def lay_out(prefix: str, files: list[Entry]) -> Layout:
    """Place the objects named `prefix` + relative path; skip markers, unsafe names and clashes.

    An object whose name is also the folder of other objects (`m/a` and `m/a/b`) cannot be both
    on disk: the folder is kept, since a model's files live in folders (`variables/`).
    """
    placed: dict[str, Entry] = {}
    skipped: list[Skipped] = []
    for entry in files:
        name = entry.location.path
        if not name.startswith(prefix):
            skipped.append(Skipped(name, "it is outside the artifact's folder"))
            continue
        relative = name[len(prefix) :]
        if (relative == "" or relative.endswith("/")) and not entry.size:
            skipped.append(Skipped(name, "an empty folder marker", marker=True))
            continue
        problem = path_problem(relative)
        if problem is not None:
            skipped.append(Skipped(name, problem))
            continue
        placed[relative] = entry
    folders = {rel.rsplit("/", 1)[0] for rel in placed if "/" in rel}
    folders |= {f.rsplit("/", i)[0] for f in list(folders) for i in range(1, f.count("/") + 1)}
    for relative in sorted(placed.keys() & folders):
        skipped.append(Skipped(prefix + relative, "it is also the name of a folder of objects; the folder is kept"))
        del placed[relative]
    return Layout([Placed(entry, rel) for rel, entry in sorted(placed.items())], skipped)


def safe_file_name(name: str, fallback: str) -> str:
    """`name` if it is a usable file name, else `fallback` with `name`'s extension (Keras needs it)."""
    if path_problem(name) is None and "/" not in name:
        return name
    suffix = os.path.splitext(name)[1]
    return fallback + (suffix if suffix[1:].isalnum() and len(suffix) <= 16 else "")


def inside(root: Path, path: Path) -> bool:
    """True when `path`, with every link resolved, is `root` or below it."""
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root
