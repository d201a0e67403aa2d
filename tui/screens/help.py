"""The `?` screen: every key of the screen below it, with what it does."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def screen_bindings(screen: Screen[Any]) -> list[Binding]:
    """The described bindings of a screen and of its widgets, one per action: what help and the palette list."""
    found: dict[str, Binding] = {}
    for source in [screen, *screen.query("*")]:
        for binding in getattr(source, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description and binding.action not in found:
                found[binding.action] = binding
    return list(found.values())


def binding_rows(screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(keys, description, tooltip) for the help table."""
    return [
        (", ".join(_key_name(k) for k in b.key.split(",")), b.description, b.tooltip or "")
        for b in screen_bindings(screen)
    ]


def _key_name(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "ctrl+p": "ctrl+p", "escape": "esc"}
    return names.get(key.strip(), key.strip())


class HelpScreen(ModalScreen[None]):
    """Keys of the screen it was opened from."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help-close", tooltip="Close the help")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(title="tfscope keys", expand=True, show_edge=False)
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Action", style="bold")
        table.add_column("")
        for keys, description, tooltip in self.rows:
            table.add_row(keys, description, tooltip)
        table.add_row("ctrl+p", "Commands", "Every action, searchable")
        with VerticalScroll(id="help-box"):
            yield Static(table)
            yield Static("[dim]escape closes this help[/dim]")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
