"""Every format tfscope reads: the signs that recognise it, and the one call that reads it.

Netron's model factories are the pattern: each format declares how it is recognised (extensions,
first bytes, folder members) and reads through one signature, `read(ReadContext) -> ModelInfo`.
`inspect_model` is a loop over FORMATS, and the browser marks its rows with the same signs.

This module stays cheap to import (the browser uses it before its first paint): each reader's module,
with its protobufs, zip and h5 code, is imported when it first reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import BinaryIO

from tui.formats.kinds import HDF5_MAGIC, TFLITE_MAGIC, ZIP_MAGIC, ArtifactKind
from tui.formats.limits import Budget
from tui.formats.model_info import ModelInfo
from tui.storage import Entry, Location, Store, TransferStats

SNIFF_BYTES = 8
"""How many leading bytes `kind_from_magic` needs."""

PartialCallback = Callable[[ModelInfo], None]


@dataclass
class ReadContext:
    """What a reader reads with. Folder readers get `files`; file readers `raw`, `size` and `head`."""

    store: Store
    location: Location
    budget: Budget
    stats: TransferStats | None = None
    """The store's request counters, where it keeps them (GCS): readers may report their cost."""
    on_partial: PartialCallback | None = None
    """Handed a first, partial ModelInfo where a format can give one early (Keras: layers before weights)."""
    files: list[Entry] = field(default_factory=list)
    """Folder formats: every object under the folder. A checkpoint's `.index`: the objects beside it."""
    prefetched: Mapping[str, Future[bytes]] = field(default_factory=dict)
    """Reads the format's `prefetch` started before the listing came back."""
    raw: BinaryIO | None = None
    size: int = 0
    head: bytes = b""


@dataclass(frozen=True)
class Format:
    """One format: its signs, and its reader."""

    kind: ArtifactKind
    read: Callable[[ReadContext], ModelInfo]
    extensions: tuple[str, ...] = ()
    """Object names ending so are tentatively this format (case-insensitive), until their bytes are read."""
    magic: bytes = b""
    magic_offset: int = 0
    magic_needs_extension: bool = False
    """The magic alone is not enough (plenty of zips are not Keras models): the name must agree."""
    folder_members: frozenset[str] = frozenset()
    """A folder holding any of these names directly is this format."""
    folder_match: Callable[[set[str]], bool] | None = None
    """A test on the names directly in a folder, for what members alone cannot say."""
    sibling_suffix: str = ""
    """An object with this suffix is this format only beside the right siblings (a checkpoint's .index)."""
    sibling_match: Callable[[str, set[str]], bool] | None = None
    prefetch: Callable[[Store, Location, Executor], dict[str, Future[bytes]]] | None = None
    """Reads worth starting before a folder's listing returns (a distant bucket: one round trip saved)."""
    tail: int = 0
    """Bytes at a file's end its reader starts with (a zip's end record and central directory)."""

    def matches_folder(self, names: set[str]) -> bool:
        return bool(self.folder_members & names) or (self.folder_match is not None and self.folder_match(names))

    def matches_magic(self, head: bytes, name: str) -> bool:
        if not self.magic or head[self.magic_offset : self.magic_offset + len(self.magic)] != self.magic:
            return False
        return not self.magic_needs_extension or self.matches_extension(name)

    def matches_extension(self, name: str) -> bool:
        return name.lower().endswith(self.extensions) if self.extensions else False

    def matches_name(self, name: str, sibling_names: set[str]) -> bool:
        if self.matches_extension(name):
            return True
        return bool(self.sibling_suffix) and name.endswith(self.sibling_suffix) and self.sibling_match is not None \
            and self.sibling_match(name, sibling_names)  # fmt: skip


# -- the readers, each imported when first used ----------------------------------------------


def _read_saved_model(ctx: ReadContext) -> ModelInfo:
    from tui.formats.savedmodel import read_saved_model

    return read_saved_model(ctx.store, ctx.location, ctx.files, guesses=ctx.prefetched, budget=ctx.budget)


def _prefetch_saved_model(store: Store, folder: Location, pool: Executor) -> dict[str, Future[bytes]]:
    from tui.formats.savedmodel import guess_reads

    return guess_reads(store, folder, pool) if folder.is_gcs else {}


def _read_checkpoint(ctx: ReadContext) -> ModelInfo:
    from tui.formats.checkpoint import read_checkpoint

    folder = ctx.location.as_dir() if ctx.location.is_dir else ctx.location.parent
    beside = [e for e in ctx.files if not e.is_dir and e.location.parent == folder]  # not the sub-folders' files
    return read_checkpoint(ctx.store, ctx.location, beside, ctx.budget)


def _read_keras(ctx: ReadContext) -> ModelInfo:
    from tui.formats.keras_v3 import read_keras

    return _config_then_weights(read_keras, ctx)


def _read_hdf5(ctx: ReadContext) -> ModelInfo:
    from tui.formats.hdf5 import read_hdf5

    return _config_then_weights(read_hdf5, ctx)


def _config_then_weights(reader: Callable[..., ModelInfo], ctx: ReadContext) -> ModelInfo:
    """The config alone first (a few requests), then the weights' headers (one or more requests each)."""
    if ctx.on_partial is not None:
        ctx.on_partial(reader(ctx.location, ctx.raw, ctx.size, False, ctx.budget))  # its blocks stay cached
    return reader(ctx.location, ctx.raw, ctx.size, True, ctx.budget)


def _read_tflite(ctx: ReadContext) -> ModelInfo:
    from tui.formats.tflite_model import read_tflite

    return read_tflite(ctx.store, ctx.location, ctx.size, ctx.budget)


def checkpoint_prefixes(names: Iterable[str]) -> set[str]:
    """Checkpoint prefixes (`ckpt-3` for `ckpt-3.index`) whose index has at least one data shard."""
    names = set(names)
    indexes = {n[: -len(".index")] for n in names if n.endswith(".index")}
    return {p for p in indexes if any(n.startswith(p + ".data-") for n in names)}


ZIP_TAIL = 64 * 1024 + 22
"""A zip's end record with the longest comment it may carry: where zipfile looks for the central directory."""

FORMATS: tuple[Format, ...] = (
    Format(ArtifactKind.SAVED_MODEL, _read_saved_model, prefetch=_prefetch_saved_model,
           folder_members=frozenset({"saved_model.pb", "saved_model.pbtxt"})),
    # A `checkpoint` state file, or an .index beside its .data- shards.
    Format(ArtifactKind.CHECKPOINT, _read_checkpoint, folder_members=frozenset({"checkpoint"}),
           folder_match=lambda names: bool(checkpoint_prefixes(names)), sibling_suffix=".index",
           sibling_match=lambda name, siblings: name.removesuffix(".index") in checkpoint_prefixes({name, *siblings})),
    Format(ArtifactKind.KERAS, _read_keras, extensions=(".keras",), magic=ZIP_MAGIC, magic_needs_extension=True,
           tail=ZIP_TAIL),
    Format(ArtifactKind.HDF5, _read_hdf5, extensions=(".h5", ".hdf5"), magic=HDF5_MAGIC),
    Format(ArtifactKind.TFLITE, _read_tflite, extensions=(".tflite",), magic=TFLITE_MAGIC, magic_offset=4),
)  # fmt: skip
"""In the order they are tried: a folder with saved_model.pb and a checkpoint is a SavedModel."""

_BY_KIND = {f.kind: f for f in FORMATS}


def format_of(kind: ArtifactKind) -> Format:
    return _BY_KIND[kind]


# -- detection ------------------------------------------------------------------------------


def folder_kind(names: Iterable[str]) -> ArtifactKind | None:
    """The kind of a folder from the names directly inside it ("variables/" for a sub-folder)."""
    names = set(names)
    return next((f.kind for f in FORMATS if f.matches_folder(names)), None)


def kind_from_name(name: str, sibling_names: Iterable[str] = ()) -> ArtifactKind | None:
    """A tentative kind from an object's name; `.index` counts only beside its data shards.

    A set of names is used as it is, not copied: `kinds_by_name` asks for every object of a page.
    """
    siblings = sibling_names if isinstance(sibling_names, set) else set(sibling_names)
    return next((f.kind for f in FORMATS if f.matches_name(name, siblings)), None)


def kind_from_magic(head: bytes, name: str = "") -> ArtifactKind | None:
    """The kind of an object from its first bytes (at least SNIFF_BYTES of them)."""
    return next((f.kind for f in FORMATS if f.matches_magic(head, name)), None)


def needs_siblings(name: str) -> bool:
    """Whether an object's format can only be told from the names beside it."""
    return any(f.sibling_suffix and name.endswith(f.sibling_suffix) for f in FORMATS)


_EXTENSIONS = tuple(ext for f in FORMATS for ext in f.extensions)
"""Every extension some format claims (lowercase, as `Format.matches_extension` compares them)."""
_SIBLING_SUFFIXES = tuple(f.sibling_suffix for f in FORMATS if f.sibling_suffix)


def kinds_by_name(entries: list[Entry]) -> dict[Location, ArtifactKind]:
    """The tentative kind of each object of one listed level that looks like a model, from names alone.

    Linear in the page: only objects ending like some format (an extension, a sibling suffix) go
    through the formats, and the page's names are gathered once, for the first of them. A page of data
    shards costs a look at the end of each path.
    """
    names: set[str] | None = None
    kinds = {}
    for entry in entries:
        path = entry.location.path
        # An object's name ends its path: the same ending, without making the name (a folder ends in "/").
        if not path or path[-1] == "/" or not (path.lower().endswith(_EXTENSIONS) or path.endswith(_SIBLING_SUFFIXES)):
            continue
        if names is None:
            names = {e.name for e in entries}
        kind = kind_from_name(entry.name, names)
        if kind is not None:
            kinds[entry.location] = kind
    return kinds
