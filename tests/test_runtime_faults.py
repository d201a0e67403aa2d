"""The runtime and `tfscope run` when things go wrong: a killed host, a dead child, TF errors deep in a
graph, devices that are not there, TFLite without signatures, pickled inputs, interrupted commands,
leftovers in the temp folder, and models that would read files on this machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import Uploader

from tui.formats.kinds import ArtifactKind
from tui.runtime.host import RuntimeHost, RuntimeRequestError
from tui.runtime.protocol import InputSource, RunRequest

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def host() -> RuntimeHost:
    runtime = RuntimeHost()
    yield runtime  # type: ignore[misc]
    runtime.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_the_child_dies_with_its_host() -> None:
    """kill -9 of tfscope (or a closed SSH session) must not leave TensorFlow running on its own."""
    script = (
        "import sys, time; from tui.runtime.host import RuntimeHost; h = RuntimeHost(); "
        "h.hello(); print(h._process.pid, flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_a_run_after_the_child_died_says_the_model_is_gone(zoo: Path, host: RuntimeHost) -> None:
    host.load(str(zoo / "saved/exported"), ArtifactKind.SAVED_MODEL)
    assert host.pid is not None
    os.kill(host.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while host.running and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(RuntimeRequestError) as caught:
        host.run(RunRequest("serving_default"))
    assert caught.value.title == "No model loaded" and "press l" in caught.value.fix.lower()


def test_tensorflow_errors_keep_their_cause(zoo: Path, host: RuntimeHost) -> None:
    host.load(str(zoo / "saved/multi"), ArtifactKind.SAVED_MODEL)
    with pytest.raises(RuntimeRequestError) as caught:
        host.run(RunRequest("classify_ids", {"token_ids": InputSource("json", "[[1000]]")}))
    assert "is not in [0, 64)" in caught.value.detail
    assert "Graph execution error" not in caught.value.detail


def test_a_device_that_is_not_there_is_named(zoo: Path, host: RuntimeHost) -> None:
    host.load(str(zoo / "saved/exported"), ArtifactKind.SAVED_MODEL)
    with pytest.raises(RuntimeRequestError) as caught:
        host.run(RunRequest("serving_default", device="/GPU:7"))
    assert caught.value.title == "No such device"
    assert "GPU:7" in caught.value.detail and "CPU:0" in caught.value.fix


def test_tflite_without_signatures_runs_through_its_tensors(zoo: Path, tmp_path: Path, host: RuntimeHost) -> None:
    """Older converters wrote no SignatureDefs: the graph's own inputs and outputs are the signature."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray((zoo / "tflite/float.tflite").read_bytes()), 0)
    model.signatureDefs = []
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "nosig.tflite"
    path.write_bytes(bytes(builder.Output()))

    loaded = host.load(str(path), ArtifactKind.TFLITE)
    [signature] = loaded.signatures
    assert signature.name == "main"
    [spec] = signature.inputs
    values = np.arange(16, dtype=np.float32).reshape(1, 16) / 16
    result = host.run(RunRequest("main", {spec.name: InputSource("json", json.dumps(values.tolist()))}, repeat=1))
    interpreter = tf.lite.Interpreter(model_path=str(zoo / "tflite/float.tflite"))
    expected = next(iter(interpreter.get_signature_runner()(**{"features": values}).values()))
    [output] = result.outputs.values()
    assert list(output.preview) == pytest.approx(expected.reshape(-1).tolist(), rel=1e-5)
    assert result.device == "CPU:0" and result.timings.first_call == "first call"


def test_a_pickled_npz_is_refused_by_name(zoo: Path, tmp_path: Path, host: RuntimeHost) -> None:
    np.savez(tmp_path / "evil.npz", features=np.array([{"a": 1}], dtype=object))
    host.load(str(zoo / "saved/exported"), ArtifactKind.SAVED_MODEL)
    with pytest.raises(RuntimeRequestError) as caught:
        host.run(RunRequest("serving_default", {"features": InputSource("npy", path=str(tmp_path / "evil.npz"))}))
    assert "input 'features'" in caught.value.detail and "object arrays are refused" in caught.value.detail


def tfscope(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_run_flags_that_make_no_sense_are_refused(zoo: Path) -> None:
    repeat = tfscope("run", str(zoo / "saved/exported"), "--repeat", "-1")
    assert repeat.returncode == 2 and "is not a whole number of 0 or more" in repeat.stderr
    shape = tfscope("run", str(zoo / "saved/exported"), "--shape", "features=0,16")
    assert shape.returncode == 1 and "at least 1" in shape.stderr and "Traceback" not in shape.stderr


@pytest.mark.usefixtures("emulator")
def test_no_cache_and_a_gs_input_leave_nothing_behind(uploader: Uploader, zoo: Path, tmp_path: Path) -> None:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.ones((1, 16), np.float32))
    uploader.put("x.npy", buffer.getvalue())
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = tfscope("run", "gs://zoo/saved/exported/", "--no-cache", "--input", f"features={uploader.uri}x.npy",
                   "--repeat", "1", "--json", env={"TMPDIR": str(scratch)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"]["output_0"]["shape"] == [1, 3]
    assert list(scratch.iterdir()) == []


def test_run_refuses_a_model_that_would_read_a_local_file(tmp_path: Path) -> None:
    """An .h5 whose weights live in /etc/hostname: refused before TensorFlow starts, the fix named."""
    import h5py

    path = tmp_path / "reads-hostname.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": []}})
        h5.create_group("model_weights").create_dataset("w", shape=(16,), dtype="uint8",
                                                        external=[("/etc/hostname", 0, 16)])  # fmt: skip
    started = time.monotonic()
    done = tfscope("run", str(path))
    assert done.returncode == 1 and done.stderr.startswith("tfscope: Refused by safe mode")
    assert "/etc/hostname" in done.stderr and "--unsafe" in done.stderr
    assert time.monotonic() - started < 10  # no TensorFlow import: refused from the metadata


def test_ctrl_c_during_a_run_stops_cleanly(zoo: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "tui", "run", str(zoo / "keras/wide.keras")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(2.0)  # inside the load: TensorFlow importing in its child
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "tfscope: stopped." in stderr and "Traceback" not in stderr


def test_output_to_a_closed_pipe_is_not_a_traceback(zoo: Path) -> None:
    done = subprocess.run(f"{sys.executable} -m tui inspect {zoo / 'saved/multi'} | head -c 10 >/dev/null",
                          shell=True, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_damaged_local_files_say_so_with_a_fix(zoo: Path, tmp_path: Path, host: RuntimeHost) -> None:
    """Local models load in place, unchecked: TensorFlow's and zipfile's errors are told as damage."""
    import shutil

    keras = tmp_path / "cut.keras"
    keras.write_bytes((zoo / "keras/functional.keras").read_bytes()[:-200])  # the zip's directory is gone
    saved = tmp_path / "saved"
    shutil.copytree(zoo / "saved/exported", saved)
    data = next((saved / "variables").glob("variables.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    for path, kind in ((keras, ArtifactKind.KERAS), (saved, ArtifactKind.SAVED_MODEL)):
        with pytest.raises(RuntimeRequestError) as caught:
            host.load(str(path), kind)
        assert caught.value.title in {"The model's files are damaged", "Keras could not load the model"}, (
            caught.value.one_line()
        )
        assert "Traceback" not in caught.value.detail and caught.value.fix
