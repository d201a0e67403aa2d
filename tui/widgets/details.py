"""The details pane: what `gcloud storage ls -L` would say about the highlighted entry."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.errors import TfscopeError
from tui.formats.model_info import AT_LOAD, NOT_REACHABLE, Finding
from tui.formats.report import CAPABILITY_WORDS
from tui.formatting import format_size, format_time, printable
from tui.storage import Entry
from tui.widgets.error_text import error_text
from tui.widgets.level_table import Mark


class DetailsPane(Static):
    """Label/value rows for one entry; extra facts arrive later from a worker."""

    def __init__(self, *, stable_display: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stable_display = stable_display
        """Hide update times, generations and checksums (snapshot tests and screenshots)."""
        self.entry: Entry | None = None
        """The entry shown."""
        self.mark: Mark | None = None
        """Its model kind, when it is (or is named like) a model."""
        self.facts: dict[str, str] = {}
        """Rows fetched after the entry was shown (folder totals, sniffed kind)."""
        self.findings: list[Finding] | None = None
        """What the model can do to this machine, once its graph has been read (None: not read, or no graph)."""

    def show_entry(self, entry: Entry | None, mark: Mark | None = None, findings: list[Finding] | None = None) -> None:
        self.entry = entry
        self.mark = mark
        self.facts = {}
        self.findings = findings
        self._render_rows()

    def set_findings(self, findings: list[Finding] | None) -> None:
        self.findings = findings
        self._render_rows()

    def set_mark(self, mark: Mark | None) -> None:
        self.mark = mark
        self._render_rows()

    def add_facts(self, facts: dict[str, str]) -> None:
        self.facts.update(facts)
        self._render_rows()

    def show_error(self, error: TfscopeError) -> None:
        self.entry = None
        self.update(error_text(error))

    def _render_rows(self) -> None:
        entry = self.entry
        if entry is None:
            self.update("")
            return
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("URI", Text(printable(entry.location.uri)))
        mark = self.mark
        if mark and mark.contradicted:
            table.add_row("Model", Text(f"named like a {mark.kind.label} file, but its first bytes are not one: "
                                        "damaged, truncated or mislabelled", style="bold red"))  # fmt: skip
        elif mark and mark.newest is not None:
            table.add_row("Model", Text(f"{mark.kind.label}, {mark.text} (TF Serving's layout)", style="bold magenta"))
            table.add_row("Versions", Text(f"enter opens the newest ({printable(mark.newest.name)}), D compares "
                                           "the two newest, right lists them"))  # fmt: skip
        elif mark:
            table.add_row("Model", Text(mark.kind.label, style="bold magenta"))
        if self.findings is not None:
            table.add_row("Findings", findings_line(self.findings))
        stat = entry.stat
        if stat:
            table.add_row("Size", f"{format_size(stat.size)} ({stat.size:,} bytes)")
            rows = [("Content type", stat.content_type), ("Storage class", stat.storage_class)]
            if not self.stable_display:  # these change with every upload or rebuild of the same model
                generation = str(stat.generation) if stat.generation is not None else None
                rows += [("Updated", format_time(stat.updated)), ("Generation", generation)]
                rows += [("crc32c", stat.crc32c), ("md5", stat.md5)]
            for label, value in rows:
                if value:  # Text, not str: metadata is not Rich markup, and may hold control characters
                    table.add_row(label, Text(printable(value)))
        for label, value in self.facts.items():
            table.add_row(label, Text(printable(value)))
        self.update(table)


def findings_line(findings: list[Finding]) -> Text:
    """One line: `⚠ 2 findings: reads files at load, lists files when called`, red when loading asks first."""
    if not findings:
        return Text("none: no file, network or Python capability found", style="green")
    parts: list[str] = []
    for finding in sorted(findings, key=lambda f: (f.when != AT_LOAD, f.when == NOT_REACHABLE)):
        when = finding.when if finding.when in (AT_LOAD, NOT_REACHABLE) else "when called"
        part = f"{CAPABILITY_WORDS.get(finding.capability, finding.capability)} {when}"
        if part not in parts:
            parts.append(part)
    noun = "finding" if len(findings) == 1 else "findings"
    gated = any(f.gated for f in findings)
    return Text(f"⚠ {len(findings)} {noun}: {', '.join(parts)}", style="bold red" if gated else "yellow")
