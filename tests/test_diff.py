"""`tfscope diff A B`: pairs of models built here (a layer added, an input's dtype changed, a new finding),
compared over the emulator and on disk, in text and JSON, with the documented exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Uploader

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


def tfscope_diff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "diff", *args], capture_output=True, text=True, timeout=120)


def _keras(path: Path, extra_layer: bool) -> Path:
    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(8, name="hidden")(inputs)
    if extra_layer:
        hidden = keras.layers.Dense(8, name="added")(hidden)
    keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden)).save(path)
    return path


def _module(path: Path, dtype: Any, reads: bool) -> Path:
    class Served(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([None], dtype, name="x")])
        def serve(self, x: Any) -> dict[str, Any]:
            y = tf.cast(x, tf.float32) * 2.0
            if reads:
                y = y + tf.strings.to_number(tf.io.read_file("/etc/hostname"))
            return {"y": y}

    module = Served()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pairs")
    _keras(root / "v1.keras", extra_layer=False)
    _keras(root / "v2.keras", extra_layer=True)
    _module(root / "float32", tf.float32, reads=False)
    _module(root / "float64", tf.float64, reads=False)
    _module(root / "reads", tf.float32, reads=True)
    return root


def test_a_layer_added_over_gs(pairs: Path, uploader: Uploader) -> None:
    uploader.put_tree(pairs)
    done = tfscope_diff(uploader.uri + "v1.keras", uploader.uri + "v2.keras")
    assert done.returncode == 1, done.stderr
    text = done.stdout
    assert "layers: 1 added, 3 same" in text and "  + added: Dense (None, 8) 72 params" in text
    assert "  ~ out: Dense (None, 2) 18 params -> Dense (None, 2) 18 params" not in text  # unchanged: counted
    assert "  ~ total: 58 -> 130" in text and text.rstrip().endswith("different")
    report = json.loads(tfscope_diff(uploader.uri + "v1.keras", uploader.uri + "v2.keras", "--json").stdout)
    layers = report["sections"]["layers"]
    assert layers["added"] == [{"name": "added", "after": "Dense (None, 8) 72 params"}] and layers["same"] == 3
    added = {v["name"] for v in report["sections"]["variables"]["added"]}
    assert added == {"added/0", "added/1"}  # Keras 3 numbers a layer's weights
    assert report["same"] is False and report["findings"] == {"new": [], "gone": []}


def test_an_input_dtype_changed(pairs: Path) -> None:
    done = tfscope_diff(str(pairs / "float32"), str(pairs / "float64"))
    assert done.returncode == 1, done.stderr
    assert "  ~ serving_default input x: float32 (None,) -> float64 (None,)" in done.stdout
    report = json.loads(tfscope_diff(str(pairs / "float32"), str(pairs / "float64"), "--json").stdout)
    changed = report["sections"]["signatures"]["changed"]
    assert {"name": "serving_default input x", "before": "float32 (None,)", "after": "float64 (None,)"} in changed


def test_a_new_finding_is_the_headline(pairs: Path) -> None:
    done = tfscope_diff(str(pairs / "float32"), str(pairs / "reads"))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[4] == "findings: 1 new in B, 0 gone"  # before every other section
    assert lines[5] == "  + NEW ReadFile reads files /etc/hostname when called: serving_default"
    report = json.loads(tfscope_diff(str(pairs / "float32"), str(pairs / "reads"), "--json").stdout)
    [new] = report["findings"]["new"]
    assert (new["name"], new["target"], new["when"]) == ("ReadFile", "/etc/hostname", "when called: serving_default")
    back = json.loads(tfscope_diff(str(pairs / "reads"), str(pairs / "float32"), "--json").stdout)
    assert back["findings"]["new"] == [] and len(back["findings"]["gone"]) == 1


def test_the_same_model_is_the_same(pairs: Path) -> None:
    done = tfscope_diff(str(pairs / "v1.keras"), str(pairs / "v1.keras"))
    assert done.returncode == 0 and done.stdout.rstrip().endswith("the same")
    assert "layers: no change, 3 same" in done.stdout


def test_unreadable_and_usage_exit_codes(pairs: Path, tmp_path: Path) -> None:
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    unreadable = tfscope_diff(str(pairs / "v1.keras"), str(tmp_path / "junk.keras"))
    assert unreadable.returncode == 2 and unreadable.stderr.startswith("tfscope: ")
    assert tfscope_diff(str(pairs / "v1.keras")).returncode == 4
