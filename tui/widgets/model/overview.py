"""Tab 1: format, size, versions, parameters, what loading needs, files."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from tui.errors import TfscopeError
from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import ModelInfo
from tui.formats.report import load_verdict
from tui.formatting import format_size, printable
from tui.widgets.error_text import error_text

FILES_SHOWN = 50


class OverviewTab(VerticalScroll):
    """What the artifact is, in label/value rows, then its files."""

    info: reactive[ModelInfo | None] = reactive(None)
    """The model as read (None while reading)."""
    error: reactive[TfscopeError | None] = reactive(None)
    """Why reading failed, if it did."""

    def __init__(self, *, stable_display: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stable_display = stable_display
        """Hide what changes between identical runs (timestamps, bytes read): snapshots and screenshots."""

    def compose(self) -> ComposeResult:
        yield Static("Reading the model's metadata…", classes="tab-body")

    def watch_info(self) -> None:
        self._show()

    def watch_error(self) -> None:
        self._show()

    def _show(self) -> None:
        if not self.is_mounted:
            return
        body = self.query_one(Static)
        if self.error is not None:
            body.update(error_text(self.error))
        elif self.info is not None:
            body.update(self._overview(self.info))

    def on_mount(self) -> None:
        self._show()

    def _overview(self, info: ModelInfo) -> RenderableType:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("Format", info.kind.label)
        table.add_row("URI", printable(info.uri))
        if info.kind is ArtifactKind.KERAS:
            table.add_row("Size on storage", f"{format_size(info.size)}, a zip of {len(info.files)} members")
        else:
            table.add_row("Size on storage", f"{format_size(info.size)} in {len(info.files)} file(s)")
        for label, version in info.versions.items():
            table.add_row(label, version)
        if info.partial:
            table.add_row("Parameters", Text("reading the weights' headers…", style="dim"))
        else:
            table.add_row("Parameters", f"{info.total_params:,}")
        for dtype, (count, nbytes) in info.params_by_dtype().items():
            table.add_row("", f"{dtype}: {count:,} ({format_size(nbytes)})")
        if info.tag_sets:
            table.add_row("Tag-sets", "; ".join(", ".join(t) for t in info.tag_sets))
        table.add_row("Load with", Text(load_verdict(info), style="green" if not info.needs else "yellow"))
        for label, value in info.details.items():
            if not (self.stable_display and label in {"Saved", "Fingerprint"}):
                table.add_row(label, value)
        if info.assets:
            table.add_row("Assets", ", ".join(info.assets))
        if info.bytes_read is not None and not self.stable_display:
            share = f" ({100 * info.bytes_read / info.size:.1f}% of it)" if info.size else ""
            table.add_row("Read to show this", f"{format_size(info.bytes_read)} in {info.requests} requests{share}")
        title = "Inside the zip" if info.kind is ArtifactKind.KERAS else "Files"
        files = Table("File", "Size", title=title, title_justify="left", show_edge=False)
        for path, size in info.files[:FILES_SHOWN]:
            files.add_row(path, Text(format_size(size), justify="right"))
        if len(info.files) > FILES_SHOWN:
            files.add_row(f"… {len(info.files) - FILES_SHOWN} more", "")
        return Group(table, Text(""), files)
