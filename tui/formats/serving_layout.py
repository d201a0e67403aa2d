"""TF Serving's layout: a model folder whose children are numbered version folders (`1/`, `2/`, `10/`),
each holding a SavedModel. The browser shows such a folder as one model; `diff` compares its two newest."""

from __future__ import annotations

import re
from collections.abc import Iterable

from tui.formats.kinds import ArtifactKind
from tui.formats.registry import folder_kind
from tui.storage import Entry, Location, Store

MAX_VERSIONS_CHECKED = 20
"""The newest numbered folders looked into: a diff wants the two newest, a listing of each costs a request."""


VERSION_NAME = re.compile(r"[0-9]{1,18}")
"""A version folder's name: ASCII digits only (str.isdigit takes '²', which int() refuses), of a sane length."""


def numbered_folders(entries: Iterable[Entry]) -> list[Location]:
    """The folders among `entries` named by a number, oldest first (by number: 10 after 9)."""
    numbered = [e.location for e in entries if e.is_dir and VERSION_NAME.fullmatch(e.name.rstrip("/"))]
    return sorted(numbered, key=lambda loc: int(loc.name.rstrip("/")))


def holds_saved_model(store: Store, folder: Location) -> bool:
    first_page = next(iter(store.list_level(folder)), [])
    return folder_kind(e.name for e in first_page) is ArtifactKind.SAVED_MODEL


def serving_versions(store: Store, location: Location) -> list[Location]:
    """The two newest numbered folders directly under `location` (in its first listing page: a serving
    folder holds a handful) that hold a SavedModel, oldest first; looked for among the newest
    MAX_VERSIONS_CHECKED. Fewer when `location` is not laid out so."""
    first_page = next(iter(store.list_level(location)), [])
    held: list[Location] = []
    for version in reversed(numbered_folders(first_page)[-MAX_VERSIONS_CHECKED:]):  # newest first: two will do
        if holds_saved_model(store, version):
            held.insert(0, version)
            if len(held) == 2:
                break
    return held


def newest_version(store: Store, entries: Iterable[Entry]) -> tuple[Location, int] | None:
    """For a folder listed as `entries`: its newest numbered folder and how many there are, when the
    newest holds a SavedModel (one request: the others are taken on trust until a diff looks)."""
    numbered = numbered_folders(entries)
    if numbered and holds_saved_model(store, numbered[-1]):
        return numbered[-1], len(numbered)
    return None
