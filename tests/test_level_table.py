"""The listing table on its own: pages in any order, sorted as they come, filtered, with a cursor."""

from __future__ import annotations

import random

from textual.app import App, ComposeResult

from tui.formats.kinds import ArtifactKind
from tui.storage import Entry, Location
from tui.storage.base import ObjectStat
from tui.widgets.level_table import FINDINGS_STYLE, LevelTable, Mark, SortKey


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LevelTable(id="listing")


def entries(count: int) -> list[Entry]:
    sizes = random.Random(0).sample(range(count * 10), count)
    return [Entry(Location("gs", "b", f"p/obj-{i:05d}"), ObjectStat(size=sizes[i])) for i in range(count)]


async def test_pages_arriving_while_sorted_by_size_are_merged_in_order() -> None:
    everything = entries(3000)
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(LevelTable)
        table.show_entries(everything[:1000])
        table.sort_key = SortKey.SIZE
        table.move_cursor(5)
        highlighted = table.highlighted_uri
        table.append_entries(everything[1000:2000])
        table.append_entries(everything[2000:])
        await pilot.pause()
        assert [e.size for e in table.shown] == sorted((e.size or 0 for e in everything), reverse=True)
        assert table.highlighted_uri == highlighted  # the cursor stays on its entry as rows move
        assert all(table.index_of(e.location.uri) == i for i, e in enumerate(table.shown))
        table.filter_text = "obj-029"
        assert {e.name for e in table.shown} == {f"obj-{i:05d}" for i in range(2900, 3000)}
        assert [e.size for e in table.shown] == sorted((e.size or 0 for e in table.shown), reverse=True)


async def test_a_long_name_leaves_size_and_date_on_screen() -> None:
    """A 1,000-character name (or a 60-character one in a narrow terminal) is cut, not the columns after it."""
    long = Entry(Location("gs", "b", "p/" + "n" * 1000), ObjectStat(size=123_456))
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(LevelTable)
        table.show_entries([long, *entries(3)])
        await pilot.pause()
        header = table.render_line(0).text
        assert "Size" in header and "Updated" in header
        assert "123.5 KB" in table.render_line(1).text
        assert table.virtual_size.width <= 80
        assert "…" in table.render_line(1).text


async def test_a_model_with_gated_findings_gets_a_red_sign_and_no_column_moves() -> None:
    plain, snoop = (Entry(Location("gs", "b", f"p/{name}/")) for name in ("plain", "snoop"))
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(LevelTable)
        table.show_entries([plain, snoop], {e.location: Mark(ArtifactKind.SAVED_MODEL) for e in (plain, snoop)})
        await pilot.pause()
        before = table.render_line(2).text
        table.set_mark(snoop.location, Mark(ArtifactKind.SAVED_MODEL, gated_findings=2))
        await pilot.pause()
        after = table.render_line(2)
        assert "⚠" not in before and "⚠" not in table.render_line(1).text
        assert after.text == before.replace(" SavedModel", "⚠SavedModel")  # in the kind cell's leading space
        [sign] = [segment for segment in after if "⚠" in segment.text]
        assert sign.text == "⚠" and sign.style is not None and sign.style.color == FINDINGS_STYLE.color


def test_invisible_and_bidi_characters_are_shown_as_marks() -> None:
    """U+202E can make `gpj.exe` read as `exe.jpg`; zero-width and isolate marks hide in names."""
    from tui.formatting import printable

    for char in ["\u202e", "\u200b", "\u2066", "\u2069", "\ufeff", "\u2028", "\x1b", "\x9b"]:
        assert printable(f"a{char}b") == "a?b"
    assert printable("café 日本 ok") == "café 日本 ok"
    assert printable("two\nlines", keep_newlines=True) == "two\nlines"


class FakeClock:
    """`time.monotonic` for the table: redraws depend on when the last one was, not on how fast this machine is."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_pages_streaming_in_are_drawn_together_and_the_cursor_finds_them(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tui.widgets import level_table

    clock = FakeClock()
    monkeypatch.setattr(level_table, "time", clock)
    everything = entries(6000)
    appended: list[object] = []  # the hook may see a message more than once: keep each once

    def hook(message: object) -> None:
        if isinstance(message, LevelTable.RowsAppended) and not any(m is message for m in appended):
            appended.append(message)

    app = TableApp()
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        table = app.query_one(LevelTable)
        table.focus()
        table.show_entries(everything[:1000])
        assert table.virtual_size.height == 1001  # the first page: drawn at once
        for start in range(1000, 5000, 1000):  # four pages within REDRAW_INTERVAL of the first
            table.append_entries(everything[start : start + 1000])
        assert table.row_count == 5000 and table.index_of(everything[4999].location.uri) == 4999  # there at once
        assert table.virtual_size.height == 1001  # but not drawn yet
        table.redraw_appended()  # what the browser does when the listing ends
        assert table.virtual_size.height == 5001
        clock.now += level_table.REDRAW_INTERVAL
        table.append_entries(everything[5000:5500])  # the interval has passed: drawn at once
        assert table.virtual_size.height == 5501
        table.append_entries(everything[5500:])
        assert table.virtual_size.height == 5501
        await pilot.press("end")  # onto a row only the data knows yet: drawn, and scrolled to
        assert table.virtual_size.height == 6001
        rows_on_screen = table.scrollable_content_region.height - 1  # less the header
        assert table.highlighted_entry == everything[-1] and table.scroll_offset.y == 6000 - rows_on_screen
        assert [e.name for e in table.shown] == [e.name for e in everything]
        await pilot.pause()
        assert len(appended) == 3  # one redraw for the four pages, then one for each later page


async def test_a_page_arriving_while_sorted_keeps_the_cursor_on_its_entry_until_drawn(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tui.widgets import level_table

    monkeypatch.setattr(level_table, "time", FakeClock())
    everything = entries(3000)
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(LevelTable)
        table.show_entries(everything[:1000])
        table.sort_key = SortKey.SIZE
        table.move_cursor(500)
        highlighted = table.highlighted_entry
        table.append_entries(everything[1000:])  # not drawn yet: its rows are mostly above the cursor
        assert table.highlighted_entry == highlighted
        table.redraw_appended()
        await pilot.pause()
        top, rows_on_screen = table.scroll_offset.y, table.scrollable_content_region.height - 1
        assert table.highlighted_entry == highlighted and top <= table.cursor < top + rows_on_screen  # in view
