"""What a location names, found out once: an object, or a folder with its first page listed.

GCS has no folders: `gs://b/models/m` is an object if one has that name, else a prefix. Deciding it
here, in one place and one or two requests, lets the caller go on from what was fetched (the first
page of the level) instead of asking again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tui.errors import NotFoundError
from tui.storage.base import Entry, ObjectStat, Store
from tui.storage.uri import Location


@dataclass
class Resolved:
    """A location, with what finding out what it is fetched."""

    location: Location
    """The object, or the folder (ending in "/")."""
    stat: ObjectStat | None = None
    """The object's metadata; None for a folder."""
    first_page: list[Entry] = field(default_factory=list)
    """A folder: the first page of its level listing."""
    rest: Iterator[list[Entry]] = field(default_factory=lambda: iter(()))
    """A folder: the pages after the first, fetched as they are iterated."""

    @property
    def is_object(self) -> bool:
        return self.stat is not None


def resolve(store: Store, location: Location) -> Resolved:
    """Say whether `location` is an object or a folder, with its stat or its first page.

    Raises:
        TfscopeError: nothing there (NotFoundError), or the store failed.
    """
    if not location.is_dir:
        try:
            return Resolved(location, stat=store.stat(location))
        except NotFoundError:
            if not location.is_gcs:
                raise
            location = location.as_dir()  # no object of that name: maybe a prefix
    pages = store.list_level(location)
    return Resolved(location, first_page=next(pages, []), rest=pages)
