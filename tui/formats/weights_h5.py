"""HDF5 files as tfscope needs them: root attributes, groups and every dataset's shape and dtype.

The root's string attributes and the datasets' shapes come from a hand-written reader of HDF5's
metadata (h5_headers), which fetches a whole tree level at once; anything it does not read is asked
of h5py in a helper process (h5_sandbox, h5_probe). This module turns their answers into what the readers use,
and the links found into what loading would need.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from tui.formats.h5_headers import walk
from tui.formats.h5_messages import NotHdf5, NotParsed
from tui.formats.h5_sandbox import probe_h5, unreadable
from tui.formats.limits import Budget
from tui.formats.model_info import ModelInfo, Need

DatasetShape = tuple[tuple[int, ...], str]
"""(shape, dtype) of one dataset."""


def read_h5(
    file: BinaryIO,
    size: int,
    what: str,
    budget: Budget,
    *,
    attributes: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
    shapes: bool = True,
    attribute_reads: int | None = None,
) -> dict[str, Any]:
    """The probe's answer for these attributes and groups (see h5_probe.probe); `attribute_reads`
    caps the bytes read for the attributes (see h5_sandbox.probe_h5)."""
    # h5py reads a header per round trip (100+ for a ResNet50 on a distant bucket), in a helper process
    # that takes ~0.2 s to start; the walk reads a tree level at a time, here.
    try:
        return walk(file, size, budget, attributes=attributes, groups=groups, shapes=shapes)
    except NotHdf5 as broken:
        raise unreadable(what, broken.detail) from None
    except NotParsed:  # h5py reads what the walk does not
        request = {"attributes": list(attributes), "groups": list(groups), "shapes": shapes}
        return probe_h5(file, size, request, what, budget, attribute_reads)


def shapes_of(answer: dict[str, Any], group: str) -> dict[str, DatasetShape]:
    """path -> (shape, dtype) of the datasets under `group` in a probe's answer."""
    found = answer["groups"].get(group, {}).get("shapes", {})
    return {path: (tuple(int(d) for d in shape), str(dtype)) for path, (shape, dtype) in found.items()}


def note_links(answer: dict[str, Any], info: ModelInfo) -> None:
    """Links and storage outside the file, found by the probe, as what loading would need."""
    for target, how in answer.get("needs", []):
        need = Need.local_file(str(target), str(how))
        if need not in info.needs:
            info.needs.append(need)
