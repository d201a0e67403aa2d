"""The `g` dialog: type a gs:// URI or a local path to jump to."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class GotoScreen(ModalScreen[str | None]):
    """Asks for a location; dismisses with the text typed, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="goto-cancel", tooltip="Close without going anywhere")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box"):
            yield Label("Go to a gs://bucket/prefix or a local path")
            yield Input(value=self.current, placeholder="gs://bucket/prefix", id="goto-input")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
