"""Pictures and clips as inference inputs: `--input image=cat.png`, `--input audio=clip.wav`. Decoded by
TensorFlow in the runtime; the same preprocessing done by hand in TF gives the same top-5; what cannot be
decoded is a message before TensorFlow starts."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import Uploader
from tflite_metadata_writer import Card, Tensor, metadata_bytes, with_metadata

from tui.formats.schemas import metadata_schema_generated as schema

tf = pytest.importorskip("tensorflow")
PIL = pytest.importorskip("PIL.Image")

LABELS = ["cat", "dog", "bird", "fish", "frog"]


def tfscope_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "run", "--repeat", "0", *args], capture_output=True, text=True,
                          timeout=180)  # fmt: skip


def _save(module: Any, path: Path, spec: Any) -> None:
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve.get_concrete_function(spec)})


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    weights = np.random.default_rng(0).standard_normal((8 * 8 * 3, 5)).astype("float32")

    class Classifier(tf.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            self.w = tf.Variable(weights)

        @tf.function
        def serve(self, image: Any) -> dict[str, Any]:
            return {"probs": tf.nn.softmax(tf.matmul(tf.reshape(image, [1, -1]), self.w))}

    _save(Classifier(), root / "classifier", tf.TensorSpec([1, 8, 8, 3], tf.float32, name="image"))
    (root / "labels.txt").write_text("\n".join(LABELS) + "\n")
    labelled = Classifier()
    labelled.labels = tf.saved_model.Asset(str(root / "labels.txt"))  # saved as assets/labels.txt
    _save(labelled, root / "labelled", tf.TensorSpec([1, 8, 8, 3], tf.float32, name="image"))
    tflite = bytes(tf.lite.TFLiteConverter.from_saved_model(str(root / "classifier")).convert())
    label_file = ("labels.txt", schema.AssociatedFileType.TENSOR_AXIS_LABELS)
    card = Card(inputs=[Tensor("image", image=(8, 8), mean=[127.5], std=[127.5])],
                outputs=[Tensor("probs", files=[label_file])])  # fmt: skip
    labels = ("\n".join(LABELS) + "\n").encode()
    (root / "classifier.tflite").write_bytes(with_metadata(tflite, metadata_bytes(card), {"labels.txt": labels}))

    class Echo(tf.Module):  # type: ignore[misc]
        @tf.function
        def serve(self, clip: Any) -> dict[str, Any]:
            return {"samples": clip * 1.0}

    _save(Echo(), root / "echo", tf.TensorSpec([1, 16000], tf.float32, name="clip"))
    echo = bytes(tf.lite.TFLiteConverter.from_saved_model(str(root / "echo")).convert())
    listener = Card(inputs=[Tensor("clip", audio=(16000, 1))], outputs=[Tensor("samples")])
    (root / "echo.tflite").write_bytes(with_metadata(echo, metadata_bytes(listener)))
    pixels = np.random.default_rng(5).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    for suffix in ("png", "jpg", "bmp", "gif"):
        PIL.fromarray(pixels).save(root / f"picture.{suffix}")
    return root


def _by_hand(picture: Path, mean: Any, std: Any) -> np.ndarray:
    """TensorFlow's own decode and bilinear resize, normalized as told: what tfscope must feed."""
    pixels = tf.io.decode_image(picture.read_bytes(), channels=3, expand_animations=False)
    resized = tf.image.resize(pixels, (8, 8)).numpy()
    return ((resized - np.asarray(mean)) / np.asarray(std)).astype(np.float32)[np.newaxis]


def _top5_line(scores: np.ndarray, labels: list[str] | None = None) -> str:
    order = np.argsort(-scores)
    return "  top-5 " + ", ".join(f"{c}{' ' + labels[c] if labels else ''}: {scores[c]:.4f}" for c in order)


def test_a_picture_through_the_models_own_normalization_and_labels(models: Path) -> None:
    model = models / "classifier.tflite"
    done = tfscope_run(str(model), "--input", f"image={models / 'picture.png'}")
    assert done.returncode == 0, done.stderr
    assert "normalized as the model's metadata says" in done.stderr and "mean 127.5, std 127.5" in done.stderr
    interpreter = tf.lite.Interpreter(model_path=str(model))
    by_hand = _by_hand(models / "picture.png", 127.5, 127.5)
    scores = interpreter.get_signature_runner("serving_default")(image=by_hand)["probs"][0]
    assert _top5_line(scores, LABELS) in done.stdout.splitlines()


def test_no_declared_normalization_warns_and_a_preset_is_taken(models: Path) -> None:
    model = tf.saved_model.load(str(models / "classifier")).signatures["serving_default"]
    picture = models / "picture.png"
    done = tfscope_run(str(models / "classifier"), "--input", f"image={picture}")
    assert done.returncode == 0, done.stderr
    assert "the model declares no normalization, so pixels are fed as 0..1" in done.stderr
    scores = model(image=tf.constant(_by_hand(picture, 0.0, 255.0)))["probs"].numpy()[0]
    assert _top5_line(scores) in done.stdout.splitlines()
    imagenet = tfscope_run(str(models / "classifier"), "--input", f"image={picture}", "--normalize", "imagenet")
    assert imagenet.returncode == 0 and "declares no normalization" not in imagenet.stderr
    expected = _by_hand(picture, (123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
    scores = model(image=tf.constant(expected))["probs"].numpy()[0]
    assert _top5_line(scores) in imagenet.stdout.splitlines()


@pytest.mark.parametrize("suffix", ["jpg", "bmp", "gif"])
def test_every_picture_format_decodes(models: Path, suffix: str) -> None:
    done = tfscope_run(str(models / "classifier.tflite"), "--input", f"image={models / f'picture.{suffix}'}", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"]["probs"]["top5"][0]["label"] in LABELS


def test_a_picture_in_the_bucket(models: Path, uploader: Uploader, tmp_path: Path) -> None:
    uploader.put("pics/picture.png", (models / "picture.png").read_bytes())
    done = tfscope_run(str(models / "classifier.tflite"), "--input", f"image={uploader.uri}pics/picture.png",
                       "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    local = tfscope_run(str(models / "classifier.tflite"), "--input", f"image={models / 'picture.png'}")
    assert [line for line in done.stdout.splitlines() if "top-5" in line] == [
        line for line in local.stdout.splitlines() if "top-5" in line
    ]


def _bomb(path: Path, width: int, height: int | None = None) -> None:
    """A PNG whose header says `width` x `height` pixels: its IHDR, an empty IDAT, no image data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height or width, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def test_pictures_that_cannot_be_inputs_are_messages_before_tensorflow(models: Path, tmp_path: Path) -> None:
    model = str(models / "classifier.tflite")
    (tmp_path / "junk.jpg").write_bytes(b"not a picture at all")
    _bomb(tmp_path / "bomb.png", 100_000)
    _bomb(tmp_path / "big.png", 12_000, 10_000)  # under Pillow's bound, over tfscope's 100 megapixels
    cases = {
        f"image={tmp_path / 'missing.png'}": "there is no file",
        f"image={tmp_path / 'junk.jpg'}": "is not a picture tfscope can decode (JPEG, PNG, BMP or GIF)",
        f"image={tmp_path / 'bomb.png'}": "says it is more pixels than tfscope decodes for one input",
        f"image={tmp_path / 'big.png'}": "says it is 12,000 x 10,000 pixels, more pixels than",
    }
    for given, expected in cases.items():
        done = tfscope_run(model, "--input", given)
        assert done.returncode == 1 and expected in done.stderr, (given, done.stderr)
        assert "Traceback" not in done.stderr and "TensorFlow" not in done.stderr


def _wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> None:
    with wave.open(str(path), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(width)
        clip.setframerate(rate)
        if width == 2:
            clip.writeframes((samples * 32767).astype("<i2").tobytes())
        else:
            clip.writeframes(((samples + 1) * 127.5).astype(np.uint8).tobytes())


def test_a_clip_resampled_to_the_declared_rate_and_padded(models: Path, tmp_path: Path) -> None:
    """Half a second at 8 kHz into a model that declares 16 kHz and takes 16,000 samples: 8,000 samples after
    resampling, then zeros."""
    t = np.arange(4000) / 8000
    samples = 0.5 * np.sin(2 * np.pi * 440 * t)
    _wav(tmp_path / "clip.wav", samples, 8000)
    done = tfscope_run(str(models / "echo.tflite"), "--input", f"clip={tmp_path / 'clip.wav'}", "--json")
    assert done.returncode == 0, done.stderr
    assert "resampled, if it must be, to the 16000 Hz the model declares" in done.stderr
    decoded = tf.audio.decode_wav((tmp_path / "clip.wav").read_bytes()).audio.numpy()[:, 0]
    resampled = np.interp(np.linspace(0, len(decoded) - 1, 8000), np.arange(len(decoded)), decoded)
    expected = np.pad(resampled, (0, 8000)).astype(np.float32)
    stats = json.loads(done.stdout)["outputs"]["samples"]
    assert stats["shape"] == [1, 16000]
    assert stats["max"] == pytest.approx(float(expected.max()), abs=1e-6)
    assert stats["mean"] == pytest.approx(float(expected.mean()), abs=1e-6)
    assert stats["preview"][:5] == pytest.approx(expected[:5].tolist(), abs=1e-6)
    _wav(tmp_path / "eight_bit.wav", samples, 8000, width=1)
    refused = tfscope_run(str(models / "echo.tflite"), "--input", f"clip={tmp_path / 'eight_bit.wav'}")
    assert refused.returncode == 1 and "tfscope decodes 16-bit PCM WAV" in refused.stderr


def test_a_savedmodels_label_asset_names_the_top5(models: Path, uploader: Uploader, tmp_path: Path) -> None:
    uploader.put_tree(models / "labelled", "labelled/")
    done = tfscope_run(f"{uploader.uri}labelled/", "--input", f"image={models / 'picture.png'}", "--json",
                       "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)["outputs"]["probs"]
    assert [e["label"] for e in output["top5"]] == [LABELS[e["class"]] for e in output["top5"]]
    plain = json.loads(tfscope_run(str(models / "classifier"), "--input", f"image={models / 'picture.png'}",
                                   "--json").stdout)  # fmt: skip
    assert all("label" not in e for e in plain["outputs"]["probs"]["top5"])  # no label file: numbers only
