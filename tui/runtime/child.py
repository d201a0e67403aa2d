"""The runtime child: the only process that imports TensorFlow.

`python -m tui.runtime.child` reads one JSON request per line on stdin and answers one JSON line on
stdout (events, like phase changes, are lines too). JSON only, never pickle: a request cannot make
this process run code. TensorFlow's own logging goes to stderr, which the host keeps a tail of to
explain a crash.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
import traceback
from typing import Any

from tui.runtime.inputs import InputError, make_input
from tui.runtime.stats import output_stats
from tui.runtime.tf_messages import meaningful_lines

LOGICAL_CPUS_ENV = "TFSCOPE_LOGICAL_CPUS"
"""Split the CPU into this many logical devices (tests and demos of placement without a GPU)."""
LIFELINE_ENV = "TFSCOPE_LIFELINE_FD"
"""A pipe whose other end only the host holds: when it closes, the host is gone, and so is this process."""
TFLITE_MAIN = "main"
"""The signature name of a TFLite model that has no SignatureDefs (older converters): its graph's I/O."""
NOT_LOADED_FIX = "Press l to load it again (tfscope run loads it for you)."


class Failure(Exception):
    """An error to send back as {title, detail, fix}."""

    def __init__(self, title: str, detail: str, fix: str = "") -> None:
        super().__init__(detail)
        self.title, self.detail, self.fix = title, detail, fix


class Runtime:
    def __init__(self) -> None:
        self.tf: Any = None
        self.model: Any = None
        self.kind = ""
        self.path = ""
        self.last_device = ""

    # -- plumbing ---------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def import_tf(self) -> Any:
        if self.tf is None:
            self.send({"event": "phase", "phase": "import TensorFlow"})
            import tensorflow as tf

            count = int(os.environ.get(LOGICAL_CPUS_ENV, "0") or 0)
            if count > 1:
                cpu = tf.config.list_physical_devices("CPU")[0]
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
            self.tf = tf
        return self.tf

    # -- ops --------------------------------------------------------------------------------

    def op_hello(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "python": sys.version.split()[0]}

    def op_warm(self) -> dict[str, Any]:
        """Import TensorFlow now (seconds), while the host downloads the model."""
        return {"tensorflow": self.import_tf().__version__}

    def op_load(self, path: str, kind: str, unsafe: bool = False, device: str | None = None) -> dict[str, Any]:
        tf = self.import_tf()
        self.op_unload()
        device = self.checked_device(device)
        self.send({"event": "phase", "phase": "restore"})
        try:
            with tf.device(device) if device else _nullcontext():
                if kind == "SavedModel":
                    self.model = tf.saved_model.load(path)
                elif kind in {"Keras v3", "Keras HDF5"}:
                    self.model = _load_keras(path, unsafe)
                elif kind == "Checkpoint":
                    self.model = tf.train.load_checkpoint(path.removesuffix(".index"))
                elif kind == "TFLite":
                    self.model = tf.lite.Interpreter(model_path=path)
                    self.model.allocate_tensors()
                else:
                    raise Failure("Cannot load", f"tfscope does not load {kind} artifacts.")
        except Failure:
            raise
        except Exception as exc:  # TF's DataLossError, zipfile's BadZipFile, h5py's OSError...
            self.model = None
            raise _load_failure(exc, path) from exc
        self.kind, self.path = kind, path
        return {"kind": kind, "signatures": self.signatures(), "tensorflow": tf.__version__}

    def checked_device(self, device: str | None) -> str | None:
        """`device` as TensorFlow names it, or a Failure naming the devices there are.

        TensorFlow places soft: an op asked for on /GPU:7 of a machine without one quietly runs on
        the CPU, and the report would say GPU:7.
        """
        if not device:
            return None
        names = [d.name for d in self.tf.config.list_logical_devices()]
        wanted = _short_device(device if "device:" in device else "device:" + device.lstrip("/")).upper()
        for name in names:
            if _short_device(name).upper() == wanted:
                return str(name)
        shown = ", ".join(_short_device(n) for n in names)
        raise Failure("No such device", f"TensorFlow sees no {device} on this machine; it sees {shown}.",
                      f"Pick one of {shown}, or leave the device to TensorFlow.")  # fmt: skip

    def op_unload(self) -> dict[str, Any]:
        if self.model is not None:
            self.model = None
            gc.collect()  # 0.1 s with TensorFlow imported: only when there is a model to let go of
        return {}

    def op_devices(self) -> dict[str, Any]:
        tf = self.import_tf()
        physical = []
        for device in tf.config.list_physical_devices():
            entry: dict[str, Any] = {"name": device.name, "type": device.device_type}
            if device.device_type == "GPU":
                details = tf.config.experimental.get_device_details(device)
                entry["model"] = details.get("device_name", "")
                capability = details.get("compute_capability")
                entry["compute_capability"] = ".".join(map(str, capability)) if capability else ""
            physical.append(entry)
        logical = []
        for device in tf.config.list_logical_devices():
            entry = {"name": device.name, "type": device.device_type}
            if device.device_type == "GPU":
                try:
                    memory = tf.config.experimental.get_memory_info(device.name)
                    entry["memory_in_use"], entry["memory_peak"] = memory["current"], memory["peak"]
                except (ValueError, RuntimeError):
                    pass
            logical.append(entry)
        return {"physical": physical, "logical": logical, "tpu": _tpu(tf)}

    def op_placement(self) -> dict[str, Any]:
        variables = []  # no model loaded: nothing is placed anywhere
        for v in self.variables():
            nbytes = int(v.shape.num_elements() or 0) * v.dtype.size
            variables.append({"name": v.name, "device": _short_device(v.device), "bytes": nbytes})
        totals: dict[str, int] = {}
        for v in variables:
            totals[v["device"]] = totals.get(v["device"], 0) + v["bytes"]
        return {"variables": variables, "totals": totals, "last_inference_device": self.last_device}

    def op_run(self, signature: str, inputs: dict[str, Any], device: str | None = None, repeat: int = 10,
               save_dir: str | None = None) -> dict[str, Any]:  # fmt: skip
        tf = self.import_tf()
        self.require_model()
        device = self.checked_device(device)
        specs = {s["name"]: s for s in self.signatures()}
        if signature not in specs:
            raise Failure("No such signature", f"The model has no signature '{signature}'.",
                          f"Pick one of: {', '.join(specs) or 'none'}.")  # fmt: skip
        spec = specs[signature]
        try:
            arrays = {t["name"]: make_input(t, inputs.get(t["name"], {"source": "zeros"})) for t in spec["inputs"]}
        except InputError as error:
            raise Failure("Bad input", str(error), "Fix the value source or shape of that input.") from error
        call = self.callable(signature)
        try:
            with tf.device(device) if device else _nullcontext():
                start = time.perf_counter()
                outputs = call(arrays)
                first_ms = (time.perf_counter() - start) * 1000
                warm = []
                for _ in range(max(0, repeat)):
                    start = time.perf_counter()
                    outputs = call(arrays)
                    warm.append((time.perf_counter() - start) * 1000)
        except Exception as exc:  # the model rejected its inputs or failed inside its graph
            raise Failure("The model failed on these inputs", meaningful_lines(str(exc)),
                          "Check the inputs' values and shapes against the signature (tab 2).") from exc  # fmt: skip
        self.last_device = _short_device(_device_of(outputs) or device or "CPU:0")
        result = {name: output_stats(value) for name, value in outputs.items()}
        if save_dir:
            import numpy as np

            for name, value in outputs.items():
                np.save(os.path.join(save_dir, f"{_safe(name)}.npy"), np.asarray(value), allow_pickle=False)
        warm.sort()
        timings = {"first_ms": first_ms, "runs": len(warm)}
        if warm:
            timings.update(p50_ms=warm[len(warm) // 2], p95_ms=warm[min(len(warm) - 1, int(0.95 * len(warm)))],
                           min_ms=warm[0])  # fmt: skip
        return {"signature": signature, "device": self.last_device, "outputs": result, "timings": timings}

    # -- the loaded model, per kind ---------------------------------------------------------

    def require_model(self) -> None:
        if self.model is None:
            raise Failure("No model loaded", "The runtime holds no model: it restarted since the load "
                          "(after a crash or a cancel), or nothing was loaded yet.", NOT_LOADED_FIX)  # fmt: skip

    def signatures(self) -> list[dict[str, Any]]:
        tf = self.tf
        if self.kind == "SavedModel":
            out = []
            for name, fn in self.model.signatures.items():
                inputs = [_spec(k, v) for k, v in sorted(fn.structured_input_signature[1].items())]
                outputs = [_spec(k, v) for k, v in sorted(fn.structured_outputs.items())]
                out.append({"name": name, "inputs": inputs, "outputs": outputs})
            return sorted(out, key=lambda s: s["name"] != "serving_default")
        if self.kind in {"Keras v3", "Keras HDF5"}:
            inputs = [_spec(t.name.split(":")[0], tf.TensorSpec(t.shape, t.dtype)) for t in self.model.inputs]
            return [{"name": "call", "inputs": inputs, "outputs": []}]
        if self.kind == "TFLite":
            out = []
            for name in self.model.get_signature_list():
                runner = self.model.get_signature_runner(name)
                inputs = [_tflite_spec(k, d) for k, d in runner.get_input_details().items()]
                out.append({"name": name, "inputs": inputs, "outputs": []})
            if not out:  # no SignatureDefs (older converters): the graph's own inputs and outputs
                inputs = [_tflite_spec(d["name"], d) for d in self.model.get_input_details()]
                out.append({"name": TFLITE_MAIN, "inputs": inputs, "outputs": []})
            return out
        return []

    def callable(self, signature: str) -> Any:
        tf = self.tf
        if self.kind == "SavedModel":
            fn = self.model.signatures[signature]
            return lambda arrays: {k: v for k, v in fn(**{n: tf.constant(a) for n, a in arrays.items()}).items()}
        if self.kind in {"Keras v3", "Keras HDF5"}:
            # A tf.function, as serving would: the first call traces, warm calls run the graph.
            model = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)

            def call(arrays: dict[str, Any]) -> dict[str, Any]:
                values = list(arrays.values())
                result = model(values[0] if len(values) == 1 else values)
                if isinstance(result, dict):
                    return result
                if isinstance(result, (list, tuple)):
                    return {f"output_{i}": r for i, r in enumerate(result)}
                return {"output_0": result}

            return call
        if self.kind == "TFLite":
            if signature == TFLITE_MAIN and not self.model.get_signature_list():
                return self._tflite_main
            runner = self.model.get_signature_runner(signature)
            return lambda arrays: runner(**arrays)
        raise Failure("Nothing to run", "A checkpoint holds values, not a graph: there is nothing to call.",
                      "Load the SavedModel or Keras file built from it instead.")  # fmt: skip

    def _tflite_main(self, arrays: dict[str, Any]) -> dict[str, Any]:
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

    def variables(self) -> list[Any]:
        tf = self.tf
        if self.model is None or self.kind in {"Checkpoint", "TFLite"}:
            return []
        if self.kind in {"Keras v3", "Keras HDF5"}:
            return [getattr(w, "value", w) for w in self.model.weights]
        found = getattr(self.model, "variables", None)
        if found:
            return list(found)
        return [v for v in tf.train.TrackableView(self.model).descendants() if isinstance(v, tf.Variable)]


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
        raise Failure(
            "Keras could not load the model",
            meaningful_lines(text),
            "Check that it was saved by a compatible Keras version.",
        ) from exc
    except TypeError as exc:
        text = str(exc)
        if "Could not locate" in text or "custom" in text.lower():
            raise Failure(
                "Needs custom objects",
                meaningful_lines(text),
                "The model uses classes defined in its author's code; load it in Python with those classes imported.",
            ) from exc
        raise Failure("Keras could not load the model", meaningful_lines(text)) from exc


def _tpu(tf: Any) -> dict[str, Any] | None:
    """A Cloud TPU or Colab TPU, found through the cluster resolver; None on other machines."""
    if not (os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR") or os.path.exists("/dev/accel0")):
        return None
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        return {"master": resolver.master(), "cluster": str(resolver.cluster_spec().as_dict())}
    except (ValueError, RuntimeError) as exc:
        return {"error": _first_line(str(exc))}


def _spec(name: str, spec: Any) -> dict[str, Any]:
    shape = None if spec.shape.rank is None else [None if d is None else int(d) for d in spec.shape.as_list()]
    return {"name": name, "dtype": spec.dtype.name, "shape": shape}


def _device_of(outputs: dict[str, Any]) -> str:
    """The device TensorFlow put the outputs on ("" for numpy arrays, whose `.device` is just "cpu")."""
    for value in outputs.values():
        device = getattr(value, "device", "")
        if isinstance(device, str) and "device:" in device:
            return device
    return ""


def _tflite_spec(name: str, details: dict[str, Any]) -> dict[str, Any]:
    shape = details.get("shape_signature")
    shape = details["shape"] if shape is None or not len(shape) else shape
    return {"name": name, "dtype": details["dtype"].__name__, "shape": [None if s < 0 else int(s) for s in shape]}


DAMAGE_ERRORS = {"DataLossError", "BadZipFile", "EOFError"}
DAMAGE_MARKERS = ("truncat", "corrupt", "read less bytes", "unexpected end", "crc", "checksum", "not a zip",
                  "unable to synchronously open", "bad magic")  # fmt: skip
"""How TensorFlow, Keras, zipfile and h5py say a file is damaged (in their messages' lower case)."""


def _load_failure(exc: Exception, path: str) -> Failure:
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


def _short_device(device: str) -> str:
    """'/job:localhost/replica:0/task:0/device:CPU:1' -> 'CPU:1'."""
    return device.rsplit("device:", 1)[-1] if "device:" in device else device.lstrip("/")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def watch_lifeline() -> None:
    """Exit as soon as the host is gone (killed, crashed, closed terminal), even mid-load: the pipe's
    write end lives only in the host, so the kernel closes it then, and this read returns."""
    fd = int(os.environ.get(LIFELINE_ENV, "-1"))
    if fd < 0:
        return

    def wait() -> None:
        while True:
            try:
                if not os.read(fd, 1):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        os._exit(0)

    threading.Thread(target=wait, daemon=True, name="tfscope-lifeline").start()


def main() -> int:
    watch_lifeline()
    runtime = Runtime()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            op = getattr(runtime, f"op_{request.pop('op')}")
            runtime.send({"ok": True, "result": op(**request)})
        except Failure as failure:
            runtime.send({"ok": False, "error": {"title": failure.title, "detail": failure.detail, "fix": failure.fix}})
        except Exception as exc:  # report it, keep serving: one bad request must not kill the runtime
            traceback.print_exc(file=sys.stderr)
            runtime.send({"ok": False, "error": {"title": "Runtime error", "detail": f"{type(exc).__name__}: "
                                                 f"{meaningful_lines(str(exc))}", "fix": ""}})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
