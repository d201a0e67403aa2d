"""Command palette: every keyed action of the current screen, searchable by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from tui.screens.help import screen_bindings


class ScreenActionsProvider(Provider):
    """Offers the bindings of the screen the palette was opened on, so no key lacks a command."""

    def _commands(self) -> list[tuple[str, str, str, DOMNode]]:
        return [(b.description, b.tooltip or "", b.action, owner) for b, owner in screen_bindings(self.screen)]

    async def discover(self) -> Hits:
        for title, help_text, action, owner in self._commands():
            yield DiscoveryHit(title, partial(self._run, owner, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action, owner in self._commands():
            score = max(matcher.match(title), matcher.match(help_text))
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, owner, action), help=help_text)

    async def _run(self, owner: DOMNode, action: str) -> None:
        await self.app.run_action(action, owner)


__all__ = ["ScreenActionsProvider"]
