"""One snapshot per distinct browser state (pytest-textual-snapshot; `--snapshot-update` to accept)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from conftest import DEMO_BUCKET, PAGING_BUCKET
from pilot import make_test_app, settle, wait_for
from textual.pilot import Pilot

pytestmark = pytest.mark.usefixtures("emulator")
SIZE = (130, 32)
SIZES = pytest.mark.parametrize("size", [(80, 24), SIZE], ids=["80x24", "130x32"])
"""The Colab terminal (and many SSH windows), and a roomy one."""


def after(*keys: str, until: Callable[[Pilot[None]], bool] | None = None) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Wait for the first listing, press `keys`, then wait for every worker to finish."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.browser.listing_done)  # type: ignore[attr-defined]
        await settle(pilot)
        if until is not None:
            await wait_for(pilot, lambda: bool(until(pilot)))
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if until is not None:
            await wait_for(pilot, lambda: until(pilot))
        await settle(pilot)

    return run_before


@SIZES
def test_bucket_root(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_test_app(f"gs://{DEMO_BUCKET}/"), terminal_size=size, run_before=after())


def test_model_folder_marked(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_test_app(f"gs://{DEMO_BUCKET}/serving/tiny_cnn/")
    marked = after(until=lambda p: p.app.browser.table.highlighted_mark is not None)  # type: ignore[attr-defined]
    assert snap_compare(app, terminal_size=SIZE, run_before=marked)


def test_filtered_level(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_test_app(f"gs://{DEMO_BUCKET}/models/image/"), terminal_size=SIZE,
                        run_before=after("slash", "k", "e", "r"))  # fmt: skip


def test_missing_bucket_error(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_test_app("gs://no-such-bucket/"), terminal_size=SIZE, run_before=after())


def test_paged_prefix_sorted_by_size(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_test_app(f"gs://{PAGING_BUCKET}/many/"), terminal_size=SIZE, run_before=after("s"))


def test_help(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_test_app(f"gs://{DEMO_BUCKET}/"), terminal_size=SIZE, run_before=after("question_mark"))


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        (f"gs://{DEMO_BUCKET}/models/image/tiny_cnn.keras", "1"),
        (f"gs://{DEMO_BUCKET}/models/text/classifier/", "2"),
        (f"gs://{DEMO_BUCKET}/models/image/tiny_cnn.h5", "3"),
        (f"gs://{DEMO_BUCKET}/checkpoints/tiny_cnn/", "4"),
        (f"gs://{DEMO_BUCKET}/models/mobile/tiny_cnn.tflite", "5"),
    ],
    ids=["overview", "signatures", "layers", "variables", "ops"],
)
@SIZES
def test_model_tab(snap_compare, uri: str, key: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    read = after(key, until=lambda p: getattr(p.app.screen, "inspected", False))
    assert snap_compare(make_test_app(uri), terminal_size=size, run_before=read)


def test_model_error(snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_test_app(f"gs://{DEMO_BUCKET}/broken/not_a_model.keras")
    assert snap_compare(app, terminal_size=SIZE, run_before=after(until=lambda p: getattr(p.app.screen, "error", None)))
