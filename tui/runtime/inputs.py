"""Inference inputs from what the user asked for: zeros, ones, seeded random, JSON data, .npy files, text,
pictures and clips (runtime/media.py).

JSON is parsed as data (json.loads), never evaluated; .npy/.npz files load with allow_pickle=False.
Every input is measured before it is made (declared shape x dtype, a .npy header, an .npz member's
header) against a byte limit, so a typo'd shape or a zip bomb is a message, not a machine out of memory.
"""

from __future__ import annotations

import json
import math
import zipfile
from typing import Any

from tui.formatting import format_shape, format_size
from tui.runtime.input_checks import InputError, fits_limit, regular_file
from tui.runtime.protocol import MAX_INPUT_BYTES, InputSource

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
AUDIO_SUFFIXES = (".wav",)
"""What `source_from_text` takes for a picture or a clip (decoded by runtime/media.py)."""
FILE_SOURCES = ("npy", "image", "audio")
"""Sources read from a file: a local path, or a gs:// one downloaded first."""
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def make_input(spec: dict[str, Any], source: dict[str, Any], max_bytes: int = MAX_INPUT_BYTES) -> Any:
    """The array for one input `spec` ({name, dtype, shape}) from `source` ({source, shape?, ...}),
    refused before it is made when it would take more than `max_bytes`."""
    try:
        return _make(spec, source, max_bytes)
    except MemoryError as exc:  # what the limit did not foresee: still a message
        raise InputError(f"input '{spec['name']}' does not fit in this machine's memory") from exc


def _make(spec: dict[str, Any], source: dict[str, Any], max_bytes: int) -> Any:
    import numpy as np

    name, dtype = spec["name"], spec["dtype"]
    shape = _concrete_shape(spec, source.get("shape"))
    kind = source.get("source", "zeros")
    rng = np.random.default_rng(int(source.get("seed", 0)))
    if dtype == "string":
        if kind not in {"text", "zeros", "json"}:
            raise InputError(f"input '{name}' takes strings: give text, not {kind}")
        text = source.get("value", "") if kind == "text" else ""
        if kind != "json":  # one object pointer and one copy of the text per element
            fits_limit(name, shape, 8 + len(str(text).encode("utf-8")) * 2, max_bytes)
        if kind == "json":
            value = np.asarray(_json(name, source.get("value", "[]")), dtype=object)
        else:
            value = np.full(shape, str(text), dtype=object)
        # UTF-8, element by element: numpy's astype(bytes) is ASCII-only, and text models are multilingual
        encode = np.vectorize(lambda v: v.encode("utf-8") if isinstance(v, str) else v, otypes=[object])
        return _checked(name, spec, encode(value) if value.size else value)
    numpy_dtype = np.dtype(dtype)
    if kind in {"zeros", "ones", "random", "normal", "uniform"}:
        fits_limit(name, shape, numpy_dtype.itemsize, max_bytes)
    if kind == "zeros":
        value = np.zeros(shape, numpy_dtype)
    elif kind == "ones":
        value = np.ones(shape, numpy_dtype)
    elif kind in {"random", "normal", "uniform"}:
        value = _random(rng, shape, numpy_dtype, uniform=kind == "uniform")
    elif kind == "json":
        value = _json_array(name, source.get("value", ""))
        if value.dtype.kind not in "biuf":
            raise InputError(f"input '{name}': the JSON value is not numeric data")
        value = value.astype(numpy_dtype)
    elif kind == "npy":
        value = _load_npy(name, source["path"], source.get("key"), max_bytes)
    elif kind in ("image", "audio"):
        from tui.runtime.media import audio_input, image_input

        value = (image_input if kind == "image" else audio_input)(spec, source, max_bytes)
    elif kind == "text":
        raise InputError(
            f"input '{name}' ({spec['dtype']}): '{source.get('value', '')}' is not a value tfscope "
            "knows: give zeros, ones, random, uniform, normal, JSON data, FILE.npy or FILE.npz:KEY"
        )
    else:
        raise InputError(f"input '{name}': unknown value source '{kind}'")
    return _checked(name, spec, value)


def _random(rng: Any, shape: tuple[int, ...], dtype: Any, uniform: bool) -> Any:
    """Seeded values made in `dtype` itself where numpy can (no float64 copy eight times an int8 input)."""
    import numpy as np

    if dtype.kind == "f":
        made = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
        value = rng.random(shape, dtype=made) if uniform else rng.standard_normal(shape, dtype=made)
        return value.astype(dtype, copy=False)
    if dtype.kind in "biu":
        return rng.integers(0, 2 if uniform or dtype.kind == "b" else 10, shape, dtype=dtype)
    return (rng.random(shape) if uniform else rng.standard_normal(shape)).astype(dtype)


def _concrete_shape(spec: dict[str, Any], given: list[int] | None) -> tuple[int, ...]:
    """The signature's shape with unknown dims set to 1, or the user's shape if they gave one."""
    expected = spec["shape"]
    if given is not None:
        return tuple(int(d) for d in given)
    if expected is None:
        return (1,)
    return tuple(1 if d is None else int(d) for d in expected)


def _checked(name: str, spec: dict[str, Any], value: Any) -> Any:
    import numpy as np

    expected = spec["shape"]
    if expected is not None:
        fits = len(value.shape) == len(expected) and all(
            e is None or e == g for e, g in zip(expected, value.shape, strict=False)
        )
        if not fits:
            raise InputError(f"input '{name}' expects shape {format_shape(expected)}, got {tuple(value.shape)}")
    if spec["dtype"] != "string" and value.dtype != np.dtype(spec["dtype"]):
        raise InputError(f"input '{name}' expects dtype {spec['dtype']}, got {value.dtype}")
    return value


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"input '{name}': not valid JSON ({exc.msg} at column {exc.colno})") from exc
    except RecursionError as exc:
        raise InputError(f"input '{name}': the JSON nests too deeply to be an array; give a .npy file") from exc


def check_json(name: str, text: str, strings: bool) -> None:
    """Refuse JSON data the runtime could not make an input of (invalid, too deep, ragged), before it starts."""
    if strings:
        _json(name, text)
    else:
        _json_array(name, text)


def _json_array(name: str, text: str) -> Any:
    """JSON data as an array: rows of one length, as deep as an array can be."""
    import numpy as np

    data = _json(name, text)
    try:
        return np.asarray(data)
    except ValueError as exc:  # ragged rows, or more dimensions than numpy's 32 (or 64)
        raise InputError(f"input '{name}': the JSON is not a rectangular array (rows of different lengths, "
                         "or too many dimensions)") from exc  # fmt: skip
    except RecursionError as exc:
        raise InputError(f"input '{name}': the JSON nests too deeply to be an array; give a .npy file") from exc


def measure_npy(name: str, path: str, key: str | None, max_bytes: int) -> None:
    """Read the array header(s) of a .npy or .npz before loading: a regular file, arrays within the limit."""
    regular_file(name, path)
    try:
        with open(path, "rb") as file:
            magic = file.read(len(NPY_MAGIC))
            file.seek(0)
            if magic == NPY_MAGIC:
                _measure_header(name, path, file, max_bytes)
                return
            if not magic.startswith(ZIP_MAGIC):
                raise InputError(f"input '{name}': {path} is not a .npy or .npz file")
            with zipfile.ZipFile(file) as archive:
                for member in archive.infolist():
                    if key is None or member.filename in (key, key + ".npy"):
                        with archive.open(member) as stream:
                            _measure_header(name, f"{path}:{member.filename.removesuffix('.npy')}", stream,
                                            max_bytes)  # fmt: skip
    except InputError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"input '{name}': cannot read {path} ({exc})") from exc


def _measure_header(name: str, where: str, stream: Any, max_bytes: int) -> None:
    """One .npy header: its dtype (no objects) and shape x itemsize within the limit."""
    import numpy as np

    version = np.lib.format.read_magic(stream)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _fortran, dtype = read(stream)
    if dtype.hasobject:
        raise InputError(f"input '{name}': {where} holds Python objects (pickled); object arrays are refused")
    size = math.prod(shape) * dtype.itemsize
    if size > max_bytes:
        raise InputError(
            f"input '{name}': {where} holds a {tuple(shape)} {dtype} array of {format_size(size)}, more than "
            f"the {format_size(max_bytes)} limit for one input: raise it with --max-input-mb"
        )


def _load_npy(name: str, path: str, key: str | None, max_bytes: int) -> Any:
    import numpy as np

    measure_npy(name, path, key, max_bytes)
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise InputError(f"input '{name}': there is no file {path}") from exc
    except OSError as exc:
        raise InputError(f"input '{name}': cannot read {path} ({exc})") from exc
    except ValueError as exc:  # what numpy raises for pickled (object) arrays
        raise InputError(f"input '{name}': cannot read {path} ({exc}); object arrays are refused") from exc
    if hasattr(loaded, "files"):  # .npz: its arrays load one by one, each can hold pickled objects
        keys = list(loaded.files)
        chosen = key or (name if name in keys else keys[0] if len(keys) == 1 else None)
        if chosen is None or chosen not in keys:
            raise InputError(f"input '{name}': {path} holds {', '.join(keys)}; name one as FILE.npz:KEY")
        try:
            return loaded[chosen]
        except (OSError, ValueError) as exc:
            raise InputError(f"input '{name}': cannot read {chosen} from {path} ({exc}); object arrays are "
                             "refused") from exc  # fmt: skip
    return loaded


def source_from_text(typed: str) -> InputSource:
    """What a user typed for an input, as a value source: a keyword, a .npy/.npz path, JSON, or text.

    Shared by `tfscope run --input NAME=VALUE` and the Inference tab. Text keeps its spaces.
    """
    value = typed.strip()
    if value in {"", "zeros"}:
        return InputSource("zeros")
    if value in {"ones", "random", "uniform", "normal"}:
        return InputSource(value)
    path, sep, key = value.partition(".npz:")
    if sep:
        return InputSource("npy", path=path + ".npz", key=key)
    if value.endswith((".npy", ".npz")):
        return InputSource("npy", path=value)
    if value.lower().endswith(IMAGE_SUFFIXES):
        return InputSource("image", path=value)
    if value.lower().endswith(AUDIO_SUFFIXES):
        return InputSource("audio", path=value)
    if value[:1] in "[{-0123456789":
        return InputSource("json", value=value)
    return InputSource("text", value=typed)
