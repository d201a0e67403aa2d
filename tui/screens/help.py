"""The `?` screen: every key of the screen below it, with what it does."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def screen_bindings(screen: Screen[Any]) -> list[tuple[Binding, DOMNode]]:
    """tfscope's own bindings on a screen and its widgets (those with a tooltip: Textual's built-in ones,
    an Input's cursor keys, are not news), one per action and tooltip, with the node that runs it (a
    tab's sort is the tab's): what help and the palette list."""
    found: dict[tuple[str, str], tuple[Binding, DOMNode]] = {}
    for source in [screen, *screen.query("*")]:
        for binding in getattr(source, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description and binding.tooltip:
                found.setdefault((binding.action, binding.tooltip), (binding, source))
    return list(found.values())


def binding_rows(screen: Screen[Any]) -> list[tuple[str, str, str]]:
    """(keys, description, tooltip) for the help table."""
    return [
        (", ".join(_key_name(k) for k in b.key.split(",")), b.description, b.tooltip or "")
        for b, _ in screen_bindings(screen)
    ]


def _key_name(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "ctrl+p": "ctrl+p", "escape": "esc"}
    return names.get(key.strip(), key.strip())


class HelpScreen(ModalScreen[None]):
    """Keys of the screen it was opened from."""

    BINDINGS = [
        Binding("escape,question_mark", "dismiss", "Close", id="help-close", tooltip="Close the help"),
        Binding("q", "app.quit", "Quit", id="help-quit", tooltip="Leave tfscope"),
    ]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(title="tfscope keys", expand=True, show_edge=False)
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Action", style="bold", no_wrap=True)
        table.add_column("", ratio=1)  # the room a wide terminal has goes to the explanations
        for keys, description, tooltip in self.rows:
            table.add_row(keys, description, tooltip)
        table.add_row("ctrl+p", "Commands", "Every action, searchable")
        with VerticalScroll(id="help-box"):
            yield Static(table)
            yield Static("[dim]escape closes this help, q quits[/dim]")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
