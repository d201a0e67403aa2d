"""Completion of local file paths in an Input: the rest of the first name in the folder typed so far
(right arrow accepts it), so a picture or a .npy can be given without leaving the form."""

from __future__ import annotations

import asyncio
import os

from textual.suggester import Suggester

MAX_ENTRIES = 2000
"""Names looked at in one folder: a huge folder completes from its first names rather than stalls."""


class PathSuggester(Suggester):
    """Suggests the first entry (folders with a trailing /) of the typed folder that starts with what
    follows the last /. Only values that look like paths (`/`, `./`, `~/`, or with a /) are completed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the disk changes; names are case sensitive

    async def get_suggestion(self, value: str) -> str | None:
        if "/" not in value or value.startswith(("gs://", "[", "{")):
            return None
        return await asyncio.to_thread(self._first_match, value)  # a slow mount must not freeze the UI

    @staticmethod
    def _first_match(value: str) -> str | None:
        folder, _, start = value.rpartition("/")
        where = os.path.expanduser(folder or "/")
        try:
            with os.scandir(where) as entries:
                names = []
                for i, entry in enumerate(entries):
                    if i >= MAX_ENTRIES:
                        break
                    if entry.name.startswith(start) and not entry.name.startswith("."):
                        names.append(entry.name + ("/" if entry.is_dir() else ""))
        except OSError:
            return None
        return f"{folder}/{min(names)}" if names else None
