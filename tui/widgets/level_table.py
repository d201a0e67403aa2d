"""The listing of one folder level: a DataTable that grows page by page, filters and sorts."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from tui.formatting import format_size, format_time
from tui.storage import ArtifactKind, Entry, Location


class SortKey(enum.Enum):
    """Orders the listing can show, in the order `s` cycles through them."""

    NAME = "name"
    SIZE = "size"
    DATE = "date"

    def next(self) -> SortKey:
        members = list(SortKey)
        return members[(members.index(self) + 1) % len(members)]


KIND_STYLE = "bold magenta"
NAME_MIN, NAME_MAX = 12, 64
"""Bounds of the Name column, sized to the level's longest name."""


class LevelTable(DataTable[Text | str]):
    """Folders and objects of one level, with their kind, size and update time.

    The owning screen pushes entries in; the table keeps them, and shows those that pass the filter
    in the chosen order. Keys are the entries' URIs.
    """

    BINDINGS = [
        Binding("right,l", "screen.enter_folder", "Into", show=False, id="into",
                tooltip="Browse inside the highlighted folder, even a model folder"),
        Binding("left,backspace,h", "screen.go_up", "Up", id="up", tooltip="Go to the parent folder"),
        Binding("home", "scroll_top", "First", show=False, id="first", tooltip="Jump to the first row"),
        Binding("end", "scroll_bottom", "Last", show=False, id="last", tooltip="Jump to the last row"),
    ]  # fmt: skip

    def __init__(self, *, stable_display: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.stable_display = stable_display
        """Hide update times (snapshot tests and screenshots)."""
        self.entries: list[Entry] = []
        """Every entry of the level, filtered or not."""
        self.filter_text = ""
        """Case-insensitive substring the names must contain."""
        self.sort_key = SortKey.NAME
        """The order rows are shown in."""
        self._by_uri: dict[str, Entry] = {}
        # Columns now, not on mount: a fast first page can arrive before the mount event.
        self.add_column("Name", key="name", width=NAME_MIN)
        self.add_column("Kind", key="kind", width=11)
        self.add_column("Size", key="size", width=10)
        self.add_column("Updated", key="updated", width=23)

    # -- what the screen calls --------------------------------------------------------------

    def show_entries(self, entries: list[Entry], keep: str | None = None) -> None:
        """Replace the level with `entries`, keeping the cursor on `keep` (a URI) if present."""
        self.entries = list(entries)
        self._by_uri = {e.location.uri: e for e in self.entries}
        self._rebuild(keep)

    def append_entries(self, entries: list[Entry]) -> None:
        """Add a page. Name order matches the store's, so rows are appended without a rebuild."""
        self.entries.extend(entries)
        self._by_uri.update((e.location.uri, e) for e in entries)
        if self.sort_key is SortKey.NAME:
            self.add_rows_for(e for e in entries if self._passes(e))
        else:
            self._rebuild(self.highlighted_uri)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._rebuild(self.highlighted_uri)

    def set_sort(self, key: SortKey) -> None:
        self.sort_key = key
        self._rebuild(self.highlighted_uri)

    def set_kind(self, location: Location, kind: ArtifactKind | None) -> None:
        """Mark an entry with the kind a peek or a sniff revealed."""
        entry = self._by_uri.get(location.uri)
        if entry is None or entry.kind == kind:
            return
        updated = entry.with_kind(kind)
        self._by_uri[location.uri] = updated
        self.entries = [updated if e is entry else e for e in self.entries]
        if location.uri in self.rows:
            self.update_cell(location.uri, "kind", _kind_cell(kind))

    def entry(self, uri: str) -> Entry | None:
        return self._by_uri.get(uri)

    @property
    def highlighted_uri(self) -> str | None:
        if not self.row_count or self.cursor_row < 0:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    @property
    def highlighted_entry(self) -> Entry | None:
        uri = self.highlighted_uri
        return self._by_uri.get(uri) if uri else None

    @property
    def visible_count(self) -> int:
        return self.row_count

    # -- internals --------------------------------------------------------------------------

    def _passes(self, entry: Entry) -> bool:
        return self.filter_text.lower() in entry.name.lower()

    def _ordered(self) -> list[Entry]:
        shown = [e for e in self.entries if self._passes(e)]
        if self.sort_key is SortKey.SIZE:
            return sorted(shown, key=lambda e: (e.is_dir, -(e.size or 0), e.name))
        if self.sort_key is SortKey.DATE:
            return sorted(
                shown, key=lambda e: (e.updated is None, -(e.updated.timestamp() if e.updated else 0), e.name)
            )
        return shown

    def _rebuild(self, keep: str | None) -> None:
        self.clear()
        self.add_rows_for(self._ordered(), grow_only=False)
        if keep and keep in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def add_rows_for(self, entries: Iterable[Entry], *, grow_only: bool = True) -> None:
        shown = list(entries)
        self._fit_name_column(shown, grow_only)
        for e in shown:
            self.add_row(*self._cells(e), key=e.location.uri)

    def _fit_name_column(self, entries: list[Entry], grow_only: bool) -> None:
        """Size the Name column ourselves: DataTable measures auto-width columns only when it next
        goes idle, and a frame drawn before that shows every name cut to the header's width."""
        column = self.columns[ColumnKey("name")]
        longest = max((len(e.name) for e in entries), default=0)
        width = min(NAME_MAX, max(NAME_MIN, longest + 1, column.width if grow_only else 0))
        if width != column.width:
            column.width = width
            self.refresh()

    def _cells(self, e: Entry) -> list[Text | str]:
        name = Text(e.name, style="bold blue") if e.is_dir else Text(e.name)
        size = Text(format_size(e.size), justify="right")
        updated = "" if self.stable_display else format_time(e.updated)
        return [name, _kind_cell(e.kind), size, updated]


def _kind_cell(kind: ArtifactKind | None) -> Text:
    return Text(kind.value, style=KIND_STYLE) if kind else Text("")
