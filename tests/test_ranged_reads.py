"""Ranged reading: the block cache, and what inspecting a model costs in bytes and requests on GCS."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEMO_BUCKET, ZOO_BUCKET

from tui.formats.inspect import inspect_model
from tui.formats.model_info import ModelInfo
from tui.storage import GcsStore, parse_location
from tui.storage.emulator import Emulator
from tui.storage.ranged import BlockCachedReader


def recorded(data: bytes) -> tuple[Callable[[int, int], bytes], list[tuple[int, int]]]:
    """A fetch over `data`, and the (start, length) of every request it serves."""
    calls: list[tuple[int, int]] = []

    def fetch(start: int, length: int) -> bytes:
        calls.append((start, length))
        return data[start : start + length]

    return fetch, calls


def test_block_cache_reads_each_byte_once() -> None:
    data = os.urandom(100_000)
    fetch, calls = recorded(data)
    reader = BlockCachedReader(fetch, len(data), block_size=4096)
    reader.seek(5000)
    assert reader.read(10) == data[5000:5010]
    reader.seek(4100)
    assert reader.read(2000) == data[4100:6100]  # the same block: no new request
    assert calls == [(4096, 4096)]
    reader.seek(0)
    assert reader.read(20_000) == data[:20_000]  # the missing neighbours come in one request each side
    assert calls[1:] == [(0, 4096), (8192, 12_288)]
    reader.seek(-5, io.SEEK_END)
    assert reader.read() == data[-5:]
    assert reader.read() == b""


def test_the_first_read_at_the_front_fetches_the_whole_head() -> None:
    """Model files keep their metadata at the front: one request for it, not one per scattered read."""
    data = os.urandom(100_000)
    fetch, calls = recorded(data)
    reader = BlockCachedReader(fetch, len(data), block_size=4096, head=20_000)
    reader.seek(10)
    assert reader.read(10) == data[10:20]
    assert calls == [(0, 5 * 4096)]  # the blocks holding the first 20,000 bytes, in one request
    reader.seek(15_000)
    assert reader.read(5000) == data[15_000:20_000]
    assert len(calls) == 1
    reader.seek(50_000)
    assert reader.read(10) == data[50_000:50_010]
    assert calls[1:] == [(12 * 4096, 4096)]  # beyond the head: block by block


def test_a_tail_comes_with_the_first_read() -> None:
    data = os.urandom(100_000)
    fetch, calls = recorded(data)
    reader = BlockCachedReader(fetch, len(data), block_size=4096, head=8192, tail=5000)
    reader.seek(-22, io.SEEK_END)
    assert reader.read() == data[-22:]  # a zip's end record first
    assert sorted(calls) == [(0, 8192), (94_208, 100_000 - 94_208)]  # the head's blocks and the tail's
    reader.seek(100)
    assert reader.read(8000) == data[100:8100]
    assert len(calls) == 2


def test_seeded_bytes_are_not_fetched_again() -> None:
    data = os.urandom(100_000)
    fetch, calls = recorded(data)
    reader = BlockCachedReader(fetch, len(data), block_size=4096, seeds=[(0, data[:10_000]), (95_000, data[95_000:])])
    assert reader.read(8192) == data[:8192]
    assert calls == []
    assert reader.read(100) == data[8192:8292]  # the seed's last, partial block is not trusted as a block
    assert calls == [(8192, 4096)]
    reader.seek(95_000)
    assert reader.read() == data[95_000:]  # block 23 is cut by the seed; 24 is whole and the last, shorter
    assert calls[1:] == [(23 * 4096, 4096)]
    whole = BlockCachedReader(fetch, 3000, block_size=3000, seeds=[(0, data[:3000])])  # a small object
    assert whole.read() == data[:3000] and len(calls) == 2


def test_block_cache_memory_is_bounded() -> None:
    data = bytes(1_000_000)
    reader = BlockCachedReader(lambda s, n: data[s : s + n], len(data), block_size=1000, cache_blocks=10)
    for offset in range(0, len(data), 1000):
        reader.seek(offset)
        reader.read(1)
    assert len(reader._cache) <= 10


@pytest.mark.usefixtures("emulator")
@pytest.mark.parametrize("name", ["wide.h5", "wide.keras"])
def test_layer_table_of_a_60mb_file_costs_under_2_percent(zoo: Path, name: str) -> None:
    store = GcsStore()
    info = inspect_model(store, parse_location(f"gs://{ZOO_BUCKET}/keras/{name}"))
    size = (zoo / "keras" / name).stat().st_size
    assert size > 55_000_000
    assert info.total_params == 3900 * 3900 + 3900
    assert info.bytes_read is not None and info.requests is not None
    assert info.bytes_read < 0.02 * size, f"{info.bytes_read:,} bytes of {size:,}"
    assert info.requests < 20


@pytest.mark.usefixtures("emulator")
def test_savedmodel_reads_only_its_graph_file(zoo: Path) -> None:
    store = GcsStore()
    info = inspect_model(store, parse_location(f"gs://{ZOO_BUCKET}/saved/exported/"))
    graph = (zoo / "saved/exported/saved_model.pb").stat().st_size
    fingerprint = (zoo / "saved/exported/fingerprint.pb").stat().st_size
    assert info.bytes_read is not None
    assert info.bytes_read < graph + fingerprint + 20_000  # plus the listing and its JSON
    assert info.signatures
    # The listing, then saved_model.pb and fingerprint.pb side by side; no background bucket GET.
    assert info.requests == 3


@pytest.mark.usefixtures("emulator")
def test_graph_bigger_than_the_guessed_read_is_completed(zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """saved_model.pb is read before its size is known; a graph bigger than that first read gets the rest."""
    from tui.formats import savedmodel
    from tui.storage import LocalStore

    monkeypatch.setattr(savedmodel, "GUESS_BYTES", 1000)
    remote = inspect_model(GcsStore(), parse_location(f"gs://{ZOO_BUCKET}/saved/multi/"))
    local = inspect_model(LocalStore(), parse_location(str(zoo / "saved/multi")))
    assert (zoo / "saved/multi/saved_model.pb").stat().st_size > 1000
    assert remote.signatures == local.signatures and remote.variables == local.variables
    assert remote.details == local.details  # the fingerprint too


def test_object_overwritten_mid_read_fails_cleanly(emulator_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads are pinned to the generation first seen: a new upload cannot be mixed in."""
    from tui.errors import TfscopeError
    from tui.storage.gcs import FIRST_READ

    server = Emulator(emulator_data)
    server.start()
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
        store = GcsStore(deadline=2)
        location = parse_location(f"gs://{DEMO_BUCKET}/big.bin")
        blob = store.client().bucket(DEMO_BUCKET).blob("big.bin")
        original = os.urandom(FIRST_READ + 100_000)
        blob.upload_from_string(original)
        reader = store.open(location)  # holds the first MiB, of the first upload
        blob.upload_from_string(b"replaced")
        assert reader.read(1000) == original[:1000]  # all of one version
        reader.seek(FIRST_READ + 10)
        with pytest.raises(TfscopeError, match="deleted or replaced"):
            reader.read()
    finally:
        server.stop()


@pytest.mark.usefixtures("emulator")
@pytest.mark.parametrize("name", ["wide.keras", "wide.h5"])
def test_layers_from_the_config_come_first(name: str) -> None:
    """The model screen shows the config's layers after a few requests; parameter counts follow."""
    store = GcsStore()
    before = store.stats.snapshot()[0]
    partial: list[tuple[ModelInfo, int]] = []

    def on_partial(info: ModelInfo) -> None:
        partial.append((info, store.stats.snapshot()[0] - before))

    full = inspect_model(store, parse_location(f"gs://{ZOO_BUCKET}/keras/{name}"), on_partial=on_partial)
    ((first, requests_so_far),) = partial
    assert first.partial and not full.partial
    assert full.total_params > 0 and not first.variables
    assert first.layers and [layer.name for layer in first.layers] == [layer.name for layer in full.layers]
    # (here the weights' headers sit in the first MiB, fetched with the config: no request more for them)
    assert requests_so_far <= 5 and full.requests is not None and full.requests >= requests_so_far
