"""The listing of one folder level: a table that grows page by page, filters and sorts.

Drawn line by line (Textual's Line API): only the rows on screen are rendered, so appending a page
costs what the page costs, and a prefix of 100,000 objects stays as quick as one of 100. (A DataTable
measures every cell of every row it holds: 100,000 rows took 27 s to show, against 5.6 s to list.)
"""

from __future__ import annotations

import bisect
import enum
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from tui.formats.kinds import ArtifactKind
from tui.formatting import format_size, format_time, printable
from tui.storage import Entry, Location


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
CONTRADICTED_STYLE = Style(bold=True, color="red")
FINDINGS_STYLE = Style(bold=True, color="red")
NAME_MIN, NAME_MAX = 12, 64
"""Bounds of the Name column, sized to the level's longest name."""
COLUMNS = (Column("Kind", 11), Column("Size", 10, right=True), Column("Updated", 23))
REDRAW_INTERVAL = 0.15
"""Seconds between redraws while pages stream in: a page can arrive every few milliseconds, and each new
row count re-lays out and repaints the screen (40 pages of a 100,000-object level: 40 redraws, ~1 s)."""


class Mark(NamedTuple):
    """What the Kind column says of a row."""

    kind: ArtifactKind
    contradicted: bool = False
    """Named like this kind, but its first bytes say it is not one (damaged or mislabelled)."""
    gated_findings: int = 0
    """Findings that make loading ask first (files, network, Python), once the model has been read: a ⚠."""
    versions: int = 0
    """A folder of numbered versions (TF Serving's layout): how many; `newest` is the one it opens."""
    newest: Location | None = None

    @property
    def text(self) -> str:
        if self.versions:
            return f"{self.versions} version" + ("s" if self.versions > 1 else "")
        return f"✗ {self.kind.label}" if self.contradicted else self.kind.label


class _TableMessage(Message):
    def __init__(self, table: LevelTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> LevelTable:
        return self.table


class _RowMessage(_TableMessage):
    def __init__(self, table: LevelTable, entry: Entry) -> None:
        super().__init__(table)
        self.entry = entry


class LevelTable(ScrollView, can_focus=True):
    """Folders and objects of one level, with their kind, size and update time.

    The owning screen pushes entries (and the marks of those that are models) in; the table keeps
    them, shows those that pass the filter in the chosen order with a cursor on one row, and posts
    messages for what the user asks of a row: the screen decides what happens.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # Undescribed: help lists enter under the screen's Open, and arrows need no explaining.
        Binding("enter", "select", show=False),
        Binding("up", "cursor_by(-1)", show=False),
        Binding("down", "cursor_by(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("right,l", "into", "Into", show=False, id="into",
                tooltip="Browse inside the highlighted folder, even a model folder"),
        Binding("left,backspace,h", "up", "Up", id="up", tooltip="Go to the parent folder"),
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

    class IntoRequested(_RowMessage):
        """Right or l on a folder: browse inside it, even when it is a model folder."""

    class RowsAppended(_TableMessage):
        """Pages appended since the last redraw are now on screen (at most every REDRAW_INTERVAL)."""

    class UpRequested(_TableMessage):
        """Left, backspace or h: the parent folder is wanted."""

    filter_text: reactive[str] = reactive("", init=False)
    """Case-insensitive substring the names must contain: rows without it are hidden."""
    sort_key: reactive[SortKey] = reactive(SortKey.NAME, init=False)
    """The order rows are shown in; pages arriving later are merged into it."""
    cursor: reactive[int] = reactive(0, init=False, always_update=True)
    """The highlighted row, an index into `shown` (kept within it). Moving it posts RowHighlighted."""

    def __init__(self, *, stable_display: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stable_display = stable_display
        """Hide update times (snapshot tests and screenshots)."""
        self.entries: list[Entry] = []
        """Every entry of the level, filtered or not."""
        self.shown: list[Entry] = []
        """The entries that pass the filter, in the order shown."""
        self.marks: dict[Location, Mark] = {}
        """The model kind of each entry known to be (or named like) one."""
        self.name_width = NAME_MIN
        self._announced: str | None = None  # the URI last sent as RowHighlighted
        self._redrawn_at = 0.0  # time.monotonic() of the last redraw for a new row count
        self._redraw_timer: Timer | None = None  # a redraw of appended pages, waiting for REDRAW_INTERVAL

    # -- what the screen calls --------------------------------------------------------------

    def show_entries(self, entries: list[Entry], marks: dict[Location, Mark] | None = None,
                     keep: str | None = None) -> None:  # fmt: skip
        """Replace the level with `entries`, keeping the cursor on `keep` (a URI) if present."""
        self._announced = None  # a new level: its first highlighted row is news even if the URI is not
        self.marks = dict(marks or {})
        self.entries = list(entries)
        self.name_width = NAME_MIN
        self._rebuild(keep)

    def append_entries(self, entries: list[Entry], marks: dict[Location, Mark] | None = None) -> None:
        """Add a page: appended in name order (the store's), inserted in place in the other orders.

        The rows are there at once (`shown`, `row_count`, `index_of`), but the screen is redrawn for them
        at most every REDRAW_INTERVAL while pages stream in; `redraw_appended` draws them now. Rows
        arriving in an empty table are drawn at once.
        """
        self.marks.update(marks or {})
        self.entries.extend(entries)
        was_empty = not self.shown
        highlighted = self.highlighted_entry
        wanted = self.filter_text.lower()  # read once: a reactive costs a lookup a row
        passing = [e for e in entries if wanted in e.name.lower()] if wanted else entries
        key = _ORDER[self.sort_key]
        if key is None:
            self.shown.extend(passing)
        else:  # inserted in place, not re-sorted: a 100,000-object level arrives in 100 pages
            for entry in passing:
                bisect.insort(self.shown, entry, key=key)
            if highlighted is not None:  # the cursor stays on its entry as rows are inserted above it
                # set without the watcher: it would redraw now; the redraw below scrolls to the cursor
                self.set_reactive(LevelTable.cursor, bisect.bisect_left(self.shown, key(highlighted), key=key))
        self._fit_name_column(entries)
        if was_empty and self.shown:
            self._resize()
            self.move_cursor(0)
        elif entries:
            self._redraw_soon()

    def redraw_appended(self) -> None:
        """Draw the rows appended since the last redraw now (the listing has ended: show it exactly)."""
        if self._redraw_timer is not None:
            self._redraw_appended()

    def watch_filter_text(self) -> None:
        self._rebuild(self.highlighted_uri)

    def watch_sort_key(self) -> None:
        self._rebuild(self.highlighted_uri)

    def set_mark(self, location: Location, mark: Mark | None) -> None:
        """Mark an entry with what a peek or a sniff revealed (None: not a model after all)."""
        if self.marks.get(location) == mark:
            return
        if mark is None:
            self.marks.pop(location, None)
        else:
            self.marks[location] = mark
        top = self.scroll_offset.y
        for index in range(top, min(top + self._visible_rows(), len(self.shown))):  # only a row on screen
            if self.shown[index].location == location:
                self.refresh_line(index + 1)  # a virtual line: the header is line 0

    def mark_of(self, location: Location) -> Mark | None:
        return self.marks.get(location)

    def index_of(self, uri: str) -> int | None:
        """Where the entry with this URI is shown, or None if it is not (filtered out, not listed yet).

        A scan, not a lookup: an index of 100,000 rows would cost 8 MB and a rebuild on every page,
        and the cursor is looked for a few times a level.
        """
        return self._find(Location.from_uri(uri))

    @property
    def highlighted_entry(self) -> Entry | None:
        return self.shown[self.cursor] if 0 <= self.cursor < len(self.shown) else None

    @property
    def highlighted_mark(self) -> Mark | None:
        entry = self.highlighted_entry
        return self.marks.get(entry.location) if entry else None

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
        self.cursor = index

    def validate_cursor(self, index: int) -> int:
        return max(0, min(index, len(self.shown) - 1))

    def watch_cursor(self) -> None:
        if self._redraw_timer is not None:  # the cursor may be on a row the scrollbars do not know yet
            self._redraw_appended()
        self.refresh()
        if not self.shown:
            return
        self._scroll_to_cursor()
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

    def action_into(self) -> None:
        entry = self.highlighted_entry
        if entry is not None and entry.is_dir:
            self.post_message(self.IntoRequested(self, entry))

    def action_up(self) -> None:
        self.post_message(self.UpRequested(self))

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
        mark = self.marks.get(entry.location)
        base = self.rich_style
        if index % 2:
            base += self.get_component_rich_style("level-table--even-row")
        cursor = self.get_component_rich_style("level-table--cursor") if index == self.cursor else None
        updated = "" if self.stable_display else format_time(entry.updated)
        kind = _fit(mark.text if mark else "", COLUMNS[0].width)
        kind_style = CONTRADICTED_STYLE if mark and mark.contradicted else KIND_STYLE
        cells = [(_fit(entry.name, self.shown_name_width), FOLDER_STYLE if entry.is_dir else None)]
        if mark and mark.gated_findings:  # the ⚠ takes the cell's leading space: no column moves for it
            cells += [("⚠", FINDINGS_STYLE), (kind[1:], kind_style)]
        else:
            cells.append((kind, kind_style))
        cells += [
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
        wanted = self.filter_text
        return not wanted or wanted.lower() in entry.name.lower()

    def _ordered(self) -> list[Entry]:
        shown = [e for e in self.entries if self._passes(e)]
        key = _ORDER[self.sort_key]
        return sorted(shown, key=key) if key else shown

    def _rebuild(self, keep: str | None) -> None:
        """Show the entries that pass the filter in order, the cursor on `keep`."""
        self.shown = self._ordered()
        self._fit_name_column(self.shown)
        self._resize()
        position = (self._find(Location.from_uri(keep)) or 0) if keep else 0
        if not self.shown:
            self._announced = None
        self.cursor = position

    def _find(self, location: Location) -> int | None:
        path = location.path  # compared first: a string compare a row, not a dataclass's
        return next((i for i, e in enumerate(self.shown) if e.location.path == path and e.location == location), None)

    def _fit_name_column(self, entries: Iterable[Entry]) -> None:
        if self.name_width >= NAME_MAX:
            return  # as wide as it gets: a page of 1,000 names need not be measured
        names = [e.location.name for e in entries]
        # All-ASCII pages (the usual) are measured with len, many times quicker than cell_len per name.
        measure = len if "".join(names).isascii() else cell_len
        longest = max(map(measure, names), default=0)
        self.name_width = min(NAME_MAX, max(self.name_width, longest + 1))

    def _resize(self) -> None:
        """Size the scrollable area to the rows shown and redraw: what a new row count needs."""
        if self._redraw_timer is not None:
            self._redraw_timer.stop()
            self._redraw_timer = None
        self._redrawn_at = time.monotonic()
        width = sum(c.width + 2 for c in COLUMNS) + self.shown_name_width + 2
        self.virtual_size = Size(width, len(self.shown) + 1)  # + the header line
        self.refresh()

    def _redraw_soon(self) -> None:
        """Redraw for rows appended now, or once REDRAW_INTERVAL has passed since the last redraw."""
        if self._redraw_timer is not None:
            return  # one is on its way, and will draw these rows too
        wait = self._redrawn_at + REDRAW_INTERVAL - time.monotonic()
        if wait <= 0:
            self._redraw_appended()
        else:
            self._redraw_timer = self.set_timer(wait, self._redraw_appended, name="redraw appended rows")

    def _redraw_appended(self) -> None:
        self._resize()  # which stops the timer
        self._scroll_to_cursor()
        self.post_message(self.RowsAppended(self))


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
