"""SavedModels that reach outside themselves, one capability class each, built with TF at test time.

Each model uses its class both at load (a TF2 resource's `_initialize`, or a TF1 main op) and when
called (a signature, or a function the object graph exposes), with constant targets (a Const, a
StringJoin of them, a captured eager constant, a constant passed to a nested tf.function) and
computed ones (from an input, or from what another op read). Nothing here runs the graphs: saving
only traces them, so no file is read, no address dialled.

`write_malicious_models(dest)` writes them all under `dest/<name>/` and returns, per model, the
(op, capability) pairs tfscope must find; `EXPECTED` has the full findings (target and when).
Run as `python tests/malicious_models.py DEST` to build them and print that as JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

AT_LOAD = "at load"
SERVING = "when called: serving_default"
ESCAPING_ASSET = "../" * 12 + "etc/hostname"
"""An asset name that leaves the model's folder: os.path.join(assets_dir, name) climbs to the root."""
PYFUNC_TOKEN = re.compile(r"pyfunc_\d+")
"""tf.py_function's token: a per-process counter, so matched, not spelled."""


@dataclass(frozen=True)
class Expected:
    """One finding tfscope must report: `target` None where the graph computes it."""

    op: str
    capability: str
    target: str | re.Pattern[str] | None
    when: str

    def matches(self, name: str, capability: str, target: str | None, when: str) -> bool:
        if isinstance(self.target, re.Pattern):
            same_target = target is not None and self.target.fullmatch(target) is not None
        else:
            same_target = target == self.target
        return (self.op, self.capability, self.when) == (name, capability, when) and same_target


EXPECTED: dict[str, list[Expected]] = {
    "file_read": [
        Expected("ReadFile", "file_read", "/etc/hostname", AT_LOAD),
        Expected("ReadFile", "file_read", None, AT_LOAD),  # a path read from another file
        Expected("ReadFile", "file_read", "/etc/passwd", SERVING),  # a StringJoin of constants
        Expected("ReadFile", "file_read", None, SERVING),  # from the signature's input
        Expected("ReadFile", "file_read", "/etc/shadow", SERVING),  # an eager constant the function captured
        Expected("ReadFile", "file_read", "/etc/group", SERVING),  # passed to a nested tf.function
    ],
    "file_write": [  # TF1: a builder's main op and a placeholder-fed signature
        Expected("WriteFile", "file_write", "/tmp/tfscope-main-op.txt", AT_LOAD),
        Expected("PrintV2", "file_write", "file:///tmp/tfscope-printed-at-load.txt", AT_LOAD),
        Expected("WriteFile", "file_write", None, SERVING),
        Expected("WriteFile", "file_write", "/tmp/tfscope-called.txt", SERVING),
    ],
    "file_list": [
        Expected("MatchingFiles", "file_list", "/home/*/.ssh/*", AT_LOAD),
        Expected("MatchingFiles", "file_list", "/root/.aws/*", SERVING),  # Dataset.list_files
        Expected("MatchingFiles", "file_list", None, SERVING),
    ],
    "file_map": [
        Expected("ImmutableConst", "file_map", "/dev/shm/tfscope-weights", AT_LOAD),
        Expected("ImmutableConst", "file_map", "/etc/hostname", SERVING),
    ],
    "network": [
        Expected("DebugIdentityV3", "network", "grpc://debugger.example:6064", AT_LOAD),
        Expected("DataServiceDatasetV4", "network", "dispatcher.example:5050", SERVING),
        Expected("DataServiceDatasetV4", "network", None, SERVING),
    ],
    "stream": [
        Expected("PrintV2", "stream", "stderr", AT_LOAD),
        Expected("PrintV2", "stream", "stdout", SERVING),
        Expected("PrintV2", "file_write", "file:///tmp/tfscope-printed.txt", SERVING),
    ],
    "python": [
        Expected("EagerPyFunc", "python", PYFUNC_TOKEN, AT_LOAD),
        Expected("PyFunc", "python", PYFUNC_TOKEN, SERVING),
    ],
    "freed": [  # a TF2 resource's destroyer runs when the loaded object is freed: no call needed
        Expected("WriteFile", "file_write", "/tmp/tfscope-freed.txt", AT_LOAD),
    ],
    "asset_escape": [  # a lookup table filled, while loading, from an "asset" whose recorded name climbs out
        Expected("InitializeTableFromTextFileV2", "file_read", f"assets/{ESCAPING_ASSET}", AT_LOAD),
    ],
    "exposed": [  # reachable only from functions the object graph exposes, not from a signature
        Expected("ReadFile", "file_read", "/etc/hostname", "when called: probe"),
        Expected("ReadFile", "file_read", "/etc/passwd", "when called: helper.__call__"),
        Expected("MatchingFiles", "file_list", "/srv/*", "when called: helper.__call__, probe"),
    ],
}
"""Per model folder, every finding tfscope must report for it, and nothing else."""


def write_malicious_models(dest: Path) -> dict[str, set[tuple[str, str]]]:
    """Build every model under `dest/<name>/`; per name, the (op, capability) pairs to be found."""
    import tensorflow as tf

    builders: dict[str, Callable[[Any, Path], None]] = {
        "file_read": _file_read,
        "file_write": _file_write,
        "file_list": _file_list,
        "file_map": _file_map,
        "network": _network,
        "stream": _stream,
        "python": _python,
        "freed": _freed,
        "asset_escape": _asset_escape,
        "exposed": _exposed,
    }
    for name, build in builders.items():
        build(tf, dest / name)
    return {name: {(e.op, e.capability) for e in expected} for name, expected in EXPECTED.items()}


def _save(tf: Any, at_load: Callable[[], Any], serve: Any, path: Path, **attributes: Any) -> None:
    """A tf.Module whose resource runs `at_load` while loading and whose serving signature is `serve`."""

    class LoadTimeResource(tf.saved_model.experimental.TrackableResource):  # type: ignore[misc]
        """A hash table whose initialiser (run by every TF2 loader) stores what `at_load` returns."""

        def _create_resource(self) -> Any:
            return tf.raw_ops.HashTableV2(key_dtype=tf.string, value_dtype=tf.string)

        def _initialize(self) -> Any:
            value = tf.strings.as_string(tf.size(at_load()))
            return tf.raw_ops.LookupTableImportV2(table_handle=self.resource_handle, keys=["k"], values=[value])

    module = tf.Module()
    module.table = LoadTimeResource()
    module.serve = serve
    for name, value in attributes.items():
        setattr(module, name, value)
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})


def _text_input(tf: Any) -> list[Any]:
    return [tf.TensorSpec([], tf.string, name="text")]


def _file_read(tf: Any, path: Path) -> None:
    captured = tf.constant("/etc/shadow")

    @tf.function
    def read_given(name: Any) -> Any:
        return tf.io.read_file(name)

    def at_load() -> Any:
        return tf.io.read_file(tf.io.read_file("/etc/hostname"))

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        joined = tf.io.read_file(tf.strings.join(["/etc/", "passwd"]))
        chosen = tf.io.read_file(tf.strings.join(["/tmp/", text]))
        nested = read_given(tf.constant("/etc/group"))
        return {"out": tf.strings.join([joined, chosen, tf.io.read_file(captured), nested])}

    _save(tf, at_load, serve, path)


def _file_write(tf: Any, path: Path) -> None:
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        text = v1.placeholder(tf.string, [], name="text")
        computed = tf.io.write_file(tf.strings.join(["/tmp/", text]), "x")
        fixed = tf.io.write_file("/tmp/tfscope-called.txt", text)
        with tf.control_dependencies([computed, fixed]):
            out = tf.identity(text, name="out")
        at_load = tf.group(
            tf.io.write_file("/tmp/tfscope-main-op.txt", "ran"),
            tf.print("ran", output_stream="file:///tmp/tfscope-printed-at-load.txt"),
        )
        signature = v1.saved_model.signature_def_utils.predict_signature_def({"text": text}, {"out": out})
        builder = v1.saved_model.Builder(str(path))
        with v1.Session() as session:
            builder.add_meta_graph_and_variables(
                session, ["serve"], signature_def_map={"serving_default": signature}, main_op=at_load
            )
        builder.save()


def _file_list(tf: Any, path: Path) -> None:
    def at_load() -> Any:
        return tf.io.matching_files("/home/*/.ssh/*")

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        listed = tf.data.Dataset.list_files("/root/.aws/*", shuffle=False)
        count = listed.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1)
        chosen = tf.io.matching_files(tf.strings.join([text, "/*"]))
        return {"out": tf.strings.join([tf.strings.as_string(count), tf.strings.reduce_join(chosen)])}

    _save(tf, at_load, serve, path)


def _file_map(tf: Any, path: Path) -> None:
    def mapped(name: str) -> Any:
        return tf.raw_ops.ImmutableConst(dtype=tf.float32, shape=[2], memory_region_name=name)

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        return {"out": tf.strings.join([text, tf.strings.as_string(tf.reduce_sum(mapped("/etc/hostname")))])}

    _save(tf, lambda: mapped("/dev/shm/tfscope-weights"), serve, path)


def _network(tf: Any, path: Path) -> None:
    def at_load() -> Any:
        return tf.raw_ops.DebugIdentityV3(input=tf.constant(1.0), debug_urls=["grpc://debugger.example:6064"])

    def fetched(address: Any) -> Any:
        spec = tf.TensorSpec([], tf.int64)
        dataset = tf.data.experimental.service.from_dataset_id("parallel_epochs", address, "7", spec)
        return tf.strings.as_string(dataset.reduce(tf.constant(0, tf.int64), lambda a, b: a + b))

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        fixed = fetched("grpc://dispatcher.example:5050")
        chosen = fetched(("grpc", text))
        return {"out": tf.strings.join([fixed, chosen])}

    _save(tf, at_load, serve, path)


def _stream(tf: Any, path: Path) -> None:
    def at_load() -> Any:
        with tf.control_dependencies([tf.print("loading", output_stream=sys.stderr)]):
            return tf.constant(1)

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        printed = [
            tf.print(text, output_stream=sys.stdout),
            tf.print(text, output_stream="file:///tmp/tfscope-printed.txt"),
        ]
        with tf.control_dependencies(printed):
            return {"out": tf.identity(text)}

    _save(tf, at_load, serve, path)


def _python(tf: Any, path: Path) -> None:
    def at_load() -> Any:
        return tf.py_function(lambda: b"ran at load", [], tf.string)

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        return {"out": tf.numpy_function(lambda t: t, [text], tf.string, stateful=True)}

    _save(tf, at_load, serve, path)


def _freed(tf: Any, path: Path) -> None:
    class Freed(tf.saved_model.experimental.TrackableResource):  # type: ignore[misc]
        def _create_resource(self) -> Any:
            return tf.raw_ops.HashTableV2(key_dtype=tf.string, value_dtype=tf.string)

        def _destroy_resource(self) -> Any:
            return tf.io.write_file("/tmp/tfscope-freed.txt", "freed")

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        return {"out": tf.strings.upper(text)}

    module = tf.Module()
    module.table = Freed()
    module.serve = serve
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})


def _asset_escape(tf: Any, path: Path) -> None:
    """A vocabulary model whose asset's recorded name is rewritten: loading joins it to assets/ and reads
    whatever it reaches (TF checks nothing)."""
    from tensorflow.core.protobuf import saved_model_pb2

    vocabulary_model(tf, path)
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((path / "saved_model.pb").read_bytes())
    for asset in saved_model.meta_graphs[0].asset_file_def:
        asset.filename = ESCAPING_ASSET
    (path / "saved_model.pb").write_bytes(saved_model.SerializeToString())


def vocabulary_model(tf: Any, path: Path) -> None:
    """A standard text model: a lookup table filled from its own vocabulary file (an asset) while loading."""
    vocab = Path(tempfile.mkdtemp(prefix="tfscope-vocab-")) / "vocab.txt"  # saving copies it into assets/
    vocab.write_text("a\nb\n")
    table = tf.lookup.StaticHashTable(
        tf.lookup.TextFileInitializer(str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                      tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
        default_value=-1,
    )  # fmt: skip

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        return {"out": table.lookup(text)}

    module = tf.Module()
    module.table = table
    module.serve = serve
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})
    shutil.rmtree(vocab.parent)


def _exposed(tf: Any, path: Path) -> None:
    """A module whose signature is harmless: its file access is in functions that only the object graph
    exposes to whoever calls tf.saved_model.load: a tf.function attribute and a child's __call__."""

    @tf.function
    def list_srv() -> Any:
        return tf.strings.reduce_join(tf.io.matching_files("/srv/*"))

    class Helper(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[])
        def __call__(self) -> Any:
            return tf.strings.join([tf.io.read_file("/etc/passwd"), list_srv()])

    @tf.function(input_signature=[])
    def probe() -> Any:
        return tf.strings.join([tf.io.read_file("/etc/hostname"), list_srv()])

    @tf.function(input_signature=_text_input(tf))
    def serve(text: Any) -> dict[str, Any]:
        return {"out": tf.strings.upper(text)}

    module = tf.Module()
    module.serve = serve
    module.probe = probe
    module.helper = Helper()
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/malicious_models.py DEST")
    found = write_malicious_models(Path(sys.argv[1]))
    print(json.dumps({name: sorted(map(list, pairs)) for name, pairs in found.items()}, indent=2))
