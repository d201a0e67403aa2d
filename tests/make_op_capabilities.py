"""Generate `tui/formats/op_capabilities.json`: the ops that reach outside the graph, from TF's own op registry.

What it does
    1. Imports TensorFlow and lists every registered op (`TF_GetAllOpList`: the C registry, so hidden `_Send`,
       test and TPU ops are in it too, not only `tf.raw_ops`), with its inputs, attributes, documentation and
       whether any kernel is registered for it in this build.
    2. Flags CANDIDATES with deliberately broad heuristics (`why_candidate`): a telling word in the op's name
       (File, Save, Reader, Rpc, Debug, Print, Summary...), an input or attribute named like a file, a pattern,
       an address or a stream (filename, prefix, path, address, debug_urls, output_stream, memory_region_name...),
       or a telling phrase in its documentation (file system, checkpoint, grpc, stdout, python function...).
    3. Applies the hand-reviewed decisions below: every candidate is either in `REVIEWED` (capability, the input
       or attribute that names its target, a note) or in `EXCLUDED` with the reason it is a false positive.
    4. Saves a small `tf.Module` and a TF1 `SavedModelBuilder` model in a temporary folder and lists the op types
       their saver (save and restore) functions use: `saver_ops` are the capability ops among them (expected in
       every SavedModel), `saver_function_ops` all of them.

Run it
    .venv/bin/python tests/make_op_capabilities.py            # rewrite the JSON
    .venv/bin/python tests/make_op_capabilities.py --check    # exit 1 if the JSON on disk is not what it would write

How to review (for instance after a TensorFlow upgrade)
    The script refuses to write (exit 2) while a candidate has no decision, while a decision names an op that is
    no longer registered, or while a target names an input or attribute the op does not have. For each op it
    lists, read its op definition and kernel (tensorflow/core/ops/*.cc, tensorflow/core/kernels/...) and either
    add it to `REVIEWED` or give it a one-line reason in `EXCLUDED`. Then look at the diff of the JSON.
    Capability classes: file_read, file_write, file_list, file_map, network, stream, python. An op that does
    several things gets the most dangerous one (writing beats reading) and its note says the rest.
    Target: {"input": NAME, "input_index": I} or {"attr": NAME} for the argument whose value names the file,
    pattern, address, stream or Python function (I: its position among a NodeDef's data inputs); null when the
    target arrives some other way (a reader resource fed by a queue, a summary writer or RPC client resource
    made by another op, which is itself in the table).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Before TF is imported: keep its C++ logging quiet and stop google-auth probing for GCE metadata.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("NO_GCE_CHECK", "true")

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "tui" / "formats" / "op_capabilities.json"
GENERATED_BY = "tests/make_op_capabilities.py"
CAPABILITIES = ("file_read", "file_write", "file_list", "file_map", "network", "stream", "python")


@dataclass(frozen=True)
class OpFacts:
    """What the registry says about one op."""

    name: str
    inputs: tuple[str, ...]
    attrs: tuple[str, ...]
    doc: str
    has_kernel: bool
    list_inputs: frozenset[str] = frozenset()
    """Inputs that take a list of tensors (`N * T`, a type list): a NodeDef has one entry per tensor for them."""


# ---------------------------------------------------------------------------------------------------------------
# Heuristics: broad on purpose. A false positive costs one line in EXCLUDED; a miss is a hole in the scanner.
# ---------------------------------------------------------------------------------------------------------------

_NAME_RE = re.compile(
    r"File|Save|Restore|Checkpoint|Record|TextLine|CSV|Sql|LMDB|Snapshot|DataService|Register|Rpc|Remote|Debug"
    r"|Print|PyFunc|Summary|Reader|Writer|Immutable|Matching|Dump|Load|Export|Import|Server|Client|Distributed"
    r"|Send|Recv|Event|Vocab|Stream|Url|Socket|Grpc"
)
"""Words in an op name that say it may leave the graph."""

_ARG_RE = re.compile(
    r"file|path|prefix|pattern|dir(?:$|_)|directory|address|url|uri\b|protocol|data_source|server|vocab_file"
    r"|output_stream|memory_region|descriptor_source|^token$|^target$"
)
"""Input or attribute names that usually hold a file name, a pattern, an address or a function token."""

_DOC_RE = re.compile(
    r"\bfiles?\b|filenames?\b|file ?system|\bdisk\b|director(?:y|ies)|checkpoint|\burls?\b|\bgrpc\b|\brpc\b"
    r"|network address|socket|stdout|stderr|python (?:function|code|callable)|sqlite|database|tfrecord"
    r"|event file|summary writer|dispatcher|data service|memory region|memmap|logging",
    re.IGNORECASE,
)
"""Phrases in an op's documentation that say the same. Bare 'log' and 'python' match math ops and examples."""


def why_candidate(op: OpFacts) -> list[str]:
    """Say why the heuristics flag an op.

    Args:
        op: The op's registry facts.

    Returns:
        One short reason per heuristic that fired ("name:Save", "input:filename", ...); empty when none did.
    """
    reasons = [f"name:{m}" for m in sorted(set(_NAME_RE.findall(op.name)))]
    reasons += [f"input:{arg}" for arg in op.inputs if _ARG_RE.search(arg)]
    reasons += [f"attr:{attr}" for attr in op.attrs if _ARG_RE.search(attr)]
    reasons += [f"doc:{m}" for m in sorted({m.lower() for m in _DOC_RE.findall(op.doc)})]
    return reasons


# ---------------------------------------------------------------------------------------------------------------
# Hand-reviewed decisions. Target: "input:NAME", "attr:NAME" or None. Checked against each op's definition.
# ---------------------------------------------------------------------------------------------------------------

_QUEUE = "its file names arrive through a queue at ReaderRead*"
_WRITER = "writes through a summary writer resource made by CreateSummaryFileWriter or CreateSummaryDbWriter"
_SQLITE = "opens (creating) a SQLite database read-write and runs `query`, which can read, write or ATTACH files"
_DATA_SERVICE = "connects to a tf.data service dispatcher at `address` (`protocol`, e.g. grpc) and its workers"

REVIEWED: dict[str, tuple[str, str | None, str]] = {
    # Plain file IO (io_ops.cc).
    "ReadFile": ("file_read", "input:filename", "reads a whole file"),
    "WriteFile": ("file_write", "input:filename", "writes a whole file, creating its parent directories"),
    "MatchingFiles": ("file_list", "input:pattern", "lists the files matching a glob"),
    # Checkpoints (io_ops.cc, save_restore_v2_ops.cc).
    "Save": ("file_write", "input:filename", "writes a V1 checkpoint"),
    "SaveSlices": ("file_write", "input:filename", "writes slices to a V1 checkpoint"),
    "SaveV2": ("file_write", "input:prefix", "writes a V2 checkpoint shard: PREFIX.data-* and PREFIX.index"),
    "Restore": ("file_read", "input:file_pattern", "reads a V1 checkpoint (a glob)"),
    "RestoreSlice": ("file_read", "input:file_pattern", "reads a slice from a V1 checkpoint (a glob)"),
    "RestoreV2": ("file_read", "input:prefix", "reads tensors from a V1 or V2 checkpoint"),
    "DTensorRestoreV2": (
        "file_read",
        "input:prefix",
        "no kernel: DTensor rewrites it into RestoreV2 on each mesh device",
    ),
    "MergeV2Checkpoints": (
        "file_write",
        "input:destination_prefix",
        "reads the shards named by `checkpoint_prefixes`, writes the merged index, renames data files and "
        "deletes the old files (and their directories with delete_old_dirs)",
    ),
    "LoadAndRemapMatrix": ("file_read", "input:ckpt_path", "reads a tensor from a checkpoint"),
    "GenerateVocabRemapping": (
        "file_read",
        "input:new_vocab_file",
        "reads two vocabulary text files: `new_vocab_file` and `old_vocab_file`",
    ),
    # Lookup tables and samplers that load from files.
    "InitializeTableFromTextFile": ("file_read", "input:filename", "fills a lookup table from a text file"),
    "InitializeTableFromTextFileV2": ("file_read", "input:filename", "fills a lookup table from a text file"),
    "FixedUnigramCandidateSampler": ("file_read", "attr:vocab_file", "reads a vocabulary file when set"),
    "Skipgram": (
        "file_read",
        "attr:filename",
        "word2vec: reads a text corpus; deprecated at GraphDef version 19 but its kernel is still registered",
    ),
    "DecodeProtoV2": (
        "file_read",
        "attr:descriptor_source",
        "reads a FileDescriptorSet from this path unless it is 'local://' or 'bytes://'",
    ),
    "EncodeProto": (
        "file_read",
        "attr:descriptor_source",
        "reads a FileDescriptorSet from this path unless it is 'local://' or 'bytes://'",
    ),
    # Memory-mapped constants (immutable_constant_op.cc).
    "ImmutableConst": ("file_map", "attr:memory_region_name", "memory-maps a file (Env::NewReadOnlyMemoryRegion)"),
    # Queue-based readers (reader_ops.cc): the reader resource opens whatever file name the queue hands it.
    "FixedLengthRecordReader": ("file_read", None, f"reader of fixed-length records; {_QUEUE}"),
    "FixedLengthRecordReaderV2": ("file_read", None, f"reader of fixed-length records; {_QUEUE}"),
    "TFRecordReader": ("file_read", None, f"reader of TFRecord files; {_QUEUE}"),
    "TFRecordReaderV2": ("file_read", None, f"reader of TFRecord files; {_QUEUE}"),
    "TextLineReader": ("file_read", None, f"reader of text lines; {_QUEUE}"),
    "TextLineReaderV2": ("file_read", None, f"reader of text lines; {_QUEUE}"),
    "WholeFileReader": ("file_read", None, f"reader of whole files; {_QUEUE}"),
    "WholeFileReaderV2": ("file_read", None, f"reader of whole files; {_QUEUE}"),
    "LMDBReader": ("file_read", None, f"reader of LMDB databases; {_QUEUE}"),
    "ReaderRead": ("file_read", None, "dequeues a file name from `queue_handle` and reads it with the reader"),
    "ReaderReadV2": ("file_read", None, "dequeues a file name from `queue_handle` and reads it with the reader"),
    "ReaderReadUpTo": ("file_read", None, "dequeues file names from `queue_handle` and reads them with the reader"),
    "ReaderReadUpToV2": (
        "file_read",
        None,
        "dequeues file names from `queue_handle` and reads them with the reader",
    ),
    "RecordInput": ("file_read", "attr:file_pattern", "globs the pattern and reads the matching record files"),
    # tf.data sources and sinks.
    "TFRecordDataset": ("file_read", "input:filenames", "reads TFRecord files"),
    "TFRecordDatasetV2": ("file_read", "input:filenames", "reads TFRecord files"),
    "TextLineDataset": ("file_read", "input:filenames", "reads text files"),
    "FixedLengthRecordDataset": ("file_read", "input:filenames", "reads fixed-length records from files"),
    "FixedLengthRecordDatasetV2": ("file_read", "input:filenames", "reads fixed-length records from files"),
    "CSVDataset": ("file_read", "input:filenames", "reads CSV files"),
    "CSVDatasetV2": ("file_read", "input:filenames", "reads CSV files"),
    "ExperimentalCSVDataset": ("file_read", "input:filenames", "reads CSV files"),
    "LMDBDataset": ("file_read", "input:filenames", "reads LMDB database files"),
    "ExperimentalLMDBDataset": ("file_read", "input:filenames", "reads LMDB database files"),
    # SqliteQueryConnection opens READWRITE | CREATE: the query can write, and ATTACH can create more files.
    "SqlDataset": ("file_write", "input:data_source_name", _SQLITE),
    "ExperimentalSqlDataset": ("file_write", "input:data_source_name", _SQLITE),
    "MatchingFilesDataset": ("file_list", "input:patterns", "lists the files matching globs"),
    "ExperimentalMatchingFilesDataset": ("file_list", "input:patterns", "lists the files matching globs"),
    "LoadDataset": ("file_read", "input:path", "reads a dataset written by SaveDataset"),
    "SaveDataset": ("file_write", "input:path", "writes a dataset's elements under a directory"),
    "SaveDatasetV2": ("file_write", "input:path", "writes a dataset's elements under a directory"),
    "SnapshotDataset": ("file_write", "input:path", "writes a snapshot under `path`, or reads the one there"),
    "SnapshotDatasetV2": ("file_write", "input:path", "writes a snapshot under `path`, or reads the one there"),
    "SnapshotDatasetReader": ("file_read", "input:shard_dir", "reads one shard directory of a snapshot"),
    "SnapshotChunkDataset": ("file_read", "input:chunk_file", "reads one chunk file of a distributed snapshot"),
    "ListSnapshotChunksDataset": ("file_list", "input:snapshot_path", "lists the chunk files of a snapshot"),
    "CacheDataset": (
        "file_write",
        "input:filename",
        "caches elements in files named from `filename` when it is not empty, and reads them back on later epochs",
    ),
    "CacheDatasetV2": (
        "file_write",
        "input:filename",
        "caches elements in files named from `filename` when it is not empty, and reads them back on later epochs",
    ),
    "DatasetToTFRecord": ("file_write", "input:filename", "writes a dataset to a TFRecord file"),
    "ExperimentalDatasetToTFRecord": ("file_write", "input:filename", "writes a dataset to a TFRecord file"),
    # tf.data service (data_service_ops.cc).
    "DataServiceDataset": ("network", "input:address", f"reads elements: {_DATA_SERVICE}"),
    "DataServiceDatasetV2": ("network", "input:address", f"reads elements: {_DATA_SERVICE}"),
    "DataServiceDatasetV3": ("network", "input:address", f"reads elements: {_DATA_SERVICE}"),
    "DataServiceDatasetV4": ("network", "input:address", f"reads elements: {_DATA_SERVICE}"),
    "RegisterDataset": ("network", "input:address", f"sends the serialized dataset graph: {_DATA_SERVICE}"),
    "RegisterDatasetV2": ("network", "input:address", f"sends the serialized dataset graph: {_DATA_SERVICE}"),
    "DistributedSave": (
        "network",
        "input:address",
        "asks the tf.data service dispatcher at `address` to have its workers write the dataset under `directory`",
    ),
    # RPC (distribute/experimental/rpc).
    "RpcServer": ("network", "input:server_address", "creates a gRPC server that will listen on `server_address`"),
    "RpcServerStart": ("network", None, "starts listening; the address was given to RpcServer"),
    "RpcServerRegister": ("network", None, "serves function `f` to remote callers under `method_name`"),
    "RpcClient": ("network", "input:server_address", "creates a gRPC client for `server_address`"),
    "RpcCall": ("network", None, "sends `args` to the server of the RpcClient resource `client`"),
    # Debugger (debug_ops.cc): file:// URLs write dumps, grpc:// URLs stream tensors to a debug server.
    "DebugIdentity": ("network", "attr:debug_urls", "sends the tensor to grpc:// URLs or dumps it to file:// ones"),
    "DebugIdentityV3": ("network", "attr:debug_urls", "sends the tensor to grpc:// URLs or dumps it to file:// ones"),
    "DebugNanCount": ("network", "attr:debug_urls", "sends its result to grpc:// URLs or dumps it to file:// ones"),
    "DebugNumericSummary": (
        "network",
        "attr:debug_urls",
        "sends its result to grpc:// URLs or dumps it to file:// ones",
    ),
    "DebugIdentityV2": (
        "file_write",
        "attr:debug_urls",
        "writes tfdbg v2 debug event files under the dump root of its file:// URLs (DebugEventsWriter)",
    ),
    # Summaries (summary_kernels.cc).
    "CreateSummaryFileWriter": ("file_write", "input:logdir", "opens an event file under `logdir` for a writer"),
    "CreateSummaryDbWriter": ("file_write", "input:db_uri", "opens (creating) a SQLite database for a writer"),
    "WriteSummary": ("file_write", None, _WRITER),
    "WriteScalarSummary": ("file_write", None, _WRITER),
    "WriteHistogramSummary": ("file_write", None, _WRITER),
    "WriteImageSummary": ("file_write", None, _WRITER),
    "WriteAudioSummary": ("file_write", None, _WRITER),
    "WriteGraphSummary": ("file_write", None, _WRITER),
    "WriteRawProtoSummary": ("file_write", None, _WRITER),
    "ImportEvent": ("file_write", None, _WRITER),
    "FlushSummaryWriter": ("file_write", None, "flushes pending events to the writer's file"),
    "CloseSummaryWriter": ("file_write", None, "flushes pending events to the writer's file and closes it"),
    "StatsAggregatorSetSummaryWriter": (
        "file_write",
        None,
        "makes a tf.data stats aggregator write its statistics through the summary writer `summary`",
    ),
    # Quantization calibration (compiler/mlir/quantization).
    "CalibrationStatisticsSaver": (
        "file_write",
        "attr:output_file_path",
        "writes calibration statistics as a binary proto",
    ),
    "DumpTensor": (
        "file_write",
        "attr:log_dir_path",
        "creates `log_dir_path` and opens `log_dir_path`/`file_name` for writing when the kernel is built, even "
        "with enabled=false; writes the tensor when enabled",
    ),
    # Streams (logging_ops.cc).
    "PrintV2": (
        "stream",
        "attr:output_stream",
        "prints to 'stdout', 'stderr' or 'log(info|warning|error)'; 'file://PATH' appends to a file",
    ),
    "Print": ("stream", None, "writes `message` and the `data` tensors to stderr"),
    # Python callbacks (script_ops.cc).
    "PyFunc": ("python", "attr:token", "calls the Python function registered in this process under `token`"),
    "PyFuncStateless": ("python", "attr:token", "calls the Python function registered in this process under `token`"),
    "EagerPyFunc": ("python", "attr:token", "calls the Python function registered in this process under `token`"),
}

_EXCLUDED_GROUPS: tuple[tuple[str, str], ...] = (
    (
        "string manipulation or regex only: the file name or pattern is data, nothing is opened",
        "ShardedFilename ShardedFilespec RegexFullMatch RegexReplace StaticRegexFullMatch StaticRegexReplace "
        "StringToHashBucketStrong DecodeCSV",
    ),
    (
        "decodes bytes already in a tensor; 'file' in its doc is the file format",
        "DecodeImage DecodeJxl DecodeWav DecodeWebP EncodeWav AudioSpectrogram",
    ),
    (
        "builds a Summary proto in memory; only Write*Summary ops write it",
        "AudioSummary AudioSummaryV2 HistogramSummary ImageSummary MergeSummary ScalarSummary TensorSummary "
        "TensorSummaryV2 StatsAggregatorSummary ExperimentalStatsAggregatorSummary",
    ),
    (
        "creates a summary writer resource; the file is opened by CreateSummary*Writer",
        "SummaryWriter",
    ),
    (
        "reader state and counters only; the file IO happens in ReaderRead*",
        "ReaderNumRecordsProduced ReaderNumRecordsProducedV2 ReaderNumWorkUnitsCompleted "
        "ReaderNumWorkUnitsCompletedV2 ReaderReset ReaderResetV2 ReaderRestoreState ReaderRestoreStateV2 "
        "ReaderSerializeState ReaderSerializeStateV2",
    ),
    (
        "returns the queued work item itself as the record; opens no file",
        "IdentityReader IdentityReaderV2",
    ),
    (
        "lookup table import and export move tensors in memory",
        "LookupTableExport LookupTableExportV2 LookupTableImport LookupTableImportV2",
    ),
    (
        "tf.data transformation with no IO: the matched word is a metric prefix, a flag or the doc's example",
        "AutoShardDataset ExperimentalAutoShardDataset SetStatsAggregatorDataset "
        "ExperimentalSetStatsAggregatorDataset TensorSliceDataset SnapshotNestedDatasetReader",
    ),
    (
        "waits on or frees the future of an RpcCall; the connection is RpcClient's",
        "RpcCheckStatus RpcGetValue DeleteRpcFutureResource",
    ),
    (
        "tfdbg helper without debug URLs: computes or forwards in memory",
        "DebugGradientIdentity DebugGradientRefIdentity DebugNumericSummaryV2",
    ),
    (
        "debug_ops_spec only checks the in-process gRPC gate state; the Debug* ops do the sending",
        "Copy CopyHost",
    ),
    (
        "rendezvous between devices and tasks of the cluster the session was configured with; no address in the graph",
        "_Send _Recv _HostSend _HostRecv Send Recv CollectiveBcastSend CollectiveBcastRecv CollectiveBcastSendV2 "
        "CollectiveBcastRecvV2 RemoteCall",
    ),
    (
        "device-local transfer (XLA channel, NCCL, host and GPU memory)",
        "XlaSend XlaRecv _NcclBroadcastSend _NcclBroadcastRecv _NcclReduceSend _NcclReduceRecv",
    ),
    (
        "TPU/XLA host-device transfer or system setup; no kernel in this build and no file or address",
        "ConfigureDistributedTPU _ConfigureDistributedTPU ShutdownDistributedTPU _ShutdownDistributedTPU "
        "_WaitForDistributedTPU _InitializeHostForDistributedTPU _DisconnectHostFromDistributedTPUSystem "
        "XlaSendToHost XlaRecvFromHost _XlaSendFromHost _XlaSendFromHostV2 _XlaRecvAtHost _XlaRecvAtHostV2 "
        "RecvTPUEmbeddingActivations SendTPUEmbeddingGradients XlaRecvTPUEmbeddingActivations "
        "XlaRecvTPUEmbeddingActivationsV2 XlaRecvTPUEmbeddingDeduplicationData "
        "XlaRecvTPUEmbeddingDeduplicationDataV2 XlaSendTPUEmbeddingGradients XlaSendTPUEmbeddingGradientsV2",
    ),
    (
        "moves TPU embedding tables between tensors and TPU memory; 'checkpoint' in the doc is the caller's",
        "LoadAllTPUEmbeddingParameters LoadTPUEmbeddingADAMParameters LoadTPUEmbeddingAdadeltaParameters "
        "LoadTPUEmbeddingAdagradMomentumParameters LoadTPUEmbeddingAdagradParameters "
        "LoadTPUEmbeddingCenteredRMSPropParameters LoadTPUEmbeddingFTRLParameters "
        "LoadTPUEmbeddingFrequencyEstimatorParameters LoadTPUEmbeddingMDLAdagradLightParameters "
        "LoadTPUEmbeddingMomentumParameters LoadTPUEmbeddingProximalAdagradParameters "
        "LoadTPUEmbeddingProximalYogiParameters LoadTPUEmbeddingRMSPropParameters "
        "LoadTPUEmbeddingStochasticGradientDescentParameters RetrieveTPUEmbeddingADAMParameters "
        "RetrieveTPUEmbeddingAdadeltaParameters RetrieveTPUEmbeddingAdagradMomentumParameters "
        "RetrieveTPUEmbeddingAdagradParameters RetrieveTPUEmbeddingCenteredRMSPropParameters "
        "RetrieveTPUEmbeddingFTRLParameters RetrieveTPUEmbeddingFrequencyEstimatorParameters "
        "RetrieveTPUEmbeddingMDLAdagradLightParameters RetrieveTPUEmbeddingMomentumParameters "
        "RetrieveTPUEmbeddingProximalAdagradParameters RetrieveTPUEmbeddingRMSPropParameters "
        "RetrieveTPUEmbeddingStochasticGradientDescentParameters",
    ),
    (
        "boosted trees: in-memory quantile sketches ('stream'), debug outputs and stats; no kernel in this build",
        "BoostedTreesCreateQuantileStreamResource BoostedTreesQuantileStreamResourceAddSummaries "
        "BoostedTreesQuantileStreamResourceDeserialize BoostedTreesQuantileStreamResourceFlush "
        "BoostedTreesQuantileStreamResourceGetBucketBoundaries BoostedTreesQuantileStreamResourceHandleOp "
        "IsBoostedTreesQuantileStreamResourceInitialized BoostedTreesExampleDebugOutputs "
        "BoostedTreesMakeStatsSummary",
    ),
    (
        "copies a tensor in memory (array_ops 'Snapshot', not tf.data snapshots)",
        "Snapshot",
    ),
    (
        "`top_paths` is the number of beam-search paths",
        "CTCBeamSearchDecoder",
    ),
    (
        "returns the current time; 'logging' is one of the doc's suggested uses",
        "Timestamp",
    ),
    (
        "sets a file system option (scheme, key, value) process-wide; opens no file itself",
        "FileSystemSetConfiguration",
    ),
)
"""(reason, space-separated op names): the candidates that are false positives, grouped by why."""
EXCLUDED: dict[str, str] = {name: reason for reason, names in _EXCLUDED_GROUPS for name in names.split()}


# ---------------------------------------------------------------------------------------------------------------
# Reading TensorFlow.
# ---------------------------------------------------------------------------------------------------------------


def generated_docstrings(tf_root: Path) -> dict[str, str]:
    """Map op name -> docstring of its generated Python wrapper, read without importing the wrappers.

    Most op definitions in the C registry carry no summary: the text lives in api_def files that are compiled
    into the `gen_*.py` wrappers only. Parsing those files finds the docs of ops outside `tf.raw_ops` too.

    Args:
        tf_root: The installed `tensorflow` package folder.

    Returns:
        Op name -> docstring, for every wrapper that calls `_apply_op_helper("OpName", ...)`.
    """
    docs: dict[str, str] = {}
    for path in sorted(tf_root.rglob("gen_*.py")):
        for func in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(func, ast.FunctionDef):
                continue
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "_apply_op_helper"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    docs.setdefault(node.args[0].value, ast.get_docstring(func) or "")
    return docs


def registry() -> tuple[str, dict[str, OpFacts]]:
    """Read every op registered in this TensorFlow.

    Returns:
        TensorFlow's version and op name -> its facts.
    """
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session
    from tensorflow.python.framework import kernels

    op_list = op_def_pb2.OpList()
    op_list.ParseFromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
    docs = generated_docstrings(Path(tf.__file__).parent)
    ops = {}
    for op_def in op_list.op:
        doc = "\n".join(part for part in (op_def.summary, op_def.description, docs.get(op_def.name, "")) if part)
        ops[op_def.name] = OpFacts(
            name=op_def.name,
            inputs=tuple(arg.name for arg in op_def.input_arg),
            attrs=tuple(attr.name for attr in op_def.attr),
            doc=doc,
            has_kernel=bool(kernels.get_registered_kernels_for_op(op_def.name).kernel),
            list_inputs=frozenset(arg.name for arg in op_def.input_arg if arg.number_attr or arg.type_list_attr),
        )
    return tf.__version__, ops


def _function_ops(library: dict[str, Any], name: str, seen: set[str]) -> Iterator[str]:
    """Yield the op types in library function `name` and in the functions it calls; each function once.

    Args:
        library: Function name -> FunctionDef (protobuf messages are untyped, hence Any).
        name: The function to walk; names not in the library (ordinary op types) yield nothing.
        seen: Functions already walked, updated in place.

    Yields:
        Op types, with repeats.
    """
    if name in seen or name not in library:
        return
    seen.add(name)
    for node in library[name].node_def:
        yield node.op
        yield from _called_ops(library, node, seen)


def _called_ops(library: dict[str, Any], node: Any, seen: set[str]) -> Iterator[str]:
    """Yield the op types of the functions a NodeDef calls: as its op type or through a func-valued attribute."""
    yield from _function_ops(library, node.op, seen)
    for value in node.attr.values():
        for func in (value.func, *value.list.func):
            if func.name:
                yield from _function_ops(library, func.name, seen)


def saver_op_types(saved_model_dir: Path) -> set[str]:
    """List the op types the saver of a SavedModel uses: everything its save and restore nodes reach.

    Args:
        saved_model_dir: A SavedModel folder.

    Returns:
        Op types of the nodes feeding `saver_def`'s save tensor and restore op, and of the functions they call.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((saved_model_dir / "saved_model.pb").read_bytes())
    found: set[str] = set()
    for meta_graph in saved_model.meta_graphs:
        nodes = {node.name: node for node in meta_graph.graph_def.node}
        library = {func.signature.name: func for func in meta_graph.graph_def.library.function}
        saver = meta_graph.saver_def
        todo = [saver.save_tensor_name.split(":")[0], saver.restore_op_name.split(":")[0]]
        visited: set[str] = set()
        called: set[str] = set()
        while todo:
            name = todo.pop()
            if name in visited or name not in nodes:
                continue
            visited.add(name)
            found.add(nodes[name].op)
            found.update(_called_ops(library, nodes[name], called))
            # Control inputs count: TF1's restore_all is a NoOp whose control inputs do the restoring.
            todo.extend(inp.lstrip("^").split(":")[0] for inp in nodes[name].input)
    return found


def standard_saver_ops() -> set[str]:
    """Save two ordinary models in a temporary folder and list what their savers use.

    A TF2 `tf.Module` (what Keras models and `model.export()` get too) and a TF1 `SavedModelBuilder` graph,
    whose saver is sharded, cover the saver code paths a SavedModel is normally written by.

    Returns:
        The union of the op types their save and restore subgraphs use.
    """
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        module = tf.Module()
        module.weights = tf.Variable([1.0, 2.0])
        module.step = tf.Variable(0, dtype=tf.int64)
        module.table = tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, default_value=-1)
        module.scale = tf.function(lambda x: x * module.weights, input_signature=[tf.TensorSpec([2])])
        tf.saved_model.save(module, f"{tmp}/tf2")

        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
            tf.compat.v1.get_variable("weights", [2])
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(f"{tmp}/tf1")
            builder.add_meta_graph_and_variables(session, ["serve"])
            builder.save()
        return saver_op_types(Path(tmp, "tf2")) | saver_op_types(Path(tmp, "tf1"))


# ---------------------------------------------------------------------------------------------------------------
# Checking the review and building the table.
# ---------------------------------------------------------------------------------------------------------------


def parse_target(op: OpFacts, target: str | None) -> dict[str, str | int] | None:
    """Turn a reviewed target into its JSON form.

    Args:
        op: The op's registry facts.
        target: "input:NAME", "attr:NAME" or None.

    Returns:
        {"input": NAME, "input_index": I}, {"attr": NAME} or None. I is the input's position in a NodeDef's
        data inputs (control inputs, "^name", come after them), which `_target_problems` checks is fixed.
    """
    if target is None:
        return None
    kind, _, name = target.partition(":")
    if kind == "input":
        return {"input": name, "input_index": op.inputs.index(name)}
    return {kind: name}


def review_problems(ops: dict[str, OpFacts], candidates: dict[str, list[str]]) -> Iterator[str]:
    """Yield every way the hand review is out of step with this TensorFlow's registry.

    Args:
        ops: The registry.
        candidates: Op name -> why the heuristics flag it.

    Yields:
        One human-readable line per problem.
    """
    for name in sorted(REVIEWED.keys() & EXCLUDED.keys()):
        yield f"{name}: both reviewed and excluded"
    for name in sorted((REVIEWED.keys() | EXCLUDED.keys()) - ops.keys()):
        yield f"{name}: decided but not registered in this TensorFlow"
    for name in sorted(EXCLUDED.keys() - candidates.keys()):
        yield f"{name}: excluded but no heuristic flags it any more; drop it from EXCLUDED"
    for name in sorted(candidates.keys() - REVIEWED.keys() - EXCLUDED.keys()):
        yield f"{name}: undecided candidate ({', '.join(candidates[name])})"
    for name, (capability, target, _) in sorted(REVIEWED.items()):
        if capability not in CAPABILITIES:
            yield f"{name}: unknown capability {capability!r}"
        if name in ops and target is not None:
            yield from _target_problems(ops[name], target)


def _target_problems(op: OpFacts, target: str) -> Iterator[str]:
    """Yield a problem if `target` does not name one of the op's inputs or attributes."""
    kind, _, arg = target.partition(":")
    present = {"input": op.inputs, "attr": op.attrs}.get(kind)
    if present is None:
        yield f"{op.name}: target {target!r} is neither input:NAME nor attr:NAME"
    elif arg not in present:
        yield f"{op.name}: has no {kind} {arg!r} (it has {', '.join(present) or 'none'})"
    elif kind == "input" and (before := op.list_inputs.intersection(op.inputs[: op.inputs.index(arg)])):
        # A list input before the target spreads over several NodeDef inputs: its position would vary.
        yield f"{op.name}: list inputs {sorted(before)} come before {arg!r}, so input_index is not fixed"


def build_table(version: str, ops: dict[str, OpFacts], candidates: Iterable[str], saver: set[str]) -> dict[str, object]:
    """Assemble the JSON document.

    Args:
        version: TensorFlow's version.
        ops: The registry.
        candidates: The ops the heuristics flag.
        saver: Op types used by standard saver functions.

    Returns:
        The document, ready for `json.dumps(..., sort_keys=True)`.
    """
    table = {
        name: {"capability": capability, "target": parse_target(ops[name], target), "note": note}
        for name, (capability, target, note) in REVIEWED.items()
    }
    return {
        "generated_by": GENERATED_BY,
        "tensorflow": version,
        "ops_in_registry": len(ops),
        "candidates": len(set(candidates)),
        "ops": table,
        "excluded": dict(EXCLUDED),
        # Ops whose capability is real only once rewritten (DTensor) or on an accelerator build.
        "without_kernel": sorted(name for name in REVIEWED if not ops[name].has_kernel),
        "saver_ops": sorted(saver & REVIEWED.keys()),
        "saver_function_ops": sorted(saver),
    }


def render(document: dict[str, object]) -> str:
    """Serialize deterministically: sorted keys, two-space indent, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Generate or check the capability table.

    Args:
        argv: Command-line arguments; `sys.argv[1:]` when None.

    Returns:
        0 when written or up to date, 1 when `--check` finds the file stale, 2 when the review needs work.
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the JSON on disk differs")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT.relative_to(REPO)}")
    args = parser.parse_args(argv)

    version, ops = registry()
    candidates = {name: reasons for name, op in sorted(ops.items()) if (reasons := why_candidate(op))}
    problems = list(review_problems(ops, candidates))
    if problems:
        print("The hand review needs updating:", *problems, sep="\n  ", file=sys.stderr)
        return 2
    text = render(build_table(version, ops, candidates, standard_saver_ops()))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run {GENERATED_BY}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"{args.output}: {len(REVIEWED)} ops from {len(candidates)} candidates in {len(ops)} registered ops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
