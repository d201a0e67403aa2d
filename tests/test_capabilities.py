"""Capability findings: SavedModels built with TF at test time that read, write, list or map files, reach
the network, print or run Python, at load and when called (signatures and object-graph functions), with
constant and computed targets; TFLite Flex ops; standard models have none; `run` refuses first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from malicious_models import EXPECTED, vocabulary_model, write_malicious_models

from tui.formats.inspect import inspect_model
from tui.formats.model_info import ModelInfo, when_called
from tui.formats.protos import message
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
    # No signature calls it, but it is an attribute of the module: whoever loads it can call it.
    assert ("ReadFile", "file_read", "/never/called", "when called: unused") in findings


def test_a_library_function_nothing_exposes_is_not_reachable(call_time: Path, tmp_path: Path) -> None:
    """TF saves only functions the object graph or a signature reaches (and the saver's), so this one is
    crafted: the object graph's link to `unused` is cut, its function left in the library."""
    saved_model = message("SavedModel")
    saved_model.ParseFromString((call_time / "saved_model.pb").read_bytes())
    root = saved_model.meta_graphs[0].object_graph_def.nodes[0]
    kept = [child for child in root.children if child.local_name != "unused"]
    assert len(kept) == len(root.children) - 1
    del root.children[:]
    root.children.extend(kept)
    (tmp_path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    findings = found(inspect(tmp_path))
    assert ("ReadFile", "file_read", "/never/called", "not reachable") in findings
    assert ("ReadFile", "file_read", "/etc/hostname", SERVING) in findings
    [unreachable] = [f for f in inspect(tmp_path).findings if f.target == "/never/called"]
    assert not unreachable.gated


def test_a_write_at_load_is_found_as_such(load_time: tuple[Path, Path]) -> None:
    path, marker = load_time
    assert ("WriteFile", "file_write", str(marker), "at load") in found(inspect(path))


def test_standard_models_have_no_findings(model_files: Path, zoo: Path) -> None:
    """Every SavedModel and TFLite file the suite builds: the saver's own file ops are not findings, and
    builtin TFLite ops need nothing."""
    artifacts = [p.parent for root in (model_files, zoo) for p in sorted(root.rglob("saved_model.pb"))]
    assert len(artifacts) >= 5
    lite = [p for root in (model_files, zoo) for p in sorted(root.rglob("*.tflite"))]
    assert len(lite) >= 2
    for artifact in artifacts + lite:
        info = inspect(artifact)
        assert info.findings == [], (artifact, info.findings)
    for artifact in lite:
        assert inspect(artifact).needs == [], artifact


def test_a_table_filled_from_its_own_asset_is_not_a_finding(tmp_path: Path) -> None:
    """TF Hub's text models read their vocabulary at load: the model's own file, not the user's. The same
    op fed a Const naming `assets/vocab.txt` (relative to wherever tfscope runs) is still a finding."""
    vocabulary_model(tf, tmp_path / "vocab")
    assert inspect(tmp_path / "vocab").findings == []
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        x = v1.placeholder(tf.string, [None], name="x")
        table = tf.raw_ops.HashTableV2(key_dtype=tf.string, value_dtype=tf.int64)
        fill = tf.raw_ops.InitializeTableFromTextFileV2(
            table_handle=table, filename=tf.constant("assets/vocab.txt"), key_index=-2, value_index=-1
        )
        y = tf.raw_ops.LookupTableFindV2(table_handle=table, keys=x, default_value=tf.constant(-1, tf.int64))
        signature = v1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        builder = v1.saved_model.Builder(str(tmp_path / "cwd"))
        with v1.Session() as session:
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature},
                                                 main_op=fill)  # fmt: skip
        builder.save()
    assert ("InitializeTableFromTextFileV2", "file_read", "assets/vocab.txt", "at load") in found(
        inspect(tmp_path / "cwd")
    )


# -- one model per capability class (tests/malicious_models.py) ------------------------------------------


@pytest.fixture(scope="module")
def malicious(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("malicious")
    pairs = write_malicious_models(dest)
    assert pairs == {name: {(e.op, e.capability) for e in expected} for name, expected in EXPECTED.items()}
    assert set(EXPECTED) >= {"file_read", "file_write", "file_list", "file_map", "network", "stream", "python"}
    return dest


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_capability_is_found_with_when_and_target(malicious: Path, name: str) -> None:
    """Every expected finding once, and nothing else: class, when (at load / which caller) and target
    (the constant where the graph holds one, None where it is computed)."""
    findings = inspect(malicious / name).findings
    unmatched = list(findings)
    for expected in EXPECTED[name]:
        matches = [f for f in unmatched if expected.matches(f.name, f.capability, f.target, f.when)]
        assert matches, (expected, [(f.name, f.capability, f.target, f.when) for f in findings])
        unmatched.remove(matches[0])
    assert unmatched == [], unmatched
    assert all(f.gated == (f.capability != "stream") for f in findings)


def test_callers_are_listed_sorted_three_at_most() -> None:
    assert when_called(["serve"]) == "when called: serve"
    assert when_called(["b", "a", "a"]) == "when called: a, b"
    assert when_called(["e", "d", "c", "b", "a"]) == "when called: a, b, c +2 more"


def test_many_object_graph_callers_are_summarised(malicious: Path, tmp_path: Path) -> None:
    """The shared function behind `probe` and `helper.__call__`, exposed under four more names (crafted:
    TF gives a function one object however many attributes hold it)."""
    saved_model = message("SavedModel")
    saved_model.ParseFromString((malicious / "exposed" / "saved_model.pb").read_bytes())
    meta_graph = saved_model.meta_graphs[0]
    shared = next(f.signature.name for f in meta_graph.graph_def.library.function if "list_srv" in f.signature.name)
    objects = meta_graph.object_graph_def
    for alias in ("a1", "a2", "a3", "a4"):
        objects.nodes[0].children.add(node_id=len(objects.nodes), local_name=alias)
        objects.nodes.add().bare_concrete_function.concrete_function_name = shared
    (tmp_path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    assert ("MatchingFiles", "file_list", "/srv/*", "when called: a1, a2, a3 +3 more") in found(inspect(tmp_path))


def test_two_objects_under_one_name_are_both_callers(malicious: Path, tmp_path: Path) -> None:
    """A crafted root with two children named `probe`: the second one's function is not hidden by the first."""
    saved_model = message("SavedModel")
    saved_model.ParseFromString((malicious / "exposed" / "saved_model.pb").read_bytes())
    root = saved_model.meta_graphs[0].object_graph_def.nodes[0]
    [helper] = [child for child in root.children if child.local_name == "helper"]
    call = saved_model.meta_graphs[0].object_graph_def.nodes[helper.node_id].children[0].node_id
    root.children.remove(helper)
    root.children.add(node_id=call, local_name="probe")
    (tmp_path / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    findings = found(inspect(tmp_path))
    assert ("ReadFile", "file_read", "/etc/passwd", "when called: probe") in findings
    assert ("ReadFile", "file_read", "/etc/hostname", "when called: probe") in findings


def test_ops_set_up_to_reach_nothing_are_not_findings(tmp_path: Path) -> None:
    """decode_proto with the linked-in descriptors (the default, stripped on save) opens no file; a debug
    op without URLs sends nothing. tf.print's default stream is stderr: shown, though the attribute is gone."""

    class Quiet(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, data: Any) -> dict[str, Any]:
            _, [dims] = tf.io.decode_proto(data, "tensorflow.TensorShapeProto", ["dim"], [tf.int64])
            debugged = tf.raw_ops.DebugIdentityV3(input=data)
            tf.print(debugged)
            return {"out": tf.strings.as_string(tf.size(dims))}

    module = Quiet()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.serve})
    assert found(inspect(tmp_path)) == {("PrintV2", "stream", "stderr", SERVING)}


# -- TFLite ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted with select TF ops: FlexReadFile (constant, computed, in a WHILE body), FlexPrintV2 to a
    file; and with allow_custom_ops: a plain custom ReadFile op, which needs the user's kernel."""
    root = tmp_path_factory.mktemp("lite")

    class Reader(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
        def serve(self, name: Any) -> dict[str, Any]:
            fixed = tf.io.read_file("/etc/hostname")
            chosen = tf.io.read_file(tf.strings.join(["/tmp/", name]))
            _, looped = tf.while_loop(
                lambda i, s: i < 2, lambda i, s: (i + 1, s + tf.io.read_file("/etc/motd")), [0, tf.constant("")]
            )
            tf.print(name, output_stream="file:///tmp/tfscope-lite.txt")
            return {"out": tf.strings.join([fixed, chosen, looped])}

    reader = Reader()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([reader.serve.get_concrete_function()], reader)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    (root / "flex.tflite").write_bytes(converter.convert())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([reader.serve.get_concrete_function()], reader)
    converter.allow_custom_ops = True
    (root / "custom.tflite").write_bytes(converter.convert())
    return root


def test_flex_ops_are_findings_with_their_targets(lite: Path) -> None:
    info = inspect(lite / "flex.tflite")
    assert found(info) == {
        ("ReadFile", "file_read", "/etc/hostname", SERVING),
        ("ReadFile", "file_read", None, SERVING),
        ("ReadFile", "file_read", "/etc/motd", SERVING),  # in the WHILE body's subgraph
        ("PrintV2", "file_write", "file:///tmp/tfscope-lite.txt", SERVING),  # the NodeDef's attribute
    }
    assert {f.where.split(" op ")[0] for f in info.findings} >= {"subgraph 0", "subgraph 2"}
    assert all(f.gated for f in info.findings if f.capability != "stream")
    assert info.needs == []


def test_a_flex_op_is_the_op_its_options_name(lite: Path, tmp_path: Path) -> None:
    """The delegate runs the op named in the custom options, whatever the operator code says."""
    data = (lite / "flex.tflite").read_bytes()
    assert data.count(b"FlexReadFile") == 1
    (tmp_path / "renamed.tflite").write_bytes(data.replace(b"FlexReadFile", b"FlexXeadFile"))
    assert ("ReadFile", "file_read", "/etc/hostname", SERVING) in found(inspect(tmp_path / "renamed.tflite"))


def test_other_custom_ops_are_needs_not_findings(lite: Path) -> None:
    """A custom op runs only with a kernel the user registers: the model cannot make it do anything itself."""
    info = inspect(lite / "custom.tflite")
    assert info.findings == []
    assert {n.kind for n in info.needs} == {"custom_object"} and not info.needs_consent
    assert any("custom op ReadFile " in n.detail for n in info.needs), info.needs


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
