"""How a TfscopeError reads on screen: the title in red, the detail, then the fix."""

from __future__ import annotations

from rich.text import Text

from tui.errors import TfscopeError


def error_text(error: TfscopeError, separator: str = "\n\n") -> Text:
    text = Text.assemble((error.title, "bold red"), separator, error.detail)
    if error.fix:
        before_fix = separator if "\n" in separator else " "  # on one line: "... detail. Fix: ..."
        text.append(f"{before_fix}Fix: ", style="bold")
        text.append(error.fix)
    return text
