"""The runtime: the download cache against the emulator, and TensorFlow in its child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import ZOO_BUCKET

from tui.errors import CorruptArtifactError, EmulatorNotRunningError
from tui.formats.inspect import inspect_model
from tui.formats.kinds import ArtifactKind
from tui.runtime.host import RuntimeCancelledError, RuntimeCrashedError, RuntimeHost, RuntimeRequestError
from tui.runtime.preflight import runnable
from tui.runtime.protocol import DEVICE_LISTING_ENV, InputSource, RunRequest
from tui.runtime.session import artifact_files, load_model
from tui.storage import GcsStore, Stores, parse_location
from tui.storage import cache as cache_module
from tui.storage.cache import DownloadCancelled, ModelCache
from tui.storage.emulator import Emulator

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def host() -> RuntimeHost:
    runtime = RuntimeHost(env={"TFSCOPE_LOGICAL_CPUS": "2"})
    yield runtime  # type: ignore[misc]
    runtime.stop()


def entry_dirs(cache: ModelCache) -> list[Path]:
    """Entries and downloads in progress (lock files are not entries)."""
    return [p for p in cache.root.iterdir() if p.suffix != ".lock"] if cache.root.exists() else []


@pytest.mark.usefixtures("emulator")
def test_cache_downloads_once_and_verifies(tmp_path: Path, zoo: Path) -> None:
    stores = Stores(GcsStore())
    location = parse_location(f"gs://{ZOO_BUCKET}/saved/exported/")
    files = artifact_files(stores, location)
    cache = ModelCache(tmp_path / "cache")
    cached = cache.fetch(stores.gcs, location, files)
    local, downloaded = cached.path, cached.downloaded
    assert downloaded == sum(f.size or 0 for f in files)
    for f in (zoo / "saved/exported").rglob("*"):
        if f.is_file():
            assert (local / f.relative_to(zoo / "saved/exported")).read_bytes() == f.read_bytes()
    before = stores.gcs.stats.snapshot()
    again = cache.fetch(stores.gcs, location, artifact_files(stores, location))
    assert again.path == local and again.downloaded == 0
    requests, nbytes = stores.gcs.stats.snapshot()
    assert nbytes - before[1] < 10_000  # the listing only, no object bytes
    assert [p.name for p in cache.root.iterdir() if ".tmp-" in p.name] == []


@pytest.mark.usefixtures("emulator")
def test_crc_mismatch_leaves_no_entry(tmp_path: Path) -> None:
    stores = Stores(GcsStore())
    location = parse_location(f"gs://{ZOO_BUCKET}/keras/functional.keras")
    [entry] = artifact_files(stores, location)
    lying = replace(entry, stat=replace(entry.stat, crc32c="AAAAAA=="))
    cache = ModelCache(tmp_path / "cache")
    with pytest.raises(CorruptArtifactError, match="crc32c"):
        cache.fetch(stores.gcs, location, [lying])
    assert entry_dirs(cache) == []


def test_emulator_stopped_mid_download_leaves_no_entry(
    tmp_path: Path, emulator_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks: most are still to be asked for when the server dies, however fast loopback is.
    monkeypatch.setattr(cache_module, "CHUNK", 256 * 1024)
    server = Emulator(emulator_data)
    server.start()
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
        stores = Stores(GcsStore(deadline=1))
        location = parse_location(f"gs://{ZOO_BUCKET}/keras/wide.h5")
        files = artifact_files(stores, location)
        cache = ModelCache(tmp_path / "cache")
        stopped = threading.Event()

        def on_progress(progress: object) -> None:
            if not stopped.is_set():
                stopped.set()
                server.kill()  # not stop(): a graceful stop finishes the chunks already in flight

        with pytest.raises(EmulatorNotRunningError):
            cache.fetch(stores.gcs, location, files, progress=on_progress)
        assert stopped.is_set() and entry_dirs(cache) == []
    finally:
        server.stop()


@pytest.mark.usefixtures("emulator")
def test_cancel_mid_download_leaves_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # More chunks than download threads: a chunk that starts after the first one's progress sees the cancel.
    # With 8 chunks of 8 MiB all would start at once, and may all pass their checks before any reports.
    monkeypatch.setattr(cache_module, "CHUNK", 1024 * 1024)
    stores = Stores(GcsStore())
    location = parse_location(f"gs://{ZOO_BUCKET}/keras/wide.keras")
    seen: list[object] = []
    cache = ModelCache(tmp_path / "cache")
    with pytest.raises(DownloadCancelled):
        cache.fetch(stores.gcs, location, artifact_files(stores, location), progress=seen.append,
                    cancelled=lambda: bool(seen))  # fmt: skip
    assert seen and entry_dirs(cache) == []


@pytest.mark.usefixtures("emulator")
def test_load_from_gcs_and_run_equals_tensorflow(tmp_path: Path, zoo: Path, host: RuntimeHost) -> None:
    stores = Stores(GcsStore())
    location = parse_location(f"gs://{ZOO_BUCKET}/saved/multi/")
    phases: list[str] = []
    loaded = load_model(stores, host, ModelCache(tmp_path / "c"), location, ArtifactKind.SAVED_MODEL,
                        on_phase=phases.append)  # fmt: skip
    assert "download" in phases and "restore" in phases
    assert {s.name for s in loaded.loaded.signatures} == {"serving_default", "classify_text", "classify_ids"}
    ids = [[1, 2, 3], [4, 5, 6]]
    result = host.run(RunRequest("classify_ids", {"token_ids": InputSource("json", json.dumps(ids))}, repeat=3))
    expected = (
        tf.saved_model.load(str(zoo / "saved/multi"))
        .signatures["classify_ids"](token_ids=tf.constant(ids, tf.int64))["logits"]
        .numpy()
    )
    logits = result.outputs["logits"]
    assert logits.shape == (2, 3)
    assert list(logits.preview) == pytest.approx(expected.reshape(-1).tolist(), rel=1e-5)
    assert logits.mean == pytest.approx(float(expected.mean()), rel=1e-5)
    assert result.timings.runs == 3 and result.timings.p50_ms > 0 and result.timings.first_call == "graph setup"


def test_two_logical_cpus_placement(zoo: Path, host: RuntimeHost) -> None:
    devices = host.devices()
    assert [d.name for d in devices.logical] == ["/device:CPU:0", "/device:CPU:1"]
    host.load(str(zoo / "saved/exported"), ArtifactKind.SAVED_MODEL, device="/CPU:1")
    placement = host.placement()
    assert set(placement.totals) == {"CPU:1"}
    model = tf.keras.models.load_model(zoo / "keras/functional.keras")
    assert placement.totals["CPU:1"] == sum(int(np.prod(w.shape)) * 4 for w in model.weights)
    result = host.run(RunRequest("serving_default", {"features": InputSource("random")}, "/CPU:0", repeat=1))
    assert result.device == "CPU:0"
    assert host.placement().last_inference_device == "CPU:0"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"source": "json", "value": "[1, 2]"}, "expects shape (None, 16), got (2,)"),
        ({"source": "json", "value": "__import__('os')"}, "not valid JSON"),
        ({"source": "json", "value": '[["a"]]'}, "not numeric"),
        ({"source": "zeros", "shape": (1, 15)}, "expects shape (None, 16), got (1, 15)"),
    ],
)
def test_bad_inputs_are_rejected_by_name(zoo: Path, host: RuntimeHost, source: dict[str, object], message: str) -> None:
    host.load(str(zoo / "saved/exported"), ArtifactKind.SAVED_MODEL)
    with pytest.raises(RuntimeRequestError, match="input 'features'") as caught:
        host.run(RunRequest("serving_default", {"features": InputSource(**source)}))
    assert message in caught.value.detail


def test_pickled_npy_is_refused(tmp_path: Path, zoo: Path, host: RuntimeHost) -> None:
    path = tmp_path / "evil.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    host.load(str(zoo / "saved/exported"), ArtifactKind.SAVED_MODEL)
    with pytest.raises(RuntimeRequestError, match="object arrays are refused"):
        host.run(RunRequest("serving_default", {"features": InputSource("npy", path=str(path))}))


@pytest.mark.usefixtures("emulator")
def test_tensorflow_starts_while_the_model_downloads(tmp_path: Path) -> None:
    runtime = RuntimeHost()
    alive_while_downloading: list[bool] = []
    try:
        loaded = load_model(Stores(GcsStore()), runtime, ModelCache(tmp_path / "c"),
                            parse_location(f"gs://{ZOO_BUCKET}/saved/exported/"), ArtifactKind.SAVED_MODEL,
                            on_progress=lambda _: alive_while_downloading.append(runtime.running))  # fmt: skip
        assert alive_while_downloading and all(alive_while_downloading)
        assert loaded.loaded.signatures and not runtime.warming
    finally:
        runtime.stop()


def test_a_crash_is_survived(zoo: Path) -> None:
    runtime = RuntimeHost()
    try:
        runtime.hello()
        pid = runtime._process.pid  # type: ignore[union-attr]
        threading.Timer(0.5, lambda: os.kill(pid, 9)).start()
        with pytest.raises(RuntimeCrashedError, match="while loading"):
            runtime.load(str(zoo / "saved/exported"), ArtifactKind.SAVED_MODEL)
        assert runtime.hello()["pid"] != pid
    finally:
        runtime.stop()


@pytest.mark.parametrize("prewarmed", [False, True], ids=["mid-load", "behind-the-tensorflow-import"])
def test_cancel_mid_load(zoo: Path, prewarmed: bool) -> None:
    """Cancel kills the child; a load waiting behind a prewarm's TensorFlow import stops too."""
    runtime = RuntimeHost()
    try:
        if prewarmed:
            runtime.prewarm()  # holds the child while TensorFlow imports; the load below waits for it
        threading.Timer(0.5, runtime.cancel).start()
        with pytest.raises(RuntimeCancelledError):
            runtime.load(str(zoo / "keras/wide.keras"), ArtifactKind.KERAS)
        assert not runtime.running
    finally:
        runtime.stop()


def test_safe_mode_refusal_says_what_to_do(tmp_path: Path, host: RuntimeHost) -> None:
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2, name="double")(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(RuntimeRequestError) as caught:
        host.load(str(tmp_path / "lambda.keras"), ArtifactKind.KERAS)
    assert caught.value.title == "Refused by safe mode" and "--unsafe" in caught.value.fix


def test_injected_gpu_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = {"physical": [{"name": "/physical_device:GPU:0", "type": "GPU", "model": "NVIDIA H100",
                             "compute_capability": "9.0"}], "logical": [], "tpu": None}  # fmt: skip
    (tmp_path / "devices.json").write_text(json.dumps(listing))
    monkeypatch.setenv(DEVICE_LISTING_ENV, str(tmp_path / "devices.json"))
    done = subprocess.run([sys.executable, "-m", "tui", "devices"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "GPU  /physical_device:GPU:0  (model NVIDIA H100, compute_capability 9.0)" in done.stdout


@pytest.mark.usefixtures("emulator")
def test_run_command_json(tmp_path: Path) -> None:
    uri = f"gs://{ZOO_BUCKET}/saved/exported/"
    args = [sys.executable, "-m", "tui", "run", uri, "--input", "features=random", "--repeat", "2", "--json",
            "--cache-dir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["signature"] == "serving_default" and report["device"].startswith("CPU")
    output = report["outputs"]["output_0"]
    assert output["shape"] == [1, 3] and {"min", "max", "mean"} <= set(output)
    assert {"first_ms", "p50_ms", "p95_ms"} <= set(report["timings"])
    bad = subprocess.run([*args[:5], "--signature", "nope", "--cache-dir", str(tmp_path)], capture_output=True,
                         text=True, timeout=180)  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.startswith("tfscope: No such signature")


@pytest.mark.parametrize(
    "path",
    ["saved/multi", "saved/exported", "keras/functional.keras", "keras/functional.h5", "keras2/model.h5",
     "keras2/saved", "tflite/float.tflite", "tflite/int8.tflite"],
)  # fmt: skip
def test_what_run_checks_before_tensorflow_matches_what_tensorflow_loads(zoo: Path, host: RuntimeHost,
                                                                         path: str) -> None:  # fmt: skip
    """`tfscope run` refuses names from the metadata alone: they must be the names the runtime uses."""
    location = parse_location(str(zoo / path))
    info = inspect_model(Stores(GcsStore(anonymous=True)).for_location(location), location)
    expected = runnable(info)
    loaded = host.load(str(zoo / path), info.kind)
    assert list(expected) == [s.name for s in loaded.signatures]
    for signature in loaded.signatures:
        inputs = expected[signature.name]
        if inputs is not None:  # None: the metadata does not name them (a subclassed model)
            assert [(i.name, i.dtype) for i in inputs] == [(i.name, i.dtype) for i in signature.inputs]
            shapes = [i.shape for i in inputs]
            assert all(s is None for s in shapes) or shapes == [i.shape for i in signature.inputs]
