"""Pilot tests: the browser driven by keys against the emulator."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import DEMO_BUCKET, PAGING_BUCKET, PAGING_OBJECTS
from fault_proxy import FaultProxy, Rule
from pilot import make_test_app, notices, settle, wait_for
from textual.message import Message

from tui.formats.kinds import ArtifactKind
from tui.messages import LocationResolved, PageListed
from tui.screens.help import HelpScreen
from tui.screens.model import ModelScreen
from tui.storage import parse_location
from tui.storage.emulator import Emulator
from tui.widgets.level_table import Mark

pytestmark = pytest.mark.usefixtures("emulator")


def shown_names(app) -> list[str]:  # type: ignore[no-untyped-def]
    table = app.browser.table
    return [e.name for e in table.shown]


async def test_browse_buckets_prefixes_and_models() -> None:
    app = make_test_app("gs://")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        assert shown_names(app) == [f"{PAGING_BUCKET}/", f"{DEMO_BUCKET}/", "zoo/"]
        await pilot.press("down", "enter")  # into the demo bucket
        await wait_for(
            pilot, lambda: app.browser.location == parse_location(f"gs://{DEMO_BUCKET}/") and app.browser.listing_done
        )
        assert "serving/" in shown_names(app) and "README.txt" in shown_names(app)
        app.browser.go_to_text(f"gs://{DEMO_BUCKET}/serving/tiny_cnn/")
        await wait_for(pilot, lambda: app.browser.listing_done and shown_names(app) == ["1/"])
        # the peek into 1/ finds saved_model.pb and marks it
        await wait_for(pilot, lambda: app.browser.table.highlighted_mark == Mark(ArtifactKind.SAVED_MODEL))
        await pilot.press("enter")
        assert isinstance(app.screen, ModelScreen)
        assert app.screen.location.uri == f"gs://{DEMO_BUCKET}/serving/tiny_cnn/1/"
        await pilot.press("escape")
        assert app.screen is app.browser
        assert app.browser.table.highlighted_entry.name == "1/"  # the browser kept its place
        await pilot.press("right")  # browse inside the model folder anyway
        await wait_for(pilot, lambda: app.browser.listing_done and "saved_model.pb" in shown_names(app))
        await pilot.press("backspace")
        await wait_for(pilot, lambda: app.browser.location.uri == f"gs://{DEMO_BUCKET}/serving/tiny_cnn/")
        assert app.browser.table.highlighted_entry.name == "1/"


async def test_details_pane_shows_object_metadata_and_folder_totals(model_files: Path) -> None:
    app = make_test_app(f"gs://{DEMO_BUCKET}/models/image/tiny_cnn.h5")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))  # a model URI opens its screen
        await pilot.press("escape")  # the browser behind it fetches the details once it shows
        await wait_for(pilot, lambda: app.browser.listing_done and app.browser.table.highlighted_entry is not None)
        await settle(pilot)
        details = app.browser.details
        assert details.entry.name == "tiny_cnn.h5"
        assert details.facts["Magic bytes"] == "89 48 44 46 0d 0a 1a 0a"
        assert details.entry.stat.size == (model_files / "models/image/tiny_cnn.h5").stat().st_size
        app.browser.navigate(parse_location(f"gs://{DEMO_BUCKET}/serving/tiny_cnn/"))
        await wait_for(pilot, lambda: app.browser.listing_done)
        await settle(pilot)
        files = [p for p in (model_files / "serving/tiny_cnn/1").rglob("*") if p.is_file()]
        assert details.facts["Objects"] == str(len(files))


async def test_filter_sort_and_clear() -> None:
    app = make_test_app(f"gs://{DEMO_BUCKET}/")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        await pilot.press("slash", "m", "o", "d")
        assert shown_names(app) == ["models/"]
        await pilot.press("enter", "escape")
        assert "README.txt" in shown_names(app)
        await pilot.press("s")  # by size: largest object first, folders last
        assert shown_names(app)[0] == "README.txt"
        await pilot.press("s", "s")
        assert shown_names(app)[0] == "README.txt" and app.browser.table.sort_key.value == "name"


async def test_goto_and_missing_bucket_message() -> None:
    app = make_test_app(f"gs://{DEMO_BUCKET}/")
    seen: list[Message] = []
    async with app.run_test(size=(140, 40), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        await pilot.press("g")
        await pilot.press("ctrl+u", *"gs://no-such-bucket/", "enter")
        await wait_for(pilot, lambda: app.browser.error is not None)
        assert app.browser.error.title == "Not found"
        assert any("no-such-bucket" in n for n in notices(seen))
        await pilot.press("g", "ctrl+u", *f"gs://{DEMO_BUCKET}/datasets", "enter")
        await wait_for(pilot, lambda: app.browser.listing_done and app.browser.error is None)
        assert shown_names(app) == ["imagenet/"]
        await pilot.press("g", "ctrl+u", *f"gs://{DEMO_BUCKET}/models/text/classifier/", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))  # a model opens on its screen
        assert app.screen.location.uri == f"gs://{DEMO_BUCKET}/models/text/classifier/"
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code == 0


@pytest.mark.parametrize("typed", ["serving/tiny_cnn/1/", "serving/tiny_cnn/1"])
async def test_opening_a_model_folder_lists_it_at_most_twice(fault_proxy: FaultProxy, typed: str) -> None:
    """`tfscope gs://b/m/`: one listing tells it is a model folder, and reading the model lists it once
    more; the browser behind the model screen lists the parent, and does not peek into the model again."""
    app = make_test_app(f"gs://{DEMO_BUCKET}/{typed}")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.info is not None)
        await settle(pilot)
        assert app.browser.location == parse_location(f"gs://{DEMO_BUCKET}/serving/tiny_cnn/")
    prefixes = [parse_qs(urlsplit(r.split(" ", 1)[1]).query).get("prefix", [None])[0] for r in fault_proxy.seen]
    assert prefixes.count("serving/tiny_cnn/1/") <= 2, fault_proxy.seen
    assert prefixes.count("serving/tiny_cnn/") == 1  # the parent, once, for the browser behind


async def test_a_5000_object_prefix_shows_its_first_page_while_the_rest_streams() -> None:
    app = make_test_app(f"gs://{PAGING_BUCKET}/many/")
    seen: list[Message] = []  # the hook may see a message more than once: keep each once

    def hook(message: Message) -> None:
        if isinstance(message, PageListed | LocationResolved) and not any(m is message for m in seen):
            seen.append(message)

    async with app.run_test(size=(140, 40), message_hook=hook) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        assert len(app.browser.table.entries) == PAGING_OBJECTS
        assert app.browser.table.row_count == PAGING_OBJECTS
        # The first page came with finding out what the location is; the others streamed after it.
        resolved, *pages = seen
        assert isinstance(resolved, LocationResolved) and len(resolved.resolved.first_page) == 1000
        assert [(len(m.entries), m.first) for m in pages if isinstance(m, PageListed)] == [(1000, False)] * 4 + [
            (500, False)
        ]
        await pilot.press("end")
        assert app.browser.table.highlighted_entry.name == f"obj-{PAGING_OBJECTS - 1:05d}.txt"


async def test_a_streamed_level_is_on_screen_from_its_first_page_and_exact_when_it_ends(
    fault_proxy: FaultProxy,
) -> None:
    """Pages after the first are held back by the proxy until the first page is seen drawn; then they
    stream in (drawn together, not one redraw each), and the level ends exact: every row, in order."""
    import threading

    held = threading.Event()

    def later_pages(handler) -> bool:  # type: ignore[no-untyped-def]
        query = parse_qs(urlsplit(handler.path).query)
        if "/o?" in handler.path and ("pageToken" in query or "startOffset" in query):
            held.wait(30)
        return False  # then answered as usual

    fault_proxy.add(Rule(later_pages))
    app = make_test_app(f"gs://{PAGING_BUCKET}/many/")
    async with app.run_test(size=(140, 40)) as pilot:
        browser, table = app.browser, app.browser.table
        await wait_for(pilot, lambda: table.row_count > 0)
        await pilot.pause()
        assert not browser.listing_done and table.row_count == 1000
        assert table.virtual_size.height == 1001 and "obj-00000.txt" in table.render_line(1).text
        assert "listing… 1,000" in str(browser.query_one("#uri-bar").render())
        await pilot.press("down", "down")
        held.set()
        await wait_for(pilot, lambda: browser.listing_done)
        names = [f"obj-{i:05d}.txt" for i in range(PAGING_OBJECTS)]
        assert [e.name for e in table.shown] == names and [e.name for e in table.entries] == names
        assert table.virtual_size.height == PAGING_OBJECTS + 1  # drawn to the last row, not a redraw behind
        assert table.highlighted_entry.name == "obj-00002.txt"  # the cursor stayed where it was put
        await pilot.pause()
        assert "5,500 entries" in str(browser.query_one("#uri-bar").render())
        await pilot.press("end")
        assert table.highlighted_entry.name == names[-1]
        assert names[-1] in table.render_line(table.scrollable_content_region.height - 1).text


async def test_keys_and_clicks_move_the_cursor_and_the_details_follow() -> None:
    app = make_test_app(f"gs://{PAGING_BUCKET}/many/")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        table = app.browser.table
        rows_on_screen = table.scrollable_content_region.height - 1  # less the header
        await pilot.press("pagedown", "pagedown", "down")
        assert table.cursor == 2 * rows_on_screen + 1
        top = table.scroll_offset.y
        assert top <= table.cursor < top + rows_on_screen  # scrolled so the cursor row shows
        await wait_for(pilot, lambda: app.browser.details.entry == table.highlighted_entry)
        await pilot.click(table, offset=(5, 3))  # the third row on screen
        assert table.cursor == top + 2
        await wait_for(pilot, lambda: app.browser.details.entry.name == f"obj-{top + 2:05d}.txt")
        await pilot.press("end", "up", "home")
        assert table.cursor == 0 and table.scroll_offset.y == 0


async def test_help_lists_every_key_and_the_palette_has_every_action() -> None:
    app = make_test_app(f"gs://{DEMO_BUCKET}/")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        descriptions = {row[1] for row in app.screen.rows}
        assert {"Open", "Go to", "Filter", "Sort", "Refresh", "Copy URI", "Help", "Quit", "Up", "Into"} <= descriptions
        await pilot.press("escape")
        assert app.screen is app.browser
        await pilot.press("y")
        assert app.clipboard == f"gs://{DEMO_BUCKET}/README.txt"
        await pilot.press("ctrl+p", *"Sort", "enter")  # the palette runs the same action as `s`
        await wait_for(pilot, lambda: app.browser.table.sort_key.value == "size")


async def test_stopped_emulator_is_a_message_not_a_crash(emulator_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = Emulator(emulator_data)
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    app = make_test_app(f"gs://{DEMO_BUCKET}/")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        server.stop()
        await pilot.press("r")
        await wait_for(pilot, lambda: app.browser.error is not None)
        assert app.browser.error.title == "Storage emulator not running"
        assert app.is_running


async def test_no_argument_without_credentials_opens_the_current_folder(
    monkeypatch: pytest.MonkeyPatch, model_files: Path
) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    monkeypatch.chdir(model_files)
    app = make_test_app(None)
    seen: list[Message] = []
    async with app.run_test(size=(140, 40), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        assert app.browser.location == parse_location(str(model_files))
        assert any("gcloud auth application-default login" in n for n in notices(seen))


async def test_a_file_named_like_a_model_but_not_one_says_so_in_the_listing() -> None:
    """`not_a_model.keras` is marked Keras v3 by its name until its first bytes are read: then the mark
    shows the contradiction, in the row and the details, rather than keep claiming a Keras model."""
    app = make_test_app(f"gs://{DEMO_BUCKET}/broken/")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(
            pilot, lambda: app.browser.table.highlighted_uri == f"gs://{DEMO_BUCKET}/broken/not_a_model.keras"
        )
        table = app.browser.table
        await wait_for(pilot, lambda: table.highlighted_mark == Mark(ArtifactKind.KERAS, contradicted=True))
        row = table.render_line(1 + table.cursor - int(table.scroll_offset.y)).text
        assert "not_a_model.keras" in row and "✗ Keras v3" in row
        details = app.browser.details
        await wait_for(pilot, lambda: "Magic bytes" in details.facts)
        assert details.mark == Mark(ArtifactKind.KERAS, contradicted=True)


async def test_local_folders_are_marked_too(model_files: Path) -> None:
    app = make_test_app(str(model_files / "models" / "text"))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        await wait_for(pilot, lambda: app.browser.table.highlighted_mark == Mark(ArtifactKind.SAVED_MODEL))
        assert app.browser.table.highlighted_entry.name == "classifier/"


async def test_names_with_control_characters_cannot_reach_the_terminal(tmp_path: Path) -> None:
    """Names are written by others: an ESC in one retitled the terminal (through the details pane)."""
    (tmp_path / "evil\x1b]0;pwned\x07[bold]name\nsplit.txt").write_text("x")
    app = make_test_app(str(tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        await wait_for(pilot, lambda: app.browser.details.entry is not None)
        await pilot.press("enter")  # not a model: a notification quoting the name (markup off: no crash)
        await pilot.pause()
        screen = app.export_screenshot()
        assert "\x1b" not in screen and "\x07" not in screen
        assert "evil?]0;pwned?[bold]name?split" in app.browser.table.render_line(1).text


async def test_no_argument_with_the_emulator_lists_buckets() -> None:
    app = make_test_app(None)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        assert app.browser.location == parse_location("gs://")
