"""TF checkpoints: every variable's name, shape and dtype from the `.index` file alone.

The index is a LevelDB-format table (TF's `tensorflow/core/lib/io/table`): a footer that points at
an index block, which points at data blocks of prefix-compressed key/value entries. Keys are
variable paths; values are `BundleEntryProto`s. No Python library reads it without TensorFlow, and
the format is small and frozen, so it is read here.
"""

from __future__ import annotations

import re
import struct
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from google.protobuf import message as proto_message

from tui.errors import CorruptArtifactError, NotFoundError
from tui.formats.kinds import ArtifactKind
from tui.formats.limits import Budget
from tui.formats.model_info import ModelInfo, Variable
from tui.formats.protos import dtype_name, message, shape_of
from tui.storage import Entry, Location, Store

if TYPE_CHECKING:
    from tensorboard.compat.proto.trackable_object_graph_pb2 import TrackableObjectGraph

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
BLOCK_TRAILER = 5
"""After each block: its compression type (1 byte) and the masked crc32c of the block and that byte."""
MAX_INDEX_BYTES = 256 * 1024 * 1024
MAX_GRAPH_BYTES = 64 * 1024 * 1024
"""The saved object graph is read from the data shard only up to this size (real ones are kilobytes)."""
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def read_checkpoint(store: Store, location: Location, siblings: list[Entry], budget: Budget | None = None) -> ModelInfo:
    """Read a checkpoint: `location` is its folder or its `.index` object; `siblings` the folder's files."""
    folder = location.as_dir() if location.is_dir else location.parent
    budget = budget or Budget(location.uri)
    names = {e.location.path[len(folder.path) :]: e for e in siblings if not e.is_dir}
    info = ModelInfo(ArtifactKind.CHECKPOINT, location)
    prefix = _latest_prefix(store, folder, names, info) if location.is_dir else location.name.removesuffix(".index")
    index_name = f"{prefix}.index"
    if index_name not in names:
        raise NotFoundError(f"No {index_name} in {folder.uri}.", "Open the checkpoint's folder or its .index file.")
    info.files = sorted(
        (n, e.size or 0) for n, e in names.items() if n == index_name or n.startswith(prefix + ".data-")
    )
    info.size = sum(size for _, size in info.files)
    entry = names[index_name]
    if (entry.size or 0) > MAX_INDEX_BYTES:
        raise CorruptArtifactError(f"{entry.location.uri} is larger than any checkpoint index should be.")
    data = store.read_range(entry.location, 0, entry.size or 0)
    header = None
    entries: dict[str, object] = {}
    for key, value in read_table(data, entry.location.uri, budget):
        proto = message("BundleHeaderProto" if key == b"" else "BundleEntryProto")
        try:
            proto.ParseFromString(value)
        except proto_message.DecodeError as exc:
            raise CorruptArtifactError(f"The entry for {key!r} in {entry.location.uri} is damaged.") from exc
        if key == b"":
            header = proto
        else:
            entries[key.decode("utf-8", errors="replace")] = proto
    if header is None:
        raise CorruptArtifactError(f"{entry.location.uri} has no bundle header: not a TF checkpoint index.")
    graph = _read_object_graph(store, names, prefix, header, entries.get(OBJECT_GRAPH_KEY))
    groups, model_names = _read_groups(graph, budget) if graph else ({}, {})
    for saved_as, bundle in entries.items():
        if saved_as == OBJECT_GRAPH_KEY:
            continue
        shape = tuple(d or 0 for d in (shape_of(bundle.shape) or ()))  # type: ignore[attr-defined]
        group = groups.get(saved_as) or _group_by_name(saved_as)
        path = model_names[saved_as].removesuffix(VALUE_SUFFIX) if saved_as in model_names else None
        info.variables.append(Variable(saved_as.removesuffix(VALUE_SUFFIX), shape, dtype_name(bundle.dtype), None,  # type: ignore[attr-defined]
                                       group, path))  # fmt: skip
    renamed = [k for k in model_names if k in entries]
    if renamed:  # a key is what tf.train.load_checkpoint reads by; the path is what a reader recognises
        under = ", ".join(sorted({k.removesuffix(VALUE_SUFFIX).rsplit("/", 1)[0] + "/" for k in renamed}))
        info.details["Checkpoint keys"] = (f"{len(renamed)} model variables are saved under {under}; "
                                           "each is listed by its key, with its path through the model")  # fmt: skip
    return info


def _group_by_name(key: str) -> str:
    if "/.OPTIMIZER_SLOT/" in key or key.startswith("optimizer/"):
        return "optimizer"
    if key.startswith("save_counter/") or key.startswith("step/"):
        return "other"
    return "model"


def _read_object_graph(
    store: Store, names: dict[str, Entry], prefix: str, header: object, graph_entry: object | None
) -> TrackableObjectGraph | None:
    """The saved object graph, from the data shard; None where it is missing or damaged (names then guide)."""
    if graph_entry is None:
        return None
    from tensorboard.compat.proto import trackable_object_graph_pb2

    shards = max(1, header.num_shards)  # type: ignore[attr-defined]
    shard_name = f"{prefix}.data-{graph_entry.shard_id:05d}-of-{shards:05d}"  # type: ignore[attr-defined]
    offset, size = graph_entry.offset, graph_entry.size  # type: ignore[attr-defined]
    shard = names.get(shard_name)
    if shard is None or offset < 0 or size <= 0 or size > MAX_GRAPH_BYTES or offset + size > (shard.size or 0):
        return None  # a missing shard, or sizes that lie
    try:
        raw = store.read_range(shard.location, offset, size)
        length, pos = _varint(raw, 0, shard.location.uri)
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(raw[pos + 4 : pos + 4 + length])  # a string tensor: length, crc32c, bytes
    except (CorruptArtifactError, NotFoundError, proto_message.DecodeError):
        return None
    return graph if len(graph.nodes) else None


def _read_groups(graph: TrackableObjectGraph, budget: Budget) -> tuple[dict[str, str], dict[str, str]]:
    """Each checkpoint key's group ("model", "optimizer" or "other"), and model variables' names.

    Names alone mislead: a Keras 3 optimizer tracks the model's variables, and TF keys each variable
    by its shortest path from the root, so they can be saved under `optimizer/_trainable_variables/N`.
    The graph says what belongs to the model (reachable from a root child other than the optimizer),
    by which path (the second dict: key -> that path's key, where the two differ), and which
    variables are optimizer slots.
    """
    count = len(graph.nodes)
    budget.spend(count, on="object graph nodes")
    slots = {slot.slot_variable_node_id for node in graph.nodes for slot in node.slot_variables}
    # The model is what the root reaches without passing an optimizer edge: a compiled Keras model
    # tracks its optimizer, whose iteration counter and moments are not the model's. Breadth first,
    # so each node's path is its shortest through the model, as TF builds keys.
    paths: dict[int, str] = {}
    todo = deque((c, _escape(c.local_name)) for c in graph.nodes[0].children if not is_optimizer_edge(c.local_name))
    while todo:
        child, path = todo.popleft()
        budget.spend(1, on="object graph edges")
        if not 0 <= child.node_id < count or child.node_id in paths or child.node_id in slots:
            continue
        paths[child.node_id] = path
        todo.extend((c, f"{path}/{_escape(c.local_name)}") for c in graph.nodes[child.node_id].children
                    if not is_optimizer_edge(c.local_name))  # fmt: skip
    groups, model_names = {}, {}
    for node_id, node in enumerate(graph.nodes):
        for attribute in node.attributes:
            key = attribute.checkpoint_key
            if node_id in paths:
                groups[key] = "model"
                path, attributes, name = key.partition("/.ATTRIBUTES/")
                if attributes and path != paths[node_id]:
                    model_names[key] = f"{paths[node_id]}{attributes}{name}"
            elif node_id in slots or node_id != 0:
                by_name = _group_by_name(key)
                groups[key] = "optimizer" if by_name == "model" else by_name
    return groups, model_names


def _escape(local_name: str) -> str:
    """An object-graph edge's name as TF writes it in a key (its '.' and '/' would read as separators)."""
    return local_name.replace(".", "..").replace("/", ".S")


def is_optimizer_edge(name: str) -> bool:
    """An object-graph edge into an optimizer (or the save counter): what lies past it is not the model."""
    return name.lstrip("_").startswith("optimizer") or name == "save_counter"


def _latest_prefix(store: Store, folder: Location, names: dict[str, Entry], info: ModelInfo) -> str:
    """The newest checkpoint: from the `checkpoint` state file, else the highest-numbered index."""
    if "checkpoint" in names:
        text = store.read_range(folder.child("checkpoint"), 0, 1 << 20).decode("utf-8", errors="replace")
        latest = re.search(r'^model_checkpoint_path:\s*"(.*)"', text, re.M)
        every = re.findall(r'^all_model_checkpoint_paths:\s*"(.*)"', text, re.M)
        if every:
            info.details["All checkpoints"] = ", ".join(every)
        if latest:
            named = latest.group(1).rsplit("/", 1)[-1]  # a name in this folder, never a path elsewhere
            info.details["Latest"] = latest.group(1)
            if f"{named}.index" in names:
                return named
    indexes = sorted((n.removesuffix(".index") for n in names if n.endswith(".index")), key=_number_key)
    if not indexes:
        raise NotFoundError(f"No checkpoint .index file in {folder.uri}.")
    if "Latest" in info.details:
        info.details["Latest"] += f" (not in this folder: showing {indexes[-1]})"
    return indexes[-1]


def _number_key(prefix: str) -> tuple[int, str]:
    digits = re.findall(r"\d+", prefix)
    return (int(digits[-1]) if digits else -1, prefix)


# -- the LevelDB table format --------------------------------------------------------------------


def read_table(data: bytes, what: str, budget: Budget | None = None) -> Iterator[tuple[bytes, bytes]]:
    """Every (key, value) of a table file held in `data`, in key order.

    Each block's crc32c is checked (a flipped bit would otherwise show a wrong name or shape), and
    each data block is read once: an index that points at one block many times is refused.
    """
    budget = budget or Budget(what)
    if len(data) < FOOTER_BYTES:
        raise CorruptArtifactError(f"{what} is {len(data)} bytes: too short to be a checkpoint index (truncated?).")
    footer = data[-FOOTER_BYTES:]
    (magic,) = struct.unpack("<Q", footer[-8:])
    if magic != TABLE_MAGIC:
        raise CorruptArtifactError(f"{what} does not end with the table magic number: truncated or not an index.")
    _meta_offset, pos = _varint(footer, 0, what)
    _meta_size, pos = _varint(footer, pos, what)
    index_offset, pos = _varint(footer, pos, what)
    index_size, pos = _varint(footer, pos, what)
    seen: set[int] = set()
    for _, handle in _block_entries(_block(data, index_offset, index_size, what), what, budget):
        offset, p = _varint(handle, 0, what)
        size, _ = _varint(handle, p, what)
        if offset in seen:
            raise CorruptArtifactError(f"{what} points at the same block twice: damaged or crafted.")
        seen.add(offset)
        yield from _block_entries(_block(data, offset, size, what), what, budget)


def _block(data: bytes, offset: int, size: int, what: str) -> bytes:
    import google_crc32c

    end = offset + size
    if offset < 0 or end + BLOCK_TRAILER > len(data):
        raise CorruptArtifactError(f"{what} points past its own end: truncated or damaged.")
    if data[end] != 0:  # the trailer's compression byte: TF writes bundle indexes uncompressed
        raise CorruptArtifactError(f"{what} uses a compressed block (type {data[end]}), which tfscope cannot read.")
    (stored,) = struct.unpack("<I", data[end + 1 : end + BLOCK_TRAILER])
    crc = google_crc32c.value(data[offset : end + 1])
    if stored != (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF:  # LevelDB's masked crc32c
        raise CorruptArtifactError(
            f"{what} fails its checksum at byte {offset:,}: the file is damaged.",
            "Copy the checkpoint again from where it was written.",
        )
    return data[offset:end]


def _block_entries(block: bytes, what: str, budget: Budget | None = None) -> Iterator[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise CorruptArtifactError(f"{what} has a damaged block.")
    (restarts,) = struct.unpack("<I", block[-4:])
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise CorruptArtifactError(f"{what} has a damaged block.")
    pos = 0
    key = b""
    while pos < limit:
        if budget is not None:
            budget.spend(1, on="checkpoint entries")
        shared, pos = _varint(block, pos, what)
        unshared, pos = _varint(block, pos, what)
        value_len, pos = _varint(block, pos, what)
        if shared > len(key) or pos + unshared + value_len > limit:
            raise CorruptArtifactError(f"{what} has a damaged entry.")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + value_len]
        pos += value_len


def _varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    result = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise CorruptArtifactError(f"{what} has a damaged length field.")
