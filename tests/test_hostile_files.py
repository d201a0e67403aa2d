"""Hostile local files: a FIFO named like a model (reading it would block forever), a model folder with a FIFO
among its variables, and a folder of junk `.h5` files that a scan must keep its pace through."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import h5_helpers

from tui.errors import TfscopeError
from tui.formats.kinds import ArtifactKind
from tui.formats.scan import scan
from tui.runtime.host import RuntimeHost
from tui.runtime.session import load_model
from tui.storage import LocalStore, Stores, parse_location
from tui.storage.cache import ModelCache

FIFO_MESSAGE = "is a named pipe (FIFO), not a regular file"


@pytest.mark.parametrize("name", ["model.h5", "model.keras", "model.tflite", "model.index"])
def test_inspect_refuses_a_fifo_named_like_a_model(tmp_path: Path, name: str) -> None:
    os.mkfifo(tmp_path / name)
    done = subprocess.run(
        [sys.executable, "-m", "tui", "inspect", str(tmp_path / name)], capture_output=True, text=True, timeout=60
    )  # fmt: skip  (a read would block until the timeout)
    assert done.returncode == 1 and done.stderr.startswith("tfscope: Not a regular file:"), done.stderr
    assert FIFO_MESSAGE in done.stderr


def test_a_scan_reads_past_a_fifo(tmp_path: Path, zoo: Path) -> None:
    os.mkfifo(tmp_path / "model.h5")
    shutil.copy(zoo / "keras" / "functional.keras", tmp_path / "real.keras")
    location = parse_location(str(tmp_path))
    report = scan(Stores(LocalStore()).for_location(location), location)
    by_name = {r.found.location.name: r for r in report.results}
    assert by_name["real.keras"].info is not None
    error = by_name["model.h5"].error
    assert error is not None and FIFO_MESSAGE in str(error)


def test_loading_a_folder_with_a_fifo_among_its_variables_is_refused(tmp_path: Path, zoo: Path) -> None:
    """TensorFlow would block on it in the runtime: refused before the runtime is asked."""
    model = tmp_path / "saved"
    shutil.copytree(zoo / "saved" / "exported", model)
    data = next((model / "variables").glob("*.data-*"))
    data.unlink()
    os.mkfifo(data)
    host = RuntimeHost()
    try:
        location = parse_location(str(model) + "/")
        with pytest.raises(TfscopeError, match="named pipe"):
            load_model(Stores(LocalStore()), host, ModelCache(tmp_path / "cache"), location, ArtifactKind.SAVED_MODEL)
        assert not host.running
    finally:
        host.stop()


def test_a_scan_of_junk_h5_files_keeps_its_pace(tmp_path: Path) -> None:
    """Files that start like HDF5 and hold random bytes are refused from their superblock, in-process: no
    HDF5 helper round trip each (20,000 of them once took a scan past 180 s)."""
    rng = random.Random(0)
    for i in range(300):
        (tmp_path / f"junk-{i:03d}.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + rng.randbytes(rng.randrange(8, 4096)))
    location = parse_location(str(tmp_path))
    peak = 0

    def watched(*_: object) -> None:
        nonlocal peak
        peak = max(peak, h5_helpers())

    report = scan(Stores(LocalStore()).for_location(location), location, on_result=watched)
    assert len(report.results) == 300 and len(report.unreadable) == 300
    assert all("HDF5" in str(r.error) or "truncated" in str(r.error) for r in report.unreadable)
    assert peak == 0
