"""The model screen: what an artifact is. A placeholder until the inspection readers land."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.storage import Entry


class ModelScreen(Screen[None]):
    """One artifact: its kind and location; `escape` goes back to the browser where it was."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="model-back", tooltip="Back to the browser, where you were"),
        Binding("y", "copy_uri", "Copy URI", id="model-copy", tooltip="Copy the model's URI (OSC 52, works over SSH)"),
    ]

    def __init__(self, entry: Entry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        kind = self.entry.kind.value if self.entry.kind else "Unknown"
        yield Static(Text.assemble((kind, "bold magenta"), "  ", (self.entry.location.uri, "bold")), id="model-title")
        yield Static("Signatures, layers and variables of this model will show here.", id="model-body")
        yield Footer()

    def action_copy_uri(self) -> None:
        self.app.copy_to_clipboard(self.entry.location.uri)
        self.notify(f"Copied {self.entry.location.uri}")
