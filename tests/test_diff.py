"""`tfscope diff A B`: pairs of models built here (a layer added, an input's dtype changed, a new finding),
compared over the emulator and on disk, in text and JSON, with the documented exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
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


def _classifier(path: Path, input_name: str) -> Path:
    """A SavedModel with a [batch, 10] softmax output: top-1/top-5 are compared on it."""
    weights = np.random.default_rng(1).standard_normal((4, 10)).astype("float32")

    class Classifier(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            self.w = tf.Variable(weights)

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name=input_name)])
        def serve(self, x: Any) -> dict[str, Any]:
            return {"probs": tf.nn.softmax(tf.matmul(x, self.w))}

    module = Classifier()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def _tflite(saved_model: Path, path: Path, int8: bool, int8_io: bool = False) -> Path:
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if int8:  # full-integer kernels; the converter keeps float inputs and outputs unless told otherwise
        rng = np.random.default_rng(2)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([rng.standard_normal((1, 4)).astype("float32")] for _ in range(50))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:  # as for an Edge TPU: int8 in and out
        converter.inference_input_type = converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
    return path


@pytest.fixture(scope="module")
def conversions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("conversions")
    _classifier(root / "classifier", "features")
    _classifier(root / "renamed", "inputs_0")
    _tflite(root / "classifier", root / "float.tflite", int8=False)
    _tflite(root / "classifier", root / "int8.tflite", int8=True)
    _tflite(root / "classifier", root / "int8_io.tflite", int8=True, int8_io=True)
    return root


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pairs")
    _keras(root / "v1.keras", extra_layer=False)
    _keras(root / "v2.keras", extra_layer=True)
    _module(root / "float32", tf.float32, reads=False)
    _module(root / "float64", tf.float64, reads=False)
    _module(root / "reads", tf.float32, reads=True)
    for version, dtype in (("1", tf.float32), ("2", tf.float32), ("10", tf.float64)):  # 10 is newer than 2
        _module(root / "serving" / version, dtype, reads=False)
    (root / "serving" / "notes" / "README").parent.mkdir()
    (root / "serving" / "notes" / "README").write_text("not a version")
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


def test_a_folder_of_numbered_versions_compares_its_two_newest(pairs: Path, uploader: Uploader) -> None:
    uploader.put_tree(pairs / "serving", "serving/")
    done = tfscope_diff(uploader.uri + "serving/")
    assert done.returncode == 1, done.stderr
    assert f"  A  {uploader.uri}serving/2/  (SavedModel)" in done.stdout
    assert f"  B  {uploader.uri}serving/10/  (SavedModel)" in done.stdout
    assert "  ~ serving_default input x: float32 (None,) -> float64 (None,)" in done.stdout
    local = tfscope_diff(str(pairs / "serving"), "--json")
    report = json.loads(local.stdout)
    assert (report["a"], report["b"]) == (f"{pairs}/serving/2/", f"{pairs}/serving/10/")
    one = tfscope_diff(str(pairs / "serving" / "1"))  # one version: nothing numbered below it
    assert one.returncode == 4 and "no two numbered version folders" in one.stderr
    single = tfscope_diff(uploader.uri + "serving/1/saved_model.pb")
    assert single.returncode == 4 and "is one file" in single.stderr


async def test_the_diff_screen_at_80x24(pairs: Path, uploader: Uploader) -> None:
    """m on one model, D on another: the diff's sections as tabs, keys 1-8, help, back; D on a version folder."""
    from pilot import make_test_app, notices, wait_for

    from tui.screens.browser import BrowserScreen
    from tui.screens.diff import DiffScreen
    from tui.screens.help import HelpScreen
    from tui.screens.model import ModelScreen

    uploader.put("v1.keras", (pairs / "v1.keras").read_bytes())
    uploader.put("v2.keras", (pairs / "v2.keras").read_bytes())
    uploader.put_tree(pairs / "serving", "zz-serving/")
    app = make_test_app(uploader.uri)
    seen: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        table = app.browser.table
        await wait_for(pilot, lambda: app.browser.listing_done and table.row_count == 3)
        await pilot.press("D")  # nothing marked, no versions at this level or in v1.keras
        await wait_for(pilot, lambda: any(n.startswith("Mark a model with m first") for n in notices(seen)))
        assert table.highlighted_entry is not None and table.highlighted_entry.name == "v1.keras"
        await pilot.press("m", "down", "D")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.diff is not None)
        screen = app.screen
        assert isinstance(screen, DiffScreen) and (screen.a.name, screen.b.name) == ("v1.keras", "v2.keras")
        tabs = screen.query_one("#diff-tabs")
        assert tabs.active == "tab-layers"  # type: ignore[attr-defined]  # no finding: the first changed section
        layers = str(screen.query_one("#diff-layers").render())
        assert "+ added: Dense (None, 8) 72 params" in layers and "3 unchanged" in layers
        assert str(screen.query_one("#diff-status").render()).startswith("different")
        await pilot.press("8")
        assert tabs.active == "tab-size"  # type: ignore[attr-defined]
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("down")  # the version folder: shown as one model with its versions
        serving = table.highlighted_entry
        assert serving is not None and serving.name == "zz-serving/"
        await wait_for(pilot, lambda: (mark := table.mark_of(serving.location)) is not None and mark.versions == 3)
        assert table.mark_of(serving.location).text == "3 versions"  # type: ignore[union-attr]
        await pilot.press("enter")  # opens the newest, as TF Serving would serve it
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        assert app.screen.location.name == "10/"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("D")  # its two newest, 2 and 10
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.diff is not None)
        screen = app.screen
        assert isinstance(screen, DiffScreen) and (screen.a.name, screen.b.name) == ("2/", "10/")
        assert "float32 (None,) -> float64 (None,)" in str(screen.query_one("#diff-signatures").render())
        await pilot.press("escape", "up", "enter")  # v2.keras's own screen: D there compares it with the mark
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen) and app.screen.diff is not None)
        assert (app.screen.a.name, app.screen.b.name) == ("v1.keras", "v2.keras")  # type: ignore[attr-defined]


def test_run_a_savedmodel_against_its_tflite_conversions(conversions: Path, uploader: Uploader, tmp_path: Path) -> None:
    """The check after a conversion: float agrees to float32 rounding, int8 differs but keeps the top class."""
    uploader.put_tree(conversions)
    cache = ["--cache-dir", str(tmp_path / "cache"), "--shape", "features=8,4"]
    done = tfscope_diff(uploader.uri + "classifier/", uploader.uri + "float.tflite", "--run", *cache)
    assert done.returncode == 0, done.stderr  # --run: the exit code is about the answers
    run = done.stdout.split("\nrun: ", 1)[1].splitlines()
    assert run[0] == "serving_default" and run[1] == "  input features: float32 (8, 4), random (seed 0)"
    assert (
        run[2].startswith("  = output probs (8, 10): max abs ") and "top-1 agrees on 8/8 rows, top-5 on 8/8" in run[2]
    )
    assert run[-1] == "outputs agree (tolerance 1e-05 absolute)"
    report = json.loads(tfscope_diff(str(conversions / "classifier"), str(conversions / "int8.tflite"), "--run",
                                     "--json", *cache).stdout)  # fmt: skip
    [probs] = report["run"]["outputs"]
    assert (probs["a"], probs["b"], probs["shape_a"], probs["rows"]) == ("probs", "probs", [8, 10], 8)
    assert 1e-4 < probs["max_abs"] < 0.1 and probs["mean_abs"] <= probs["max_abs"] and probs["agree"] is False
    assert probs["top1"] >= 6 and probs["top5"] is not None  # int8 rounding may swap close classes, rarely the top
    assert report["run"]["agree"] is False and report["sections"]["size"]["changed"]  # the metadata diff too
    # the same inputs: rerunning with the same seed gives the same numbers, another seed others
    again = json.loads(tfscope_diff(str(conversions / "classifier"), str(conversions / "int8.tflite"), "--run",
                                    "--json", *cache).stdout)  # fmt: skip
    assert again["run"]["outputs"][0]["max_abs"] == probs["max_abs"]
    seeded = json.loads(tfscope_diff(str(conversions / "classifier"), str(conversions / "int8.tflite"), "--run",
                                     "--json", "--seed", "7", *cache).stdout)  # fmt: skip
    assert seeded["run"]["outputs"][0]["max_abs"] != probs["max_abs"]


def test_run_feeds_an_integer_quantized_model_the_same_real_values(conversions: Path, tmp_path: Path) -> None:
    """int8 in and out: B's input is A's values quantized by B's scale and zero point, its output compared
    as the reals it stands for; and the other way round, A's int8 input made from reals, dequantized for B."""
    args = ["--run", "--json", "--cache-dir", str(tmp_path / "cache"), "--shape", "features=8,4"]
    done = tfscope_diff(str(conversions / "classifier"), str(conversions / "int8_io.tflite"), *args)
    assert done.returncode == 1, done.stderr
    run = json.loads(done.stdout)["run"]
    [fed] = run["inputs"]
    assert fed["dtype"] == "float32" and fed["note"].startswith("quantized for B (scale ")
    [probs] = run["outputs"]
    assert probs["note"] == "dequantized" and probs["max_abs"] < 0.1 and probs["top1"] >= 6
    back = json.loads(tfscope_diff(str(conversions / "int8_io.tflite"), str(conversions / "classifier"), *args).stdout)
    assert back["run"]["inputs"][0]["dtype"] == "int8" and back["run"]["inputs"][0]["note"] == "dequantized for B"
    assert back["run"]["outputs"][0]["max_abs"] < 0.1 and back["run"]["outputs"][0]["top1"] >= 6


def test_run_matches_renamed_inputs_by_position_and_refuses_other_dtypes(
    conversions: Path, pairs: Path, tmp_path: Path
) -> None:
    cache = ["--cache-dir", str(tmp_path / "cache")]
    done = tfscope_diff(str(conversions / "classifier"), str(conversions / "renamed"), "--run", *cache,
                        "--input", "features=uniform")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "  input features -> inputs_0: float32 (1, 4), uniform (seed 0)" in done.stdout
    assert "  (inputs matched by position: B names them otherwise)" in done.stdout
    assert "  = output probs (1, 10): max abs 0, max rel 0, mean abs 0; top-1 agrees on 1/1 rows" in done.stdout
    keras_model = keras.saving.load_model(pairs / "v1.keras")
    keras_model.export(str(tmp_path / "exported"), verbose=False)
    _tflite(tmp_path / "exported", tmp_path / "v1.tflite", int8=False)
    converted = tfscope_diff(str(pairs / "v1.keras"), str(tmp_path / "v1.tflite"), "--run", *cache)
    assert converted.returncode == 0, converted.stderr  # a Keras model's call against its conversion's signature
    assert "run: call of A against serving_default of B" in converted.stdout
    assert "  = output output_0 (1, 2): max abs " in converted.stdout
    refused = tfscope_diff(str(pairs / "float32"), str(pairs / "float64"), "--run", *cache)
    assert (
        refused.returncode == 2 and "input 'x' of A takes float32, its match 'x' in B takes float64" in refused.stderr
    )
    gated = tfscope_diff(str(pairs / "float32"), str(pairs / "reads"), "--run", *cache)
    assert gated.returncode == 2 and "ReadFile" in gated.stderr and "--allow-findings" in gated.stderr
    bad = tfscope_diff(str(conversions / "classifier"), str(conversions / "renamed"), "--run", "--input", "nope=1")
    assert bad.returncode == 2 and "no input 'nope'" in bad.stderr.lower()


def test_every_section_across_a_conversion_and_a_quantization(conversions: Path) -> None:
    """SavedModel -> TFLite float -> TFLite int8: what each step changes, section by section, in JSON and text."""

    def sections(a: str, b: str) -> dict[str, Any]:
        done = tfscope_diff(str(conversions / a), str(conversions / b), "--json")
        assert done.returncode == 1, done.stderr
        report: dict[str, Any] = json.loads(done.stdout)["sections"]
        return report

    converted = sections("classifier", "float.tflite")
    assert converted["signatures"]["changed"] == [
        {"name": "serving_default", "before": "tensorflow/serving/predict", "after": "tflite"}
    ]
    assert converted["signatures"]["same"] == 2  # the input and the output, by name, dtype and shape
    assert {c["name"] for c in converted["size"]["changed"]} == {"files", "format", "on storage"}
    assert {"name": "format", "before": "SavedModel", "after": "TFLite"} in converted["size"]["changed"]
    assert {v["name"] for v in converted["versions"]["added"]} == {"TFLite schema"}
    assert {"SavedModel schema", "TensorFlow"} <= {v["name"] for v in converted["versions"]["removed"]}
    assert {"FULLY_CONNECTED", "SOFTMAX"} == {o["name"] for o in converted["ops"]["added"]}
    assert {"MatMul", "Softmax"} <= {o["name"] for o in converted["ops"]["removed"]}
    assert converted["parameters"] == {"added": [], "removed": [], "changed": [], "same": 2}  # 40 float32 both
    quantized = sections("float.tflite", "int8.tflite")
    assert quantized["signatures"] == {"added": [], "removed": [], "changed": [], "same": 3}  # float I/O kept
    assert quantized["variables"]["changed"] == [
        {"name": "MatMul", "before": "float32 (10, 4)", "after": "int8 (10, 4)"}
    ]
    assert quantized["parameters"]["added"] == [{"name": "bytes in int8", "after": "40 B"}]
    assert quantized["parameters"]["removed"] == [{"name": "bytes in float32", "before": "160 B"}]
    assert {o["name"] for o in quantized["ops"]["added"]} == {"QUANTIZE", "DEQUANTIZE"} and quantized["ops"][
        "same"
    ] == 2
    assert quantized["versions"]["same"] == 1 and not quantized["layers"]["same"]
    text = tfscope_diff(str(conversions / "float.tflite"), str(conversions / "int8.tflite")).stdout
    assert "  ~ MatMul: float32 (10, 4) -> int8 (10, 4)" in text and "  + QUANTIZE: 1" in text
    assert "versions: no change, 1 same" in text and "layers: no change" in text


def test_values_compare_as_equal_where_they_are(tmp_path: Path) -> None:
    """Equal infinities and equal strings agree; a NaN on one side only is the largest difference."""
    from tui.runtime.side_by_side import compare_arrays

    same_inf = compare_arrays(np.array([[np.inf, -np.inf, 1.0]]), np.array([[np.inf, -np.inf, 1.0]]))
    assert (same_inf["max_abs"], same_inf["max_rel"]) == (0.0, 0.0)
    words = np.array([b"a", b"b"], dtype=object)
    assert compare_arrays(words, words.copy())["max_abs"] == 0.0
    assert compare_arrays(words, np.array([b"a", b"c"], dtype=object))["problem"] == "1 of 2 values differ"
    assert compare_arrays(np.array([1.0, np.nan]), np.array([1.0, 2.0]))["max_abs"] == np.inf


def test_version_folders_are_named_by_ascii_digits_only(pairs: Path, tmp_path: Path) -> None:
    """A folder named '²' or with 40 digits is no version (int() refuses the one, the other is crafted)."""
    import shutil

    serving = tmp_path / "serving"
    shutil.copytree(pairs / "serving", serving)
    (serving / "²").mkdir()
    (serving / ("9" * 40)).mkdir()
    done = tfscope_diff(str(serving))
    assert done.returncode == 1 and f"  B  {serving}/10/  (SavedModel)" in done.stdout, done.stderr
