"""Crafted and mutated model files through every reader, each in a watched worker process (tests/fuzzing.py):
no traceback, no run over the time limit, no crash, and the named cases refused for the right reason.
`make fuzz` runs the same for as long as you like."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzzing import TIME_LIMIT, Outcome, Runner, run

MUTATIONS = 300


@pytest.fixture(scope="module")
def crafted_outcomes(zoo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every crafted case, run once: name (format/file) -> outcome."""
    from crafted import write_all

    root = tmp_path_factory.mktemp("crafted")
    runner = Runner()
    try:
        outcomes = {}
        for case in write_all(zoo, root):
            outcomes[case.relative_to(root).as_posix()] = runner.run(case)
        return outcomes
    finally:
        runner.stop()


def test_no_crafted_file_gives_a_traceback_a_hang_or_a_crash(crafted_outcomes: dict[str, Outcome]) -> None:
    failures = {name: o for name, o in crafted_outcomes.items() if o.status in {"traceback", "hang", "crash"}}
    assert not failures, "\n".join(f"{name}: {o.status} {o.detail[-600:]}" for name, o in failures.items())
    assert len(crafted_outcomes) > 250
    assert max(o.seconds for o in crafted_outcomes.values()) < TIME_LIMIT


def outcome(outcomes: dict[str, Outcome], name: str) -> Outcome:
    return outcomes[name]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("keras/config-config-is-0.keras", "not a JSON object"),
        ("keras/config-deep.keras", "nested too deeply"),  # was RecursionError
        ("h5/config-deep.h5", "nested too deeply"),
        ("keras/weights-bomb.keras", "zip bomb"),  # was accepted after 15.7 s
        ("keras/zip-version-99.keras", "zip file version"),  # found by make fuzz
        ("h5/config-huge-attr.h5", "refused as crafted"),
        ("h5/many-groups.h5", "refused as crafted"),
        ("h5/global-heap-loop.h5", "computation"),  # the HDF5 library loops forever: its helper is ended
        ("checkpoint/handles-to-one-block/ckpt-1.index", "same block twice"),  # ran > 150 s
        ("tflite/shared-operators.tflite", "operators"),  # ran > 150 s
        ("tflite/only-identifier.tflite", "root table lies outside"),  # was "a valid TFLite model"
        ("tflite/no-subgraphs.tflite", "no subgraph"),
        ("saved_model/pbtxt-deep", "SavedModel text proto"),
    ],
)
def test_crafted_files_are_refused_with_the_reason(crafted_outcomes: dict[str, Outcome], name: str, words: str) -> None:
    result = outcome(crafted_outcomes, name)
    assert result.status == "refused" and words in result.detail, result.detail


def test_every_bit_flip_in_a_checkpoint_index_is_caught(crafted_outcomes: dict[str, Outcome]) -> None:
    """The table's block checksums are checked: a flipped bit no longer shows wrong names or shapes."""
    flips = {name: o for name, o in crafted_outcomes.items() if name.startswith("checkpoint/bitflip-")}
    assert len(flips) >= 15
    assert all(o.status == "refused" and "checksum" in o.detail for o in flips.values()), flips


@pytest.mark.parametrize(
    "name",
    [
        "saved_model/objects-min-ids",  # was IndexError
        "saved_model/objects-negative-ids",
        "saved_model/tf1-garbage-collection",  # was DecodeError
        "saved_model/keras-metadata-0",  # was AttributeError
        "checkpoint/graph-entry-huge/ckpt-1.index",  # was MemoryError (2^62 bytes claimed)
        "checkpoint/state-points-outside",
        "h5/weights-external-missing.h5",
        "keras/config-inner-config-is-0.keras",  # was AttributeError
        "keras/config-layer-0-is-5.keras",
        "h5/config-inner-config-is-1.h5",
        "h5/training-optimizer-2.h5",
    ],
)
def test_crafted_parts_are_skipped_and_the_rest_is_read(crafted_outcomes: dict[str, Outcome], name: str) -> None:
    assert outcome(crafted_outcomes, name).status == "read"


def test_random_mutations_of_every_format(zoo: Path, tmp_path: Path) -> None:
    summary = run(zoo, MUTATIONS, None, seed=0, crafted=False, keep=tmp_path)
    assert len(summary.outcomes) == MUTATIONS
    assert not summary.failures, f"failing cases kept in {tmp_path}\n{summary.report()}"
