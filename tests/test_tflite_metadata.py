"""TFLite Metadata: models built here carry it (tests/tflite_metadata_writer.py), tfscope reads it without
TensorFlow equal to the schema's own object API, names top-5 classes from the model's label file, and
bears crafted metadata without failing the model."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import Uploader
from tflite_metadata_writer import Card, Tensor, metadata_bytes, with_metadata

from tui.formats.inspect import inspect_model
from tui.formats.model_info import ModelInfo
from tui.formats.schemas import metadata_schema_generated as schema
from tui.storage import LocalStore, parse_location

tf = pytest.importorskip("tensorflow")

LABELS = ["cat", "dog", "bird", "fish", "frog"]
AXIS_LABELS = schema.AssociatedFileType.TENSOR_AXIS_LABELS
VOCABULARY = schema.AssociatedFileType.VOCABULARY


def tfscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120)


def inspect(path: Path) -> ModelInfo:
    return inspect_model(LocalStore(), parse_location(str(path)))


def _classifier(root: Path) -> bytes:
    """An 8x8 RGB image classifier of five classes, as a float TFLite flatbuffer."""
    weights = np.random.default_rng(0).standard_normal((8 * 8 * 3, 5)).astype("float32")

    class Classifier(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            self.w = tf.Variable(weights)

        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32, name="image")])
        def serve(self, image: Any) -> dict[str, Any]:
            return {"probs": tf.nn.softmax(tf.matmul(tf.reshape(image, [1, -1]), self.w))}

    module = Classifier()
    tf.saved_model.save(module, str(root / "saved"), signatures={"serving_default": module.serve})
    return bytes(tf.lite.TFLiteConverter.from_saved_model(str(root / "saved")).convert())


CARD = Card(
    inputs=[Tensor("image", "An RGB picture", image=(8, 8), mean=[127.5], std=[127.5])],
    outputs=[Tensor("probs", "Class scores", files=[("labels.txt", AXIS_LABELS)])],
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tflite-metadata")
    plain = _classifier(root)
    (root / "plain.tflite").write_bytes(plain)
    labels = ("\n".join(LABELS) + "\n").encode()
    (root / "labelled.tflite").write_bytes(with_metadata(plain, metadata_bytes(CARD), {"labels.txt": labels}))
    files = [("missing.txt", AXIS_LABELS), ("words.txt", VOCABULARY)]
    audio = Card(name="listener", inputs=[Tensor("image", "a clip", audio=(16000, 1))],
                 outputs=[Tensor("probs", files=files)])  # fmt: skip
    (root / "audio.tflite").write_bytes(with_metadata(plain, metadata_bytes(audio), {"words.txt": b"a\nb\n"}))
    return root


def test_the_card_reads_as_the_schemas_own_object_api(models: Path) -> None:
    data = (models / "labelled.tflite").read_bytes()
    info = inspect(models / "labelled.tflite")
    card = info.card
    assert card is not None and not card.problem
    # The reference: the generated object API over the same buffer, found as the interpreter finds it.
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    [entry] = [m for m in model.metadata if m.name == b"TFLITE_METADATA"]
    reference = schema.ModelMetadataT.InitFromPackedBuf(bytes(model.buffers[entry.buffer].data), 0)
    assert (card.name, card.description, card.version, card.author, card.license, card.min_parser_version) == (
        reference.name.decode(), reference.description.decode(), reference.version.decode(),
        reference.author.decode(), reference.license.decode(), reference.minParserVersion.decode(),
    )  # fmt: skip
    [subgraph] = reference.subgraphMetadata
    [image], [probs] = subgraph.inputTensorMetadata, subgraph.outputTensorMetadata
    [note] = card.inputs
    assert (note.name, note.description) == (image.name.decode(), image.description.decode())
    size = image.content.contentProperties.defaultSize
    assert note.content == f"image RGB {size.width}x{size.height}"
    [unit] = image.processUnits
    assert (list(note.mean), list(note.std)) == (list(unit.options.mean), list(unit.options.std)) == ([127.5], [127.5])
    [out] = card.outputs
    [label_file] = out.files
    assert (label_file.name, label_file.kind) == (probs.associatedFiles[0].name.decode(), "labels")
    assert label_file.size == zipfile.ZipFile(io.BytesIO(data)).getinfo("labels.txt").file_size
    assert list(out.labels) == LABELS


def test_inspect_shows_the_card_over_gs_in_text_and_json(models: Path, uploader: Uploader) -> None:
    uploader.put("m/labelled.tflite", (models / "labelled.tflite").read_bytes())
    done = tfscope("inspect", uploader.uri + "m/labelled.tflite")
    assert done.returncode == 0, done.stderr
    text = done.stdout.splitlines()
    start = text.index("metadata (TFLite Metadata)")
    assert text[start + 1 : start + 7] == [
        "  name         classifier v3",
        "  author       tfscope tests",
        "  license      Apache-2.0",
        "  description  Tells five kinds of things apart.",
        "  input  image: image RGB 8x8; normalized (x - 127.5) / 127.5; An RGB picture",
        "  output probs: feature; labels.txt (labels, 5 labels, 23 B); Class scores",
    ]
    report = json.loads(tfscope("inspect", uploader.uri + "m/labelled.tflite", "--json").stdout)["metadata"]
    assert report["name"] == "classifier" and report["problem"] is None
    [image] = report["inputs"]
    assert image["normalization"] == {"mean": [127.5], "std": [127.5]} and image["content"] == "image RGB 8x8"
    [probs] = report["outputs"]
    assert probs["labels"] == 5 and probs["files"] == [
        {"name": "labels.txt", "kind": "labels", "size": 23, "description": "labels.txt of probs", "locale": None}
    ]
    plain = json.loads(tfscope("inspect", str(models / "plain.tflite"), "--json").stdout)
    assert plain["metadata"] is None


def test_audio_content_and_files_named_but_not_attached(models: Path) -> None:
    card = inspect(models / "audio.tflite").card
    assert card is not None and card.name == "listener"
    assert card.inputs[0].content == "audio 16000 Hz, 1 channel" and card.inputs[0].sample_rate == 16000
    missing, words = card.outputs[0].files
    assert (missing.name, missing.size) == ("missing.txt", None) and (words.kind, words.size) == ("vocabulary", 4)
    assert card.outputs[0].labels == ()  # the label file is named, not attached: no names made up


def test_run_names_the_top5_from_the_models_labels_or_a_file(models: Path, tmp_path: Path) -> None:
    model = str(models / "labelled.tflite")
    image = np.random.default_rng(3).random((1, 8, 8, 3), dtype=np.float32)
    np.save(tmp_path / "image.npy", image)
    done = tfscope("run", model, "--input", f"image={tmp_path / 'image.npy'}", "--repeat", "0")
    assert done.returncode == 0, done.stderr
    # The same picture through TensorFlow's interpreter, ranked by hand.
    interpreter = tf.lite.Interpreter(model_path=model)
    scores = interpreter.get_signature_runner("serving_default")(image=image)["probs"][0]
    order = np.argsort(-scores)
    expected = ", ".join(f"{c} {LABELS[c]}: {scores[c]:.4f}" for c in order)
    assert f"  top-5 {expected}" in done.stdout.splitlines()
    (tmp_path / "names.txt").write_text("one\ntwo\nthree\nfour\nfive\n")
    given = tfscope("run", model, "--input", f"image={tmp_path / 'image.npy'}", "--labels", str(tmp_path / "names.txt"),
                    "--json", "--repeat", "0")  # fmt: skip
    names = ["one", "two", "three", "four", "five"]
    assert [e["label"] for e in json.loads(given.stdout)["outputs"]["probs"]["top5"]] == [names[c] for c in order]
    missing = tfscope("run", model, "--labels", str(tmp_path / "nope.txt"))
    assert missing.returncode == 1 and "nope.txt" in missing.stderr and "Traceback" not in missing.stderr


def _with_raw_metadata(plain: bytes, raw: bytes, files: dict[str, bytes] | None = None) -> bytes:
    return with_metadata(plain, raw, files)


@pytest.mark.parametrize(
    "case",
    ["garbage", "no identifier", "truncated", "huge vectors", "zip bomb labels", "label lines flood"],
)
def test_crafted_metadata_never_fails_the_model(models: Path, tmp_path: Path, case: str) -> None:
    plain = (models / "plain.tflite").read_bytes()
    good = metadata_bytes(CARD)
    files: dict[str, bytes] | None = None
    if case == "garbage":
        raw = bytes(np.random.default_rng(1).integers(0, 256, 512, dtype=np.uint8))
        raw = raw[:4] + b"M001" + raw[8:]
    elif case == "no identifier":
        raw = good[:4] + b"XXXX" + good[8:]
    elif case == "truncated":
        raw = good[: len(good) // 2]
    elif case == "huge vectors":  # every uint32 that could be a vector length claims 2^31 elements
        words = np.frombuffer(good, dtype="<u4").copy()
        words[2:][words[2:] < 16] = 2**31
        raw = words.tobytes()
    elif case == "zip bomb labels":  # 200 MB of label lines compressed to a few hundred KB
        raw, files = good, {"labels.txt": b"x\n" * 100_000_000}
    else:
        raw, files = good, {"labels.txt": b"\n".join(b"label%d" % i for i in range(500_000))}
    path = tmp_path / f"{case.replace(' ', '_')}.tflite"
    if files and case == "zip bomb labels":  # deflated, or the file would be 200 MB on disk
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("labels.txt", files["labels.txt"])
        path.write_bytes(with_metadata(plain, raw) + archive.getvalue())
    else:
        path.write_bytes(_with_raw_metadata(plain, raw, files))
    started = time.monotonic()
    info = inspect(path)
    assert time.monotonic() - started < 10
    assert info.signatures and info.card is not None  # the model is read; the card says what it could
    if case in {"garbage", "no identifier", "truncated", "huge vectors"}:
        assert info.card.problem or not info.card.outputs, info.card
    else:
        labels = info.card.outputs[0].labels
        assert 0 < len(labels) <= 100_000 and sum(map(len, labels)) <= 4 * 1024 * 1024
    done = tfscope("inspect", str(path))
    assert done.returncode == 0 and "Traceback" not in done.stderr


def test_the_generated_accessors_are_flatcs_output_of_the_vendored_schema(tmp_path: Path) -> None:
    """`make schemas` regenerates them: the committed file must be what flatc makes of the .fbs."""
    flatc = Path(sys.executable).with_name("flatc")
    if not flatc.exists():
        pytest.skip("flatc (a dev dependency) is not installed")
    schemas = Path(__file__).resolve().parent.parent / "tui" / "formats" / "schemas"
    subprocess.run([str(flatc), "--python", "--gen-onefile", "--gen-object-api", "-o", str(tmp_path),
                    str(schemas / "metadata_schema.fbs")], check=True, capture_output=True)  # fmt: skip
    generated = tmp_path / "metadata_schema_generated.py"
    assert generated.read_text() == (schemas / "metadata_schema_generated.py").read_text()


async def test_the_overview_tab_shows_the_card_at_80x24(models: Path, uploader: Uploader) -> None:
    from pilot import make_test_app, wait_for

    from tui.screens.model import ModelScreen

    uploader.put("labelled.tflite", (models / "labelled.tflite").read_bytes())
    app = make_test_app(uploader.uri + "labelled.tflite")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.inspected)
        from rich.console import Console

        console = Console(width=76, record=True, file=io.StringIO())
        console.print(app.screen.query_one("OverviewTab Static").content)  # as the tab drew it, at 80 columns
        text = console.export_text()
        assert "Model name       classifier v3" in text and "License          Apache-2.0" in text, text
        assert "normalized (x - 127.5) / 127.5" in text and "labels.txt (labels, 5 labels, 23 B)" in text


def test_random_damage_to_the_metadata_is_always_a_card_or_none(models: Path) -> None:
    """300 copies of the model, each with a few bytes of its metadata flatbuffer changed at random: every one
    reads (the model's signatures stay), none raises, none takes long."""
    from tui.formats.kinds import ArtifactKind
    from tui.formats.limits import Budget
    from tui.formats.tflite_model import _fill  # the reader behind read_tflite, on bytes in memory

    data = (models / "labelled.tflite").read_bytes()
    raw = metadata_bytes(CARD)
    start = data.find(raw)
    assert start > 0  # the buffer is stored as written
    rng = np.random.default_rng(11)
    slowest = 0.0
    for _ in range(300):
        damaged = bytearray(data)
        for offset in rng.integers(start, start + len(raw), 4):
            damaged[offset] = int(rng.integers(0, 256))
        info = ModelInfo(ArtifactKind.TFLITE, parse_location("/tmp/damaged.tflite"))
        began = time.monotonic()
        _fill(info, bytes(damaged), Budget("damaged"))
        slowest = max(slowest, time.monotonic() - began)
        assert info.signatures and info.card is not None
    assert slowest < 2


def test_label_lines_end_at_newlines_only() -> None:
    """A form feed or a Unicode line separator inside a label must not shift the classes after it."""
    from tui.formats.labels import label_lines

    assert label_lines(b"cat\r\nbig\x0cdog\nbird\xe2\x80\xa8s\nfish\n") == ("cat", "big\x0cdog", "bird\u2028s", "fish")
    assert label_lines(b"") == () and label_lines(b"one") == ("one",)


def test_quantization_rounds_halves_away_from_zero_as_tflite_does() -> None:
    from tui.runtime.quantization import dequantize, quantize, representable

    q = (0.5, -3)
    assert quantize(np.array([0.25, -0.25, 0.75, 1000.0, -1000.0]), q, "int8").tolist() == [-2, -4, -1, 127, -128]
    assert dequantize(np.array([-3, -1], dtype=np.int8), q).tolist() == [0.0, 1.0]
    assert representable(q, "int8") == (-62.5, 65.0)
