"""What tfscope asks of an HDF5 file, answered with h5py: run inside the HDF5 helper process only.

A crafted HDF5 file can send the HDF5 library into an endless loop, or crash it, where nothing in
Python can stop it; so h5py runs in its own process (see h5_sandbox), and this module is what runs
there. It answers in plain JSON-able values: attributes as text, the kind of each group asked for,
every dataset's shape and dtype, and the links that would reach files on this machine.

Links are walked, never followed out of the file: an external link, external storage or a virtual
dataset would make h5py (and Keras, at load time) open another file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

MAX_ATTRIBUTE_BYTES = 64 * 1024 * 1024
"""A fixed-size attribute larger than this is refused before it is read (configs are kilobytes)."""
MAX_OBJECTS = 300_000
"""Links visited per probe; the largest real Keras files have tens of thousands."""
H5_CACHE = 64 * 1024
"""h5py's chunk cache: tiny, since no tensor data is read."""


class Refused(Exception):
    """The file asks for more than any model should: answered as an error, with this message."""


def probe(
    file: BinaryIO, request: dict[str, Any], attributes_read: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """Answer `request` ({"attributes": [...], "groups": [...], "shapes": bool}) about the file.

    `attributes_read` is called once the attributes are read, before the groups are walked.
    """
    import h5py

    with h5py.File(file, "r", rdcc_nbytes=H5_CACHE) as h5:
        attributes = {key: _attribute(h5, key) for key in request.get("attributes", []) if key in h5.attrs}
        attributes_read()
        groups: dict[str, Any] = {}
        needs: list[list[str]] = []
        visited = [0]
        for name in request.get("groups", []):
            groups[name] = _group(h5, name, bool(request.get("shapes")), needs, visited)
        return {"attributes": attributes, "groups": groups, "needs": needs,
                "root_layer_names": "layer_names" in h5.attrs}  # fmt: skip


def _attribute(h5: Any, key: str) -> str:
    stored = h5.attrs.get_id(key).get_storage_size()
    if stored > MAX_ATTRIBUTE_BYTES:
        raise Refused(f"the {key} attribute is {stored:,} bytes (configs are kilobytes)")
    value = h5.attrs[key]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def group_link_need(group: str, file_name: str) -> list[str]:
    """What an asked-for group that is an external link needs: said the same by h5_headers' walk."""
    return [file_name, f"{group} is an HDF5 external link"]


def walked_link_need(path: str, file_name: str) -> list[str]:
    """What an external link met inside a walked group needs (the same in h5_headers)."""
    return [file_name, f"an HDF5 external link at {path}"]


def _group(h5: Any, name: str, shapes: bool, needs: list[list[str]], visited: list[int]) -> dict[str, Any]:
    """{"kind": group | external | dataset | other | missing, ...} and, for a group, its datasets' shapes."""
    import h5py

    link = h5.get(name, getlink=True) if name != "/" else h5py.HardLink()
    if link is None:
        return {"kind": "missing"}
    if isinstance(link, h5py.ExternalLink):
        needs.append(group_link_need(name, link.filename))
        return {"kind": "external", "target": link.filename}
    if isinstance(link, h5py.SoftLink):
        return {"kind": "other"}
    group = h5[name]
    if not isinstance(group, h5py.Group):
        return {"kind": "dataset" if isinstance(group, h5py.Dataset) else "other"}
    found: dict[str, Any] = {}
    if shapes:
        _walk(group, found, needs, visited)
    return {"kind": "group", "shapes": found, "layer_names": "layer_names" in group.attrs}


def _walk(group: Any, found: dict[str, Any], needs: list[list[str]], visited: list[int]) -> None:
    import h5py

    def visit(name: str, link: Any) -> bool | None:
        visited[0] += 1
        if visited[0] > MAX_OBJECTS:
            return True  # stop; raising inside h5py's callback would leave its lock in a bad state
        if isinstance(link, h5py.ExternalLink):
            needs.append(walked_link_need(name, link.filename))
            return None
        if not isinstance(link, h5py.HardLink):
            return None  # a soft link: a second name of an object walked under its own path
        obj = group.get(name)
        if not isinstance(obj, h5py.Dataset):
            return None
        found[name] = [[int(d) for d in obj.shape], str(obj.dtype)]
        for file_name, *_ in obj.external or ():
            needs.append([_text(file_name), f"the data of dataset {name} is stored there"])
        if obj.is_virtual:
            for source in obj.virtual_sources():
                needs.append([_text(source.file_name), f"virtual dataset {name} maps it"])
        return None

    group.visititems_links(visit)
    if visited[0] > MAX_OBJECTS:
        raise Refused(f"it holds more than {MAX_OBJECTS:,} HDF5 objects")


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
