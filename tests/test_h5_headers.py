"""The hand-written HDF5 metadata reader (h5_headers) against h5py, on real files made now.

Every .h5 and .keras the suite builds, and h5py files of odd shapes, are read both ways: the answers
must be equal, key order included. What the reader leaves to h5py (dense groups, external storage,
virtual datasets, datatypes h5py names its own way) must fall back and still give h5py's answer.
"""

from __future__ import annotations

import io
import random
import time
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from conftest import ZOO_BUCKET, h5_helpers
from fuzzing import mutate

from tui.errors import TfscopeError
from tui.formats.h5_headers import walk
from tui.formats.h5_messages import NotHdf5, NotParsed, lookup3
from tui.formats.h5_probe import probe
from tui.formats.h5_sandbox import H5Error, stop_all
from tui.formats.hdf5 import ROOT_ATTRIBUTES
from tui.formats.inspect import inspect_model
from tui.formats.limits import Budget
from tui.formats.weights_h5 import read_h5
from tui.storage import GcsStore, LocalStore, parse_location, ranged

KERAS_GROUPS = ("model_weights", "optimizer_weights")


def h5_bytes(path: Path) -> tuple[bytes, tuple[str, ...]]:
    """The HDF5 bytes of a .h5 or .keras (its model.weights.h5), and the groups tfscope asks of it."""
    if path.suffix == ".keras":
        return zipfile.ZipFile(path).read("model.weights.h5"), ("/",)
    return path.read_bytes(), KERAS_GROUPS


def by_h5py(data: bytes, groups: tuple[str, ...], shapes: bool = True) -> dict[str, Any]:
    return probe(io.BytesIO(data), {"attributes": list(ROOT_ATTRIBUTES), "groups": list(groups), "shapes": shapes})


def by_hand(data: bytes, groups: tuple[str, ...], shapes: bool = True) -> dict[str, Any]:
    return walk(io.BytesIO(data), len(data), Budget(), attributes=ROOT_ATTRIBUTES, groups=groups, shapes=shapes)


def assert_same(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert mine == theirs
    for name, group in theirs["groups"].items():  # the order too: it is the order of the variables tab
        assert list(mine["groups"][name].get("shapes", {})) == list(group.get("shapes", {}))


def keras_files(*roots: Path) -> list[Path]:
    """Every .h5 and .keras below `roots` (not the demo's deliberately broken ones)."""
    found = sorted(p for root in roots for p in root.rglob("*") if p.suffix in {".h5", ".keras"})
    return [p for p in found if "broken" not in p.parts and p.read_bytes()[:4] in {b"PK\x03\x04", b"\x89HDF"}]


def test_every_keras_file_the_suite_builds_reads_as_h5py_does(zoo: Path, model_files: Path) -> None:
    files = keras_files(zoo, model_files)
    assert len(files) >= 10
    configs = 0
    for path in files:
        data, groups = h5_bytes(path)
        for shapes in (True, False):  # the layer table's first pass reads the config and the groups' kinds only
            theirs = by_h5py(data, groups, shapes)
            assert_same(by_hand(data, groups, shapes), theirs)
        configs += "model_config" in theirs["attributes"]
    assert configs >= 5  # the .h5 files' configs (variable-length strings in the global heap), as h5py reads them


@pytest.mark.parametrize("layers", [3, 40])
def test_keras_h5_with_an_optimizer_reads_as_h5py_does(tmp_path: Path, layers: int) -> None:
    import keras

    inputs = keras.Input((8,))
    x = inputs
    for i in range(layers):
        x = keras.layers.Dense(8, name=f"dense_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"norm_{i}")(x)
    model = keras.Model(inputs, x)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 8)), np.zeros((4, 8)), verbose=0)
    for name in ("m.h5", "m.keras"):
        model.save(tmp_path / name)
        data, groups = h5_bytes(tmp_path / name)
        assert_same(by_hand(data, groups), by_h5py(data, groups))


# -- odd structures, written with h5py -----------------------------------------------------------


def odd_file(path: Path, libver: str | None = None) -> None:
    with h5py.File(path, "w", libver=libver) as f:
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [b"a"]
        deep = weights.create_group("a/b/c/d")
        deep["kernel:0"] = np.zeros((3, 4), "float32")
        weights.create_group("empty")
        many = weights.create_group("many")
        for i in range(260):  # past a symbol table node (8) and a B-tree node (32 of them): several levels
            many[f"w{i:03d}"] = np.full((i % 5,), i, "float32")
        kinds = weights.create_group("kinds")
        kinds["scalar"] = np.float64(1.5)
        kinds["empty"] = np.zeros((0, 7), "float32")
        kinds["big_endian_f"] = np.zeros((2,), ">f4")
        kinds["big_endian_i"] = np.zeros((2,), ">i8")
        kinds["little_u16"] = np.zeros((2,), "<u2")
        for dtype in ("int8", "uint8", "int16", "int32", "int64", "uint32", "uint64", "float16", "float64"):
            kinds[dtype] = np.zeros((1, 2), dtype)
        kinds["text"] = np.array([b"abc", b"de"], "S5")
        compact = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        compact.set_layout(h5py.h5d.COMPACT)
        kinds.create_dataset("compact", data=np.arange(4, dtype="int32"), dcpl=compact)
        kinds.create_dataset("chunked", data=np.zeros((64, 64), "float32"), chunks=(16, 16), compression="gzip")
        kinds.create_dataset("resizable", shape=(2, 3), maxshape=(None, 3), dtype="float32")
        kinds["soft"] = h5py.SoftLink("/model_weights/kinds/scalar")
        kinds["hard_again"] = kinds["scalar"]
        weights["a_second_name"] = deep  # a group reached twice is walked once
        weights["ext"] = h5py.ExternalLink("other.h5", "/x")
        weights["über"] = np.zeros((2,), "float32")  # a UTF-8 name: h5py makes the group new-style
        f["optimizer_weights"] = h5py.SoftLink("/model_weights")


@pytest.mark.parametrize("libver", [None, "latest"])
def test_odd_structures_read_as_h5py_does(tmp_path: Path, libver: str | None) -> None:
    odd_file(tmp_path / "odd.h5", libver)
    data = (tmp_path / "odd.h5").read_bytes()
    theirs = by_h5py(data, KERAS_GROUPS)
    assert len(theirs["groups"]["model_weights"]["shapes"]) > 280
    assert theirs["needs"] == [["other.h5", "an HDF5 external link at ext"]]
    if libver == "latest":
        with pytest.raises(NotParsed, match="dense"):  # `many` keeps its links in a fractal heap
            by_hand(data, KERAS_GROUPS)
    else:
        assert_same(by_hand(data, KERAS_GROUPS), theirs)
    answer = read_h5(io.BytesIO(data), len(data), "odd.h5", Budget(), attributes=ROOT_ATTRIBUTES,
                     groups=KERAS_GROUPS)  # falls back if it must  # fmt: skip
    assert_same(answer, theirs)


def test_string_attributes_read_as_h5py_does(tmp_path: Path) -> None:
    """Fixed-length (NUL-padded, NUL-terminated) and variable-length strings, ASCII and UTF-8, long ones;
    in either header version. Numbers and arrays are h5py's to read."""
    for libver in (None, "latest"):
        with h5py.File(tmp_path / "a.h5", "w", libver=libver) as f:
            f.create_group("model_weights")
            f.attrs["keras_version"] = np.bytes_(b"3.1\0")  # fixed-length
            f.attrs["backend"] = "tensorflow ü"  # variable-length UTF-8
            f.attrs["model_config"] = '{"x": "' + "y" * 50_000 + '"}'  # a long one: its own heap object
            terminated = h5py.h5t.C_S1.copy()
            terminated.set_size(8)
            terminated.set_strpad(h5py.h5t.STR_NULLTERM)
            space = h5py.h5s.create(h5py.h5s.SCALAR)
            h5py.h5a.create(f.id, b"training_config", terminated, space).write(np.array(b"ab", "S8"))
        data = (tmp_path / "a.h5").read_bytes()
        mine = by_hand(data, KERAS_GROUPS)
        assert_same(mine, by_h5py(data, KERAS_GROUPS))
        assert mine["attributes"]["backend"] == "tensorflow ü" and len(mine["attributes"]["model_config"]) > 50_000
    for value in (np.int64(3), np.array([b"a", b"b"])):
        with h5py.File(tmp_path / "n.h5", "w") as f:
            f.attrs["backend"] = value
        data = (tmp_path / "n.h5").read_bytes()
        with pytest.raises(NotParsed):
            by_hand(data, ())
        answer = read_h5(io.BytesIO(data), len(data), "n.h5", Budget(), attributes=ROOT_ATTRIBUTES)
        assert answer == by_h5py(data, ())


def _h5(tmp_path: Path, write: Any, fcpl: Any = None) -> bytes:
    path = tmp_path / "a.h5"
    with h5py.File(h5py.h5f.create(bytes(path), h5py.h5f.ACC_TRUNC, fcpl=fcpl) if fcpl else path, "w") as f:
        write(f)
    return path.read_bytes()


def _patched(data: bytes, old: bytes, new: bytes, where: int | None = None) -> bytes:
    at = data.find(old) if where is None else where
    assert at >= 0
    return data[:at] + new + data[at + len(old) :]


def _sizes(offsets: int, lengths: int) -> Any:
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_sizes(offsets, lengths)
    return fcpl


def _shared(data: bytes) -> bytes:
    """keras_version's attribute message marked shared (a version 1 message: type, size, then its flags)."""
    body = data.find(b"\x01\x00\x0e\x00")  # version 1, reserved, a 14-byte name ("keras_version" + NUL)
    return _patched(data, b"\x00", b"\x02", body - 4)


def _strings(f: Any) -> None:
    f.attrs["keras_version"] = "ABCDEFG"
    f.attrs["backend"] = np.bytes_(b"FIRST")
    f.attrs["backenZ"] = np.bytes_(b"SECOND")
    f.attrs["zzz"] = "BBBB"


@pytest.mark.parametrize(
    ("fcpl", "damage"),
    [
        (None, lambda d: d),
        (None, lambda d: d.replace(b"backenZ", b"backend")),  # one name twice: HDF5 takes the first
        (None, lambda d: _patched(d, b"BBBB", b"\x01\x00", d.find(b"BBBB") - 16)),  # one heap index twice
        (None, lambda d: _patched(d, b"ABCDEFG", b"AB\0DEFG")),  # a NUL inside a variable-length string
        (None, lambda d: _patched(d, (7).to_bytes(4, "little"), (3).to_bytes(4, "little"))),  # length != object's
        (None, lambda d: _patched(d, b"GCOL\x01\x00\x00\x00\x00\x10", b"GCOL\x01\x00\x00\x00\x30\x00")),
        (_sizes(8, 4), lambda d: d),  # 4-byte lengths: heap objects still start 8-aligned
        (None, _shared),  # an attribute message marked shared (its body would be elsewhere)
    ],
    ids=[
        "plain",
        "name-twice",
        "heap-index-twice",
        "nul-inside",
        "short-length",
        "small-collection",
        "lengths-4",
        "shared",
    ],  # fmt: skip
)
def test_string_attributes_are_h5py_s_or_left_to_it(tmp_path: Path, fcpl: Any, damage: Any) -> None:
    """A damaged or unusual file: the hand reader answers exactly as h5py does, or leaves it to h5py; it
    never answers where h5py refuses, nor differently (a crafted file could show one config and load another)."""
    data = damage(_h5(tmp_path, _strings, fcpl))
    try:
        mine: Any = by_hand(data, ())
    except NotHdf5:  # refused without asking h5py: only where h5py refuses too
        with pytest.raises(OSError):
            by_h5py(data, ())
        return
    except NotParsed:
        return
    try:
        theirs = by_h5py(data, ())
    except Exception as error:  # noqa: BLE001 - any refusal of h5py's
        pytest.fail(f"answered {mine['attributes']} where h5py refuses: {error}")
    assert mine == theirs


def test_new_style_compact_groups_and_v2_headers(tmp_path: Path) -> None:
    """libver="latest": superblock v3, object header v2 with checksums, links as link messages."""
    with h5py.File(tmp_path / "new.h5", "w", libver="latest") as f:
        g = f.create_group("model_weights/layer", track_order=True)
        g.attrs["layer_names"] = [b"x"]
        for name in ("z", "b:0", "a"):  # stored in creation order; visited by name
            g[name] = np.zeros((2, 3), "float32")
        g["soft"] = h5py.SoftLink("a")
        f["model_weights"].attrs["layer_names"] = [b"layer"]
    data = (tmp_path / "new.h5").read_bytes()
    assert data[8] == 3
    mine = by_hand(data, KERAS_GROUPS)
    assert_same(mine, by_h5py(data, KERAS_GROUPS))
    assert list(mine["groups"]["model_weights"]["shapes"]) == ["layer/a", "layer/b:0", "layer/z"]


@pytest.mark.parametrize(
    ("make", "libver"),
    [
        (lambda f: f["model_weights"].create_dataset("x", (4,), "float32", external=[("raw.bin", 0, 16)]), None),
        (lambda f: f["model_weights"].create_dataset("x", data=np.array([True, False])), None),  # an enum
        (lambda f: f["model_weights"].create_dataset("x", data=np.zeros(2, "complex64")), None),  # a compound
        (lambda f: f["model_weights"].create_dataset("x", (2,), h5py.string_dtype()), None),  # variable length
        (lambda f: f["model_weights"].create_virtual_dataset("x", h5py.VirtualLayout((2,), "float32")), "latest"),
    ],
    ids=["external-storage", "bool", "complex", "vlen-string", "virtual"],
)
def test_what_the_reader_leaves_to_h5py_falls_back(tmp_path: Path, make: Any, libver: str | None) -> None:
    with h5py.File(tmp_path / "x.h5", "w", libver=libver) as f:
        f.create_group("model_weights")
        make(f)
    data = (tmp_path / "x.h5").read_bytes()
    with pytest.raises(NotParsed):
        by_hand(data, KERAS_GROUPS)
    answer = read_h5(io.BytesIO(data), len(data), "x.h5", Budget(), attributes=ROOT_ATTRIBUTES, groups=KERAS_GROUPS)
    assert answer == by_h5py(data, KERAS_GROUPS)


def test_a_truncated_file_is_refused_without_h5py(zoo: Path) -> None:
    """The superblock's end-of-file address is past the end: the HDF5 library refuses that too."""
    data = (zoo / "keras" / "functional.h5").read_bytes()
    with pytest.raises(NotHdf5, match="truncated"):
        by_hand(data[: len(data) // 2], KERAS_GROUPS)
    stop_all()
    with pytest.raises(H5Error, match="truncated"):
        read_h5(io.BytesIO(data[:4096]), 4096, "x.h5", Budget(), attributes=ROOT_ATTRIBUTES, groups=KERAS_GROUPS)
    assert h5_helpers() == 0  # no helper process was asked


def test_lookup3_matches_the_reference_values() -> None:
    """Bob Jenkins' published driver values for hashlittle."""
    assert lookup3(b"", 0) == 0xDEADBEEF
    assert lookup3(b"", 0xDEADBEEF) == 0xBD5B7DDE
    assert lookup3(b"Four score and seven years ago", 0) == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xCD628161


# -- fewer round trips ----------------------------------------------------------------------------


def test_prefetch_fetches_missing_blocks_in_parallel_runs() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    calls: list[tuple[int, int]] = []

    def fetch(start: int, length: int) -> bytes:
        calls.append((start, length))
        return data[start : start + length]

    reader = ranged.BlockCachedReader(fetch, len(data), block_size=1024, cache_blocks=64)
    reader.read(10)
    reader.prefetch([(100, 10), (2048, 100), (5000, 3000), (600_000, 10), (len(data) - 1, 50)])
    # block 0 is cached; 2 and 4-7 are joined across the gap of block 3; the far ones are requests of their own
    assert sorted(calls[1:]) == [(2048, 6144), (599_040, 1024), (len(data) - 1024, 1024)]
    before = len(calls)
    reader.seek(5000)
    assert reader.read(3000) == data[5000:8000]
    reader.seek(600_000)
    assert reader.read(10) == data[600_000:600_010]
    assert len(calls) == before  # read from the cache
    reader.prefetch([(0, len(data))])  # never more than half the cache at once
    assert len(reader._cache) <= 64


def test_prefetch_through_a_zip_member_and_the_budget() -> None:
    data = bytes(100_000)
    calls: list[tuple[int, int]] = []

    def fetch(start: int, length: int) -> bytes:
        calls.append((start, length))
        return data[start : start + length]

    inner = ranged.BlockCachedReader(fetch, len(data), 4096)
    budget = Budget()
    member = ranged.SliceReader(budget.reader(inner), 10_000, 90_000)
    left = budget.read_left
    member.prefetch([(0, 100), (80_000, 100)])
    assert sorted(calls) == [(8192, 4096), (86_016, 4096)]
    assert budget.read_left == left - 200


def count_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Requests each wait of the reading thread was for: 1 for a plain read, n for a prefetch of n."""
    waits: list[int] = []
    load, prefetch = ranged.BlockCachedReader._load, ranged.BlockCachedReader.prefetch

    def counted_load(self: ranged.BlockCachedReader, first: int, last: int) -> None:
        missing = [i for i in range(first, last + 1) if i not in self._cache]
        load(self, first, last)
        waits.extend([1] if missing else [])

    def counted_prefetch(self: ranged.BlockCachedReader, ranges: Any, check: Any = None) -> None:
        runs = len(self._missing_runs(ranges))
        prefetch(self, ranges, check)
        waits.extend([runs] if runs else [])

    monkeypatch.setattr(ranged.BlockCachedReader, "_load", counted_load)
    monkeypatch.setattr(ranged.BlockCachedReader, "prefetch", counted_prefetch)
    return waits


def deep_model_h5(path: Path, layers: int) -> None:
    """A MobileNet-like file: many layer groups, each weight's header written after the previous weight's data."""
    import keras

    inputs = keras.Input((128,))
    x = inputs
    for i in range(layers):
        x = keras.layers.Dense(128, name=f"dense_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
        x = keras.layers.ReLU(name=f"relu_{i}")(x)
    keras.Model(inputs, x).save(path)


@pytest.mark.usefixtures("emulator")
def test_parameter_counts_of_a_deep_h5_take_a_few_round_trips(
    tmp_path: Path, uploader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Keras .h5 is root -> model_weights -> layer -> layer -> dataset: each level costs at most a header,
    a B-tree level or two with its heap, and the symbol table nodes, whatever the number of layers. h5py
    waited once per header: about one request per layer."""
    # a first read of one block, as for a big model whose first MiB is a small part of it
    monkeypatch.setattr("tui.storage.gcs.FIRST_READ", ranged.BLOCK_SIZE)
    layers = 40
    deep_model_h5(tmp_path / "deep.h5", layers)
    uploader.put("deep.h5", (tmp_path / "deep.h5").read_bytes())
    waits = count_round_trips(monkeypatch)
    store = GcsStore()
    marks: list[int] = []
    info = inspect_model(store, parse_location(uploader.uri + "deep.h5"), on_partial=lambda _: marks.append(len(waits)))
    local = inspect_model(LocalStore(), parse_location(str(tmp_path / "deep.h5")))
    assert info.variables == local.variables and info.total_params == local.total_params
    assert len(info.variables) == 6 * layers
    after_config = waits[marks[0] :]
    assert len(after_config) <= 5 * 3, after_config  # 4 levels below the root, 3 dependent reads each at most
    assert sum(after_config) >= layers // 2  # the headers are scattered: many requests, made side by side


# -- damaged files --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed_file", ["keras/functional.h5", "keras2/model.h5", "keras/nested.keras"])
def test_mutated_files_end_in_an_answer_or_a_clean_refusal(zoo: Path, seed_file: str) -> None:
    data, groups = h5_bytes(zoo / seed_file)
    rng = random.Random(0)
    outcomes: dict[str, int] = {}
    slowest = 0.0
    for _ in range(300):
        mutated = mutate(data, rng)
        started = time.perf_counter()
        try:
            walk(io.BytesIO(mutated), len(mutated), Budget(cpu=2.0), attributes=ROOT_ATTRIBUTES, groups=groups)
            outcome = "read"
        except NotParsed:
            outcome = "left to h5py"
        except TfscopeError as error:  # the budget's refusals
            outcome = type(error).__name__
        slowest = max(slowest, time.perf_counter() - started)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert slowest < 2.0, outcomes
    assert outcomes.get("left to h5py", 0) > 0 and outcomes.get("read", 0) > 0, outcomes


@pytest.mark.usefixtures("emulator")
def test_a_keras_file_in_the_zoo_reads_the_same_from_the_bucket(zoo: Path) -> None:
    for name in ("keras/nested.h5", "keras/nested.keras", "keras2/model.h5"):
        remote = inspect_model(GcsStore(), parse_location(f"gs://{ZOO_BUCKET}/{name}"))
        local = inspect_model(LocalStore(), parse_location(str(zoo / name)))
        assert remote.variables == local.variables and remote.layers == local.layers


def test_a_keras_h5_is_read_without_the_hdf5_helper(zoo: Path) -> None:
    """Its config and its weights' shapes are all the walk reads: h5py's helper process (~0.2 s of CPU to
    start) is neither started nor asked; a file the walk leaves to h5py still gets it."""
    from tui.formats import h5_sandbox

    h5_sandbox.stop_all()
    for name in ("keras/sequential.h5", "keras/functional.h5", "keras2/model.h5", "keras/nested.keras"):
        partial: list[Any] = []
        info = inspect_model(LocalStore(), parse_location(str(zoo / name)), on_partial=partial.append)
        assert info.total_params > 0 and partial and partial[0].layers, name
        assert h5_helpers() == 0, name
