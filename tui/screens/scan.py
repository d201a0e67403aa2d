"""The scan screen: every model under a folder, what each can do, findings first; enter opens one."""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from tui.errors import TfscopeError
from tui.formats.model_info import AT_LOAD
from tui.formats.report import finding_lines
from tui.formats.scan import FoundModel, ScanReport, ScanResult, scan
from tui.formats.scan_report import summary_line, versions_text
from tui.formatting import format_size, printable
from tui.messages import ModelInspected, ModelRequested
from tui.services import Services
from tui.storage import Location
from tui.widgets.error_text import error_text

SORTS = ("findings", "name", "size", "params")
"""What `s` cycles through; findings first is where a scan starts."""
COLUMNS = ("!", "model", "format", "size", "params", "saved with", "signatures")


def rank(result: ScanResult) -> int:
    """Findings that run at load, then other reachable ones, other findings, unreadable models, clean ones."""
    if result.error is not None:
        return 3
    findings = result.info.findings if result.info else []
    if any(f.gated and f.when == AT_LOAD for f in findings):
        return 0
    if any(f.gated for f in findings):
        return 1
    return 2 if findings else 4


SORT_KEYS: dict[str, Callable[[ScanResult], tuple[object, ...]]] = {
    "findings": lambda r: (rank(r), r.found.location.path),
    "name": lambda r: (r.found.location.path,),
    "size": lambda r: (-r.found.size, r.found.location.path),
    "params": lambda r: (-(r.info.total_params if r.info else -1), r.found.location.path),
}


class ScanScreen(Screen[None]):
    """Scans `location` (a folder or prefix) in a thread worker as soon as it opens; leaving stops it."""

    BINDINGS = [
        Binding("enter", "open", "Open", id="scan-open", tooltip="Open the highlighted model on its model screen"),
        Binding("s", "cycle_sort", "Sort", id="scan-sort",
                tooltip="Sort by findings (worst first), name, size (biggest first) or parameters"),
        Binding("slash", "filter", "Filter", id="scan-filter",
                tooltip="Show only models whose path, format or findings contain what you type"),
        Binding("r", "rescan", "Scan again", id="scan-again", tooltip="Scan the folder again from the start"),
        Binding("escape", "back", "Back", id="scan-back", tooltip="Back to the browser (a running scan stops)"),
        Binding("question_mark", "help", "Help", id="scan-help", tooltip="Show every key"),
    ]  # fmt: skip

    sort_key: reactive[str] = reactive("findings")
    """One of SORTS: the order of the rows."""
    filter_text: reactive[str] = reactive("")
    """Rows shown are those whose path, format or finding names contain this (case-insensitive)."""

    class Listed(Message):
        """The listing is in: these models will be read."""

        def __init__(self, found: list[FoundModel]) -> None:
            super().__init__()
            self.found = found

    class Read(Message):
        """One more model read (or not)."""

        def __init__(self, result: ScanResult) -> None:
            super().__init__()
            self.result = result

    class Finished(Message):
        def __init__(self, report: ScanReport, seconds: float) -> None:
            super().__init__()
            self.report = report
            self.seconds = seconds

    def __init__(self, services: Services, location: Location) -> None:
        super().__init__()
        self.services = services
        self.location = location.as_dir() if location.is_gcs else location
        self.results: dict[Location, ScanResult] = {}
        self.total: int | None = None
        """Models the listing found; None while listing."""
        self.finished: ScanReport | None = None
        self.error: TfscopeError | None = None
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Scan of {printable(self.location.uri)}", style="bold"), id="scan-title")
        yield Static("Listing...", id="scan-status")
        table: DataTable[str | Text] = DataTable(id="scan-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="scan-detail")
        yield Input(placeholder="filter: path, format or finding", id="scan-filter-input")
        yield Footer()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#scan-table", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns(*COLUMNS)  # sized to what they hold at each refresh of the rows
        self.query_one("#scan-filter-input").display = False
        self.set_interval(0.25, self._refresh_if_changed)
        self._scan()

    # -- the scan --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan", description="scan a folder for models")
    def _scan(self) -> None:
        import time

        worker = get_current_worker()
        started = time.monotonic()
        report = scan(
            self.services.stores.for_location(self.location),
            self.location,
            on_listed=lambda found: self.post_message(self.Listed(found)),
            on_result=lambda result, done, total: self.post_message(self.Read(result)),
            cancelled=lambda: worker.is_cancelled,
        )
        if not worker.is_cancelled:
            self.post_message(self.Finished(report, time.monotonic() - started))

    def on_scan_screen_listed(self, message: Listed) -> None:
        self.total = len(message.found)
        self._update_status()

    def on_scan_screen_read(self, message: Read) -> None:
        self.results[message.result.found.location] = message.result
        self._dirty = True
        if message.result.info is not None:  # up to the app: the browser marks the rows of models with findings
            self.post_message(ModelInspected(message.result.info))

    def on_scan_screen_finished(self, message: Finished) -> None:
        self.finished = message.report
        self.query_one("#scan-status", Static).update(summary_line(message.report, message.seconds))
        self._refresh_rows()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place a failed scan becomes UI: the listing failed (missing, no access, network)."""
        if event.state is WorkerState.ERROR and event.worker.group == "scan":
            self.error = TfscopeError.wrap(event.worker.error, "Press r to scan again.")
            self.query_one("#scan-status", Static).update(error_text(self.error, separator=": "))

    def _update_status(self) -> None:
        if self.finished is None and self.error is None:
            total = "listing..." if self.total is None else f"found {self.total} model(s), read {len(self.results)}"
            self.query_one("#scan-status", Static).update(f"Scanning: {total}")

    # -- rows ------------------------------------------------------------------------------

    def _refresh_if_changed(self) -> None:
        if self._dirty:
            self._refresh_rows()
            self._update_status()

    def shown(self) -> list[ScanResult]:
        """The results on screen, in order: filtered, then sorted."""
        needle = self.filter_text.lower()
        rows = [r for r in self.results.values() if not needle or needle in _haystack(r)]
        return sorted(rows, key=SORT_KEYS[self.sort_key])

    def _refresh_rows(self) -> None:
        self._dirty = False
        table = self.table
        keep = self._highlighted()
        rows = [(result.found.location.uri, self._cells(result)) for result in self.shown()]
        # Widths set here, not measured by the table: it measures new rows when idle, and a frame painted
        # before that keeps its cells at the headers' widths (seen once: a scan done in 0.2 s, names cut to 5).
        widths = [max([len(label), *(_cell_width(cells[i]) for _, cells in rows)]) for i, label in enumerate(COLUMNS)]
        table.clear(columns=True)
        for label, width in zip(COLUMNS, widths, strict=True):
            table.add_column(label, width=width)
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if keep is not None and keep.found.location.uri in table.rows:
            table.move_cursor(row=table.get_row_index(keep.found.location.uri))
        self._show_detail()

    def _cells(self, result: ScanResult) -> tuple[str | Text, ...]:
        info = result.info
        uri, root = result.found.location.uri, self.location.uri
        path = uri[len(root) :] if uri.startswith(root) and uri != root else uri
        found = (printable(path), result.found.kind.label, format_size(result.found.size))
        if info is None:
            return (Text("✗", style="bold red"), *found, "-", "-", "-")
        mark = Text(f"⚠{len(info.findings)}", style="bold red" if rank(result) < 2 else "yellow") if info.findings \
            else Text("")  # fmt: skip
        names = [s.name for s in info.signatures]
        signatures = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
        return (mark, *found, f"{info.total_params:,}", versions_text(info.versions) or "-", signatures or "-")

    def _highlighted(self) -> ScanResult | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.results.values() if r.found.location.uri == key), None)

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        result = self._highlighted()
        detail = self.query_one("#scan-detail", Static)
        if result is None:
            detail.update("")
        elif result.error is not None:
            detail.update(error_text(result.error, separator=" "))
        elif result.info is not None and result.info.findings:
            lines = finding_lines(result.info.findings)
            more = f"\n... {len(lines) - 4} more: enter opens the model" if len(lines) > 4 else ""
            detail.update(Text("\n".join(lines[:4]) + more, style="red" if rank(result) < 2 else "yellow"))
        else:
            detail.update(Text("No file, network or Python capability found.", style="green"))

    def watch_sort_key(self) -> None:
        if self.is_mounted:
            self._refresh_rows()

    def watch_filter_text(self) -> None:
        if self.is_mounted:
            self._refresh_rows()

    # -- keys ------------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:  # the table takes enter for itself
        self.action_open()

    def action_open(self) -> None:
        result = self._highlighted()
        if result is not None:
            self.post_message(ModelRequested(result.found.location))

    def action_cycle_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self.notify(f"Sorted by {self.sort_key}", timeout=2)

    def action_filter(self) -> None:
        box = self.query_one("#scan-filter-input", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#scan-filter-input")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value

    @on(Input.Submitted, "#scan-filter-input")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_back(self) -> None:
        box = self.query_one("#scan-filter-input", Input)
        if box.display and (box.has_focus or self.filter_text):  # escape drops the filter first
            box.value = ""
            box.display = False
            self.table.focus()
            return
        self.workers.cancel_group(self, "scan")
        self.dismiss()

    def action_rescan(self) -> None:
        self.results.clear()
        self.total, self.finished, self.error = None, None, None
        self._refresh_rows()
        self.query_one("#scan-status", Static).update("Listing...")
        self._scan()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, binding_rows

        self.app.push_screen(HelpScreen(binding_rows(self)))

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "scan")


def _cell_width(cell: str | Text) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def _haystack(result: ScanResult) -> str:
    names = " ".join(f"{f.name} {f.capability}" for f in result.info.findings) if result.info else ""
    return f"{result.found.location.path} {result.found.kind.label} {names}".lower()
