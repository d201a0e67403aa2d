"""`tfscope scan`: every model under a prefix found from one listing, read in parallel, ModelScan's exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import DEMO_BUCKET, ZOO_BUCKET, Uploader, h5_helpers
from fault_proxy import FaultProxy

from tui.errors import TfscopeError
from tui.formats.kinds import ArtifactKind
from tui.formats.scan import find_models, scan
from tui.storage import Entry, GcsStore, ObjectStat, parse_location
from tui.storage.emulator import Emulator

ZOO_MODELS = {
    "ckpt/keras/": "checkpoint", "ckpt/slots/": "checkpoint",
    "keras/functional.h5": "keras_h5", "keras/functional.keras": "keras_v3", "keras/nested.h5": "keras_h5",
    "keras/nested.keras": "keras_v3", "keras/sequential.h5": "keras_h5", "keras/sequential.keras": "keras_v3",
    "keras/subclassed.keras": "keras_v3", "keras/wide.h5": "keras_h5", "keras/wide.keras": "keras_v3",
    "keras2/model.h5": "keras_h5", "keras2/saved/": "saved_model",
    "saved/exported/": "saved_model", "saved/multi/": "saved_model", "saved/tf1/": "saved_model",
    "tflite/float.tflite": "tflite", "tflite/int8.tflite": "tflite",
}  # fmt: skip
"""Every model tests/build_zoo.py writes, by its path in the zoo bucket."""


def entries(root: str, *names: str) -> list[Entry]:
    base = parse_location(root)
    return [Entry(base.child(n), ObjectStat(size=1)) for n in names]


def found(root: str, *names: str) -> dict[str, str]:
    base = parse_location(root)
    return {f.location.path[len(base.path) :]: f.kind.value for f in find_models(entries(root, *names), base)}


def test_a_savedmodel_owns_everything_under_it_and_files_elsewhere_are_models() -> None:
    assert found(
        "gs://bkt/zoo/",
        "a/m/1/saved_model.pb", "a/m/1/variables/variables.index", "a/m/1/assets/inner.tflite",
        "a/m-2/model.keras", "a/m2/x.h5", "a/readme.txt", "deep/er/still/model.TFLITE", "ünï/çødé.keras",
        "ckpt/checkpoint", "ckpt/ckpt-1.index", "ckpt/ckpt-1.data-00000-of-00001", "ckpt/export.h5",
        "loose/w.index", "loose/w.data-00000-of-00001",
    ) == {  # fmt: skip
        "a/m/1/": "saved_model",  # its assets' .tflite is part of it, not a model of its own
        "a/m-2/model.keras": "keras_v3", "a/m2/x.h5": "keras_h5", "deep/er/still/model.TFLITE": "tflite",
        "ünï/çødé.keras": "keras_v3",
        "ckpt/": "checkpoint", "ckpt/export.h5": "keras_h5",  # an .h5 beside a checkpoint is a model too
        "loose/": "checkpoint",  # an index beside its shard, without a state file
    }  # fmt: skip


def test_the_root_itself_can_be_the_model_and_a_bucket_top_works() -> None:
    assert found("gs://bkt/m/", "saved_model.pb", "variables/variables.index") == {"": "saved_model"}
    assert found("gs://bkt", "top.keras", "x/saved_model.pb") == {"top.keras": "keras_v3", "x/": "saved_model"}
    assert found("/", "srv/m.h5") == {"srv/m.h5": "keras_h5"}
    assert found("gs://bkt/x/", "notes.txt", "data.csv") == {}


def test_each_model_gets_only_its_own_files() -> None:
    base = parse_location("gs://bkt/")
    listing = entries("gs://bkt/", "m/saved_model.pb", "m/variables/v.index", "m.keras", "ck/checkpoint",
                      "ck/c.index", "ck/c.data-0-of-1", "ck/sub/other.h5")  # fmt: skip
    files = {f.location.path: sorted(e.location.path for e in f.files) for f in find_models(listing, base)}
    assert files == {
        "m/": ["m/saved_model.pb", "m/variables/v.index"],
        "m.keras": ["m.keras"],
        "ck/": ["ck/c.data-0-of-1", "ck/c.index", "ck/checkpoint"],  # not the sub-folder's .h5: that is its own
        "ck/sub/other.h5": ["ck/sub/other.h5"],
    }


def test_the_zoo_on_the_emulator_is_found_whole_read_and_clean(emulator: Emulator) -> None:
    """Every model kind the suite builds, over GCS: found, read without an error, and no findings."""
    report = scan(GcsStore(), parse_location(f"gs://{ZOO_BUCKET}/"))
    mine = {r.found.location.path: r for r in report.results if not r.found.location.path.startswith("t-")}
    assert {path: r.found.kind.value for path, r in mine.items()} == ZOO_MODELS
    for path, result in mine.items():
        assert result.error is None, (path, result.error)
        assert result.info is not None and result.info.findings == [], (path, result.info and result.info.findings)
    assert mine["saved/multi/"].info.signatures  # type: ignore[union-attr]
    assert mine["keras/wide.h5"].info.total_params > 1_000_000  # type: ignore[union-attr]


def test_a_scan_lists_once_and_never_lists_a_model_folder_again(emulator: Emulator, fault_proxy: FaultProxy) -> None:
    report = scan(GcsStore(), parse_location(f"gs://{DEMO_BUCKET}/"))
    assert any(r.found.kind is ArtifactKind.SAVED_MODEL and r.info for r in report.results)
    listings = [
        parse_qs(urlsplit(r.split(" ", 1)[1]).query, keep_blank_values=True) for r in fault_proxy.seen if "/o?" in r
    ]
    assert [q.get("prefix") for q in listings if "pageToken" not in q] == [[""]], fault_proxy.seen
    stats = [r for r in fault_proxy.seen if "/o/" in r and "alt=media" not in r]
    assert stats == [], stats  # a file's stat came with the listing


def test_a_scan_stops_when_cancelled(emulator: Emulator) -> None:
    seen = threading.Event()

    def cancelled() -> bool:
        return seen.is_set()

    with pytest.raises(TfscopeError, match="stopped"):
        scan(GcsStore(), parse_location(f"gs://{ZOO_BUCKET}/"), jobs=1, on_result=lambda *_: seen.set(),
             cancelled=cancelled)  # fmt: skip


def left_to_h5py(source: Path, dest: Path) -> None:
    """A copy of a Keras .h5 that tfscope's own HDF5 reader leaves to h5py: more than 8 root attributes
    make HDF5 store them densely (in a fractal heap), which that reader does not read."""
    import h5py

    with h5py.File(source) as src, h5py.File(dest, "w", libver="latest") as out:
        for key, value in src.attrs.items():
            out.attrs[key] = value
        for i in range(10):
            out.attrs[f"extra_{i}"] = i
        for name in src:
            src.copy(src[name], out, name)


def test_a_scan_of_many_hdf5_files_keeps_few_helpers(zoo: Path, tmp_path: Path) -> None:
    """Sixteen reads at once, one HDF5 helper each, meant a Python and h5py start-up per file; the pool
    keeps at most MAX_HELPERS and every file is still read."""
    from tui.formats.h5_sandbox import MAX_HELPERS
    from tui.storage import LocalStore

    sources = sorted((zoo / "keras").glob("*.h5"))
    for source in sources:
        left_to_h5py(source, tmp_path / f"0-{source.name}")
    for copy in range(1, 8):
        for source in sources:
            (tmp_path / f"{copy}-{source.name}").write_bytes((tmp_path / f"0-{source.name}").read_bytes())
    peak, done = 0, threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, h5_helpers())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        report = scan(LocalStore(), parse_location(str(tmp_path)), jobs=16)
    finally:
        done.set()
        watcher.join()
    assert len(report.results) == 8 * len(sources) >= 24
    assert [r.error for r in report.results if r.error] == []
    assert 0 < peak <= MAX_HELPERS, peak


def run_scan(*args: str, emulator: Emulator | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_GCE_CHECK": "true"}
    if emulator is not None:
        env["STORAGE_EMULATOR_HOST"] = emulator.url
    return subprocess.run([sys.executable, "-m", "tui", "scan", *args], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip


def test_exit_codes_clean_unreadable_empty_and_usage(
    emulator: Emulator, uploader: Uploader, zoo: Path, tmp_path: Path
) -> None:
    uploader.put("clean/x/readme.txt", b"no model here")
    assert run_scan(uploader.uri + "clean/", emulator=emulator).returncode == 3
    uploader.put("clean/m.tflite", (zoo / "tflite" / "float.tflite").read_bytes())
    clean = run_scan(uploader.uri + "clean/", "--json", emulator=emulator)
    assert clean.returncode == 0, clean.stderr
    document = json.loads(clean.stdout)
    assert [m["format"] for m in document["models"]] == ["tflite"] and document["summary"]["models"] == 1
    uploader.put("clean/broken.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    broken = run_scan(uploader.uri + "clean", emulator=emulator)  # without the slash: still the prefix
    assert broken.returncode == 2, broken.stderr
    assert "could not be read" in broken.stdout and "broken.h5" in broken.stdout
    assert run_scan("s3://bucket/x").returncode == 4
    assert run_scan(str(tmp_path), "--jobs", "0").returncode == 4
    assert run_scan(str(tmp_path / "missing")).returncode == 2


@pytest.fixture(scope="module")
def malicious(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, set[tuple[str, str]]]]:
    """Every malicious SavedModel tests/malicious_models.py builds (TF, at test time)."""
    from malicious_models import write_malicious_models

    dest = tmp_path_factory.mktemp("malicious")
    return dest, write_malicious_models(dest)


def test_the_cli_finds_every_malicious_model_among_clean_ones(
    emulator: Emulator, uploader: Uploader, zoo: Path, malicious: tuple[Path, dict[str, set[tuple[str, str]]]]
) -> None:
    folder, expected = malicious
    uploader.put_tree(folder, "bad/")
    uploader.put_tree(zoo / "saved" / "multi", "good/multi/")
    uploader.put("good/float.tflite", (zoo / "tflite" / "float.tflite").read_bytes())
    done = run_scan(uploader.uri, "--json", emulator=emulator)
    assert done.returncode == 1, done.stderr
    models = {m["uri"][len(uploader.uri) :]: m for m in json.loads(done.stdout)["models"]}
    assert set(models) == {f"bad/{name}/" for name in expected} | {"good/multi/", "good/float.tflite"}
    for name, pairs in expected.items():
        model = models[f"bad/{name}/"]
        assert model["error"] is None and {(f["name"], f["capability"]) for f in model["findings"]} >= pairs, model
    assert models["good/multi/"]["findings"] == [] and models["good/float.tflite"]["findings"] == []
    text = run_scan(uploader.uri, emulator=emulator)
    assert text.returncode == 1 and f"{len(expected)} with findings" in text.stdout


async def test_the_scan_screen_lists_findings_first_filters_and_opens_a_model(
    emulator: Emulator, uploader: Uploader, zoo: Path, malicious: tuple[Path, dict[str, set[tuple[str, str]]]]
) -> None:
    from pilot import make_test_app, wait_for

    from tui.screens.browser import BrowserScreen
    from tui.screens.model import ModelScreen
    from tui.screens.scan import ScanScreen

    folder, expected = malicious
    uploader.put_tree(folder / "file_read", "scanme/bad/")
    uploader.put("scanme/good/float.tflite", (zoo / "tflite" / "float.tflite").read_bytes())
    app = make_test_app(uploader.uri)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.browser.listing_done and app.browser.table.row_count == 1)
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, ScanScreen) and app.screen.finished is not None)
        screen = app.screen
        assert isinstance(screen, ScanScreen)
        assert [r.found.location.path.rsplit("scanme/", 1)[1] for r in screen.shown()] == ["bad/", "good/float.tflite"]
        detail = str(screen.query_one("#scan-detail").render())
        assert "ReadFile" in detail and "reads files" in detail  # the highlighted (first) row's findings
        await pilot.press("slash", *"tflite", "enter")
        assert [r.found.kind.value for r in screen.shown()] == ["tflite"]
        await pilot.press("escape")  # drops the filter, stays
        assert len(screen.shown()) == 2 and app.screen is screen
        await pilot.press("up", "enter")  # the highlight stayed on the row the filter left: up to the first
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        assert app.screen.location.path.endswith("scanme/bad/")  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
