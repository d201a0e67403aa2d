"""What ends a listing a server would never end: the checks every page passes, and the caps.

A listing follows page tokens for as long as the server hands them out. A server that repeats a
token, hands out new ones forever, or fills pages with nothing would keep a level (and its rows in
memory) or a scan growing until the machine runs out. The guard sees every page of one listing.
"""

from __future__ import annotations

import threading
import time

from tui.errors import BadAnswerError, ListingStoppedError
from tui.storage.errors import SERVER_FIX
from tui.storage.uri import Location

LEVEL_MAX_ENTRIES = 200_000
"""Rows one level of the browser shows (about 250 MB of rows); past it, the level says so and stops."""
LISTING_SECONDS = 300.0
"""Seconds one listing may take (GCS lists ~10,000 names a second): past it, it says so and stops."""
MAX_EMPTY_PAGES = 100
"""Pages holding nothing but a token for another page: GCS sends a few at most; a server sending more
would keep a listing going without end."""


class ListingGuard:
    """The page chains of one listing (all of a level's ranges together), checked page by page."""

    def __init__(self, location: Location, seconds: float | None = None) -> None:
        self.location = location
        self.seconds = LISTING_SECONDS if seconds is None else seconds
        self._deadline = time.monotonic() + self.seconds
        self._tokens: set[tuple[object, str]] = set()
        self._entries = 0
        self._empty = 0
        self._lock = threading.Lock()  # a level's ranges are listed from several threads

    def page(self, count: int, token: str | None, chain: object = None) -> None:
        """Account for one page of `count` entries whose next page is `token` (None: the chain ends);
        `chain` names the page chain it belongs to, where a listing follows several (a level's ranges).

        Raises:
            BadAnswerError: a token came back a second time, or too many pages were empty.
            ListingStoppedError: the listing ran past LISTING_SECONDS.
        """
        uri = self.location.uri
        with self._lock:
            self._entries += count
            if token is not None:
                if (chain, token) in self._tokens:
                    raise BadAnswerError(
                        f"The server's listing of {uri} handed out the same page token twice: it would never end.",
                        SERVER_FIX,
                    )
                self._tokens.add((chain, token))
                if count == 0:
                    self._empty += 1
            if self._empty > MAX_EMPTY_PAGES:
                raise BadAnswerError(
                    f"The server's listing of {uri} sent more than {MAX_EMPTY_PAGES} empty pages, each pointing "
                    "to another.",
                    SERVER_FIX,
                )
            if token is not None and time.monotonic() > self._deadline:
                raise ListingStoppedError(
                    f"Listing {uri} took more than {self.seconds:.0f} s: stopped after {self._entries:,} entries.",
                    "Open or scan a narrower prefix.",
                )


def level_cap_reached(location: Location, cap: int) -> ListingStoppedError:
    """The error that ends a level at `cap` rows (the rows before it stay shown)."""
    return ListingStoppedError(
        f"{location.uri} holds more than {cap:,} entries at this level: the first {cap:,} are shown.",
        "Open a narrower prefix: press g and type it (gs://bucket/prefix/part).",
    )
