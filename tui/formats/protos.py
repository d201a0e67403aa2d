"""TensorFlow protobuf messages, without importing TensorFlow.

tensorboard ships most of TF's protos under `tensorboard.compat.proto`. The few it lacks (the
SavedModel wrapper, the fingerprint, the tensor-bundle index entries, Keras 2's metadata) are small:
they are declared here as descriptors, wire-compatible with TF's, and built once at run time.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from tensorboard.compat.proto import (  # noqa: F401  (registers the types the messages below refer to)
    meta_graph_pb2,
    tensor_shape_pb2,
    types_pb2,
    versions_pb2,
)

_F: Any = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "tfscope.proto"


def _field(name: str, number: int, kind: int, *, repeated: bool = False, type_name: str = "") -> Any:
    label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
    field = _F(name=name, number=number, type=kind, label=label)
    if type_name:  # an empty type_name still counts as set
        field.type_name = type_name
    return field


@functools.cache
def _classes() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="tfscope/tf_messages.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=[
            "tensorboard/compat/proto/meta_graph.proto",
            "tensorboard/compat/proto/types.proto",
            "tensorboard/compat/proto/tensor_shape.proto",
            "tensorboard/compat/proto/versions.proto",
        ],
    )
    messages = {
        # tensorflow/core/protobuf/saved_model.proto
        "SavedModel": [
            _field("saved_model_schema_version", 1, _F.TYPE_INT64),
            _field("meta_graphs", 2, _F.TYPE_MESSAGE, repeated=True, type_name=".tensorboard.MetaGraphDef"),
        ],
        # tensorflow/core/protobuf/fingerprint.proto
        "FingerprintDef": [
            _field("saved_model_checksum", 1, _F.TYPE_UINT64),
            _field("graph_def_program_hash", 2, _F.TYPE_UINT64),
            _field("signature_def_hash", 3, _F.TYPE_UINT64),
            _field("saved_object_graph_hash", 4, _F.TYPE_UINT64),
            _field("checkpoint_hash", 5, _F.TYPE_UINT64),
            _field("version", 6, _F.TYPE_MESSAGE, type_name=".tensorboard.VersionDef"),
        ],
        # tensorflow/core/protobuf/tensor_bundle.proto
        "BundleHeaderProto": [
            _field("num_shards", 1, _F.TYPE_INT32),
            _field("endianness", 2, _F.TYPE_INT32),
            _field("version", 3, _F.TYPE_MESSAGE, type_name=".tensorboard.VersionDef"),
        ],
        "BundleEntryProto": [
            _field("dtype", 1, _F.TYPE_ENUM, type_name=".tensorboard.DataType"),
            _field("shape", 2, _F.TYPE_MESSAGE, type_name=".tensorboard.TensorShapeProto"),
            _field("shard_id", 3, _F.TYPE_INT32),
            _field("offset", 4, _F.TYPE_INT64),
            _field("size", 5, _F.TYPE_INT64),
            _field("crc32c", 6, _F.TYPE_FIXED32),
            _field("slices", 7, _F.TYPE_BYTES, repeated=True),  # TensorSliceProto, unused here
        ],
        # tf_keras/protobuf/saved_metadata.proto (Keras 2 SavedModels' keras_metadata.pb)
        "SavedObject": [
            _field("node_id", 2, _F.TYPE_INT32),
            _field("node_path", 3, _F.TYPE_STRING),
            _field("identifier", 4, _F.TYPE_STRING),
            _field("metadata", 5, _F.TYPE_STRING),
            _field("version", 6, _F.TYPE_MESSAGE, type_name=".tensorboard.VersionDef"),
        ],
        "SavedMetadata": [
            _field("nodes", 1, _F.TYPE_MESSAGE, repeated=True, type_name=f".{_PACKAGE}.SavedObject"),
        ],
    }
    for name, fields in messages.items():
        file.message_type.add(name=name, field=fields)
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}")) for name in messages
    }


def message(name: str) -> Any:
    """A new, empty message of one of the classes declared above."""
    return _classes()[name]()


def dtype_name(enum_value: int) -> str:
    """TensorFlow's name for a DataType enum value: DT_FLOAT -> "float32", DT_STRING -> "string"."""
    try:
        raw = str(types_pb2.DataType.Name(enum_value))
    except ValueError:
        return f"dtype({enum_value})"
    base = raw.removeprefix("DT_").removesuffix("_REF").lower()
    return {"float": "float32", "double": "float64", "half": "float16", "invalid": "composite"}.get(base, base)


def shape_of(proto: Any) -> tuple[int | None, ...] | None:
    """A TensorShapeProto as a tuple with None for unknown dims, or None for an unknown rank."""
    if proto.unknown_rank:
        return None
    return tuple(None if d.size < 0 else int(d.size) for d in proto.dim)
