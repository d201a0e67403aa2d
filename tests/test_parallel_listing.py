"""A level listed in parallel name ranges returns exactly what one page chain returns.

Against bench/list_server.py (which reports a folder prefix for the objects in range under it, as GCS
does) and against fake-gcs-server (which compares the prefix string itself with the offsets), with
small pages so a few thousand names make many pages and ranges.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.storage import GcsStore, parse_location
from tui.storage.emulator import Emulator
from tui.storage.parallel_listing import KeySpace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from list_server import BUCKET, ListingServer  # noqa: E402
from proxy import LatencyProxy  # noqa: E402

PAGE = 20
LEVEL = "p/"


def _name_sets() -> dict[str, list[str]]:
    rng = random.Random(7)
    unicode_words = ["ü", "日本", "😀", "é", "z", "Z", "a-b", "ñ/x", "한국어", "𝔘"]
    return {
        "uneven digits": [f"p/img_{i}.png" for i in range(1500)],
        "unicode": [f"p/{w}{i}" for w in unicode_words for i in range(0, 300, rng.randint(1, 5))],
        "folders": [f"p/d{i:03d}/x{j}" for i in range(300) for j in range(i % 4 + 1)]
        + [f"p/big/{k:05d}" for k in range(900)]
        + [f"p/f{i}" for i in range(400)],
        "sparse tail": [f"p/a{i:04d}" for i in range(PAGE * 3)] + ["p/zz", "p/zzz/1", "p/😀"],
        "one past the first page": [f"p/n{i}" for i in range(PAGE + 1)],
        "a few past the first page": [f"p/n{i:02d}" for i in range(PAGE + 4)],
        "exactly one page": [f"p/n{i:02d}" for i in range(PAGE)],
        "random": sorted({"p/" + "".join(rng.choices("ab0/ü", k=rng.randint(1, 8))) for _ in range(3000)}),
    }


NAME_SETS = _name_sets()


def expected_level(names: list[str], prefix: str = LEVEL) -> list[str]:
    """What a delimiter listing of `prefix` holds: objects right under it and one prefix per sub-folder."""
    level = set()
    for name in names:
        if not name.startswith(prefix) or name == prefix:
            continue
        rest = name[len(prefix) :]
        level.add(prefix + rest[: rest.index("/") + 1] if "/" in rest else name)
    return sorted(level)


def listed(store: GcsStore, bucket: str) -> tuple[list[str], list[int]]:
    pages = list(store.list_level(parse_location(f"gs://{bucket}/{LEVEL}")))
    return [e.location.path for page in pages for e in page], [len(page) for page in pages]


def range_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tfscope-list-range"]


def wait_for_no_range_threads(seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while range_threads() and time.monotonic() < deadline:
        for thread in range_threads():
            thread.join(timeout=0.05)
    assert not range_threads()


@pytest.fixture
def listing_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ListingServer]:
    holder: list[ListingServer] = []

    def serve(names: list[str]) -> ListingServer:
        server = ListingServer(names=names)
        server.start()
        holder.append(server)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
        return server

    yield serve  # type: ignore[misc]
    for server in holder:
        server.stop()


@pytest.mark.parametrize("case", list(NAME_SETS))
def test_ranges_list_what_one_chain_lists(case: str, listing_server) -> None:  # type: ignore[no-untyped-def]
    names = [*NAME_SETS[case], LEVEL]  # with the zero-byte "folder" object some tools create
    listing_server(names)
    want = expected_level(names)
    sequential, _ = listed(GcsStore(page_size=PAGE, listing_workers=1), BUCKET)
    parallel, sizes = listed(GcsStore(page_size=PAGE, listing_workers=8), BUCKET)
    assert sequential == want
    assert parallel == want  # in order, no duplicates, no gaps
    assert all(size == PAGE for size in sizes[1:-1]) and all(0 < size <= PAGE for size in sizes)  # full pages
    wait_for_no_range_threads()


@pytest.fixture(scope="module")
def emulator_with_names(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, dict[str, list[str]]]]:
    """fake-gcs-server preloaded with a bucket per name set (objects as files: names with "/" are folders)."""
    data = tmp_path_factory.mktemp("listing-data")
    buckets = {}
    for i, case in enumerate(("uneven digits", "unicode", "folders", "one past the first page", "sparse tail")):
        bucket = f"names-{i}"
        kept = []
        for name in NAME_SETS[case]:
            path = data / bucket / name
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"x")
            except (IsADirectoryError, NotADirectoryError, FileExistsError):
                continue  # "a" and "a/b" cannot both be files on disk
            kept.append(name)
        buckets[bucket] = [n for n in kept if (data / bucket / n).is_file()]
    server = Emulator(data)
    server.start()
    yield server, buckets
    server.stop()


def test_ranges_against_fake_gcs_server(
    emulator_with_names: tuple[Emulator, dict[str, list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, buckets = emulator_with_names
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    for bucket, names in buckets.items():
        want = expected_level(names)
        parallel, _ = listed(GcsStore(page_size=PAGE, listing_workers=8), bucket)
        # fake-gcs-server puts every prefix on a listing's first page, so only the set and the
        # objects' order are its own; the ranges must still give each entry exactly once.
        assert sorted(parallel) == want, bucket
        objects = [p for p in parallel if not p.endswith("/")]
        assert objects == sorted(objects), bucket
    wait_for_no_range_threads()


def test_leaving_the_level_stops_every_range_lister(monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing the pages (the browser's worker going) ends the range threads after the request they are in."""
    server = ListingServer(count=20_000)
    server.start()
    proxy = LatencyProxy(server.port, rtt=0.05)
    proxy.start()
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        store = GcsStore(page_size=100, listing_workers=8)
        pages = store.list_level(parse_location(f"gs://{BUCKET}/shards/"))
        assert len(next(pages)) == 100
        assert not range_threads()  # only asked for the first page: nothing lists ahead
        assert len(next(pages)) == 100
        assert range_threads()
        pages.close()  # type: ignore[attr-defined]
        wait_for_no_range_threads()
        requests = store.stats.snapshot()[0]
        assert requests < 60  # 200 pages in all: the ranges stopped instead of listing on
    finally:
        proxy.stop()
        server.stop()


def test_key_space_keeps_name_order() -> None:
    rng = random.Random(3)
    names = sorted({"p/" + "".join(rng.choices("09aZü日😀-/", k=rng.randint(0, 12))) for _ in range(2000)})
    space = KeySpace("p/", names[:300])
    keys = [space.key(n) for n in names]
    assert keys == sorted(keys)  # monotone (not strictly: names it cannot tell apart share a key)
    for name in names[:300]:
        assert space.name(space.key(name)) <= name
    bench = [f"s/part-{i:06d}-of-100000.tfrecord" for i in range(1000)]
    space = KeySpace("s/", bench)
    step = (space.key(bench[-1]) - space.key(bench[0])) // 999
    guess = space.name(space.key(bench[-1]) + 5000 * step)
    assert "s/part-004" <= guess < "s/part-007"  # digits interpolate: ~5,000 names on
