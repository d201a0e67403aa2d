"""How a TfscopeError reads on screen: the title in red, the detail, then the fix."""

from __future__ import annotations

from rich.text import Text

from tui.errors import TfscopeError


def error_text(error: TfscopeError, separator: str = "\n\n") -> Text:
    text = Text.assemble((error.title, "bold red"), separator, error.detail)
    if error.fix:
        text.append(f"{separator}Fix: ", style="bold")
        text.append(error.fix)
    return text
