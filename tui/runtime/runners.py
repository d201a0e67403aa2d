"""Child side: one class per format that loads a model with TensorFlow, lists what it can run, and runs it.

Imported by the child process only (it imports TensorFlow and Keras inside its methods).
"""

from __future__ import annotations

from typing import Any

from tui.formats.kinds import ArtifactKind
from tui.runtime.tf_messages import meaningful_lines

TFLITE_MAIN = "main"
"""The signature name of a TFLite model that has no SignatureDefs (older converters): its graph's I/O."""
DAMAGE_ERRORS = {"DataLossError", "BadZipFile", "EOFError"}
DAMAGE_MARKERS = ("truncat", "corrupt", "read less bytes", "unexpected end", "crc", "checksum", "not a zip",
                  "unable to synchronously open", "bad magic", "is an accessible")  # fmt: skip
"""How TensorFlow, Keras, zipfile and h5py say a file is damaged (in their messages' lower case; Keras says
"File not found ... ensure the file is an accessible .keras zip file" of a .keras it cannot unzip)."""


class Failure(Exception):
    """An error to send back as {title, detail, fix}."""

    def __init__(self, title: str, detail: str, fix: str = "") -> None:
        super().__init__(detail)
        self.title, self.detail, self.fix = title, detail, fix


Call = Any
"""A function from {input name: numpy array} to {output name: tensor or array}."""


class Runner:
    """A loaded model: what it can run and how."""

    first_call = "tracing"
    """What a first call includes beyond running ("tracing": a tf.function traced on first use)."""

    def __init__(self, tf: Any, model: Any) -> None:
        self.tf, self.model = tf, model

    def signatures(self) -> list[dict[str, Any]]:
        return []

    def callable(self, signature: str) -> Call:
        raise Failure("Nothing to run", "A checkpoint holds values, not a graph: there is nothing to call.",
                      "Load the SavedModel or Keras file built from it instead.")  # fmt: skip

    def variables(self) -> list[Any]:
        return []

    def output_quantization(self, signature: str) -> dict[str, tuple[float, int]]:
        """(scale, zero_point) of each quantized integer output (TFLite only)."""
        return {}


class SavedModelRunner(Runner):
    first_call = "graph setup"
    """A saved signature is traced already; its first call still optimizes and places the graph."""

    def signatures(self) -> list[dict[str, Any]]:
        out = []
        for name, fn in self.model.signatures.items():
            inputs = [spec_json(k, v) for k, v in sorted(fn.structured_input_signature[1].items())]
            out.append({"name": name, "inputs": inputs})
        return sorted(out, key=lambda s: (s["name"] != "serving_default", s["name"]))  # as preflight.signature_order

    def callable(self, signature: str) -> Call:
        fn, tf = self.model.signatures[signature], self.tf
        return lambda arrays: dict(fn(**{n: tf.constant(a) for n, a in arrays.items()}).items())

    def variables(self) -> list[Any]:
        found = getattr(self.model, "variables", None)
        if found:
            return list(found)
        tf = self.tf
        return [v for v in tf.train.TrackableView(self.model).descendants() if isinstance(v, tf.Variable)]


class KerasRunner(Runner):
    def signatures(self) -> list[dict[str, Any]]:
        tf = self.tf
        inputs = [spec_json(t.name.split(":")[0], tf.TensorSpec(t.shape, t.dtype)) for t in self.model.inputs]
        return [{"name": "call", "inputs": inputs}]

    def callable(self, signature: str) -> Call:
        # A tf.function, as serving would: the first call traces, warm calls run the graph.
        model = self.tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)

        def call(arrays: dict[str, Any]) -> dict[str, Any]:
            values = list(arrays.values())
            result = model(values[0] if len(values) == 1 else values)
            if isinstance(result, dict):
                return result
            if isinstance(result, list | tuple):
                return {f"output_{i}": r for i, r in enumerate(result)}
            return {"output_0": result}

        return call

    def variables(self) -> list[Any]:
        return [getattr(w, "value", w) for w in self.model.weights]


class TfliteRunner(Runner):
    first_call = "first call"

    def signatures(self) -> list[dict[str, Any]]:
        out = []
        for name in sorted(self.model.get_signature_list()):
            runner = self.model.get_signature_runner(name)
            out.append({"name": name, "inputs": [_tflite_spec(k, d) for k, d in runner.get_input_details().items()]})
        if not out:  # no SignatureDefs (older converters): the graph's own inputs and outputs
            inputs = [_tflite_spec(d["name"], d) for d in self.model.get_input_details()]
            out.append({"name": TFLITE_MAIN, "inputs": inputs})
        return out

    def callable(self, signature: str) -> Call:
        if signature == TFLITE_MAIN and not self.model.get_signature_list():
            return self._main
        runner = self.model.get_signature_runner(signature)
        return lambda arrays: runner(**arrays)

    def output_quantization(self, signature: str) -> dict[str, tuple[float, int]]:
        if signature == TFLITE_MAIN and not self.model.get_signature_list():
            details = {d["name"]: d for d in self.model.get_output_details()}
        else:
            details = self.model.get_signature_runner(signature).get_output_details()
        return {name: q for name, d in details.items() if (q := _quantization(d)) is not None}

    def _main(self, arrays: dict[str, Any]) -> dict[str, Any]:
        """Run a TFLite graph through its input and output tensors (no signature to call)."""
        interpreter = self.model
        details = {d["name"]: d for d in interpreter.get_input_details()}
        if any(tuple(details[n]["shape"]) != a.shape for n, a in arrays.items()):
            for name, array in arrays.items():
                interpreter.resize_tensor_input(details[name]["index"], array.shape)
            interpreter.allocate_tensors()
        for name, array in arrays.items():
            interpreter.set_tensor(details[name]["index"], array)
        interpreter.invoke()
        return {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}


def load(tf: Any, kind: str, path: str, unsafe: bool) -> Runner:
    """The model at `path`, restored; `kind` is a format id (ArtifactKind's value).

    Damage and refusals become Failures that say what to do.
    """
    try:
        if kind == ArtifactKind.SAVED_MODEL.value:
            return SavedModelRunner(tf, tf.saved_model.load(path))
        if kind in {ArtifactKind.KERAS.value, ArtifactKind.HDF5.value}:
            return KerasRunner(tf, _load_keras(path, unsafe))
        if kind == ArtifactKind.CHECKPOINT.value:
            return Runner(tf, tf.train.load_checkpoint(path.removesuffix(".index")))
        if kind == ArtifactKind.TFLITE.value:
            interpreter = tf.lite.Interpreter(model_path=path)
            interpreter.allocate_tensors()
            return TfliteRunner(tf, interpreter)
    except Failure:
        raise
    except Exception as exc:  # TF's DataLossError, zipfile's BadZipFile, h5py's OSError...
        raise _load_failure(exc) from exc
    raise Failure("Cannot load", f"tfscope has no loader for the format {kind!r}.")


def _load_keras(path: str, unsafe: bool) -> Any:
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=not unsafe)
    except ValueError as exc:
        text = str(exc)
        if "safe_mode" in text or "Lambda" in text:
            raise Failure(
                "Refused by safe mode",
                "The model holds a Lambda layer: loading it runs Python bytecode stored in the file.",
                "Only if you trust who saved it: load again with --unsafe.",
            ) from exc
        raise
    except TypeError as exc:
        text = str(exc)
        if "Could not locate" in text or "custom" in text.lower():
            raise Failure(
                "Needs custom objects",
                meaningful_lines(text),
                "The model uses classes defined in its author's code; load it in Python with those classes imported.",
            ) from exc
        raise


def _load_failure(exc: Exception) -> Failure:
    """A load that TensorFlow, Keras or h5py refused, told as what it means for the files."""
    name = type(exc).__name__
    detail = meaningful_lines(str(exc))
    if name in DAMAGE_ERRORS or any(marker in detail.lower() for marker in DAMAGE_MARKERS):
        return Failure("The model's files are damaged", f"{name}: {detail}",
                       "A bucket copy is checked and downloaded again on the next l; a local file must be "
                       "saved again by its author.")  # fmt: skip
    if name in {"NotFoundError", "FileNotFoundError"}:
        return Failure("A file of the model is missing", f"{name}: {detail}",
                       "Check that the model's folder holds every file it was saved with.")  # fmt: skip
    return Failure("TensorFlow could not load the model", f"{name}: {detail}",
                   "Check that it was saved by a TensorFlow/Keras version this one can read.")  # fmt: skip


def spec_json(name: str, spec: Any) -> dict[str, Any]:
    shape = None if spec.shape.rank is None else [None if d is None else int(d) for d in spec.shape.as_list()]
    return {"name": name, "dtype": spec.dtype.name, "shape": shape}


def _tflite_spec(name: str, details: dict[str, Any]) -> dict[str, Any]:
    shape = details.get("shape_signature")
    shape = details["shape"] if shape is None or not len(shape) else shape
    spec = {"name": name, "dtype": details["dtype"].__name__, "shape": [None if s < 0 else int(s) for s in shape]}
    quantization = _quantization(details)
    if quantization is not None:
        spec["quantization"] = list(quantization)
    return spec


def _quantization(details: dict[str, Any]) -> tuple[float, int] | None:
    """A tensor's per-tensor (scale, zero_point) when it holds quantized integers; None for real values."""
    scale, zero_point = details.get("quantization", (0.0, 0))
    if not scale or details["dtype"].__name__ not in {"int8", "uint8", "int16"}:
        return None
    return float(scale), int(zero_point)
