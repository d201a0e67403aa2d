"""Tab 1: format, size, versions, parameters, what loading needs, what the model can do to the machine, files."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from tui.errors import TfscopeError
from tui.formats.card_report import file_text, note_text
from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import AT_LOAD, NOT_REACHABLE, Finding, ModelCard, ModelInfo
from tui.formats.report import CAPABILITY_WORDS, load_verdict
from tui.formatting import format_size, printable
from tui.widgets.error_text import error_text

FILES_SHOWN = 50
GATED_STYLE = "bold yellow"
"""Findings that make loading ask first: the warning colour."""
WARNING_SIGN = "⚠"


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
        table.add_row("Findings", findings_summary(info))
        for label, value in info.details.items():
            if not (self.stable_display and label in {"Saved", "Fingerprint"}):
                table.add_row(label, value)
        if info.assets:
            table.add_row("Assets", ", ".join(info.assets))
        if info.card is not None:
            card_rows(table, info.card)
        if info.bytes_read is not None and not self.stable_display:
            share = f" ({100 * info.bytes_read / info.size:.1f}% of it)" if info.size else ""
            table.add_row("Read to show this", f"{format_size(info.bytes_read)} in {info.requests} requests{share}")
        title = "Inside the zip" if info.kind is ArtifactKind.KERAS else "Files"
        files = Table("File", "Size", title=title, title_justify="left", show_edge=False)
        for path, size in info.files[:FILES_SHOWN]:
            files.add_row(path, Text(format_size(size), justify="right"))
        if len(info.files) > FILES_SHOWN:
            files.add_row(f"… {len(info.files) - FILES_SHOWN} more", "")
        if not info.findings:
            return Group(table, Text(""), files)
        return Group(table, Text(""), findings_list(info.findings), Text(""), files)


def card_rows(table: Table, card: ModelCard) -> None:
    """What the model's metadata says: name and version, author, license, each tensor, its files."""
    named = " ".join(filter(None, [card.name, card.version]))
    for label, value in (("Model name", named), ("Author", card.author), ("License", card.license),
                         ("Description", card.description)):  # fmt: skip
        if value:
            table.add_row(label, Text(printable(value)))
    for side, notes in (("Input", card.inputs), ("Output", card.outputs)):
        for note in notes:
            table.add_row(f"{side} {printable(note.name)}", Text(note_text(note)))
    for f in card.files:
        table.add_row("Attached", Text(file_text(f)))
    if card.problem:
        table.add_row("Metadata", Text(card.problem, style="yellow"))


def ordered_findings(findings: list[Finding]) -> list[Finding]:
    """At load first, then when called, then unreachable; in the readers' order within each."""
    return sorted(findings, key=lambda f: (f.when != AT_LOAD, f.when == NOT_REACHABLE))


def finding_cells(finding: Finding) -> tuple[str, str, str, str, str]:
    """Op or layer, what it does in words, its target, when it runs, where it is: what a person reads."""
    what = CAPABILITY_WORDS.get(finding.capability, finding.capability)
    target = printable(finding.target) if finding.target is not None else "(computed)"
    return printable(finding.name), what, target, finding.when, printable(finding.where)


def findings_title(findings: list[Finding]) -> Text:
    """`⚠ 2 findings (1 makes loading ask first)`: yellow when loading will ask."""
    gated = sum(f.gated for f in findings)
    noun = "finding" if len(findings) == 1 else "findings"
    asks = f"{gated or 'none'} {'makes' if gated <= 1 else 'make'} loading ask first"
    return Text(f"{WARNING_SIGN} {len(findings)} {noun} ({asks})", style=GATED_STYLE if gated else "bold")


def findings_summary(info: ModelInfo) -> Text:
    """The Findings row: how many and whether loading asks, or that none were found (or looked for)."""
    if info.findings:
        title = findings_title(info.findings)
        title.append(": listed below", style="not bold")
        return title
    if info.kind is ArtifactKind.CHECKPOINT:
        return Text("none looked for: a checkpoint holds values, no graph", style="dim")
    return Text("none: no file, network or Python capability found", style="green")


def findings_list(findings: list[Finding]) -> Text:
    """Every finding in two lines: what it does to what, then when and where. Gated ones in the warning colour,
    the rest dim (they cannot run, or only write to the console). Wraps rather than cuts: the tab scrolls, and
    at 80 columns a five-column table cut the very node names people look for."""
    text = Text("What it can do to this machine", style="bold")
    for finding in ordered_findings(findings):
        name, what, target, when, where = finding_cells(finding)
        style = GATED_STYLE if finding.gated else "dim"
        text.append(f"\n{WARNING_SIGN if finding.gated else ' '} {name}  {what}  {target}", style=style)
        text.append(f"\n    {when}", style="" if finding.gated else "dim")
        text.append(f"  in {where}", style="dim")
    return text


def compact_finding_lines(findings: list[Finding]) -> list[Text]:
    """One line each, columns aligned (the Ops tab's list; its CSS cuts them at the edge)."""
    ordered = ordered_findings(findings)
    rows = [finding_cells(f) for f in ordered]
    caps = (24, 22, 28)  # name, what, target: when and where take what is left
    widths = [min(cap, max(cell_len(row[i]) for row in rows)) for i, cap in enumerate(caps)]
    lines = []
    for finding, (name, what, target, when, where) in zip(ordered, rows, strict=True):
        cells = [_pad(text, width) for text, width in zip((name, what, target), widths, strict=True)]
        line = Text()
        line.append(f"{WARNING_SIGN} " if finding.gated else "  ", style=GATED_STYLE)
        line.append("  ".join(cells), style=GATED_STYLE if finding.gated else "dim")
        line.append(f"  {when}", style="" if finding.gated else "dim")
        line.append(f"  in {where}", style="dim")
        lines.append(line)
    return lines


def _pad(text: str, width: int) -> str:
    return set_cell_size(text, width - 1) + "…" if cell_len(text) > width else set_cell_size(text, width)
