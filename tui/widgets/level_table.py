"""The listing of one folder level: a table that grows page by page, filters and sorts.

Drawn line by line (Textual's Line API): only the rows on screen are rendered, so appending a page
costs what the page costs, and a prefix of 100,000 objects stays as quick as one of 100. (A DataTable
measures every cell of every row it holds: 100,000 rows took 27 s to show, against 5.6 s to list.)
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.formatting import format_size, format_time, printable
from tui.storage import ArtifactKind, Entry, Location


class SortKey(enum.Enum):
    """Orders the listing can show, in the order `s` cycles through them."""

    NAME = "name"
    SIZE = "size"
    DATE = "date"

    def next(self) -> SortKey:
        members = list(SortKey)
        return members[(members.index(self) + 1) % len(members)]


class Column(NamedTuple):
    label: str
    width: int
    right: bool = False


FOLDER_STYLE = Style(bold=True, color="blue")
KIND_STYLE = Style(bold=True, color="magenta")
NAME_MIN, NAME_MAX = 12, 64
"""Bounds of the Name column, sized to the level's longest name."""
COLUMNS = (Column("Kind", 11), Column("Size", 10, right=True), Column("Updated", 23))


class _RowMessage(Message):
    def __init__(self, table: LevelTable, entry: Entry) -> None:
        super().__init__()
        self.table, self.entry = table, entry

    @property
    def control(self) -> LevelTable:
        return self.table


class LevelTable(ScrollView, can_focus=True):
    """Folders and objects of one level, with their kind, size and update time.

    The owning screen pushes entries in; the table keeps them, and shows those that pass the filter
    in the chosen order, with a cursor on one row.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Undescribed: help lists enter under the screen's Open, and arrows need no explaining.
        Binding("enter", "select", show=False),
        Binding("up", "cursor_by(-1)", show=False),
        Binding("down", "cursor_by(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("right,l", "screen.enter_folder", "Into", show=False, id="into",
                tooltip="Browse inside the highlighted folder, even a model folder"),
        Binding("left,backspace,h", "screen.go_up", "Up", id="up", tooltip="Go to the parent folder"),
        Binding("home", "first", "First", show=False, id="first", tooltip="Jump to the first row"),
        Binding("end", "last", "Last", show=False, id="last", tooltip="Jump to the last row"),
    ]  # fmt: skip

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "level-table--header",
        "level-table--even-row",
        "level-table--cursor",
    }

    DEFAULT_CSS = """
    LevelTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .level-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .level-table--header { background-tint: $foreground 5%; }
        }
        & > .level-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .level-table--even-row { background: $surface-lighten-1 50%; }
        &:dark > .level-table--even-row { background: $surface-darken-1 40%; }
        & > .level-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RowHighlighted(_RowMessage):
        """The cursor is on a new row (also sent when rows first appear)."""

    class RowSelected(_RowMessage):
        """Enter, or a click on the highlighted row."""

    def __init__(self, *, stable_display: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stable_display = stable_display
        """Hide update times (snapshot tests and screenshots)."""
        self.entries: list[Entry] = []
        """Every entry of the level, filtered or not."""
        self.shown: list[Entry] = []
        """The entries that pass the filter, in the order shown."""
        self.filter_text = ""
        """Case-insensitive substring the names must contain."""
        self.sort_key = SortKey.NAME
        """The order rows are shown in."""
        self.cursor = 0
        self.name_width = NAME_MIN
        self._by_uri: dict[str, Entry] = {}
        self._index: dict[str, int] = {}  # URI -> position in `shown`
        self._announced: str | None = None  # the URI last sent as RowHighlighted

    # -- what the screen calls --------------------------------------------------------------

    def show_entries(self, entries: list[Entry], keep: str | None = None) -> None:
        """Replace the level with `entries`, keeping the cursor on `keep` (a URI) if present."""
        self._announced = None  # a new level: its first highlighted row is news even if the URI is not
        self.entries = list(entries)
        self._by_uri = {e.location.uri: e for e in self.entries}
        self.name_width = NAME_MIN
        self._rebuild(keep)

    def append_entries(self, entries: list[Entry]) -> None:
        """Add a page: appended in name order (the store's), inserted in place in the other orders."""
        self.entries.extend(entries)
        self._by_uri.update((e.location.uri, e) for e in entries)
        key = _ORDER[self.sort_key]
        if key is not None:  # inserted in place, not re-sorted: a 100,000-object level arrives in 100 pages
            highlighted = self.highlighted_uri
            for entry in entries:
                if self._passes(entry):
                    bisect.insort(self.shown, entry, key=key)
            self._fit_name_column(entries)
            self._rebuild(highlighted, ordered=True)
            return
        was_empty = not self.shown
        for entry in entries:
            if self._passes(entry):
                self._index[entry.location.uri] = len(self.shown)
                self.shown.append(entry)
        self._fit_name_column(entries)
        self._resize()
        if was_empty and self.shown:
            self.move_cursor(0)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._rebuild(self.highlighted_uri)

    def set_sort(self, key: SortKey) -> None:
        self.sort_key = key
        self._rebuild(self.highlighted_uri)

    def set_kind(self, location: Location, kind: ArtifactKind | None) -> None:
        """Mark an entry with the kind a peek or a sniff revealed."""
        uri = location.uri
        entry = self._by_uri.get(uri)
        if entry is None or entry.kind == kind:
            return
        updated = entry.with_kind(kind)
        self._by_uri[uri] = updated
        self.entries = [updated if e is entry else e for e in self.entries]
        index = self._index.get(uri)
        if index is not None:
            self.shown[index] = updated
            self.refresh_line(index + 1)  # a virtual line: the header is line 0

    def entry(self, uri: str) -> Entry | None:
        return self._by_uri.get(uri)

    def index_of(self, uri: str) -> int | None:
        """Where the entry with this URI is shown, or None if it is not (filtered out, not listed yet)."""
        return self._index.get(uri)

    @property
    def highlighted_entry(self) -> Entry | None:
        return self.shown[self.cursor] if 0 <= self.cursor < len(self.shown) else None

    @property
    def highlighted_uri(self) -> str | None:
        entry = self.highlighted_entry
        return entry.location.uri if entry else None

    @property
    def row_count(self) -> int:
        return len(self.shown)

    visible_count = row_count

    # -- the cursor -------------------------------------------------------------------------

    def move_cursor(self, index: int) -> None:
        """Put the cursor on row `index` (clamped) and scroll it into view."""
        if not self.shown:
            self.cursor = 0
            return
        self.cursor = max(0, min(index, len(self.shown) - 1))
        self._scroll_to_cursor()
        self.refresh()
        entry = self.shown[self.cursor]
        if entry.location.uri != self._announced:  # not on every filter keystroke: it refetches details
            self._announced = entry.location.uri
            self.post_message(self.RowHighlighted(self, entry))

    def action_cursor_by(self, rows: int) -> None:
        self.move_cursor(self.cursor + rows)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * self._visible_rows())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.shown) - 1)

    def action_select(self) -> None:
        entry = self.highlighted_entry
        if entry is not None:
            self.post_message(self.RowSelected(self, entry))

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if event.y < 1 or not 0 <= index < len(self.shown):
            return
        if index == self.cursor:
            self.action_select()  # a click on the highlighted row opens it, like enter
        else:
            self.move_cursor(index)

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)  # less the header

    def _scroll_to_cursor(self) -> None:
        top = self.scroll_offset.y
        visible = self._visible_rows()
        # force: a table just refilled has not had its scrollbars laid out, and would ignore the scroll
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, force=True)

    # -- drawing ----------------------------------------------------------------------------

    @property
    def shown_name_width(self) -> int:
        """The Name column as drawn: as wide as the longest name (up to NAME_MAX), but never so wide that
        Size and Updated leave the screen (a 1,000-character name would push them out)."""
        room = self.scrollable_content_region.width - sum(c.width + 2 for c in COLUMNS) - 2
        return max(NAME_MIN, min(self.name_width, room)) if room > 0 else self.name_width

    def on_resize(self) -> None:
        self._resize()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            cells = [Column("Name", self.shown_name_width), *COLUMNS]
            style = self.get_component_rich_style("level-table--header")
            segments = [Segment(_fit(c.label, c.width, c.right), style) for c in cells]
        else:
            index = self.scroll_offset.y + y - 1
            if index >= len(self.shown):
                return Strip.blank(width, self.rich_style)
            segments = self._row_segments(index)
        scroll_x = self.scroll_offset.x
        return Strip(segments).crop(scroll_x, scroll_x + width).extend_cell_length(width, self.rich_style)

    def _row_segments(self, index: int) -> list[Segment]:
        entry = self.shown[index]
        base = self.rich_style
        if index % 2:
            base += self.get_component_rich_style("level-table--even-row")
        cursor = self.get_component_rich_style("level-table--cursor") if index == self.cursor else None
        updated = "" if self.stable_display else format_time(entry.updated)
        cells = [
            (_fit(entry.name, self.shown_name_width), FOLDER_STYLE if entry.is_dir else None),
            (_fit(entry.kind.value if entry.kind else "", COLUMNS[0].width), KIND_STYLE),
            (_fit(format_size(entry.size), COLUMNS[1].width, right=True), None),
            (_fit(updated, COLUMNS[2].width), None),
        ]
        segments = []
        for text, style in cells:
            combined = base + style if style else base
            segments.append(Segment(text, combined + cursor if cursor else combined))
        return segments

    # -- internals --------------------------------------------------------------------------

    def _passes(self, entry: Entry) -> bool:
        return self.filter_text.lower() in entry.name.lower()

    def _ordered(self) -> list[Entry]:
        shown = [e for e in self.entries if self._passes(e)]
        key = _ORDER[self.sort_key]
        return sorted(shown, key=key) if key else shown

    def _rebuild(self, keep: str | None, ordered: bool = False) -> None:
        """Show the entries that pass the filter in order (`ordered`: `shown` already is), cursor on `keep`."""
        if not ordered:
            self.shown = self._ordered()
            self._fit_name_column(self.shown)
        self._index = {e.location.uri: i for i, e in enumerate(self.shown)}
        self._resize()
        position = self._index.get(keep, 0) if keep else 0
        if self.shown:
            self.move_cursor(position)
        else:
            self.cursor = 0
            self._announced = None
            self.refresh()

    def _fit_name_column(self, entries: Iterable[Entry]) -> None:
        longest = max((cell_len(e.name) for e in entries), default=0)
        self.name_width = min(NAME_MAX, max(self.name_width, longest + 1))

    def _resize(self) -> None:
        width = sum(c.width + 2 for c in COLUMNS) + self.shown_name_width + 2
        self.virtual_size = Size(width, len(self.shown) + 1)  # + the header line
        self.refresh()


_ORDER: dict[SortKey, Callable[[Entry], Any] | None] = {
    SortKey.NAME: None,  # the store's order
    SortKey.SIZE: lambda e: (e.is_dir, -(e.size or 0), e.name),
    SortKey.DATE: lambda e: (e.updated is None, -(e.updated.timestamp() if e.updated else 0), e.name),
}


def _fit(text: str, width: int, right: bool = False) -> str:
    """One cell: `text` cut (with an ellipsis) or padded to `width`, and a space each side."""
    text = printable(text)
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…"
    elif right:
        text = " " * (width - cell_len(text)) + text
    else:
        text = set_cell_size(text, width)
    return f" {text} "
