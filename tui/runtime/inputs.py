"""Inference inputs from what the user asked for: zeros, ones, seeded random, JSON data, .npy files, text.

JSON is parsed as data (json.loads), never evaluated; .npy/.npz files load with allow_pickle=False.
"""

from __future__ import annotations

import json
from typing import Any

from tui.formatting import format_shape
from tui.runtime.protocol import InputSource


class InputError(ValueError):
    """An input that cannot be made or does not fit its spec; the message names the input."""


def make_input(spec: dict[str, Any], source: dict[str, Any]) -> Any:
    """The array for one input `spec` ({name, dtype, shape}) from `source` ({source, shape?, ...})."""
    import numpy as np

    name, dtype = spec["name"], spec["dtype"]
    shape = _concrete_shape(spec, source.get("shape"))
    kind = source.get("source", "zeros")
    rng = np.random.default_rng(int(source.get("seed", 0)))
    if dtype == "string":
        if kind not in {"text", "zeros", "json"}:
            raise InputError(f"input '{name}' takes strings: give text, not {kind}")
        text = source.get("value", "") if kind == "text" else ""
        if kind == "json":
            value = np.asarray(_json(name, source.get("value", "[]")), dtype=object)
        else:
            value = np.full(shape, str(text), dtype=object)
        # UTF-8, element by element: numpy's astype(bytes) is ASCII-only, and text models are multilingual
        encode = np.vectorize(lambda v: v.encode("utf-8") if isinstance(v, str) else v, otypes=[object])
        return _checked(name, spec, encode(value) if value.size else value)
    numpy_dtype = np.dtype(dtype)
    if kind == "zeros":
        value = np.zeros(shape, numpy_dtype)
    elif kind == "ones":
        value = np.ones(shape, numpy_dtype)
    elif kind in {"random", "normal"}:
        value = rng.standard_normal(shape) if numpy_dtype.kind == "f" else rng.integers(0, 10, shape)
        value = value.astype(numpy_dtype)
    elif kind == "uniform":
        value = rng.random(shape).astype(numpy_dtype) if numpy_dtype.kind == "f" else rng.integers(0, 2, shape)
        value = value.astype(numpy_dtype)
    elif kind == "json":
        value = np.asarray(_json(name, source.get("value", "")))
        if value.dtype.kind not in "biuf":
            raise InputError(f"input '{name}': the JSON value is not numeric data")
        value = value.astype(numpy_dtype)
    elif kind == "npy":
        value = _load_npy(name, source["path"], source.get("key"))
    elif kind == "text":
        raise InputError(
            f"input '{name}' ({spec['dtype']}): '{source.get('value', '')}' is not a value tfscope "
            "knows: give zeros, ones, random, uniform, normal, JSON data, FILE.npy or FILE.npz:KEY"
        )
    else:
        raise InputError(f"input '{name}': unknown value source '{kind}'")
    return _checked(name, spec, value)


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


def _load_npy(name: str, path: str, key: str | None) -> Any:
    import numpy as np

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
    if value[:1] in "[{-0123456789":
        return InputSource("json", value=value)
    return InputSource("text", value=typed)
