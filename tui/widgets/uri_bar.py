"""The bar above the listing: where you are, how much is listed, sort and filter."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.formatting import printable


class UriBar(Static):
    """One line: the current location, then the listing's status."""

    def show(self, uri: str, status: str) -> None:
        self.update(Text.assemble((printable(uri) or " ", "bold"), ("  " + status if status else "", "dim")))
