"""Ops worth a warning before running a graph: they touch files, print, or call back into Python."""

from __future__ import annotations

# `saved_model_cli scan` checks ReadFile, WriteFile and PrintV2; the rest do the same kinds of thing.
RISKY_OPS = {
    "ReadFile": "reads a file",
    "WriteFile": "writes a file",
    "MatchingFiles": "lists files",
    "DeleteFile": "deletes a file",
    "PrintV2": "prints to the console",
    "Print": "prints to the console",
    "PyFunc": "calls Python code that is not in the model",
    "PyFuncStateless": "calls Python code that is not in the model",
    "EagerPyFunc": "calls Python code that is not in the model",
    "ImmutableConst": "maps a file into memory",
    "TFRecordDataset": "reads files",
    "TFRecordDatasetV2": "reads files",
    "TextLineDataset": "reads files",
    "FixedLengthRecordDataset": "reads files",
    "FixedLengthRecordDatasetV2": "reads files",
    "CSVDataset": "reads files",
    "CSVDatasetV2": "reads files",
    "LoadDataset": "reads files",
    "SaveDataset": "writes files",
    "SaveDatasetV2": "writes files",
    "WriteSummary": "writes summaries to disk",
    "WriteScalarSummary": "writes summaries to disk",
    "CreateSummaryFileWriter": "writes summaries to disk",
    "DebugIdentityV2": "sends tensors to a debugger",
    "DebugIdentityV3": "sends tensors to a debugger",
}
CHECKPOINT_OPS = {"SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "StringJoin"}
"""File ops every SavedModel has in its saver functions: expected, not flagged."""


def flagged_ops(ops: dict[str, int]) -> dict[str, str]:
    """op type -> why it deserves a look, for the ops present in `ops`."""
    return {op: reason for op, reason in RISKY_OPS.items() if op in ops}
