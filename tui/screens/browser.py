"""The browser: buckets -> prefixes -> objects, one level at a time, listed in thread workers."""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Iterator
from itertools import islice

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState, get_current_worker

from tui.errors import TfscopeError
from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import Finding, ModelInfo
from tui.formats.registry import SNIFF_BYTES, folder_kind, kind_from_magic, kind_from_name, kinds_by_name
from tui.formats.serving_layout import newest_version
from tui.formatting import format_count, format_size, printable
from tui.messages import (
    DetailsFetched,
    DiffRequested,
    FolderClassified,
    ListingFinished,
    LocationResolved,
    ModelMarked,
    ModelRequested,
    PageListed,
)
from tui.screens.goto import GotoScreen
from tui.screens.help import HelpScreen, binding_rows
from tui.services import Services
from tui.storage import Entry, Location, parse_location
from tui.storage.resolve import resolve
from tui.widgets.details import DetailsPane
from tui.widgets.level_table import LevelTable, Mark, SortKey
from tui.widgets.uri_bar import UriBar

CLASSIFY_LIMIT = 200
"""Sub-folders peeked into per level to mark model folders; more would cost a request each."""
SUMMARY_LIMIT = 10_000
"""Objects counted for a folder's totals before the pane says "at least"."""
CACHED_LEVELS = 32
LEARNED_MARKS = 10_000


def _marks(kinds: dict[Location, ArtifactKind]) -> dict[Location, Mark]:
    """Row marks for what objects' names say they are, until their bytes are read."""
    return {location: Mark(kind) for location, kind in kinds.items()}


def _holds(entries: list[Entry], uri: str) -> bool:
    path = Location.from_uri(uri).path  # paths compared first: a string compare an entry
    return any(e.location.path == path and e.location.uri == uri for e in entries)


class BrowserScreen(Screen[None]):
    """Walk buckets and folders; Enter on a model opens it."""

    BINDINGS = [
        Binding("enter", "open", "Open", id="open", tooltip="Open a folder, or a model on its model screen"),
        Binding("g", "goto", "Go to", id="goto", tooltip="Type a gs:// URI or a local path to go to"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Show only names containing what you type"),
        Binding("s", "cycle_sort", "Sort", id="sort",
                tooltip="Sort by name, size (biggest first) or date (newest first)"),
        Binding("r", "refresh", "Refresh", show=False, id="refresh", tooltip="List this level again"),
        Binding("S", "scan", "Scan", id="scan", tooltip="Find every model under the highlighted folder (or this "
                "level) and what each can do: files, network, Python"),
        Binding("m", "mark", "Mark", show=False, id="mark", tooltip="Mark the highlighted model to compare with D"),
        Binding("D", "diff", "Diff", show=False, id="diff",
                tooltip="Compare the marked model with the highlighted one (a folder of numbered versions: its "
                "two newest)"),
        Binding("question_mark", "help", "Help", id="help", tooltip="Show every key"),
        Binding("q", "app.quit", "Quit", id="quit", tooltip="Leave tfscope"),
        Binding("d", "toggle_details", "Details", show=False, id="details",
                tooltip="Show or hide the details pane (hidden at first below 100 columns)"),
        Binding("y", "copy_uri", "Copy URI", show=False, id="copy",
                tooltip="Copy the highlighted URI (OSC 52, works over SSH)"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear-filter", tooltip="Drop the filter"),
    ]  # fmt: skip
    WIDE = 100
    """Columns from which the details pane shows unless hidden with d: below, the listing needs the room."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.stores = services.stores
        self.stable_display = services.settings.stable_display
        self.location: Location | None = None
        """The folder shown."""
        self.marked: Location | None = None
        """The model `m` marked (here or on a model screen), to compare with D."""
        self.listing_done = False
        """True once every page of the current level has arrived."""
        self.error: TfscopeError | None = None
        """The last listing error, shown until the next successful listing."""
        self._cache: OrderedDict[str, tuple[list[Entry], dict[Location, Mark]]] = OrderedDict()
        """Levels listed lately (URI -> entries, marks): going back shows them without a request."""
        self._learned: OrderedDict[Location, Mark] = OrderedDict()
        """What peeks into folders and objects' first bytes told: it outlives the level's listing."""
        self._findings: OrderedDict[Location, list[Finding]] = OrderedDict()
        """What models read on their screen can do to this machine: a ⚠ on their rows, a line in the details."""
        self._pending_cursor: str | None = None
        self._resolving: Location | None = None
        """Where the user asked to go, while a worker finds out what it is: the bar shows it."""
        self.details_wanted: bool | None = None
        """The user's choice with d; None: shown when the terminal is WIDE enough."""
        self._heap_frozen = False
        """gc.freeze() is in force while a level streams in (see `_hold_collector`)."""

    def compose(self) -> ComposeResult:
        yield UriBar(id="uri-bar")
        with Horizontal(id="browser-body"):
            yield LevelTable(stable_display=self.stable_display, id="listing")
            yield DetailsPane(stable_display=self.stable_display, id="details")
        yield Input(placeholder="filter this level (enter: keep, escape: clear)", id="filter-input")
        yield Footer(compact=True)

    @property
    def table(self) -> LevelTable:
        return self.query_one(LevelTable)

    @property
    def details(self) -> DetailsPane:
        return self.query_one(DetailsPane)

    # -- navigation -------------------------------------------------------------------------

    def navigate(self, location: Location, *, highlight: str | None = None, refresh: bool = False) -> None:
        """Show the folder at `location`, from the cache unless `refresh`, listing it in a worker."""
        location = location.as_dir()
        if not refresh and location.uri in self._cache:
            entries, marks = self._cache[location.uri]
            self._show_level(location, entries, marks, highlight=highlight, done=True)
            return
        self._show_level(location, [], {}, highlight=highlight, done=False)
        self._list_level(location)

    def go_to_text(self, text: str, *, open_model: bool = False) -> None:
        """Go where the user typed: a folder lists it, an object opens its folder with the object highlighted.

        With `open_model`, a location that is a model opens on the model screen, the browser
        waiting behind it on the model's parent folder (what `tfscope gs://.../model` does).
        """
        try:
            location = parse_location(text)
        except TfscopeError as error:
            self._show_error(error)
            return
        self._resolving = location
        self.error = None
        self._update_bar()
        self._resolve(location, open_model)

    def open_model(self, location: Location) -> None:
        self.post_message(ModelRequested(location))

    def _show_level(self, location: Location, entries: list[Entry], marks: dict[Location, Mark], *,
                    highlight: str | None, done: bool) -> None:  # fmt: skip
        self._resolving = None
        self._release_collector()  # a listing left behind, cancelled, ends its hold too
        self.location = location
        self.error = None
        self.listing_done = done
        self._pending_cursor = highlight
        self._clear_filter_input()
        self.table.show_entries(entries, self._with_learned(entries, marks), keep=highlight)
        if not entries:
            self.details.show_entry(None)
        self._update_bar()
        if done:
            self._level_listed(location)

    def _with_learned(self, entries: list[Entry], marks: dict[Location, Mark]) -> dict[Location, Mark]:
        """Marks from names, corrected by what peeks and sniffs learned earlier."""
        if not self._learned:
            return marks  # nothing learned yet: not a lookup a row for nothing
        learned = {e.location: self._learned[e.location] for e in entries if e.location in self._learned}
        return {**marks, **learned}

    # -- workers ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="listing", description="find a location")
    def _resolve(self, location: Location, open_model: bool) -> None:
        """Object or folder? One stat or one listing says, and what it fetched is not fetched again."""
        resolved = resolve(self.stores.for_location(location), location)
        kind = None
        if resolved.is_object:
            kind = kind_from_name(location.name)
        elif open_model and resolved.location.parent != resolved.location:
            kind = folder_kind(e.name for e in resolved.first_page)
        if not get_current_worker().is_cancelled:
            self.post_message(LocationResolved(resolved, kind, open_model))

    @work(thread=True, exclusive=True, exit_on_error=False, group="listing", description="list a folder")
    def _list_level(self, location: Location, rest: Iterator[list[Entry]] | None = None, listed: int = 0) -> None:
        """List `location`, or go on with `rest`: the pages after the `listed` entries already shown."""
        worker = get_current_worker()
        first = rest is None  # the first page replaces what the table shows
        pages = self.stores.for_location(location).list_level(location) if rest is None else rest
        count = listed
        try:
            for page in pages:
                if worker.is_cancelled:
                    return
                self.post_message(PageListed(location, page, kinds_by_name(page), first=first))
                first = False
                count += len(page)
        finally:
            close = getattr(pages, "close", None)
            if close is not None:  # left the level: its range listers stop now, not when this is collected
                close()
        if not worker.is_cancelled:
            self.post_message(ListingFinished(location, count))

    @work(thread=True, exclusive=True, exit_on_error=False, group="classify", description="find model folders")
    def _classify_folders(self, folder: Location, entries: list[Entry]) -> None:
        """Peek inside sub-folders (one request each) to mark SavedModels and checkpoint folders."""
        worker = get_current_worker()
        store = self.stores.for_location(folder)
        if folder.is_gcs and not folder.bucket:
            return  # the bucket list: a bucket's root is rarely a model, and a peek costs a request each
        # The first CLASSIFY_LIMIT folders, without a look at every row of a 100,000-object level.
        todo = list(islice((e for e in entries if e.is_dir and e.location not in self._learned), CLASSIFY_LIMIT))
        for entry in todo:
            if worker.is_cancelled:
                return
            try:
                first_page = next(iter(store.list_level(entry.location)), [])
            except TfscopeError:
                continue  # a folder we cannot read is simply not marked
            kind = folder_kind(e.name for e in first_page)
            if kind is None:  # TF Serving's layout: numbered folders, the newest a SavedModel (one more request)
                try:
                    found = newest_version(store, first_page)
                except TfscopeError:
                    found = None
                if found is not None and not worker.is_cancelled:
                    self.post_message(FolderClassified(entry.location, ArtifactKind.SAVED_MODEL, *found))
            elif not worker.is_cancelled:
                self.post_message(FolderClassified(entry.location, kind))

    @work(thread=True, exclusive=True, exit_on_error=False, group="details", description="read details")
    def _fetch_details(self, entry: Entry) -> None:
        """A folder's total size and file count, or an object's kind from its first bytes."""
        worker = get_current_worker()
        store = self.stores.for_location(entry.location)
        if entry.is_dir:
            if not entry.location.bucket and entry.location.is_gcs:
                return
            total = count = 0
            capped = False
            for page in store.list_recursive(entry.location):
                if worker.is_cancelled:
                    return
                total += sum(e.size or 0 for e in page)
                count += len(page)
                if count >= SUMMARY_LIMIT:
                    capped = True
                    break
            at_least = "at least " if capped else ""
            facts = {"Objects": f"{at_least}{format_count(count)}", "Total size": f"{at_least}{format_size(total)}"}
            self.post_message(DetailsFetched(entry.location, facts, None))
            return
        if not entry.size:
            return
        head = store.read_range(entry.location, 0, SNIFF_BYTES)
        kind = kind_from_magic(head, entry.name)
        named = kind_from_name(entry.name)
        contradicted = kind is None and named is not None
        if not worker.is_cancelled:
            self.post_message(DetailsFetched(entry.location, {"Magic bytes": head.hex(" ")}, kind or named,
                                             contradicted))  # fmt: skip

    # -- messages from workers --------------------------------------------------------------

    @on(LocationResolved)
    def location_resolved(self, message: LocationResolved) -> None:
        resolved = message.resolved
        where = resolved.location
        if resolved.is_object:
            self.navigate(where.parent, highlight=where.uri)
            if message.open_model and message.kind is not None:
                self.open_model(where)
        elif message.open_model and message.kind is not None:
            # A model folder: its screen opens, the browser waits behind it on the folder that holds it.
            self._learn(where, Mark(message.kind))
            self.navigate(where.parent, highlight=where.uri)
            self.open_model(where)
        else:
            self._show_level(where, resolved.first_page, _marks(kinds_by_name(resolved.first_page)), highlight=None,
                             done=False)  # fmt: skip
            self._list_level(where, resolved.rest, listed=len(resolved.first_page))

    @on(PageListed)
    def page_listed(self, message: PageListed) -> None:
        if message.location != self.location:
            return  # a stale page from a folder we already left
        self._hold_collector()
        marks = self._with_learned(message.entries, _marks(message.kinds))
        if message.first:
            self.table.show_entries(message.entries, marks, keep=self._pending_cursor)
        else:
            self.table.append_entries(message.entries, marks)
        pending = self._pending_cursor
        # Looked for in this page before the table (a scan of every row shown): pages come by the hundred.
        index = self.table.index_of(pending) if pending and _holds(message.entries, pending) else None
        if index is not None:
            self.table.move_cursor(index)
            self._pending_cursor = None  # found: later pages must not pull the cursor back to it
        if message.first:
            self._update_bar()  # later pages: when the table draws them (RowsAppended), not on every page

    @on(LevelTable.RowsAppended, "#listing")
    def rows_appended(self) -> None:
        self._update_bar()

    @on(ListingFinished)
    def listing_finished(self, message: ListingFinished) -> None:
        if message.location != self.location:
            return
        self._release_collector()
        self.table.redraw_appended()  # the last pages on screen now, not at the next redraw's time
        self.listing_done = True
        # The table's own list, not a copy: it is replaced, never extended, once its level is listed.
        self._cache[message.location.uri] = (self.table.entries, dict(self.table.marks))
        self._cache.move_to_end(message.location.uri)
        while len(self._cache) > CACHED_LEVELS:
            self._cache.popitem(last=False)
        self._update_bar()
        self._level_listed(message.location)

    def _hold_collector(self) -> None:
        """Leave what is already in memory out of the cyclic collector's passes until the level is listed.

        Each page adds 3,000 objects the collector tracks (entries, locations, stats: none in a cycle),
        and its full passes, as the heap grows, walked all of them again: 0.4 s of a 100,000-object level's
        2.8 s, holding the GIL the listing threads need. Frozen objects are collected as usual once released.
        """
        gc.freeze()
        self._heap_frozen = True

    def _release_collector(self) -> None:
        if self._heap_frozen:
            gc.unfreeze()
            self._heap_frozen = False

    def _level_listed(self, location: Location) -> None:
        entries = self.table.entries
        if not entries:
            self.details.update("This folder is empty.")
        self._classify_folders(location, entries)

    @on(FolderClassified)
    def folder_classified(self, message: FolderClassified) -> None:
        mark = Mark(message.kind, versions=message.versions, newest=message.newest)
        self._learn(message.location, mark)
        highlighted = self.table.highlighted_entry
        if highlighted and highlighted.location == message.location:
            self.details.show_entry(highlighted, mark)
            self._fetch_details(highlighted)

    @on(DetailsFetched)
    def details_fetched(self, message: DetailsFetched) -> None:
        mark = Mark(message.kind, message.contradicted) if message.kind is not None else None
        if mark is not None:
            self._learn(message.location, mark)
        entry = self.details.entry
        if entry is None or entry.location != message.location:
            return
        if mark is not None:
            self.details.set_mark(mark)
        self.details.add_facts(message.facts)

    def _learn(self, location: Location, mark: Mark) -> None:
        """Remember what a peek or the first bytes told, for the table now and the level when shown again."""
        mark = mark._replace(gated_findings=sum(f.gated for f in self._findings.get(location, ())))
        self._learned[location] = mark
        self._learned.move_to_end(location)
        while len(self._learned) > LEARNED_MARKS:
            self._learned.popitem(last=False)
        self.table.set_mark(location, mark)
        cached = self._cache.get(location.parent.uri)
        if cached is not None:
            cached[1][location] = mark

    def learn_findings(self, info: ModelInfo) -> None:
        """A model was read (on its screen, or by a scan): what it can do to this machine marks its row and
        its details. The browser's own details fetch reads a file's first bytes, not its graph."""
        if info.partial or info.kind is ArtifactKind.CHECKPOINT:
            return  # still reading; or no graph, so nothing to look for
        location = info.location
        self._findings[location] = list(info.findings)
        self._findings.move_to_end(location)
        while len(self._findings) > LEARNED_MARKS:
            self._findings.popitem(last=False)
        self._learn(location, self.table.mark_of(location) or Mark(info.kind))
        if self.details.entry is not None and self.details.entry.location == location:
            self.details.set_mark(self.table.mark_of(location))
            self.details.set_findings(self._findings[location])

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures become UI."""
        if event.state is not WorkerState.ERROR:
            return
        error = TfscopeError.wrap(event.worker.error, "Press r to retry.")
        if event.worker.group == "listing":
            self._release_collector()
            if self._resolving is not None:  # the place asked for failed: show it, empty, where `left` goes up from
                self.location, self._resolving = self._resolving.as_dir(), None
                self.table.show_entries([])
            self.error = error
            self.listing_done = True
            self._update_bar()
            self._show_error(error)
        elif event.worker.group == "details":
            self.details.add_facts({"Error": error.one_line()})
        elif event.worker.group == "versions":
            self.notify(error.one_line(), severity="error", timeout=6)

    # -- table events -----------------------------------------------------------------------

    @on(LevelTable.RowHighlighted, "#listing")
    def row_highlighted(self, event: LevelTable.RowHighlighted) -> None:
        entry = event.entry
        self.details.show_entry(entry, self.table.mark_of(entry.location), self._findings.get(entry.location))
        if self.app.screen is self:  # behind the model screen, the details would cost requests nobody sees
            self._fetch_details(entry)
        self._update_bar()

    @on(LevelTable.RowSelected, "#listing")
    def row_selected(self, event: LevelTable.RowSelected) -> None:
        self.action_open()

    @on(LevelTable.IntoRequested, "#listing")
    def into_requested(self, event: LevelTable.IntoRequested) -> None:
        self.navigate(event.entry.location)

    @on(LevelTable.UpRequested, "#listing")
    def up_requested(self) -> None:
        self.action_go_up()

    def on_screen_resume(self) -> None:
        entry = self.table.highlighted_entry
        if entry is not None and self.details.entry == entry and not self.details.facts:
            self._fetch_details(entry)  # skipped while the model screen was in front

    # -- filter -----------------------------------------------------------------------------

    @on(Input.Changed, "#filter-input")
    def filter_changed(self, event: Input.Changed) -> None:
        self.table.filter_text = event.value
        self._update_bar()

    @on(Input.Submitted, "#filter-input")
    def filter_submitted(self) -> None:
        self.table.focus()

    def _clear_filter_input(self) -> None:
        box = self.query_one("#filter-input", Input)
        box.value = ""
        box.display = False
        self.table.filter_text = ""

    # -- actions ----------------------------------------------------------------------------

    def action_open(self) -> None:
        entry = self.table.highlighted_entry
        if entry is None:
            return
        mark = self.table.mark_of(entry.location)
        if mark is not None and mark.newest is not None:  # a folder of versions: its newest, as TF Serving would
            self.open_model(mark.newest)
        elif mark is not None:  # a contradicted one too: its screen says why it fails
            self.open_model(entry.location)
        elif entry.is_dir:
            self.navigate(entry.location)
        else:
            self.notify(f"{printable(entry.name)} is not a model tfscope recognises.", timeout=3, markup=False)

    def action_scan(self) -> None:
        from tui.screens.scan import ScanScreen

        entry = self.table.highlighted_entry
        target = entry.location if entry is not None and entry.is_dir else self.location
        if target is None or (target.is_gcs and not target.bucket):
            self.notify("A scan needs a bucket: highlight one, or open it first.", severity="warning", timeout=4)
            return
        self.app.push_screen(ScanScreen(self.services, target))

    def action_mark(self) -> None:
        entry = self.table.highlighted_entry
        if entry is not None:
            mark = self.table.mark_of(entry.location)
            location = mark.newest if mark is not None and mark.newest is not None else entry.location
            self.marked = location  # now, not when the app gets the message: D may come first
            self.post_message(ModelMarked(location))

    def action_diff(self) -> None:
        entry = self.table.highlighted_entry
        if entry is not None:
            self._diff(entry, self.marked)

    @work(thread=True, exclusive=True, exit_on_error=False, group="versions", description="find what to diff")
    def _diff(self, entry: Entry, marked: Location | None) -> None:
        """A folder of numbered versions: its two newest; else the marked model against the highlighted one;
        else this level's two newest versions."""
        from tui.formats.serving_layout import serving_versions

        pair: tuple[Location, Location] | None = None
        if entry.is_dir and (versions := serving_versions(self.stores.for_location(entry.location), entry.location)):
            pair = (versions[-2], versions[-1]) if len(versions) >= 2 else None
        if pair is None and marked is not None and marked != entry.location:
            pair = (marked, entry.location)
        if pair is None and marked is None and self.location is not None:
            versions = serving_versions(self.stores.for_location(self.location), self.location)
            pair = (versions[-2], versions[-1]) if len(versions) >= 2 else None
        if get_current_worker().is_cancelled:
            return
        if pair is None:
            self.app.call_from_thread(self.notify, "Mark a model with m first, then press D on the other (or on "
                                      "a folder of numbered versions).", severity="warning", timeout=4)  # fmt: skip
            return
        self.post_message(DiffRequested(pair[1], against=pair[0]))

    def action_go_up(self) -> None:
        if self.location is None:
            return
        parent = self.location.parent
        if parent != self.location:
            self.navigate(parent, highlight=self.location.uri)

    def action_goto(self) -> None:
        current = self.location.uri if self.location else ""

        def done(text: str | None) -> None:
            if text:
                self.go_to_text(text, open_model=True)  # like `tfscope URI`: a model opens on its screen

        self.app.push_screen(GotoScreen(current), done)

    def action_filter(self) -> None:
        box = self.query_one("#filter-input", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        self._clear_filter_input()
        self.table.focus()
        self._update_bar()

    def action_cycle_sort(self) -> None:
        self.table.sort_key = self.table.sort_key.next()
        self._update_bar()

    def action_refresh(self) -> None:
        if self.location is not None:
            self.navigate(self.location, highlight=self.table.highlighted_uri, refresh=True)

    def on_resize(self) -> None:
        self._place_details()

    def action_toggle_details(self) -> None:
        self.details_wanted = not self.details.display
        self._place_details()

    def _place_details(self) -> None:
        wanted = self.details_wanted
        self.details.display = wanted if wanted is not None else self.size.width >= self.WIDE

    def action_copy_uri(self) -> None:
        entry = self.table.highlighted_entry
        uri = entry.location.uri if entry else (self.location.uri if self.location else "")
        if uri:
            self.app.copy_to_clipboard(uri)
            self.notify(f"Copied {printable(uri)}", timeout=3, markup=False)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(binding_rows(self)))

    # -- helpers ----------------------------------------------------------------------------

    def _show_error(self, error: TfscopeError) -> None:
        self.details.show_error(error)
        text = f"{error.detail}\n{error.fix}" if error.fix else error.detail
        self.notify(text, title=error.title, severity="error", timeout=8, markup=False)

    def _update_bar(self) -> None:
        if self._resolving is not None:
            self.query_one(UriBar).show(self._resolving.uri, "finding…")
            return
        if self.location is None:
            self.query_one(UriBar).show("", "starting…")
            return
        table = self.table
        total = len(table.entries)
        parts = []
        if self.error is not None:
            parts.append(self.error.title.lower())
        elif not self.listing_done:
            parts.append(f"listing… {format_count(total)}")
        else:
            parts.append(f"{format_count(total)} entries")
        if table.filter_text:
            parts.append(f"filter '{table.filter_text}': {format_count(table.visible_count)} shown")
        if table.sort_key is not SortKey.NAME:
            parts.append(f"sorted by {table.sort_key.value}")
        self.query_one(UriBar).show(self.location.uri, " · ".join(parts))
