"""Tab 5: op types and how often each occurs; ops that touch files or call Python are flagged, and what
the graph's capability findings are (see formats/capabilities.py) is listed above the table."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from tui.formats.kinds import ArtifactKind
from tui.formats.model_info import ModelInfo
from tui.formats.ops import CHECKPOINT_OPS, flagged_ops
from tui.widgets.model.overview import GATED_STYLE, WARNING_SIGN, compact_finding_lines, findings_title
from tui.widgets.row_table import RowTable

ORDERS = ("count", "name")


class OpsTab(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort", id="ops-sort", tooltip="Sort ops by count or by name"),
    ]

    info: reactive[ModelInfo | None] = reactive(None)
    """The model as read (None while reading)."""
    order: reactive[str] = reactive("count")
    """One of ORDERS."""

    def compose(self) -> ComposeResult:
        yield Static("", id="ops-note", classes="tab-body")
        with VerticalScroll(id="ops-findings"):  # a line a finding; scrolls past a few (it must fit at 80x24)
            yield Static("", id="ops-findings-body")
        yield RowTable(id="op-table")

    def on_mount(self) -> None:
        self._fill()

    def watch_info(self) -> None:
        self._fill()

    def watch_order(self) -> None:
        self._fill()

    def action_sort(self) -> None:
        self.order = ORDERS[(ORDERS.index(self.order) + 1) % len(ORDERS)]
        self.notify(f"Ops sorted by {self.order}", timeout=2)

    def _fill(self) -> None:
        if not self.is_mounted:
            return
        table = self.query_one(RowTable)
        table.clear(columns=True)
        table.add_columns("Op", "Count", "Note")
        empty = self.query_one("#ops-note", Static)
        empty.display = self.info is not None and not self.info.ops
        table.display = not empty.display
        empty.update(_no_ops_note(self.info))
        self._show_findings()
        if self.info is None:
            return
        flagged = flagged_ops(self.info.ops)
        # An op with a finding is marked before its name; the others are indented to keep names aligned.
        marked: dict[str, bool] = {}  # op -> whether loading asks first because of it
        for finding in self.info.findings:
            if finding.name in self.info.ops:  # a Lambda layer's finding names no op
                marked[finding.name] = marked.get(finding.name, False) or finding.gated
        ops = sorted(self.info.ops.items()) if self.order == "name" else list(self.info.ops.items())
        for op, count in ops:
            if op in flagged:
                note = Text(f"! {flagged[op]}", style="bold red")
            elif op in CHECKPOINT_OPS:
                note = Text("checkpoint I/O, in every SavedModel", style="dim")
            else:
                note = Text("")
            table.add_row(_op_cell(op, marked), Text(f"{count:,}", justify="right"), note)

    def _show_findings(self) -> None:
        section = self.query_one("#ops-findings", VerticalScroll)
        findings = self.info.findings if self.info is not None else []
        section.display = bool(findings)
        if findings:
            lines = Text("\n").join(  # a line each, cut at the edge: app.tcss says so
                [findings_title(findings), *compact_finding_lines(findings)]
            )
            self.query_one("#ops-findings-body", Static).update(lines)


def _op_cell(op: str, marked: dict[str, bool]) -> str | Text:
    """The op's name, after a ⚠ when the graph uses it in a finding (warning colour when loading asks)."""
    if not marked:
        return op
    if op not in marked:
        return Text(f"  {op}")
    return Text.assemble((f"{WARNING_SIGN} ", GATED_STYLE if marked[op] else "dim"), op)


def _no_ops_note(info: ModelInfo | None) -> Text:
    if info is not None and info.kind is ArtifactKind.CHECKPOINT:
        return Text("A checkpoint holds values, not a graph: no ops (tab 4 lists its variables).", style="dim")
    return Text("Keras files keep layers, not a graph: there are no ops to list (tab 3 has the layers).", style="dim")
