"""Crafted model files: what an attacker (or a broken exporter) can put in a bucket.

Each generator takes the test zoo (real files made by TF/Keras, see build_zoo.py) and writes variants
that attack one reader's assumptions: JSON of the wrong type or absurd depth, ids out of range,
sizes that lie, shared structures that multiply work, links to files on this machine, zip bombs.
`write_all(zoo, dest)` writes every case under `dest` and returns their paths; tests/fuzzing.py runs
them (and random mutations) through `tfscope inspect`'s readers, each in a watched subprocess.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Writer = Callable[[Path, Path], Iterator[Path]]
"""(zoo, folder to write into) -> the paths of the cases written (files or model folders)."""

WRONG_TYPES: list[Any] = [[], "text", 7, None, True, [1, "a", None, {}], {"x": []}]
DEEP = 100_000
"""Nesting depth of the deep-JSON cases: far past Python's recursion limit."""


def deep_json(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def _config_variants(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(name, JSON text) of a Keras model config attacked one way at a time."""
    for i, value in enumerate(WRONG_TYPES):
        yield f"config-is-{i}", json.dumps(value)
        yield f"inner-config-is-{i}", json.dumps({**config, "config": value})
        yield f"layers-is-{i}", json.dumps({**config, "config": {**config.get("config", {}), "layers": value}})
        layers = list(config.get("config", {}).get("layers", []))
        if layers:
            first = layers[0]
            broken = [{**first, "config": value}, {**first, "class_name": value}, {**first, "inbound_nodes": value},
                      {**first, "build_config": value}, value]  # fmt: skip
            for j, layer in enumerate(broken):
                yield f"layer-{j}-is-{i}", json.dumps({**config, "config": {**config["config"],
                                                       "layers": [layer, *layers[1:]]}})  # fmt: skip
            named = [{**layer, "config": {**(layer.get("config") or {}), "name": value}} for layer in layers]
            yield f"names-are-{i}", json.dumps({**config, "config": {**config["config"], "layers": named}})
    yield "deep", deep_json()
    yield (
        "deep-in-layers",
        json.dumps({**config, "config": {"layers": []}}).replace('"layers": []', '"layers": ' + deep_json(3000)),
    )
    # nested models 400 deep, each a valid config (written as text: json.dumps would recurse too deep)
    opening = '{"class_name": "Functional", "config": {"name": "m", "layers": ['
    yield "nested-models-400", opening * 400 + '{"class_name": "Functional", "config": {"layers": []}}' + "]}}" * 400
    yield "not-utf8", "\udcff"  # written with surrogateescape: a byte that is no UTF-8


def _write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


# -- .keras ---------------------------------------------------------------------------------------


def _rezip(source: Path, dest: Path, replace: dict[str, bytes | None], compression: int | None = None) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w") as zout:
        for item in zin.infolist():
            if item.filename in replace:
                data = replace[item.filename]
                if data is None:
                    continue
            else:
                data = zin.read(item.filename)
            info = zipfile.ZipInfo(item.filename, item.date_time)
            info.compress_type = item.compress_type if compression is None else compression
            zout.writestr(info, data)
    return dest


def keras_cases(zoo: Path, out: Path) -> Iterator[Path]:
    source = zoo / "keras/functional.keras"
    with zipfile.ZipFile(source) as z:
        config = json.loads(z.read("config.json"))
        weights = z.read("model.weights.h5")
    for name, text in _config_variants(config):
        yield _rezip(source, out / f"config-{name}.keras", {"config.json": text.encode("utf-8", "surrogateescape")})
    for i, value in enumerate(WRONG_TYPES):
        yield _rezip(source, out / f"metadata-{i}.keras", {"metadata.json": json.dumps(value).encode()})
        compile_config = {**config, "compile_config": {"optimizer": value, "loss": value}}
        yield _rezip(source, out / f"compile-{i}.keras", {"config.json": json.dumps(compile_config).encode()})
    yield _rezip(source, out / "no-weights.keras", {"model.weights.h5": None})
    yield _rezip(source, out / "weights-garbage.keras", {"model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\xff" * 4000})
    yield _rezip(source, out / "weights-truncated.keras", {"model.weights.h5": weights[: len(weights) // 2]})
    yield _rezip(source, out / "weights-deflated.keras", {}, compression=zipfile.ZIP_DEFLATED)
    yield _weights_bomb(source, out / "weights-bomb.keras")
    yield _many_members(out / "many-members.keras", config)
    yield _lying_central_directory(source, out / "lying-directory.keras")
    yield _bad_local_header(source, out / "bad-local-header.keras")
    yield _future_zip_version(source, out / "zip-version-99.keras")
    yield _write_and_return(out / "not-a-zip.keras", b"PK\x03\x04" + b"\0" * 100)
    yield _write_and_return(out / "empty.keras", b"")


def _write_and_return(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _weights_bomb(source: Path, dest: Path) -> Path:
    """model.weights.h5 deflated from 4 GB of zeros behind a real HDF5 header: ~4 MB on disk."""
    import zlib

    with zipfile.ZipFile(source) as z:
        weights = z.read("model.weights.h5")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(weights) + compressor.flush(zlib.Z_FULL_FLUSH)
    # After a full flush the stream refers to nothing before it, so one block of zeros can repeat.
    zeros = compressor.compress(b"\0" * (1 << 24)) + compressor.flush(zlib.Z_FULL_FLUSH)
    payload = head + zeros * 256 + compressor.flush()
    total = len(weights) + 256 * (1 << 24)
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w") as zout:
        for item in zin.infolist():
            if item.filename != "model.weights.h5":
                zout.writestr(item, zin.read(item.filename))
    # Append the bomb by hand: zipfile cannot write a member it did not compress itself.
    data = bytearray(dest.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    directory = bytes(data[cd_offset : cd_offset + cd_size])
    body = bytes(data[:cd_offset])
    name = b"model.weights.h5"
    crc = 0  # never checked before the sizes are
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0, 8, 0, 0, crc, len(payload) & 0xFFFFFFFF,
                        0xFFFFFFFF, len(name), 20) + name  # fmt: skip
    local += struct.pack("<HHQQ", 1, 16, total, len(payload))
    offset = len(body)
    entry = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0, 8, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                        len(name), 28, 0, 0, 0, 0, 0xFFFFFFFF) + name  # fmt: skip
    entry += struct.pack("<HHQQQ", 1, 24, total, len(payload), offset)
    new_directory = directory + entry
    count = directory.count(b"PK\x01\x02") + 1
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(new_directory),
                      offset + len(local) + len(payload), 0)  # fmt: skip
    dest.write_bytes(body + local + payload + new_directory + end)
    return dest


def _many_members(dest: Path, config: dict[str, Any]) -> Path:
    with zipfile.ZipFile(dest, "w") as z:
        z.writestr("config.json", json.dumps(config))
        for i in range(60_000):
            z.writestr(f"m/{i}", b"")
    return dest


def _lying_central_directory(source: Path, dest: Path) -> Path:
    data = bytearray(source.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HHI", data, eocd + 8, 0xFFFF, 0xFFFF, 0x7FFFFFFF)  # entries and a 2 GB directory size
    dest.write_bytes(bytes(data))
    return dest


def _future_zip_version(source: Path, dest: Path) -> Path:
    """Every central directory entry says it needs zip version 9.9 to extract (found by mutation)."""
    data = bytearray(source.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        struct.pack_into("<H", data, at + 6, 99)
        at = data.find(b"PK\x01\x02", at + 4)
    dest.write_bytes(bytes(data))
    return dest


def _bad_local_header(source: Path, dest: Path) -> Path:
    data = bytearray(source.read_bytes())
    at = data.find(b"PK\x03\x04", data.find(b"model.weights.h5") - 40)
    if at >= 0:
        struct.pack_into("<HH", data, at + 26, 0xFFFF, 0xFFFF)  # name and extra lengths past the end
    dest.write_bytes(bytes(data))
    return dest


# -- .h5 ------------------------------------------------------------------------------------------


def h5_cases(zoo: Path, out: Path) -> Iterator[Path]:
    import h5py

    source = zoo / "keras/functional.h5"
    with h5py.File(source, "r") as h5:
        config = json.loads(h5.attrs["model_config"])

    def variant(name: str, change: Callable[[Any], None]) -> Path:
        dest = out / f"{name}.h5"
        shutil.copy(source, dest)
        with h5py.File(dest, "r+") as h5:
            change(h5)
        return dest

    for name, text in _config_variants(config):
        if name != "not-utf8":
            yield variant(f"config-{name}", lambda h5, t=text: h5.attrs.__setitem__("model_config", t))
    for i, value in enumerate(WRONG_TYPES):
        text = json.dumps(value)
        yield variant(f"training-{i}", lambda h5, t=text: h5.attrs.__setitem__("training_config", t))
        yield variant(f"training-optimizer-{i}", lambda h5, t=text: h5.attrs.__setitem__(
            "training_config", json.dumps({"optimizer_config": json.loads(t), "loss": json.loads(t)})))  # fmt: skip
    yield variant("keras-version-array", lambda h5: h5.attrs.__setitem__("keras_version", [1, 2, 3]))
    yield variant("config-bytes", lambda h5: h5.attrs.__setitem__("model_config", b"\xff\xfe"))
    yield variant("config-huge-attr", lambda h5: _huge_attribute(h5))

    def external(h5: Any, target: str) -> None:
        del h5["model_weights"]
        h5["model_weights"] = h5py.ExternalLink(target, "/")

    yield variant("weights-external-missing", lambda h5: external(h5, "/nonexistent/weights.h5"))
    yield variant("weights-external-local", lambda h5: external(h5, str(zoo / "keras/sequential.h5")))

    def soft_cycle(h5: Any) -> None:
        group = h5["model_weights"].create_group("loop")
        group["back"] = h5py.SoftLink("/model_weights/loop")
        group["up"] = h5py.SoftLink("/model_weights")

    yield variant("soft-link-cycle", soft_cycle)

    def external_storage(h5: Any) -> None:
        h5["model_weights"].create_dataset("stolen", shape=(16,), dtype="uint8", external=[("/etc/hostname", 0, 16)])

    yield variant("dataset-external-storage", external_storage)

    def weights_as_dataset(h5: Any) -> None:
        del h5["model_weights"]
        h5["model_weights"] = [1, 2, 3]

    yield variant("weights-is-dataset", weights_as_dataset)
    yield variant("layer-names-attr-ints", lambda h5: h5["model_weights"].attrs.__setitem__("layer_names", [1, 2]))

    def many_groups(h5: Any) -> None:
        parent = h5["model_weights"].create_group("many")
        for i in range(100_000):
            parent.create_group(str(i))

    yield variant("many-groups", many_groups)

    def huge_shape(h5: Any) -> None:
        h5["model_weights"].create_dataset("huge", shape=(2**40, 2**40), dtype="float32", chunks=(1, 1))

    yield variant("huge-shape", huge_shape)
    yield _global_heap_loop(source, out / "global-heap-loop.h5")
    yield _write_and_return(out / "only-magic.h5", b"\x89HDF\r\n\x1a\n")
    yield _write_and_return(out / "empty.h5", b"")


def _global_heap_loop(source: Path, dest: Path) -> Path:
    """An empty object header at the start of the global heap (where string attributes live): the HDF5
    library then loops forever inside C code, where nothing in Python can stop it."""
    data = source.read_bytes()
    heap = data.find(b"GCOL")
    dest.write_bytes(data[: heap + 16] + b"\0" * 16 + data[heap + 16 :])
    return dest


def _huge_attribute(h5: Any) -> None:
    import numpy as np

    h5.attrs.create("model_config", np.frombuffer(b"[" * (200 * 1024 * 1024), dtype="S1").tobytes())


# -- SavedModel -----------------------------------------------------------------------------------


def _saved_model(path: Path) -> Any:
    from tui.formats.protos import message

    sm = message("SavedModel")
    sm.ParseFromString(path.read_bytes())
    return sm


def _saved_model_folder(out: Path, name: str, sm: Any, extra: dict[str, bytes] | None = None) -> Path:
    folder = out / name
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(sm.SerializeToString() if not isinstance(sm, bytes) else sm)
    for file, data in (extra or {}).items():
        (folder / file).write_bytes(data)
    return folder


def saved_model_cases(zoo: Path, out: Path) -> Iterator[Path]:
    from tui.formats.protos import message

    multi = zoo / "saved/multi/saved_model.pb"
    for name, change in _object_graph_attacks():
        sm = _saved_model(multi)
        change(sm.meta_graphs[0].object_graph_def)
        yield _saved_model_folder(out, f"objects-{name}", sm)
    sm = _saved_model(multi)
    del sm.meta_graphs[:]
    yield _saved_model_folder(out, "no-meta-graphs", sm)
    sm = _saved_model(multi)
    for sig in sm.meta_graphs[0].signature_def.values():
        for tensor in sig.inputs.values():
            tensor.dtype = 9999
            tensor.tensor_shape.dim.add().size = -(2**62)
    yield _saved_model_folder(out, "signature-odd-tensors", sm)
    tf1 = _saved_model(zoo / "saved/tf1/saved_model.pb")
    tf1.meta_graphs[0].collection_def["trainable_variables"].bytes_list.value.append(b"\xff\xff\xff")
    yield _saved_model_folder(out, "tf1-garbage-collection", tf1)
    tf1 = _saved_model(zoo / "saved/tf1/saved_model.pb")
    for node in tf1.meta_graphs[0].graph_def.node:
        node.attr["shape"].shape.dim.add().size = 2**62
        node.attr["dtype"].type = 12345
    yield _saved_model_folder(out, "tf1-odd-variables", tf1)
    yield _many_nodes(out, multi)
    yield _saved_model_folder(out, "empty-pb", b"")
    yield _saved_model_folder(out, "garbage-pb", b"\xff" * 1000)
    text = out / "pbtxt-deep"
    text.mkdir()
    (text / "saved_model.pbtxt").write_text("meta_graphs { " * 5000 + "}" * 5000)
    yield text
    text = out / "pbtxt-garbage"
    text.mkdir()
    (text / "saved_model.pbtxt").write_bytes(b"\xff\xfe meta_graphs {{{")
    yield text
    keras2 = zoo / "keras2/saved"
    base = (keras2 / "saved_model.pb").read_bytes()
    metadata = message("SavedMetadata")
    metadata.ParseFromString((keras2 / "keras_metadata.pb").read_bytes())
    for i, value in enumerate([*WRONG_TYPES, "DEEP"]):
        crafted = message("SavedMetadata")
        crafted.CopyFrom(metadata)
        for node in crafted.nodes:
            node.metadata = deep_json() if value == "DEEP" else json.dumps(value)
        yield _saved_model_folder(out, f"keras-metadata-{i}", base, {"keras_metadata.pb": crafted.SerializeToString()})
        crafted.CopyFrom(metadata)
        root = next(n for n in crafted.nodes if n.node_path == "root")
        meta = json.loads(root.metadata)
        meta["config"] = {"layers": value} if value != "DEEP" else deep_json(5000)
        root.metadata = json.dumps(meta)
        yield _saved_model_folder(out, f"keras-metadata-root-{i}", base,
                                  {"keras_metadata.pb": crafted.SerializeToString()})  # fmt: skip
    yield _saved_model_folder(out, "keras-metadata-garbage", base, {"keras_metadata.pb": b"\xff" * 64})
    yield _saved_model_folder(out, "fingerprint-garbage", base, {"fingerprint.pb": b"\xff" * 64})


def _object_graph_attacks() -> Iterator[tuple[str, Callable[[Any], None]]]:
    def child_ids(value: int) -> Callable[[Any], None]:
        def change(graph: Any) -> None:
            for node in graph.nodes:
                for child in node.children:
                    child.node_id = value

        return change

    def cycle(graph: Any) -> None:
        for node in graph.nodes:
            node.children.add(node_id=0, local_name="root-again")

    def empty(graph: Any) -> None:
        del graph.nodes[:]

    def odd_variables(graph: Any) -> None:
        for node in graph.nodes:
            if node.WhichOneof("kind") == "variable":
                node.variable.shape.dim.add().size = -(2**62)
                node.variable.dtype = 777

    def slots_everywhere(graph: Any) -> None:
        for node in graph.nodes:
            node.slot_variables.add(original_variable_node_id=-5, slot_variable_node_id=2**31 - 1)

    yield "negative-ids", child_ids(-1)
    yield "min-ids", child_ids(-(2**31))
    yield "huge-ids", child_ids(2**31 - 1)
    yield "cycles", cycle
    yield "empty", empty
    yield "odd-variables", odd_variables
    yield "slots-everywhere", slots_everywhere


def _many_nodes(out: Path, source: Path) -> Path:
    """Three million one-letter nodes: a 20 MB graph that costs seconds per pass to walk."""
    sm = _saved_model(source)
    graph = sm.meta_graphs[0].graph_def
    for _ in range(3_000_000):
        graph.node.add().op = "A"
    return _saved_model_folder(out, "many-nodes", sm)


# -- checkpoints ----------------------------------------------------------------------------------


def checkpoint_cases(zoo: Path, out: Path) -> Iterator[Path]:
    from tui.formats.checkpoint import FOOTER_BYTES

    source = zoo / "ckpt/slots"
    index = (source / "ckpt-1.index").read_bytes()

    def case(name: str, index_bytes: bytes, state: str | None = None, shard: bytes | None = None) -> Path:
        folder = out / name
        folder.mkdir()
        (folder / "ckpt-1.index").write_bytes(index_bytes)
        (folder / "ckpt-1.data-00000-of-00001").write_bytes(
            shard if shard is not None else (source / "ckpt-1.data-00000-of-00001").read_bytes()
        )
        if state is not None:
            (folder / "checkpoint").write_text(state)
        return folder / "ckpt-1.index"

    for bit in range(0, len(index) - FOOTER_BYTES, max(1, (len(index) - FOOTER_BYTES) // 15)):
        flipped = bytearray(index)
        flipped[bit] ^= 0x10
        yield case(f"bitflip-{bit}", bytes(flipped))
    yield case("handles-to-one-block", _repeated_handles(index))
    yield case("graph-entry-huge", _object_graph_entry(index, size=2**62))
    yield case("graph-entry-past-shard", _object_graph_entry(index, offset=2**40))
    yield case("shard-missing", index, shard=b"")
    yield case("state-points-outside", index, state='model_checkpoint_path: "/etc/passwd"\n').parent
    yield case("state-climbs", index, state='model_checkpoint_path: "../../../../etc/ckpt"\n').parent
    yield case("state-garbage", index, state="\xff\x00 not a state file").parent
    yield case("compressed-block", _compressed(index))
    yield case("restarts-huge", _restarts(index, 0xFFFFFFFF))
    yield case("varint-overflow", index[:-FOOTER_BYTES] + b"\xff" * 40 + index[-8:])
    yield case("only-footer", index[-FOOTER_BYTES:])


def _table_footer(index: bytes) -> tuple[int, int]:
    from tui.formats.checkpoint import FOOTER_BYTES, _varint

    footer = index[-FOOTER_BYTES:]
    _, pos = _varint(footer, 0, "")
    _, pos = _varint(footer, pos, "")
    offset, pos = _varint(footer, pos, "")
    size, _ = _varint(footer, pos, "")
    return offset, size


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _block_with_trailer(contents: bytes) -> bytes:
    import google_crc32c

    crc = google_crc32c.value(contents + b"\0")
    masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    return contents + b"\0" + struct.pack("<I", masked)


def _with_index_block(index: bytes, block: bytes) -> bytes:
    """The table with its index block replaced by `block` (appended before a new footer)."""
    from tui.formats.checkpoint import FOOTER_BYTES, TABLE_MAGIC

    body = index[:-FOOTER_BYTES]
    offset = len(body)
    body += _block_with_trailer(block)
    footer = _varint_bytes(0) + _varint_bytes(0) + _varint_bytes(offset) + _varint_bytes(len(block))
    footer = footer.ljust(FOOTER_BYTES - 8, b"\0") + struct.pack("<Q", TABLE_MAGIC)
    return body + footer


def _repeated_handles(index: bytes) -> bytes:
    """An index block of 20,000 entries that all point at the first data block."""
    offset, size = _table_footer(index)
    from tui.formats.checkpoint import _block_entries

    first_handle = next(iter(_block_entries(index[offset : offset + size], "")))[1]
    entries = bytearray()
    for i in range(20_000):
        key = f"k{i:06d}".encode()
        entries += _varint_bytes(0) + _varint_bytes(len(key)) + _varint_bytes(len(first_handle)) + key + first_handle
    entries += struct.pack("<II", 0, 1)
    return _with_index_block(index, bytes(entries))


def _object_graph_entry(index: bytes, size: int | None = None, offset: int | None = None) -> bytes:
    """The table rebuilt with the object graph's entry claiming another size or offset."""
    from tui.formats.checkpoint import OBJECT_GRAPH_KEY, read_table
    from tui.formats.protos import message

    rows = []
    for key, value in read_table(index, ""):
        if key == OBJECT_GRAPH_KEY.encode():
            entry = message("BundleEntryProto")
            entry.ParseFromString(value)
            if size is not None:
                entry.size = size
            if offset is not None:
                entry.offset = offset
            value = entry.SerializeToString()
        rows.append((key, value))
    return _table(rows)


def _table(rows: list[tuple[bytes, bytes]]) -> bytes:
    """A one-data-block table of `rows` (sorted keys), as TF's table builder writes it."""
    from tui.formats.checkpoint import FOOTER_BYTES, TABLE_MAGIC

    data = bytearray()
    for key, value in rows:
        data += _varint_bytes(0) + _varint_bytes(len(key)) + _varint_bytes(len(value)) + key + value
    data += struct.pack("<II", 0, 1)
    body = _block_with_trailer(bytes(data))
    handle = _varint_bytes(0) + _varint_bytes(len(data))
    last = rows[-1][0] + b"\xff"
    index_block = _varint_bytes(0) + _varint_bytes(len(last)) + _varint_bytes(len(handle)) + last + handle
    index_block += struct.pack("<II", 0, 1)
    index_offset = len(body)
    body += _block_with_trailer(index_block)
    footer = _varint_bytes(0) + _varint_bytes(0) + _varint_bytes(index_offset) + _varint_bytes(len(index_block))
    return body + footer.ljust(FOOTER_BYTES - 8, b"\0") + struct.pack("<Q", TABLE_MAGIC)


def _compressed(index: bytes) -> bytes:
    offset, size = _table_footer(index)
    data = bytearray(index)
    data[offset + size] = 1  # snappy
    return bytes(data)


def _restarts(index: bytes, count: int) -> bytes:
    offset, size = _table_footer(index)
    data = bytearray(index)
    struct.pack_into("<I", data, offset + size - 4, count)
    return bytes(data)


# -- TFLite ---------------------------------------------------------------------------------------


def tflite_cases(zoo: Path, out: Path) -> Iterator[Path]:
    yield _write_and_return(out / "only-identifier.tflite", b"\0\0\0\0TFL3")
    yield _write_and_return(out / "identifier-then-garbage.tflite", b"\x10\0\0\0TFL3" + b"\xff" * 64)
    yield _write_and_return(out / "root-past-end.tflite", struct.pack("<I", 2**31) + b"TFL3" + b"\0" * 64)
    yield _write_and_return(out / "shared-operators.tflite", _shared_vectors())
    yield _write_and_return(out / "odd-indices.tflite", _odd_indices())
    yield _write_and_return(out / "version-7.tflite", _model(version=7))
    yield _write_and_return(out / "no-subgraphs.tflite", _model(subgraphs=0))
    data = bytearray((zoo / "tflite/int8.tflite").read_bytes())
    for i, at in enumerate(range(8, len(data), max(1, len(data) // 12))):
        mutated = bytearray(data)
        struct.pack_into("<i", mutated, at - at % 4, -(2**31) + i)
        yield _write_and_return(out / f"int-{i}.tflite", bytes(mutated))


def _tables() -> Any:
    import flatbuffers

    return flatbuffers.Builder(1024)


def _model(version: int = 3, subgraphs: int = 1, operators: int = 1, share: bool = False,
           opcode_index: int = 0, signature_subgraph: int = 0, tensor_buffer: int = 0) -> bytes:  # fmt: skip
    """A TFLite flatbuffer made field by field (schema.fbs slots), to say what real converters never say."""
    b = _tables()
    name = b.CreateString("t")
    b.StartVector(4, 2, 4)
    b.PrependInt32(2**30)
    b.PrependInt32(-7)
    shape = b.EndVector()
    b.StartObject(8)  # Tensor
    b.PrependUOffsetTRelativeSlot(0, shape, 0)
    b.PrependUint32Slot(2, tensor_buffer, 0)
    b.PrependUOffsetTRelativeSlot(3, name, 0)
    tensor = b.EndObject()

    def vector(offsets: list[int]) -> int:
        b.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            b.PrependUOffsetTRelative(offset)
        return b.EndVector()

    def operator() -> int:
        b.StartObject(3)
        b.PrependUint32Slot(0, opcode_index, 0)
        return b.EndObject()

    shared_ops = vector([operator() for _ in range(operators)]) if share else 0
    graphs = []
    for _ in range(subgraphs):
        ops = shared_ops or vector([operator() for _ in range(operators)])
        tensors = vector([tensor])
        b.StartObject(5)  # SubGraph
        b.PrependUOffsetTRelativeSlot(0, tensors, 0)
        b.PrependUOffsetTRelativeSlot(3, ops, 0)
        graphs.append(b.EndObject())
    b.StartObject(4)  # OperatorCode
    b.PrependInt8Slot(0, 3, 0)
    b.PrependInt32Slot(3, 3, 0)
    code = b.EndObject()
    key = b.CreateString("serving_default")
    b.StartObject(5)  # SignatureDef
    b.PrependUOffsetTRelativeSlot(2, key, 0)
    b.PrependUint32Slot(4, signature_subgraph, 0)
    signature = b.EndObject()
    graph_vector, code_vector, signature_vector = vector(graphs), vector([code]), vector([signature])
    b.StartObject(8)  # Model
    b.PrependUint32Slot(0, version, 0)
    b.PrependUOffsetTRelativeSlot(1, code_vector, 0)
    b.PrependUOffsetTRelativeSlot(2, graph_vector, 0)
    b.PrependUOffsetTRelativeSlot(7, signature_vector, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())


def _shared_vectors() -> bytes:
    """20,000 subgraphs that all point at one vector of 20,000 operators: ~160 KB, 400 million visits."""
    return _model(subgraphs=20_000, operators=20_000, share=True)


def _odd_indices() -> bytes:
    return _model(opcode_index=2**31 - 1, signature_subgraph=2**31 - 1, tensor_buffer=2**31 - 1)


# -- all of them ----------------------------------------------------------------------------------

WRITERS: dict[str, Writer] = {
    "keras": keras_cases,
    "h5": h5_cases,
    "saved_model": saved_model_cases,
    "checkpoint": checkpoint_cases,
    "tflite": tflite_cases,
}


def write_all(zoo: Path, dest: Path) -> list[Path]:
    """Write every crafted case under `dest` (one folder per format); their paths, in order."""
    cases: list[Path] = []
    for name, writer in WRITERS.items():
        folder = dest / name
        folder.mkdir(parents=True, exist_ok=True)
        cases.extend(writer(zoo, folder))
    return cases
