"""SavedModel folders: signatures, variables, ops and versions from `saved_model.pb` alone."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from google.protobuf import message as proto_message
from google.protobuf import text_format

from tui.errors import CorruptArtifactError, NotFoundError, TfscopeError
from tui.formats.capabilities import INIT_OP_SIGNATURE, graph_findings
from tui.formats.checkpoint import is_optimizer_edge
from tui.formats.keras_config import layers_from_config
from tui.formats.kinds import ArtifactKind
from tui.formats.limits import Budget, as_dict, as_str, parse_json
from tui.formats.model_info import Finding, Layer, ModelInfo, Need, Signature, TensorSpec, Variable, walk_layers
from tui.formats.protos import dtype_name, message, shape_of
from tui.storage import Entry, Location, Store

GUESSED_FILES = ("saved_model.pb", "fingerprint.pb")
GUESS_BYTES = 8 * 1024 * 1024
"""How much of a guessed file is read before its size is known; most graphs are smaller."""
SIDE_FILES = ("fingerprint.pb", "keras_metadata.pb")
"""Read alongside saved_model.pb when present: the fingerprint and a Keras 2 model's layer metadata."""
MAX_PROTO_BYTES = 512 * 1024 * 1024
"""Larger graph files (frozen constants) are refused: parsing them would need that much memory again."""
TF_KERAS_LOAD = "if loaded with tf_keras.models.load_model (tfscope loads with tf.saved_model.load)"
"""A Keras 2 Lambda layer in keras_metadata.pb: its bytecode runs only when Keras rebuilds the model."""


def read_saved_model(
    store: Store,
    folder: Location,
    files: list[Entry],
    *,
    show_init_op: bool = False,
    guesses: Mapping[str, Future[bytes]] | None = None,
    budget: Budget | None = None,
) -> ModelInfo:
    """Read the SavedModel in `folder`, whose files (recursive listing) are `files`.

    `guesses` are reads of the first bytes of files by name (see `guess_reads`), started before the
    listing came back; what they lack is read now.
    """
    folder = folder.as_dir()
    budget = budget or Budget(folder.uri)
    guesses = guesses or {}
    names = {e.location.path[len(folder.path) :]: e for e in files}
    info = ModelInfo(ArtifactKind.SAVED_MODEL, folder)
    info.files = sorted((name, e.size or 0) for name, e in names.items())
    info.size = sum(size for _, size in info.files)
    info.assets = sorted(n.removeprefix("assets/") for n in names if n.startswith("assets/") and not n.endswith("/"))

    with ThreadPoolExecutor(len(SIDE_FILES), thread_name_prefix="tfscope-side") as pool:
        # The small side files travel while saved_model.pb does: one round trip on a distant bucket, not three.
        side = {n: pool.submit(_read_whole, store, names[n], guesses.get(n)) for n in SIDE_FILES if n in names}
        saved_model = _parse_saved_model(store, folder, names, guesses)
    info.versions["SavedModel schema"] = str(saved_model.saved_model_schema_version)
    ops: Counter[str] = Counter()
    for meta_graph in saved_model.meta_graphs:
        info.tag_sets.append(tuple(meta_graph.meta_info_def.tags))
        tf_version = meta_graph.meta_info_def.tensorflow_version
        if tf_version:
            info.versions["TensorFlow"] = tf_version
        budget.spend(len(meta_graph.graph_def.node) + len(meta_graph.graph_def.library.function), on="graph nodes")
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            budget.spend(len(function.node_def), on="graph nodes")
            ops.update(node.op for node in function.node_def)
    info.ops = dict(ops.most_common())

    first = saved_model.meta_graphs[0] if saved_model.meta_graphs else None
    if first is None:
        raise CorruptArtifactError(f"{folder.uri}saved_model.pb holds no graph.", "Re-export the model.")
    for meta_graph in saved_model.meta_graphs:
        for name, sig in meta_graph.signature_def.items():
            if name == INIT_OP_SIGNATURE and not show_init_op:
                continue
            if any(s.name == name for s in info.signatures):
                continue  # the same signature under another tag-set
            info.signatures.append(Signature(name, sig.method_name, _tensors(sig.inputs), _tensors(sig.outputs)))
    info.signatures.sort(key=lambda s: (s.name != "serving_default", s.name))
    info.variables = _variables(first, budget)
    if "fingerprint.pb" in side:
        info.details.update(_fingerprint(side["fingerprint.pb"]))
    if "keras_metadata.pb" in side:
        info.layers, keras_version = _keras_metadata_layers(side["keras_metadata.pb"], info.variables, budget)
        if keras_version:
            info.versions["Keras"] = keras_version
        info.findings.extend(Finding("Lambda", "python", None, TF_KERAS_LOAD, f"layer {layer.name}")
                             for layer in walk_layers(info.layers) if layer.class_name == "Lambda")  # fmt: skip
    info.needs.extend(_python_ops(info.ops))
    info.findings[:0] = graph_findings(first, budget)
    return info


def _parse_saved_model(
    store: Store, folder: Location, names: dict[str, Entry], guesses: Mapping[str, Future[bytes]]
) -> Any:
    saved_model = message("SavedModel")
    if "saved_model.pb" in names:
        entry = names["saved_model.pb"]
        data = _read_whole(store, entry, guesses.get("saved_model.pb"))
        try:
            saved_model.ParseFromString(data)
        except proto_message.DecodeError as exc:
            raise CorruptArtifactError(
                f"{entry.location.uri} is not a valid SavedModel protobuf ({exc}); it may be truncated.",
                "Re-export the model, or compare the object's crc32c with the original's.",
            ) from exc
        return saved_model
    if "saved_model.pbtxt" in names:
        entry = names["saved_model.pbtxt"]
        _check_size(entry)
        text = store.read_range(entry.location, 0, entry.size or 0).decode("utf-8", errors="replace")
        try:
            text_format.Parse(text, saved_model)
        except (text_format.ParseError, RecursionError, proto_message.DecodeError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:300]
            raise CorruptArtifactError(f"{entry.location.uri} is not a valid SavedModel text proto: {reason}") from exc
        return saved_model
    raise NotFoundError(f"No saved_model.pb in {folder.uri}.", "Open the folder that holds saved_model.pb.")


def _check_size(entry: Entry) -> None:
    if (entry.size or 0) > MAX_PROTO_BYTES:
        raise CorruptArtifactError(
            f"{entry.location.uri} is {(entry.size or 0) / 2**30:.1f} GB: graphs that big embed their weights "
            "as constants, and inspecting them needs as much memory.",
            "Load it with TensorFlow instead (press l), on a machine with the memory for it.",
            title="Graph too large to inspect",
        )


def _tensors(mapping: Any) -> tuple[TensorSpec, ...]:
    return tuple(
        TensorSpec(key, dtype_name(info.dtype), shape_of(info.tensor_shape)) for key, info in sorted(mapping.items())
    )


def _variables(meta_graph: Any, budget: Budget) -> list[Variable]:
    """Variables from the object graph (TF2), else from the graph's variable ops (TF1)."""
    graph = meta_graph.object_graph_def
    if graph.nodes:
        paths = _object_paths(graph, budget)
        model = _model_nodes(graph, budget)
        slots = {slot.slot_variable_node_id for node in graph.nodes for slot in node.slot_variables}
        out = []
        for node_id, node in enumerate(graph.nodes):
            if node.WhichOneof("kind") != "variable":
                continue
            var = node.variable
            path = paths.get(node_id, "")
            if path.startswith("_all_variables/"):
                continue  # Keras' export saves its `variables` list a second time under this name
            if node_id in slots or path.startswith("optimizer") or "/optimizer/" in path:
                group = "optimizer"  # slots (Adam's m and v) may hang off no path at all (Keras 2.4)
            else:
                group = "model" if node_id in model else "other"  # other: Keras metrics' total and count
            shape = shape_of(var.shape) or ()
            out.append(Variable(var.name or path, tuple(d or 0 for d in shape), dtype_name(var.dtype),
                                var.trainable, group))  # fmt: skip
        return out
    trainable = _trainable_names(meta_graph)
    out = []
    budget.spend(len(meta_graph.graph_def.node), on="graph nodes")
    for node in meta_graph.graph_def.node:
        if node.op in {"VariableV2", "VarHandleOp", "Variable"}:
            shape = shape_of(node.attr["shape"].shape) or ()
            dtype = dtype_name(node.attr["dtype"].type)
            out.append(Variable(node.name, tuple(d or 0 for d in shape), dtype, node.name in trainable))
    return out


def _object_paths(graph: Any, budget: Budget) -> dict[int, str]:
    """node id -> the first path of child names that reaches it from the root (ids out of range ignored)."""
    paths = {0: ""}
    queue = deque([0])
    count = len(graph.nodes)
    while queue:
        node_id = queue.popleft()
        children = graph.nodes[node_id].children
        budget.spend(len(children) + 1, on="object graph edges")
        for child in children:
            if 0 <= child.node_id < count and child.node_id not in paths:
                prefix = paths[node_id]
                paths[child.node_id] = f"{prefix}/{child.local_name}" if prefix else child.local_name
                queue.append(child.node_id)
    return paths


def _model_nodes(graph: Any, budget: Budget) -> set[int]:
    """What the root reaches without passing into an optimizer, the Keras metrics (`keras_api`) or a slot
    variable: the model's own objects. As checkpoint.py does for a checkpoint's object graph."""
    count = len(graph.nodes)
    slots = {slot.slot_variable_node_id for node in graph.nodes for slot in node.slot_variables}
    reached: set[int] = set()
    todo = deque([0])
    while todo:
        node_id = todo.pop()
        children = graph.nodes[node_id].children
        budget.spend(len(children) + 1, on="object graph edges")
        for child in children:
            skip = is_optimizer_edge(child.local_name) or child.local_name == "keras_api"
            if skip or not 0 <= child.node_id < count or child.node_id in reached or child.node_id in slots:
                continue
            reached.add(child.node_id)
            todo.append(child.node_id)
    return reached


def _trainable_names(meta_graph: Any) -> set[str]:
    from tensorboard.compat.proto import variable_pb2

    names = set()
    for raw in meta_graph.collection_def["trainable_variables"].bytes_list.value:
        var = variable_pb2.VariableDef()
        try:
            var.ParseFromString(raw)
        except proto_message.DecodeError:
            continue  # a damaged entry: that variable is shown without its trainable flag
        names.add(var.variable_name.split(":")[0])
    return names


def guess_reads(store: Store, folder: Location, pool: Executor) -> dict[str, Future[bytes]]:
    """Start reading a would-be SavedModel's graph and fingerprint before the folder's listing answers.

    On a distant bucket this saves the round trip between listing and reading. A folder that is no
    SavedModel costs two quick 404s, and nothing is transferred for it.
    """
    return {name: pool.submit(store.read_range, folder.child(name), 0, GUESS_BYTES) for name in GUESSED_FILES}


def _read_whole(store: Store, entry: Entry, guess: Future[bytes] | None) -> bytes:
    """The entry's bytes: those a guess already has, then the rest."""
    _check_size(entry)
    size = entry.size or 0
    data = b""
    if guess is not None:
        try:
            data = guess.result()
        except TfscopeError:
            data = b""  # an empty object answers a ranged read with 416, for one
        if len(data) < GUESS_BYTES and len(data) != size:
            data = b""  # the whole object, but not the size listed: it was replaced in between
        data = data[:size]
    if len(data) < size:
        data += store.read_range(entry.location, len(data), size - len(data))
    return data


def _fingerprint(data: Future[bytes]) -> dict[str, str]:
    fingerprint = message("FingerprintDef")
    try:
        fingerprint.ParseFromString(data.result())
    except proto_message.DecodeError:
        return {"Fingerprint": "unreadable"}
    return {"Fingerprint": f"{fingerprint.saved_model_checksum:016x}"}


def _keras_metadata_layers(data: Future[bytes], variables: list[Variable], budget: Budget) -> tuple[list[Layer], str]:
    """Layers of a Keras 2 (tf_keras) SavedModel from its `keras_metadata.pb`."""
    metadata = message("SavedMetadata")
    try:
        metadata.ParseFromString(data.result())
    except proto_message.DecodeError:
        return [], ""
    layers: list[Layer] = []
    keras_version = ""
    params_by_layer: dict[str, int] = {}
    for v in variables:  # "dense/kernel:0" belongs to layer "dense"
        if "/" in v.name:
            owner = v.name.split("/", 1)[0]
            params_by_layer[owner] = params_by_layer.get(owner, 0) + v.size

    def params_of(path: list[str], _raw: object) -> int:
        return params_by_layer.get(path[-1], 0)

    budget.spend(len(metadata.nodes), on="Keras metadata nodes")
    for node in metadata.nodes:
        try:
            meta = as_dict(parse_json(node.metadata, "keras_metadata.pb"))
        except CorruptArtifactError:
            continue  # one damaged node's metadata: the others still describe the model
        keras_version = keras_version or as_str(meta.get("keras_version"))
        config = meta.get("config")
        if node.node_path == "root" and isinstance(config, dict) and isinstance(config.get("layers"), list):
            # The root carries the whole functional/Sequential config: the full table, with connections.
            return layers_from_config(
                {"class_name": meta.get("class_name"), "config": config}, params_of
            ), keras_version
        if node.node_path.count(".") != 1 or not node.identifier.startswith("_tf_keras_"):
            continue  # only direct children of the root: "root.layer-0"
        name = as_str(meta.get("name")) or node.node_path
        trainable = meta.get("trainable") if isinstance(meta.get("trainable"), bool) else None
        layers.append(Layer(name, as_str(meta.get("class_name"), "?"), params_of([name], None), trainable=trainable,
                            dtype=_dtype_of(meta.get("dtype"))))  # fmt: skip
    return layers, keras_version


def _dtype_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return as_str(as_dict(value.get("config")).get("name")) or None
    return as_str(value) or None


PYTHON_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def _python_ops(ops: dict[str, int]) -> list[Need]:
    found = sorted(PYTHON_OPS & set(ops))
    detail = f"the Python functions behind {', '.join(found)} (not saved in the model)"
    return [Need("python_function", detail)] if found else []
