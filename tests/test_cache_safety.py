"""The cache against a bucket written by strangers: hostile names, long names, folder markers, name
clashes, two processes at once, tampered entries, unusable cache folders. Real emulator, real files."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import Uploader

from tui.runtime.session import artifact_files
from tui.storage import GcsStore, Stores, parse_location
from tui.storage.cache import CacheError, ModelCache


def fetch(cache: ModelCache, uri: str):  # type: ignore[no-untyped-def]
    stores = Stores(GcsStore(deadline=3))
    location = parse_location(uri)
    return cache.fetch(stores.gcs, location, artifact_files(stores, location))


def test_hostile_names_cannot_write_outside_the_cache(uploader: Uploader, zoo: Path, tmp_path: Path) -> None:
    """`..` segments and `//` in object names are skipped; the model itself downloads whole."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("untouched")
    uploader.put_tree(zoo / "saved/exported", under="evil/")
    climb = "../" * 24 + str(outside).lstrip("/")
    uploader.put(f"evil/variables/{climb}/pwned1", b"pwned")
    uploader.put(f"evil//{str(outside).lstrip('/')}/pwned2", b"pwned")
    uploader.put(f"evil/assets/{climb}/victim", b"overwritten")
    uploader.put("evil/./dot", b"pwned")

    cached = fetch(ModelCache(tmp_path / "cache"), uploader.uri + "evil/")

    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_text() == "untouched"
    assert (cached.path / "saved_model.pb").read_bytes() == (zoo / "saved/exported/saved_model.pb").read_bytes()
    assert len(cached.skipped) == 4
    assert all(uploader.prefix + "evil/" in s.name for s in cached.skipped)
    assert {s.reason for s in cached.skipped} == {"it has an empty, '.' or '..' path segment"}
    for path in (tmp_path / "cache").rglob("*"):
        assert path.resolve().is_relative_to((tmp_path / "cache").resolve())


def test_long_names_do_not_collide(uploader: Uploader, tmp_path: Path) -> None:
    """Two objects whose names share their first 200+ characters are two entries."""
    long = "d" * 160
    uploader.put(f"{long}/x/m.tflite", b"model x")
    uploader.put(f"{long}/y/m.tflite", b"model y")
    cache = ModelCache(tmp_path / "cache")
    x = fetch(cache, f"{uploader.uri}{long}/x/m.tflite")
    y = fetch(cache, f"{uploader.uri}{long}/y/m.tflite")
    assert x.path != y.path
    assert (x.path.read_bytes(), y.path.read_bytes()) == (b"model x", b"model y")
    assert x.path.name == "m.tflite"


def test_a_name_too_long_for_the_disk_still_loads_as_a_single_file(uploader: Uploader, tmp_path: Path) -> None:
    name = "m" * 300 + ".keras"
    uploader.put(name, b"zip bytes")
    cached = fetch(ModelCache(tmp_path / "cache"), uploader.uri + name)
    assert cached.path.name == "model.keras" and cached.path.read_bytes() == b"zip bytes"


def test_console_folder_markers_and_name_clashes(uploader: Uploader, zoo: Path, tmp_path: Path) -> None:
    """Zero-byte `prefix/` objects (the Cloud Console's folders) and an object named like a folder."""
    uploader.put("m/", b"")
    uploader.put("m/variables/", b"")
    uploader.put("m/assets/", b"")
    uploader.put_tree(zoo / "saved/exported", under="m/")
    uploader.put("m/variables", b"an object named like the folder beside it")
    cached = fetch(ModelCache(tmp_path / "cache"), uploader.uri + "m/")
    assert (cached.path / "variables").is_dir()
    assert [s.name for s in cached.skipped] == [uploader.prefix + "m/variables"]
    assert "folder" in cached.skipped[0].reason


def test_a_tampered_entry_is_dropped_and_downloaded_again(uploader: Uploader, zoo: Path, tmp_path: Path) -> None:
    original = (zoo / "keras/functional.h5").read_bytes()
    uploader.put("m.h5", original)
    cache = ModelCache(tmp_path / "cache")
    first = fetch(cache, uploader.uri + "m.h5")
    tampered = bytearray(original)
    tampered[-100:-90] = b"\xff" * 10  # a weight overwritten in place: same size, different bytes
    first.path.write_bytes(bytes(tampered))
    again = fetch(cache, uploader.uri + "m.h5")
    assert again.repaired and again.downloaded == len(original)
    assert again.path.read_bytes() == original
    hit = fetch(cache, uploader.uri + "m.h5")
    assert hit.downloaded == 0 and not hit.repaired


def test_a_missing_file_in_an_entry_is_repaired(uploader: Uploader, zoo: Path, tmp_path: Path) -> None:
    uploader.put_tree(zoo / "saved/exported", under="m/")
    cache = ModelCache(tmp_path / "cache")
    first = fetch(cache, uploader.uri + "m/")
    (first.path / "saved_model.pb").unlink()
    again = fetch(cache, uploader.uri + "m/")
    assert again.repaired and (again.path / "saved_model.pb").exists()


FETCH_SCRIPT = """
import json, sys, time
from tui.runtime.session import artifact_files
from tui.storage import GcsStore, Stores, parse_location
from tui.storage.cache import ModelCache
stores = Stores(GcsStore(deadline=5))
location = parse_location(sys.argv[1])
files = artifact_files(stores, location)
while time.time() < float(sys.argv[3]):
    time.sleep(0.005)  # both processes start fetching at the same moment
phases = []
cached = ModelCache(__import__("pathlib").Path(sys.argv[2])).fetch(stores.gcs, location, files, on_phase=phases.append)
print(json.dumps({"path": str(cached.path), "downloaded": cached.downloaded, "phases": phases}))
"""


def test_two_processes_share_one_download(uploader: Uploader, zoo: Path, tmp_path: Path) -> None:
    """Started together on one cache folder: one downloads, the other waits and reuses it."""
    import time

    uploader.put_tree(zoo / "saved/exported", under="m/")
    uploader.put("m/big.bin", b"\0" * (24 * 1024 * 1024))  # long enough for the second to find the lock held
    start_at = str(time.time() + 3)
    args = [sys.executable, "-c", FETCH_SCRIPT, uploader.uri + "m/", str(tmp_path / "cache"), start_at]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        results.append(json.loads(out))
    assert results[0]["path"] == results[1]["path"]
    assert sorted(r["downloaded"] > 0 for r in results) == [False, True]
    waited = next(r for r in results if not r["downloaded"])
    assert "wait for another tfscope's download" in waited["phases"]


def test_threads_share_one_download_too(uploader: Uploader, zoo: Path, tmp_path: Path) -> None:
    uploader.put_tree(zoo / "saved/exported", under="m/")
    cache = ModelCache(tmp_path / "cache")
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(fetch(cache, uploader.uri + "m/").downloaded))
               for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and sum(1 for d in results if d) == 1


def test_cache_dir_that_is_a_file_says_so(uploader: Uploader, tmp_path: Path) -> None:
    uploader.put("m.tflite", b"bytes")
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(CacheError) as caught:
        fetch(ModelCache(tmp_path / "a-file"), uploader.uri + "m.tflite")
    assert "a-file" in caught.value.detail and "--cache-dir" in caught.value.fix


def test_leftovers_of_a_killed_download_are_swept(uploader: Uploader, tmp_path: Path) -> None:
    uploader.put("m.tflite", b"bytes")
    cache_root = tmp_path / "cache"
    cache_root.mkdir()
    leftover = cache_root / ("0" * 40 + ".tmp-dead")
    leftover.mkdir()
    (leftover / "half").write_bytes(b"x")
    fetch(ModelCache(cache_root), uploader.uri + "m.tflite")
    assert not leftover.exists()


def test_throwaway_cache_is_removed(uploader: Uploader, tmp_path: Path) -> None:
    uploader.put("m.tflite", b"bytes")
    cache = ModelCache.throwaway()
    cached = fetch(cache, uploader.uri + "m.tflite")
    assert cached.path.exists()
    cache.close()
    assert not cache.root.exists()


def test_a_full_disk_says_so() -> None:
    """ENOSPC while writing an entry (a full disk cannot be made here without privileges)."""
    import errno

    from tui.storage.cache import _cache_errors

    with pytest.raises(CacheError) as caught, _cache_errors(Path("/somewhere/cache")):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert "is full" in caught.value.detail and "--no-cache" in caught.value.fix


def test_cli_with_a_cache_dir_that_is_a_file(uploader: Uploader, zoo: Path, tmp_path: Path) -> None:
    uploader.put("m.tflite", (zoo / "tflite/float.tflite").read_bytes())
    (tmp_path / "a-file").write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "tui", "run", uploader.uri + "m.tflite", "--cache-dir",
                           str(tmp_path / "a-file")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1 and done.stderr.startswith("tfscope: Model cache unusable")
    assert "Traceback" not in done.stderr
