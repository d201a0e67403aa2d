"""Capability findings: SavedModels built with TF at test time that read, write or list files, at load
and when called, with constant and computed targets; standard models have none; `run` refuses first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui.formats.inspect import inspect_model
from tui.formats.model_info import ModelInfo
from tui.storage import LocalStore, parse_location

tf = pytest.importorskip("tensorflow")

SERVING = "when called: serving_default"


def inspect(path: Path) -> ModelInfo:
    return inspect_model(LocalStore(), parse_location(str(path)))


def found(info: ModelInfo) -> set[tuple[str, str, str | None, str]]:
    return {(f.name, f.capability, f.target, f.when) for f in info.findings}


@pytest.fixture(scope="module")
def call_time(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tf.Module whose serving signature reads a constant path, a computed one, and lists a pattern."""

    class Snoop(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def serve(self, name: Any) -> dict[str, Any]:
            fixed = tf.io.read_file("/etc/hostname")
            joined = tf.io.read_file(tf.strings.join(["/etc/", "passwd"]))
            chosen = tf.io.read_file(tf.strings.join(["/tmp/", name]))
            listed = tf.io.matching_files("/home/*/.ssh/*")
            return {"out": tf.strings.join([fixed, joined, chosen, tf.strings.reduce_join(listed)])}

        @tf.function(input_signature=[])
        def unused(self) -> Any:
            return tf.io.read_file("/never/called")

    module = Snoop()
    path = tmp_path_factory.mktemp("snoop") / "model"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


@pytest.fixture(scope="module")
def load_time(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A TF1 SavedModel whose main op (run by every loader) writes a file: the marker says if it ran."""
    root = tmp_path_factory.mktemp("writer")
    marker = root / "written-at-load.txt"
    path = root / "model"
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None], name="x")
        y = tf.identity(x * 2.0, name="y")
        write = tf.io.write_file(str(marker), "ran")
        signature = v1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        builder = v1.saved_model.Builder(str(path))
        with v1.Session() as session:
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature},
                                                 main_op=write)  # fmt: skip
        builder.save()
    assert not marker.exists()
    return path, marker


def test_call_time_reads_and_listings_are_found_with_their_targets(call_time: Path) -> None:
    findings = found(inspect(call_time))
    assert ("ReadFile", "file_read", "/etc/hostname", SERVING) in findings
    assert ("ReadFile", "file_read", "/etc/passwd", SERVING) in findings  # a StringJoin of constants
    assert ("ReadFile", "file_read", None, SERVING) in findings  # computed from the input: no target
    assert ("MatchingFiles", "file_list", "/home/*/.ssh/*", SERVING) in findings
    assert ("ReadFile", "file_read", "/never/called", "not reachable") in findings  # no signature calls it


def test_a_write_at_load_is_found_as_such(load_time: tuple[Path, Path]) -> None:
    path, marker = load_time
    assert ("WriteFile", "file_write", str(marker), "at load") in found(inspect(path))


def test_standard_models_have_no_findings(model_files: Path, zoo: Path) -> None:
    """Every SavedModel, Keras file and checkpoint the suite builds: the saver's own file ops are not findings."""
    artifacts = [p for root in (model_files, zoo) for p in sorted(root.rglob("saved_model.pb"))]
    assert len(artifacts) >= 5
    for saved_model in artifacts:
        info = inspect(saved_model.parent)
        assert info.findings == [], (saved_model, info.findings)


def test_a_lambda_layer_is_a_python_finding(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2, name="double")(inputs))
    model.save(tmp_path / "lambda.keras")
    [finding] = inspect(tmp_path / "lambda.keras").findings
    assert (finding.name, finding.capability, finding.where) == ("Lambda", "python", "layer double")
    assert not finding.gated  # its code runs only with --unsafe, which asks already


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_GCE_CHECK": "true"}
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, timeout=300)


def test_run_refuses_a_model_that_writes_at_load_and_loads_it_only_when_allowed(
    load_time: tuple[Path, Path], tmp_path: Path
) -> None:
    path, marker = load_time
    common = ["run", str(path), "--input", "x=[1, 2]", "--cache-dir", str(tmp_path / "cache")]
    refused = run_cli(*common)
    assert refused.returncode != 0
    assert "WriteFile" in refused.stderr and str(marker) in refused.stderr and "--allow-findings" in refused.stderr
    assert not marker.exists()  # refused before TensorFlow ran anything
    allowed = run_cli(*common, "--allow-findings")
    assert allowed.returncode == 0, allowed.stderr
    assert marker.read_text() == "ran"


def test_findings_are_in_the_json(call_time: Path) -> None:
    done = run_cli("inspect", "--json", str(call_time))
    findings = json.loads(done.stdout)["findings"]
    assert {"name": "ReadFile", "capability": "file_read", "target": "/etc/hostname", "when": SERVING} in [
        {k: f[k] for k in ("name", "capability", "target", "when")} for f in findings
    ]
    assert all(set(f) == {"name", "capability", "target", "when", "where"} for f in findings)
