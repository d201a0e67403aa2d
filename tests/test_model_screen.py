"""Pilot tests of the model screen: opened from the browser or directly, every tab filled."""

from __future__ import annotations

import pytest
from conftest import DEMO_BUCKET, ZOO_BUCKET
from pilot import make_test_app, settle, wait_for
from textual.geometry import Region
from textual.widgets import DataTable, Static

from tui.screens.help import HelpScreen
from tui.screens.model import ModelScreen
from tui.widgets.model.layers import LayerTable
from tui.widgets.model.overview import OverviewTab

pytestmark = pytest.mark.usefixtures("emulator")


async def wait_for_model(pilot) -> None:  # type: ignore[no-untyped-def]
    """Until the model screen has read its model; a read error fails the test with its message."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.inspected)
    assert app.screen.error is None, app.screen.error.one_line()


async def test_direct_open_fills_every_tab_and_escape_returns_to_the_folder() -> None:
    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/nested.keras")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_model(pilot)
        screen = app.screen
        assert screen.info.total_params == 6 * 4 + 4 + 4 * 2 + 2
        for key, tab in zip("12345", ("overview", "signatures", "layers", "variables", "ops"), strict=True):
            await pilot.press(key)
            assert screen.tabs.active == tab
        await pilot.press("3")
        layers = screen.query_one(LayerTable)
        names = [str(k.value) for k in layers.rows]
        assert names[:3] == ["x", "encoder", "head"] and names[-1] == "__total__"
        layers.move_cursor(row=1)
        await pilot.press("enter")  # expand the nested encoder
        assert [str(k.value) for k in layers.rows][:4] == ["x", "encoder", "encoder/inner_in", "encoder/inner_dense"]
        await pilot.press("4")
        assert screen.query_one("#variable-table", DataTable).row_count == len(screen.info.variables)
        await pilot.press("escape")
        assert app.screen is app.browser
        await wait_for(pilot, lambda: app.browser.listing_done)
        assert app.browser.table.highlighted_entry.name == "nested.keras"


async def test_enter_on_a_savedmodel_folder_opens_it() -> None:
    app = make_test_app(f"gs://{ZOO_BUCKET}/saved/")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done)
        await wait_for(pilot, lambda: app.browser.table.highlighted_mark is not None)
        await pilot.press("enter")
        await wait_for_model(pilot)
        assert app.screen.location.uri == f"gs://{ZOO_BUCKET}/saved/exported/"
        assert {s.name for s in app.screen.info.signatures} == {"serve", "serving_default"}
        await pilot.press("5")
        assert app.screen.query_one("#op-table", DataTable).row_count == len(app.screen.info.ops)


async def test_layer_filter_and_sort() -> None:
    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/functional.keras")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_model(pilot)
        screen = app.screen
        await pilot.press("3", "slash", *"dense")
        layers = screen.query_one(LayerTable)
        assert [str(k.value) for k in layers.rows] == ["branch_a", "branch_b", "logits", "__total__"]
        await pilot.press("escape")  # clears the filter, stays on the screen
        assert app.screen is screen and len(layers.rows) == 7
        await pilot.press("s")  # biggest first
        assert str(next(iter(layers.rows)).value) == "branch_a"
        assert layers.order == "params"


async def test_corrupt_file_shows_its_error_and_the_app_keeps_running() -> None:
    app = make_test_app(f"gs://{DEMO_BUCKET}/broken/truncated.h5")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.error is not None)
        assert app.screen.error.title == "Corrupt or unreadable file"
        body = str(app.screen.query_one(".tab-body", Static).render())
        assert "truncated" in body
        await pilot.press("escape")
        assert app.screen is app.browser and app.is_running


async def test_model_help_lists_its_keys() -> None:
    app = make_test_app(f"gs://{ZOO_BUCKET}/tflite/int8.tflite")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_model(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {row[1] for row in app.screen.rows}
        assert {"Back", "Load", "Quit", "Overview", "Signatures", "Layers", "Variables", "Ops", "Copy URI",
                "Sort", "Filter"} <= described  # fmt: skip
        await pilot.press("escape", "y")
        await settle(pilot)
        assert app.clipboard == f"gs://{ZOO_BUCKET}/tflite/int8.tflite"


async def test_layers_show_before_their_parameter_counts() -> None:
    """A .h5's layer table appears from its config; the counts fill in when the weights' headers are read."""
    from rich.text import Text
    from textual.message import Message

    from tui.messages import ModelInspected

    seen: list[ModelInspected] = []

    def hook(message: Message) -> None:
        if isinstance(message, ModelInspected) and not any(m is message for m in seen):
            seen.append(message)

    app = make_test_app(f"gs://{ZOO_BUCKET}/keras/wide.h5")
    async with app.run_test(size=(140, 40), message_hook=hook) as pilot:
        await wait_for_model(pilot)
        await wait_for(pilot, lambda: len(seen) == 2)
        assert [m.info.partial for m in seen] == [True, False]
        assert [layer.name for layer in seen[0].info.layers] == [layer.name for layer in seen[1].info.layers]
        layers = app.screen.query_one(LayerTable)
        total = layers.get_row("__total__")[layers.get_column_index("params")]
        assert isinstance(total, Text) and total.plain == f"{app.screen.info.total_params:,}"


@pytest.fixture(scope="module")
def many_layers(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model of 120 layers, more than a screen holds at 120x36."""
    keras = pytest.importorskip("keras")
    inputs = keras.Input((4,), name="x")
    x = inputs
    for i in range(120):
        x = keras.layers.Dense(4, name=f"dense_with_a_rather_long_name_{i:03d}")(x)
    path = tmp_path_factory.mktemp("layers") / "deep.keras"
    keras.Model(inputs, x, name="deep").save(path)
    return str(path)


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])
async def test_the_last_layer_and_the_total_are_reachable_and_visible(many_layers: str, size: tuple[int, int]) -> None:
    app = make_test_app(many_layers, prewarm=False)
    async with app.run_test(size=size) as pilot:
        await wait_for_model(pilot)
        await pilot.press("3", "end")
        await settle(pilot)
        layers = app.screen.query_one(LayerTable)
        assert layers.cursor_row == layers.row_count - 1  # the totals row
        assert layers.region.bottom <= app.screen.query_one("#load-status").region.y  # nothing hides it
        visible = layers.scrollable_content_region.height - 1  # less the header
        assert layers.scroll_offset.y <= layers.cursor_row < layers.scroll_offset.y + visible
        assert [c.label.plain for c in layers.columns.values()][:2] == ["Layer", "Class"]
        assert "Params" in [c.label.plain for c in layers.columns.values()]  # kept at 80 columns too


async def test_sort_sorts_the_tab_it_is_pressed_on() -> None:
    app = make_test_app(f"gs://{ZOO_BUCKET}/saved/multi/", prewarm=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_model(pilot)
        screen = app.screen
        await pilot.press("5", "s")
        ops = screen.query_one("#op-table", DataTable)
        names = [str(ops.get_row_at(i)[0]) for i in range(ops.row_count)]
        assert names == sorted(names)
        assert screen.query_one(LayerTable).order == "order"  # the hidden layers table is untouched


@pytest.fixture(scope="module")
def snoop_and_plain(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder of two SavedModels: `snoop/`, whose serving signature reads /etc/hostname, and `plain/`."""
    tf = pytest.importorskip("tensorflow")

    class Snoop(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def serve(self, name: object) -> dict[str, object]:
            return {"out": tf.strings.join([tf.io.read_file("/etc/hostname"), name])}

    class Plain(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def serve(self, x: object) -> dict[str, object]:
            return {"y": x * 2.0}

    root = tmp_path_factory.mktemp("findings")
    for name, module in (("snoop", Snoop()), ("plain", Plain())):
        tf.saved_model.save(module, str(root / name), signatures={"serving_default": module.serve})
    return str(root)


def drawn(widget) -> list[str]:  # type: ignore[no-untyped-def]
    """The widget's lines as drawn at its width, scrolled out of view or not."""
    return [strip.text for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))]


def words(lines: list[str]) -> str:
    """The words of a pane's lines, one space apart: what it says, however narrow it wrapped it."""
    return " ".join(word for line in lines for word in line.replace("│", " ").split())


async def open_row(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    """From the browser: the cursor to the model folder `name`, once marked, and enter."""
    table = pilot.app.browser.table
    await wait_for(pilot, lambda: pilot.app.browser.location is not None)  # the start is still being resolved
    uri = f"{pilot.app.browser.location.uri}{name}/"
    await wait_for(pilot, lambda: table.index_of(uri) is not None)
    table.move_cursor(table.index_of(uri))
    await wait_for(pilot, lambda: table.highlighted_mark is not None)
    await pilot.press("enter")
    await wait_for_model(pilot)


async def test_a_model_that_reads_a_file_says_so_on_overview_and_ops_and_in_the_listing(snoop_and_plain: str) -> None:
    app = make_test_app(snoop_and_plain)
    async with app.run_test(size=(80, 24)) as pilot:
        browser = app.browser
        await open_row(pilot, "snoop")
        snoop = app.screen.location
        # Not known from the listing (it reads no graph); the model screen's read tells the browser behind it.
        await wait_for(pilot, lambda: browser.table.mark_of(snoop).gated_findings == 1)

        overview = app.screen.query_one(OverviewTab)
        lines = drawn(overview.query_one(Static))
        [summary] = [i for i, line in enumerate(lines) if line.lstrip().startswith("Findings")]
        assert "⚠ 1 finding (1 makes loading ask first)" in lines[summary]
        assert summary < overview.size.height  # on the first screen at 80x24, not below the files
        text = "\n".join(lines)
        assert "⚠ ReadFile  reads files  /etc/hostname" in text
        assert "when called: serving_default  in __inference_serve" in text

        await pilot.press("5")
        section = app.screen.query_one("#ops-findings")
        assert section.display and section.region.height > 0
        lines = [line.rstrip() for line in drawn(section.query_one("#ops-findings-body", Static))]
        assert lines[0].startswith("⚠ 1 finding") and len(lines) == 2  # the title, then a line a finding
        assert "⚠ ReadFile  reads files  /etc/hostname  when called: serving_default" in lines[1]
        assert lines[1].endswith("…")  # cut at 80 columns, not wrapped
        ops = app.screen.query_one("#op-table", DataTable)
        assert section.region.bottom <= ops.region.y and ops.region.height >= 8  # above the table, which keeps room
        names = [ops.get_row_at(i)[0] for i in range(ops.row_count)]
        assert "⚠ ReadFile" in [getattr(n, "plain", n) for n in names]
        assert all("⚠" not in getattr(n, "plain", n) for n in names if "ReadFile" not in getattr(n, "plain", n))

        await pilot.press("escape")
        await wait_for(pilot, lambda: browser.table.mark_of(snoop).gated_findings == 1)
        row = browser.table.render_line(browser.table.index_of(snoop.uri) + 1).text
        assert "⚠SavedModel" in row
        await pilot.press("d")  # the details pane, hidden below 100 columns
        await wait_for(pilot, lambda: browser.details.size.width > 0)
        assert "Findings ⚠ 1 finding: reads files when called" in words(drawn(browser.details))


async def test_a_standard_model_says_none_were_found_and_gets_no_sign(snoop_and_plain: str) -> None:
    app = make_test_app(snoop_and_plain)
    async with app.run_test(size=(120, 36)) as pilot:
        browser = app.browser
        await open_row(pilot, "plain")
        plain = app.screen.location
        text = "\n".join(drawn(app.screen.query_one(OverviewTab).query_one(Static)))
        assert "none: no file, network or Python capability found" in text
        assert "⚠" not in text and "What it can do" not in text
        await pilot.press("5")
        assert not app.screen.query_one("#ops-findings").display
        ops = app.screen.query_one("#op-table", DataTable)
        assert all("⚠" not in str(ops.get_row_at(i)[0]) for i in range(ops.row_count))
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Findings none: no file, network" in words(drawn(browser.details)))  # read
        assert browser.table.mark_of(plain).gated_findings == 0
        for y in range(1, browser.table.row_count + 1):
            assert "⚠" not in browser.table.render_line(y).text


async def test_loading_a_model_that_reads_files_asks_first_and_the_question_fits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The gate in the TUI: `l` asks, listing every finding whole (a long path is wrapped, not cut); the
    question and its buttons stay on an 80x24 screen however many there are; no loads nothing, yes loads."""
    from tui.screens.confirm import ConfirmScreen

    tf = pytest.importorskip("tensorflow")
    paths = [f"/srv/tfscope-test/{'deep/' * 8}secret-{i:02d}.txt" for i in range(12)]

    class Nosy(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def serve(self, name: object) -> dict[str, object]:
            return {"out": tf.strings.join([name, *(tf.io.read_file(p) for p in paths)])}

    module = Nosy()
    tf.saved_model.save(module, str(tmp_path / "nosy"), signatures={"serving_default": module.serve})
    app = make_test_app(str(tmp_path / "nosy"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_model(pilot)
        screen = app.screen
        assert isinstance(screen, ModelScreen)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        dialog = app.screen
        question, buttons = dialog.query_one("#confirm-question"), dialog.query_one("#confirm-buttons")
        assert question.region.y >= 0 and buttons.region.bottom <= 24 and buttons.region.height > 0
        said = "".join(drawn(dialog.query_one("#confirm-detail"))).replace(" ", "")
        assert all(p in said for p in paths), said  # each whole, wrapped where the box ends
        await pilot.press("n")
        assert app.screen is screen and screen.load_state.phase == "not loaded"
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.load_state.phase in {"loaded", "failed"}, 180)
        assert screen.load_state.loaded, screen.load_state.note
