"""GcsStore against the real fake-gcs-server on loopback."""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_BUCKET, PAGING_BUCKET, PAGING_OBJECTS, Uploader
from fault_proxy import FaultProxy, Rule

from tui.errors import EmulatorNotRunningError, NotFoundError
from tui.formats.kinds import ArtifactKind
from tui.formats.registry import kinds_by_name
from tui.storage import GcsStore, parse_location
from tui.storage.base import PAGE_SIZE
from tui.storage.emulator import Emulator
from tui.storage.gcs import FIRST_READ, _piece_of


@pytest.fixture
def gcs(emulator: Emulator) -> GcsStore:
    return GcsStore(deadline=3)


def names(pages: object) -> list[str]:
    return [e.name for page in pages for e in page]  # type: ignore[attr-defined]


def test_lists_buckets(gcs: GcsStore) -> None:
    assert set(names(gcs.list_level(parse_location("gs://")))) == {f"{DEMO_BUCKET}/", f"{PAGING_BUCKET}/", "zoo/"}


def test_lists_one_level_with_prefixes_and_objects(gcs: GcsStore) -> None:
    entries = [e for page in gcs.list_level(parse_location(f"gs://{DEMO_BUCKET}/")) for e in page]
    assert [e.name for e in entries] == sorted(e.name for e in entries)
    assert "README.txt" in [e.name for e in entries]
    assert {"models/", "serving/", "checkpoints/"} <= {e.name for e in entries if e.is_dir}
    readme = next(e for e in entries if e.name == "README.txt")
    assert readme.stat is not None and readme.stat.size == len(
        b"tfscope demo bucket: models in every TensorFlow format.\n"
    )


def test_paging_streams_pages_of_at_most_1000(gcs: GcsStore) -> None:
    pages = list(gcs.list_level(parse_location(f"gs://{PAGING_BUCKET}/many/")))
    assert [len(p) for p in pages] == [PAGE_SIZE] * (PAGING_OBJECTS // PAGE_SIZE) + [PAGING_OBJECTS % PAGE_SIZE]
    listed = [e.name for p in pages for e in p]
    assert listed == [f"obj-{i:05d}.txt" for i in range(PAGING_OBJECTS)]


def test_first_page_arrives_without_waiting_for_the_rest(gcs: GcsStore) -> None:
    pages = gcs.list_level(parse_location(f"gs://{PAGING_BUCKET}/many/"))
    first = next(iter(pages))
    assert len(first) == PAGE_SIZE
    pages.close()  # type: ignore[attr-defined]  # stopping early is allowed: the rest is never fetched


def test_recursive_listing_sees_every_depth(gcs: GcsStore) -> None:
    found = names(gcs.list_recursive(parse_location(f"gs://{PAGING_BUCKET}/nested/")))
    assert sorted(found) == ["file.txt"] * 3


def test_stat_matches_the_seeded_file(gcs: GcsStore, model_files: Path) -> None:
    local = model_files / "models" / "image" / "tiny_cnn.h5"
    stat = gcs.stat(parse_location(f"gs://{DEMO_BUCKET}/models/image/tiny_cnn.h5"))
    assert stat.size == local.stat().st_size
    assert stat.generation and stat.crc32c and stat.md5 and stat.storage_class == "STANDARD"
    assert stat.updated is not None


def test_ranged_reads(gcs: GcsStore, model_files: Path) -> None:
    data = (model_files / "models" / "image" / "tiny_cnn.h5").read_bytes()
    uri = parse_location(f"gs://{DEMO_BUCKET}/models/image/tiny_cnn.h5")
    assert gcs.read_range(uri, 0, 8) == data[:8]
    assert gcs.read_range(uri, 100, 50) == data[100:150]
    assert gcs.read_range(uri, -16, 16) == data[-16:]
    with gcs.open(uri) as f:
        f.seek(len(data) - 10)
        assert f.read() == data[-10:]
        f.seek(1000)
        assert f.read(24) == data[1000:1024]


def test_opening_an_object_fetches_its_front_without_a_stat(fault_proxy: FaultProxy, uploader: Uploader) -> None:
    """The first request of an open brings the object's first MiB, its size and its generation: a stat
    first would cost a round trip more on a distant bucket."""
    big, small = os.urandom(FIRST_READ + 300_000), os.urandom(5000)
    for name, data in (("big.bin", big), ("small.bin", small), ("empty.bin", b"")):
        uploader.put(name, data)
    store = GcsStore(deadline=3)
    store.client()
    fault_proxy.seen.clear()
    with store.open(parse_location(uploader.uri + "big.bin")) as f:
        assert f.seek(0, io.SEEK_END) == len(big)
        f.seek(5)
        assert f.read(FIRST_READ - 5) == big[5:FIRST_READ]
        assert len(fault_proxy.seen) == 1 and "alt=media" in fault_proxy.seen[0]
        f.seek(len(big) - 10)
        assert f.read() == big[-10:]
        assert len(fault_proxy.seen) == 2
    with store.open(parse_location(uploader.uri + "small.bin")) as f:
        assert f.read() == small
    assert len(fault_proxy.seen) == 3  # a small object whole, in one request
    with store.open(parse_location(uploader.uri + "empty.bin")) as f:  # no byte 0 to ask for: a stat says
        assert f.read() == b""
    with pytest.raises(NotFoundError, match="does not exist"):
        store.open(parse_location(uploader.uri + "missing.bin"))


def test_a_ranged_answer_is_taken_only_when_it_says_it_all() -> None:
    """Size, generation and place come from the headers of a 206: anything odd sends open back to a stat."""
    ok = {"Content-Range": "bytes 0-9/100", "X-Goog-Generation": "7"}
    assert _piece_of(206, ok) == (0, 10, 100, 7, b"")
    for odd in ("bytes 5-3/10", "bytes 0-9/5", "bytes */100", "bytes 0-9/"):
        assert _piece_of(206, {**ok, "Content-Range": odd}) is None, odd
    assert _piece_of(206, {**ok, "X-Goog-Generation": ""}) is None
    assert _piece_of(206, {**ok, "Content-Encoding": "gzip"}) is None  # transcoded: not the stored bytes
    assert _piece_of(200, ok) is None


def in_pairs(together: list[bool]) -> Rule:
    """Holds each media request at a barrier until another arrives, noting whether one did (in 5 s): only
    requests made side by side get through at once. Then forwards it as usual."""
    barrier = threading.Barrier(2, timeout=5)

    def side_by_side(handler: Any) -> bool:
        if "alt=media" in handler.path:
            try:
                barrier.wait()
                together.append(True)
            except threading.BrokenBarrierError:
                together.append(False)
        return False

    return Rule(side_by_side)


def test_a_tail_asked_for_comes_alongside_the_front(fault_proxy: FaultProxy, uploader: Uploader) -> None:
    """A zip is read from its end, then its front: both come in one round trip, opened by name or from a
    listing."""
    data = os.urandom(FIRST_READ + 500_000)
    uploader.put("m.keras", data)
    location = parse_location(uploader.uri + "m.keras")
    store = GcsStore(deadline=3)
    listed = next(e for page in store.list_level(location.parent) for e in page if e.name == "m.keras")
    for known in (None, listed.stat):
        together: list[bool] = []
        fault_proxy.rules[:] = [in_pairs(together)]
        with store.open(location, known, tail=70_000) as f:
            f.seek(-22, io.SEEK_END)
            assert f.read() == data[-22:]
            f.seek(100)
            assert f.read(50_000) == data[100:50_100]
            f.seek(len(data) - 70_000)
            assert f.read(1000) == data[-70_000:-69_000]
        assert together == [True, True], known


def test_download(gcs: GcsStore, model_files: Path, tmp_path: Path) -> None:
    dest = tmp_path / "model.keras"
    gcs.download(parse_location(f"gs://{DEMO_BUCKET}/models/image/tiny_cnn.keras"), dest)
    assert dest.read_bytes() == (model_files / "models" / "image" / "tiny_cnn.keras").read_bytes()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("models/image/tiny_cnn.keras", ArtifactKind.KERAS),
        ("models/image/tiny_cnn.h5", ArtifactKind.HDF5),
        ("models/mobile/tiny_cnn.tflite", ArtifactKind.TFLITE),
        ("checkpoints/tiny_cnn/ckpt-1.index", ArtifactKind.CHECKPOINT),
        ("broken/not_a_model.keras", ArtifactKind.KERAS),  # by name only: the sniff below refutes it
    ],
)
def test_objects_are_marked_by_name(gcs: GcsStore, path: str, kind: ArtifactKind) -> None:
    location = parse_location(f"gs://{DEMO_BUCKET}/{path}")
    entries = [e for p in gcs.list_level(location.parent) for e in p]
    assert kinds_by_name(entries).get(location) is kind


def test_missing_bucket_is_not_found(gcs: GcsStore) -> None:
    with pytest.raises(NotFoundError, match="no-such-bucket"):
        list(gcs.list_level(parse_location("gs://no-such-bucket/")))


def test_missing_prefix_and_object_are_not_found(gcs: GcsStore) -> None:
    with pytest.raises(NotFoundError, match="nothing-here"):
        list(gcs.list_level(parse_location(f"gs://{DEMO_BUCKET}/nothing-here/")))
    with pytest.raises(NotFoundError, match="missing.h5"):
        gcs.stat(parse_location(f"gs://{DEMO_BUCKET}/missing.h5"))


def test_emulator_stopped_mid_listing(emulator_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = Emulator(emulator_data)
    server.start()
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
        pages = iter(GcsStore(deadline=1).list_level(parse_location(f"gs://{PAGING_BUCKET}/many/")))
        assert len(next(pages)) == PAGE_SIZE
        server.stop()
        with pytest.raises(EmulatorNotRunningError, match=server.url) as caught:
            for _ in pages:  # the pages read ahead before the stop come first; 6 pages: some are not
                pass
        assert "STORAGE_EMULATOR_HOST" in caught.value.fix
    finally:
        server.stop()


def test_environment_is_offline() -> None:
    """The suite itself must never probe the GCE metadata server."""
    assert os.environ["NO_GCE_CHECK"] == "true"
    assert os.environ["GCE_METADATA_HOST"].startswith("127.0.0.1:")


def test_listing_asks_only_for_the_fields_it_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """GCS honours `fields` (fake-gcs-server ignores it): bench/list_server.py cuts resources like GCS does,
    so a field the details pane needs but the listing forgot to ask for would come back empty here."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from list_server import BUCKET, PREFIX, ListingServer

    server = ListingServer(2_500)
    server.start()
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
        pages = list(GcsStore().list_level(parse_location(f"gs://{BUCKET}/{PREFIX}")))
    finally:
        server.stop()
    assert [len(p) for p in pages] == [1000, 1000, 500]
    entry = pages[2][-1]
    assert entry.name == "part-002499-of-100000.tfrecord" and entry.stat is not None
    stat = entry.stat
    assert stat.size == 4_002_499 and stat.updated is not None and stat.generation
    assert stat.crc32c and stat.md5 and stat.content_type and stat.storage_class == "STANDARD"


def listing_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tfscope-list-range"]


@pytest.mark.usefixtures("emulator")
def test_peeking_at_a_first_page_costs_one_request() -> None:
    """The browser peeks at sub-folders' first pages to mark models: no range listing may start for the rest."""
    store = GcsStore()
    before = store.stats.snapshot()[0]
    running = set(listing_threads())  # an earlier test's ranges may still be finishing their last request
    first = next(iter(store.list_level(parse_location(f"gs://{PAGING_BUCKET}/many/"))))
    assert not set(listing_threads()) - running  # nothing fetches on in the background: the count below is final
    assert len(first) == PAGE_SIZE and store.stats.snapshot()[0] - before == 1
