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
