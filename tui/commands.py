"""Command palette: every keyed action of the current screen, searchable by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.screens.help import screen_bindings


class ScreenActionsProvider(Provider):
    """Offers the bindings of the screen the palette was opened on, so no key lacks a command."""

    def _commands(self) -> list[tuple[str, str, str]]:
        return [(b.description, b.tooltip or "", b.action) for b in screen_bindings(self.screen)]

    async def discover(self) -> Hits:
        for title, help_text, action in self._commands():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=help_text)

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)


__all__ = ["ScreenActionsProvider"]
