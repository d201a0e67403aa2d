"""The runtime child: the only process that imports TensorFlow.

`python -m tui.runtime.child` reads one JSON request per line on stdin and answers one JSON line on
stdout (events, like phase changes, are lines too; see protocol.py). JSON only, never pickle: a
request cannot make this process run code. TensorFlow's own logging goes to stderr, which the host
keeps a tail of to explain a crash. Per-format loading and calling live in runners.py.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import threading
import time
import traceback
from typing import Any

from tui.runtime.input_checks import InputError
from tui.runtime.inputs import make_input
from tui.runtime.protocol import LIFELINE_ENV, LOGICAL_CPUS_ENV, MAX_INPUT_BYTES
from tui.runtime.runners import Failure, Runner, load
from tui.runtime.stats import output_stats
from tui.runtime.tf_messages import meaningful_lines

NOT_LOADED_FIX = "Press l to load it again (tfscope run loads it for you)."


class Runtime:
    def __init__(self) -> None:
        self.tf: Any = None
        self.runner: Runner | None = None
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

    def checked_device(self, device: str | None) -> str | None:
        """`device` as TensorFlow names it, or a Failure naming the devices there are.

        TensorFlow places soft: an op asked for on /GPU:7 of a machine without one quietly runs on
        the CPU, and the report would say GPU:7.
        """
        if not device:
            return None
        names = [d.name for d in self.tf.config.list_logical_devices()]
        wanted = short_device(device if "device:" in device else "device:" + device.lstrip("/")).upper()
        for name in names:
            if short_device(name).upper() == wanted:
                return str(name)
        shown = ", ".join(short_device(n) for n in names)
        raise Failure("No such device", f"TensorFlow sees no {device} on this machine; it sees {shown}.",
                      f"Pick one of {shown}, or leave the device to TensorFlow.")  # fmt: skip

    def require_runner(self) -> Runner:
        if self.runner is None:
            raise Failure("No model loaded", "The runtime holds no model: it restarted since the load "
                          "(after a crash or a cancel), or nothing was loaded yet.", NOT_LOADED_FIX)  # fmt: skip
        return self.runner

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
        with tf.device(device) if device else contextlib.nullcontext():
            self.runner = load(tf, kind, path, unsafe)
        return {"kind": kind, "signatures": self.runner.signatures(), "tensorflow": tf.__version__}

    def op_unload(self) -> dict[str, Any]:
        if self.runner is not None:
            self.runner = None
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
                with contextlib.suppress(ValueError, RuntimeError):
                    memory = tf.config.experimental.get_memory_info(device.name)
                    entry["memory_in_use"], entry["memory_peak"] = memory["current"], memory["peak"]
            logical.append(entry)
        return {"physical": physical, "logical": logical, "tpu": _tpu(tf)}

    def op_placement(self) -> dict[str, Any]:
        variables = []  # no model loaded: nothing is placed anywhere
        for v in self.runner.variables() if self.runner else []:
            nbytes = int(v.shape.num_elements() or 0) * v.dtype.size
            variables.append({"name": v.name, "device": short_device(v.device), "bytes": nbytes})
        totals: dict[str, int] = {}
        for v in variables:
            totals[v["device"]] = totals.get(v["device"], 0) + v["bytes"]
        return {"variables": variables, "totals": totals, "last_inference_device": self.last_device}

    def op_run(self, signature: str, inputs: dict[str, Any], device: str | None = None, repeat: int = 10,
               save_dir: str | None = None, max_input_bytes: int = MAX_INPUT_BYTES) -> dict[str, Any]:  # fmt: skip
        tf = self.import_tf()
        runner = self.require_runner()
        device = self.checked_device(device)
        specs = {s["name"]: s for s in runner.signatures()}
        if signature not in specs:
            raise Failure("No such signature", f"The model has no signature '{signature}'.",
                          f"Pick one of: {', '.join(specs) or 'none'}.")  # fmt: skip
        known = [t["name"] for t in specs[signature]["inputs"]]
        unknown = sorted(set(inputs) - set(known))
        if unknown:
            raise Failure("Bad input", f"Signature '{signature}' has no input '{unknown[0]}'.",
                          f"Its inputs: {', '.join(known) or 'none'}.")  # fmt: skip
        try:
            arrays = {t["name"]: make_input(t, inputs.get(t["name"], {"source": "zeros"}), max_input_bytes)
                      for t in specs[signature]["inputs"]}  # fmt: skip
        except InputError as error:
            raise Failure("Bad input", str(error), "Fix the value source or shape of that input.") from error
        call = runner.callable(signature)
        try:
            with tf.device(device) if device else contextlib.nullcontext():
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
        self.last_device = short_device(_device_of(outputs) or device or "CPU:0")
        saved = _save(outputs, save_dir) if save_dir else []
        warm.sort()
        timings: dict[str, Any] = {"first_ms": first_ms, "first_call": runner.first_call, "runs": len(warm)}
        if warm:
            timings.update(p50_ms=warm[len(warm) // 2], p95_ms=warm[min(len(warm) - 1, int(0.95 * len(warm)))],
                           min_ms=warm[0])  # fmt: skip
        return {"signature": signature, "device": self.last_device, "timings": timings, "saved": saved,
                "outputs": {name: output_stats(value) for name, value in outputs.items()},
                "quantization": {k: list(v) for k, v in runner.output_quantization(signature).items()}}  # fmt: skip


def _save(outputs: dict[str, Any], folder: str) -> list[str]:
    """Each output as `<name>.npy` in `folder` (made empty by the host); names made file-safe, never clashing."""
    import numpy as np

    written = []
    for name, value in outputs.items():
        base = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "output"
        path, n = os.path.join(folder, f"{base}.npy"), 1
        while os.path.exists(path):
            n += 1
            path = os.path.join(folder, f"{base}-{n}.npy")
        np.save(path, np.asarray(value), allow_pickle=False)
        written.append(path)
    return written


def _tpu(tf: Any) -> dict[str, Any] | None:
    """A Cloud TPU or Colab TPU, found through the cluster resolver; None on other machines."""
    if not (os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR") or os.path.exists("/dev/accel0")):
        return None
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        return {"master": resolver.master(), "cluster": str(resolver.cluster_spec().as_dict())}
    except (ValueError, RuntimeError) as exc:
        return {"error": meaningful_lines(str(exc))}


def _device_of(outputs: dict[str, Any]) -> str:
    """The device TensorFlow put the outputs on ("" for numpy arrays, whose `.device` is just "cpu")."""
    for value in outputs.values():
        device = getattr(value, "device", "")
        if isinstance(device, str) and "device:" in device:
            return device
    return ""


def short_device(device: str) -> str:
    """'/job:localhost/replica:0/task:0/device:CPU:1' -> 'CPU:1'."""
    return device.rsplit("device:", 1)[-1] if "device:" in device else device.lstrip("/")


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
