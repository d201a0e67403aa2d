"""Inputs from pictures and sound: `--input image=cat.jpg`, `--input audio=clip.wav`.

Before TensorFlow starts, the file's header is read (Pillow for images, the stdlib's `wave` for WAV): a
missing file, a format that is none of JPEG/PNG/BMP/GIF/WAV, a picture of more pixels than the input
limit allows (a decompression bomb) or a WAV that is not PCM is a message, nothing decoded. The decode
itself is TensorFlow's, in the runtime: `tf.io.decode_image`, `tf.image.resize` (bilinear) and
`tf.audio.decode_wav`, so the model gets what the same preprocessing done by hand in TF would give it.
"""

from __future__ import annotations

from typing import Any

from tui.formats.card_report import values_text
from tui.formats.model_info import ModelCard, TensorNote
from tui.formatting import format_size
from tui.runtime.input_checks import InputError, fits_limit, regular_file
from tui.runtime.protocol import InputSource
from tui.runtime.quantization import quantize

IMAGE_FORMATS = {"JPEG", "PNG", "BMP", "GIF"}
MAX_PIXELS = 100_000_000
"""Decoded pixels at most (a 10,000 x 10,000 photo); more is a bomb, whatever --max-input-mb says."""
NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "0..1": ((0.0,), (255.0,)),
    "-1..1": ((127.5,), (127.5,)),
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
    "raw": ((0.0,), (1.0,)),
}
"""--normalize presets as (mean, std) over 0..255 pixel values: the model gets (pixel - mean) / std."""
DEFAULT_NORMALIZATION = "0..1"
BOMB_HINT = "a decompression bomb, or a picture to shrink first"


class MediaError(InputError):
    """A picture or clip that cannot be an input; the message names the input and the file."""


def _within_limit(name: str, path: str, max_bytes: int) -> None:
    """A regular file no bigger than one input may be: it is read whole before it is decoded."""
    size = regular_file(name, path)
    if size > max_bytes:
        raise MediaError(f"input '{name}': {path} is {format_size(size)}, more than the {format_size(max_bytes)} "
                         "limit for one input: raise it with --max-input-mb")  # fmt: skip


def measure_image(name: str, path: str, max_bytes: int) -> tuple[int, int]:
    """(width, height) from the header alone; refused when it is not a picture tfscope decodes, or
    when decoding it would take more than `max_bytes` (as RGBA bytes) or MAX_PIXELS."""
    from PIL import Image, UnidentifiedImageError

    _within_limit(name, path, max_bytes)
    try:
        with Image.open(path) as image:  # lazy: the header only
            kind, (width, height) = image.format, image.size
    except Image.DecompressionBombError as exc:  # Pillow's own bound, at twice its 89-megapixel warning
        raise MediaError(f"input '{name}': {path} says it is more pixels than tfscope decodes for one input "
                         f"({BOMB_HINT})") from exc  # fmt: skip
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise MediaError(f"input '{name}': {path} is not a picture tfscope can decode (JPEG, PNG, BMP or GIF)"
                         ) from exc  # fmt: skip
    if kind not in IMAGE_FORMATS:
        raise MediaError(f"input '{name}': {path} is a {kind} picture; tfscope decodes JPEG, PNG, BMP and GIF")
    if width * height > MAX_PIXELS or width * height * 4 > max_bytes:
        raise MediaError(f"input '{name}': {path} says it is {width:,} x {height:,} pixels, more pixels than "
                         f"tfscope decodes for one input ({BOMB_HINT})")  # fmt: skip
    return width, height


def measure_wav(name: str, path: str, max_bytes: int) -> tuple[int, int, int]:
    """(sample rate, channels, frames) from a WAV header; refused unless 16-bit PCM within the limit."""
    import wave

    _within_limit(name, path, max_bytes)
    try:
        with wave.open(path, "rb") as clip:
            rate, channels, width, frames = (
                clip.getframerate(),
                clip.getnchannels(),
                clip.getsampwidth(),
                clip.getnframes(),
            )
    except (wave.Error, EOFError, OSError) as exc:
        raise MediaError(f"input '{name}': {path} is not a PCM WAV file tfscope can decode ({exc})") from exc
    if width != 2 or not 0 < rate <= MAX_RATE or not 0 < channels <= 64:
        raise MediaError(f"input '{name}': {path} is {8 * width}-bit, {channels}-channel audio at {rate} Hz: "
                         "tfscope decodes 16-bit PCM WAV (convert it with ffmpeg or sox)")  # fmt: skip
    if frames * channels * 4 > max_bytes:
        raise MediaError(f"input '{name}': {path} holds {frames:,} frames, more than the "
                         f"{format_size(max_bytes)} limit for one input")  # fmt: skip
    return rate, channels, frames


def _shape(spec: dict[str, Any], source: dict[str, Any]) -> Any:
    """The input's shape: the user's --shape where given, else the signature's (None dims unknown)."""
    given = source.get("shape")
    return list(given) if given else spec["shape"]


def image_input(spec: dict[str, Any], source: dict[str, Any], max_bytes: int) -> Any:
    """The picture as the input takes it: decoded, converted to the input's channels, resized to its
    height and width (bilinear), normalized as (pixel - mean) / std for float inputs, batched."""
    import numpy as np
    import tensorflow as tf

    name, path = spec["name"], source["path"]
    if spec["dtype"] in ("string", "bool"):
        raise MediaError(f"input '{name}' takes {spec['dtype']}, not pixels; give a .npy")
    width, height = measure_image(name, path, max_bytes)
    shape = _shape(spec, source)
    if shape is None or len(shape) not in (3, 4):
        raise MediaError(f"input '{name}' is not an image tensor ([batch,] height, width, channels): give a .npy")
    height, width, channels = shape[-3] or height, shape[-2] or width, shape[-1]
    if channels not in (1, 3, 4):
        raise MediaError(f"input '{name}' takes {channels} channels: an image has 1, 3 or 4; give a .npy")
    default_mean, default_std = NORMALIZATIONS[DEFAULT_NORMALIZATION]
    mean = np.asarray(source.get("mean") or default_mean, dtype=np.float64)
    std = np.asarray(source.get("std") or default_std, dtype=np.float64)
    if mean.size not in (1, channels) or std.size not in (1, channels) or not np.all(std != 0):
        raise MediaError(f"input '{name}': a normalization of mean {mean.tolist()} and std {std.tolist()} does "
                         f"not fit {channels} channel(s): give one value or one per channel, no zero std")  # fmt: skip
    fits_limit(name, (height, width, channels), 8, max_bytes)  # the float64 normalization, at the input's size
    with open(path, "rb") as f:
        data = f.read()
    try:
        pixels = tf.io.decode_image(data, channels=channels, expand_animations=False)
        value = tf.image.resize(pixels, (height, width)).numpy()  # bilinear, float32
    except (tf.errors.InvalidArgumentError, ValueError) as exc:
        raise MediaError(f"input '{name}': {path} could not be decoded (damaged, or not what its header says)"
                         ) from exc  # fmt: skip
    dtype = np.dtype(spec["dtype"])
    if dtype.kind == "f":
        value = ((value - mean) / std).astype(dtype)
    elif spec.get("quantization"):  # quantized input: the normalized reals, quantized by its scale and zero point
        scale, zero_point = spec["quantization"]
        value = quantize((value - mean) / std, (float(scale), int(zero_point)), spec["dtype"])
    else:  # uint8 pixels as they are
        value = np.clip(np.round(value), 0, 255).astype(dtype)
    return value[np.newaxis] if len(shape) == 4 else value


MAX_RATE = 384_000
"""Samples a second at most, a WAV's or a model's: more is crafted (studio audio is 192 kHz)."""


def audio_input(spec: dict[str, Any], source: dict[str, Any], max_bytes: int) -> Any:
    """The clip as the input takes it: decoded to floats in [-1, 1], mixed down to one channel, resampled
    (linearly) to the rate the model declares, cut or zero-padded to its length."""
    import numpy as np
    import tensorflow as tf

    name, path = spec["name"], source["path"]
    if spec["dtype"] not in ("float32", "float16", "float64"):
        raise MediaError(f"input '{name}' takes {spec['dtype']}: a clip gives float samples; give a .npy")
    shape = _shape(spec, source)
    if shape is None or not shape:
        raise MediaError(f"input '{name}' has no known shape to fit a clip to: give a .npy")
    if len(shape) >= 3 and shape[-1] not in (None, 1):
        raise MediaError(f"input '{name}' takes {shape[-1]} channels per sample: give a .npy")
    length = shape[-1] if len(shape) in (1, 2) else shape[-2]
    rate, _channels, _frames = measure_wav(name, path, max_bytes)
    wanted = int(source.get("rate") or rate)
    if not 0 < wanted <= MAX_RATE:
        raise MediaError(f"input '{name}': the model declares {wanted} Hz, not a sample rate tfscope resamples to")
    with open(path, "rb") as f:
        try:
            decoded = tf.audio.decode_wav(f.read())
        except (tf.errors.InvalidArgumentError, ValueError) as exc:
            raise MediaError(f"input '{name}': {path} could not be decoded (a damaged or unusual WAV)") from exc
    mono = decoded.audio.numpy().mean(axis=1)
    if length is not None:  # only the source frames the input's length needs are resampled
        mono = mono[: int(np.ceil(length * rate / wanted)) + 1]
    if wanted != rate and len(mono):
        count = max(1, round(len(mono) * wanted / rate))
        fits_limit(name, (count,), 8, max_bytes)
        mono = np.interp(np.linspace(0, len(mono) - 1, count), np.arange(len(mono)), mono)
    if length is not None:
        mono = np.pad(mono[:length], (0, max(0, length - len(mono))))
    value = mono.astype(np.dtype(spec["dtype"]))
    if len(shape) >= 3:
        value = value[:, np.newaxis]
    return value[np.newaxis] if len(shape) >= 2 else value


def with_media_settings(card: ModelCard | None, inputs: dict[str, InputSource], preset: str | None,
                        known: dict[str, str]) -> tuple[dict[str, InputSource], list[str]]:  # fmt: skip
    """Pictures and clips given the normalization and sample rate the model's metadata declares (matched by
    input name, or the only one of both), else `preset` (--normalize); and notes on what was chosen.
    `known` is the signature's inputs, name -> dtype (a uint8 input takes pixels as they are: no note)."""
    from dataclasses import replace

    notes = []
    out = dict(inputs)
    for name, source in inputs.items():
        if source.source not in ("image", "audio"):
            continue
        note = _note_for(card, name, known)
        if source.source == "image":
            if preset is not None:
                mean, std = NORMALIZATIONS[preset]
            elif note is not None and (note.mean or note.std):
                mean, std = note.mean or (0.0,), note.std or (1.0,)
                notes.append(f"input '{name}': normalized as the model's metadata says, (x - mean) / std with "
                             f"mean {values_text(tuple(mean))}, std {values_text(tuple(std))}")  # fmt: skip
            else:
                mean, std = NORMALIZATIONS[DEFAULT_NORMALIZATION]
                if known.get(name, "float32").startswith("float"):
                    notes.append(f"input '{name}': the model declares no normalization, so pixels are fed as "
                                 f"{DEFAULT_NORMALIZATION} (x / 255); give --normalize -1..1, imagenet or raw if it "
                                 "expects another")  # fmt: skip
            out[name] = replace(source, mean=tuple(mean), std=tuple(std))
        else:
            rate = note.sample_rate if note is not None else None
            if rate is not None:
                out[name] = replace(source, rate=rate)
                notes.append(f"input '{name}': resampled, if it must be, to the {rate} Hz the model declares")
    return out, notes


def _note_for(card: ModelCard | None, name: str, known: dict[str, str]) -> TensorNote | None:
    if card is None:
        return None
    by_name = {n.name: n for n in card.inputs}
    if name in by_name:
        return by_name[name]
    return card.inputs[0] if len(card.inputs) == 1 and len(known) == 1 else None
