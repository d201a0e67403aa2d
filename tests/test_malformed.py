"""Damaged, truncated, hostile files: a clear TfscopeError every time, bounded memory, no crash.

The fuzz tests mutate real files made by TF/Keras with hypothesis, on a fixed budget.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.errors import CorruptArtifactError, TfscopeError
from tui.formats.inspect import inspect_model
from tui.storage import LocalStore, parse_location

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def inspect_path(path: Path) -> None:
    inspect_model(LocalStore(), parse_location(str(path)))


def mutations() -> st.SearchStrategy[tuple[list[tuple[float, int]], float | None]]:
    """Up to 8 byte overwrites at relative offsets, and maybe a truncation point."""
    edits = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8)
    return st.tuples(edits, st.one_of(st.none(), st.floats(0, 1)))


def mutate(data: bytes, mutation: tuple[list[tuple[float, int]], float | None]) -> bytes:
    edits, cut = mutation
    out = bytearray(data)
    for where, value in edits:
        out[int(where * len(out))] = value
    if cut is not None:
        out = out[: int(cut * len(out))]
    return bytes(out)


def check_reader(path: Path) -> None:
    try:
        inspect_path(path)
    except TfscopeError as error:
        assert error.title and error.detail  # a message a user can read, never a bare library error


@pytest.mark.parametrize(
    "name", ["keras/functional.keras", "keras/functional.h5", "tflite/int8.tflite", "ckpt/slots/ckpt-1.index"]
)
def test_fuzz_file_readers(zoo: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    original = (zoo / name).read_bytes()
    stem = Path(name).name.split(".")[0]
    siblings = [p for p in (zoo / name).parent.iterdir() if p.name.startswith(stem + ".")]

    @FUZZ
    @given(mutations())
    def run(mutation: tuple[list[tuple[float, int]], float | None]) -> None:
        folder = tmp_path_factory.mktemp("fuzz")
        for sibling in siblings:  # a checkpoint index is read beside its data shard
            shutil.copy(sibling, folder / sibling.name)
        target = folder / Path(name).name
        target.write_bytes(mutate(original, mutation))
        check_reader(target)

    run()


def test_fuzz_saved_model(zoo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    original = (zoo / "saved/multi/saved_model.pb").read_bytes()

    @FUZZ
    @given(mutations())
    def run(mutation: tuple[list[tuple[float, int]], float | None]) -> None:
        folder = tmp_path_factory.mktemp("fuzz-sm")
        (folder / "saved_model.pb").write_bytes(mutate(original, mutation))
        check_reader(folder)

    run()


@pytest.mark.parametrize("name", ["keras/functional.h5", "keras/functional.keras", "tflite/float.tflite"])
def test_truncated_files_say_so(zoo: Path, tmp_path: Path, name: str) -> None:
    data = (zoo / name).read_bytes()
    target = tmp_path / Path(name).name
    target.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptArtifactError):
        inspect_path(target)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", b" " * (200 * 1024 * 1024))  # 200 MB of spaces: ~200 KB compressed
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(CorruptArtifactError, match="zip bomb"):
        inspect_path(bomb)


def test_two_gigabyte_protobuf_is_refused_without_reading_it(tmp_path: Path) -> None:
    folder = tmp_path / "huge"
    folder.mkdir()
    with open(folder / "saved_model.pb", "wb") as f:
        f.truncate(2 * 1024**3)  # sparse: costs no disk
    with pytest.raises(TfscopeError) as caught:
        inspect_path(folder)
    assert caught.value.title == "Graph too large to inspect"


def test_wrong_magic_names_the_problem(tmp_path: Path) -> None:
    fake = tmp_path / "model.h5"
    fake.write_bytes(b"<html>403 Forbidden</html>")
    with pytest.raises(CorruptArtifactError, match="named like a Keras HDF5 file"):
        inspect_path(fake)


def test_empty_checkpoint_index(tmp_path: Path) -> None:
    (tmp_path / "ckpt-1.index").write_bytes(b"")
    (tmp_path / "ckpt-1.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(CorruptArtifactError, match="too short"):
        inspect_path(tmp_path / "ckpt-1.index")


def test_control_characters_in_a_model_are_not_passed_on(zoo: Path, tmp_path: Path) -> None:
    """A layer name with an ESC in a .keras config: shown as ?, in the report as on screen."""
    from tui.formats.report import to_text

    source, crafted = zoo / "keras" / "functional.keras", tmp_path / "crafted.keras"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(crafted, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                data = data.replace(b'"features"', b'"features\\u001b]0;pwned\\u0007"')
            zout.writestr(item, data)
    info = inspect_model(LocalStore(), parse_location(str(crafted)))
    names = [layer.name for layer in info.layers]
    assert "features?]0;pwned?" in names
    assert "\x1b" not in to_text(info) and "\x07" not in to_text(info)


def test_a_hanging_hdf5_read_is_cancelled_at_once(zoo: Path, tmp_path: Path) -> None:
    """The HDF5 library loops forever inside C code on this file: a cancel still ends the read in a
    moment (its helper process is killed), as leaving the model screen does."""
    import threading
    import time

    from crafted import _global_heap_loop

    from tui.formats import h5_sandbox
    from tui.formats.limits import InspectionCancelled

    crafted = _global_heap_loop(zoo / "keras/functional.h5", tmp_path / "loop.h5")
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    with pytest.raises(InspectionCancelled):
        inspect_model(LocalStore(), parse_location(str(crafted)), cancelled=stop.is_set)
    assert time.monotonic() - started < 2.0
    assert all(helper.alive for helper in h5_sandbox._idle)  # the stuck one is gone, not pooled


def test_budget_stops_a_read_from_the_caller(zoo: Path) -> None:
    """Every reader checks the cancel flag: a cancelled inspection of any format stops with one message."""
    from tui.formats.limits import InspectionCancelled

    for name in ["keras/wide.keras", "saved/multi", "ckpt/slots", "tflite/int8.tflite"]:
        with pytest.raises(InspectionCancelled):
            inspect_model(LocalStore(), parse_location(str(zoo / name)), cancelled=lambda: True)


def test_hdf5_weights_behind_an_external_link_are_reported(tmp_path: Path, zoo: Path) -> None:
    """Not read, not counted as 0 params silently: the link is what loading would need, and says where."""
    import h5py

    path = tmp_path / "linked.h5"
    shutil.copy(zoo / "keras/functional.h5", path)
    with h5py.File(path, "r+") as h5:
        del h5["model_weights"]
        h5["model_weights"] = h5py.ExternalLink("/nonexistent/weights.h5", "/")
    info = inspect_model(LocalStore(), parse_location(str(path)))
    assert [n.detail for n in info.needs_consent] == [
        "reading /nonexistent/weights.h5 on this machine (model_weights is an HDF5 external link)"
    ]
    assert "not followed" in info.details["Weights"]


def helper_processes() -> list[int]:
    """This process's HDF5 helpers that are still running."""
    import os

    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"tui.formats.h5_sandbox" in cmdline and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


async def test_leaving_a_model_screen_stops_a_hanging_read(zoo: Path, tmp_path: Path) -> None:
    """The TUI side of a crafted HDF5 file: escape ends the read at once (no core left at 100%), and
    ctrl+c quits."""
    import time

    from crafted import _global_heap_loop
    from pilot import make_test_app, wait_for

    from tui.formats import h5_sandbox
    from tui.screens.model import ModelScreen

    h5_sandbox.stop_all()
    crafted = _global_heap_loop(zoo / "keras/functional.h5", tmp_path / "loop.h5")
    app = make_test_app(str(crafted))
    async with app.run_test(size=(100, 30)) as pilot:

        def busy() -> set[int]:
            return set(helper_processes()) - {h.process.pid for h in h5_sandbox._idle}

        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and bool(busy()))
        await pilot.pause(0.3)
        stuck = busy()
        started = time.monotonic()
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.browser)
        await wait_for(pilot, lambda: not stuck & set(helper_processes()), timeout=3)
        assert time.monotonic() - started < 2
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running
