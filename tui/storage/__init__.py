"""Where artifacts live: one Store interface over Google Cloud Storage and local disk (no Textual here)."""

from __future__ import annotations

from tui.storage.base import Entry, ObjectStat, Store, TransferStats
from tui.storage.gcs import GcsStore
from tui.storage.local import LocalStore
from tui.storage.uri import Location, parse_location


class Stores:
    """The store for each kind of location, handed to the app as one service."""

    def __init__(self, gcs: GcsStore, local: Store | None = None) -> None:
        self.gcs = gcs
        self.local: Store = local or LocalStore()

    def for_location(self, location: Location) -> Store:
        return self.gcs if location.is_gcs else self.local


__all__ = [
    "Entry",
    "GcsStore",
    "LocalStore",
    "Location",
    "ObjectStat",
    "Store",
    "Stores",
    "TransferStats",
    "parse_location",
]
