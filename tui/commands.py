"""Command palette: every keyed action of the current screen, searchable by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.screens.help import binding_rows


class ScreenActionsProvider(Provider):
    """Offers the bindings of the screen the palette was opened on, so no key lacks a command."""

    def _commands(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        rows: list[tuple[str, str, str]] = []
        for source in [screen, *screen.query("*")]:
            for binding in getattr(source, "BINDINGS", []):
                if getattr(binding, "description", "") and binding.action not in {r[2] for r in rows}:
                    rows.append((binding.description, binding.tooltip or "", binding.action))
        return rows

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


__all__ = ["ScreenActionsProvider", "binding_rows"]
