"""The diff screen: what model B changes from model A, a tab per section, new findings first."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from tui.errors import TfscopeError
from tui.formats.diff import MARKS, SECTIONS, ModelDiff, Section, diff_models, finding_text, read_pair
from tui.formatting import printable
from tui.screens.help import HelpScreen, binding_rows
from tui.services import Services
from tui.storage import Location
from tui.widgets.error_text import error_text

TABS = ("findings", *SECTIONS)
LABELS = {"signatures": "Sigs", "variables": "Vars", "parameters": "Params"}
"""Short tab labels where the full word would push the last tabs off an 80-column bar."""
STYLES = {"added": "green", "removed": "red", "changed": "yellow"}


class DiffScreen(Screen[None]):
    """Reads both models in a thread worker as soon as it opens, then shows the diff's sections as tabs."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="diff-back", tooltip="Back to where the diff was asked for"),
        Binding("question_mark", "help", "Help", id="diff-help", tooltip="Show every key"),
        *(
            Binding(
                str(i + 1),
                f"tab('{tab}')",
                tab.title(),
                show=False,
                id=f"diff-tab-{tab}",
                tooltip=f"Show the {tab} tab",
            )
            for i, tab in enumerate(TABS)
        ),  # fmt: skip
    ]

    def __init__(self, services: Services, a: Location, b: Location) -> None:
        super().__init__()
        self.services = services
        self.a, self.b = a, b
        self.diff: ModelDiff | None = None
        self.error: TfscopeError | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("Diff  ", "bold"), f"A {printable(self.a.uri)}\n      B {printable(self.b.uri)}"),
                     id="diff-title")  # fmt: skip
        yield Static("Reading both models...", id="diff-status")
        with TabbedContent(id="diff-tabs"):
            for i, tab in enumerate(TABS):
                with TabPane(f"{i + 1} {LABELS.get(tab, tab.title())}", id=f"tab-{tab}"), VerticalScroll():
                    yield Static("", id=f"diff-{tab}")
        yield Footer()

    def on_mount(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="diff", description="read two models to diff")
    def _read(self) -> None:
        worker = get_current_worker()
        result = diff_models(*read_pair(self.services.stores, self.a, self.b, lambda: worker.is_cancelled))
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, result)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.group == "diff":
            self.error = TfscopeError.wrap(event.worker.error, "Press esc, then try another pair.")
            self.query_one("#diff-status", Static).update(error_text(self.error, separator=": "))

    def _show(self, result: ModelDiff) -> None:
        self.diff = result
        verdict = "the same in every section (weight values are not compared)" if result.same else "different"
        new = f", {len(result.new_findings)} new finding(s) in B" if result.new_findings else ""
        self.query_one("#diff-status", Static).update(Text(f"{verdict}{new}", style="bold red" if new else "bold"))
        findings = Text()
        for f in result.new_findings:
            findings.append(f"+ NEW {finding_text(f)}\n", style="bold red")
        for f in result.gone_findings:
            findings.append(f"- {finding_text(f)}\n", style="green")
        self.query_one("#diff-findings", Static).update(findings or Text("No finding came or went."))
        for section in result.sections:
            self.query_one(f"#diff-{section.title}", Static).update(_section_text(section))
        if not result.new_findings and not result.gone_findings:
            first = next((s.title for s in result.sections if s.changes), "signatures")
            self.query_one(TabbedContent).active = f"tab-{first}"

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"

    def action_back(self) -> None:
        self.dismiss()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(binding_rows(self)))


def _section_text(section: Section) -> Text:
    text = Text()
    for c in section.changes:
        value = c.after if c.before is None else c.before if c.after is None else f"{c.before} -> {c.after}"
        text.append(f"{MARKS[c.kind]} {printable(c.name)}: {printable(value or '')}\n", style=STYLES[c.kind])
    text.append(f"{section.same} unchanged" if section.same else "", style="dim")
    return text if text.plain.strip() else Text("No change.", style="dim")
