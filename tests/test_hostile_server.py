"""A server that speaks the GCS JSON API but answers with hostile data (tests/hostile_gcs.py): every answer
ends within its bounds in bytes and time, every listing within its caps, and each ends in a message in words.

The subprocess cases run the real CLI and measure its peak memory (os.wait4), as a user would meet it.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fuzz_hostile import Ran, run_measured
from hostile_gcs import HostileGcs

from tui.errors import BadAnswerError, ListingStoppedError, NetworkError, TfscopeError
from tui.formats import scan as scan_module
from tui.formats.inspect import NotAModelError
from tui.formats.scan import scan
from tui.runtime.session import artifact_files
from tui.storage import GcsStore, Stores, bounded_http, listing_guard, parse_location

BUCKET = "hostile"
OBJECT = b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 40
"""An object of 10 KiB that starts like HDF5."""
T = TypeVar("T")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileGcs]:
    hostile = HostileGcs(BUCKET, {"m.h5": OBJECT, "d/saved_model.pb": b"\0" * 100})
    with hostile.running():
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", hostile.url)
        yield hostile


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call`'s result or exception, failing the test if it has neither after `seconds` (an unbounded
    read would otherwise hang the suite; the thread is left to the server's shutdown)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def cli(*args: str, timeout: float = 60) -> Ran:
    """`tfscope ARGS` in a subprocess with its own peak memory; past `timeout` s the test fails."""
    return run_measured(list(args), timeout=timeout)


def store() -> GcsStore:
    return GcsStore(anonymous=True, deadline=2)


# -- 1. bodies that never end ----------------------------------------------------------------------


@pytest.mark.parametrize("trick", ["endless_chunked", "until_close", "more_than_asked"])
def test_a_ranged_read_holds_no_more_than_it_asked_for(server: HostileGcs, trick: str) -> None:
    server.trick = trick
    try:
        data = within(20, lambda: store().read_range(parse_location(f"gs://{BUCKET}/m.h5"), 0, 4096))
    except BadAnswerError as error:
        assert "asked for" in str(error)  # past what was asked, or a range other than it
    else:
        assert len(data) <= 4096
    assert server.sent < 64 * 1024 * 1024  # what the kernel's buffers took, not an endless stream


@pytest.mark.parametrize("trick", ["endless_chunked", "until_close"])
def test_a_download_stops_at_the_listed_size(server: HostileGcs, tmp_path: Path, trick: str) -> None:
    server.trick = trick
    dest = tmp_path / "m.h5"
    with contextlib.suppress(TfscopeError):  # the bytes are the server's: the bound is what is asserted
        within(30, lambda: store().download(parse_location(f"gs://{BUCKET}/m.h5"), dest))
    assert not dest.exists() or dest.stat().st_size <= len(OBJECT)
    assert server.sent < 64 * 1024 * 1024


@pytest.mark.parametrize("trick", ["endless_chunked", "until_close"])
def test_inspect_of_an_endless_object_ends_in_bounded_memory(server: HostileGcs, trick: str) -> None:
    server.trick = trick
    ran = cli("inspect", f"gs://{BUCKET}/m.h5", "--anonymous")
    assert ran.code == 1 and ran.stderr.startswith("tfscope: ") and "Traceback" not in ran.stderr
    assert ran.peak < 1024**3 and ran.seconds < 60, ran


# -- 2. trickles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trick", ["trickle_headers", "trickle_body"])
def test_a_trickle_is_stopped_by_the_minimum_rate(
    server: HostileGcs, monkeypatch: pytest.MonkeyPatch, trick: str
) -> None:
    """A byte every 0.2 s never trips the 10 s stall timeout; the rate rule ends it after the grace."""
    monkeypatch.setattr(bounded_http, "GRACE_SECONDS", 1.0)
    server.trick = trick
    started = time.monotonic()
    with pytest.raises(NetworkError, match="too slowly: .* bytes in 1 s") as caught:
        within(20, lambda: store().read_range(parse_location(f"gs://{BUCKET}/m.h5"), 0, 4096))
    assert caught.value.title == "Transfer stalled" and time.monotonic() - started < 8


def test_a_trickled_listing_is_stopped_by_the_minimum_rate(server: HostileGcs, monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing page may hold 16 MiB: the rule is the rate, so a trickle does not get 16 MiB's time."""
    monkeypatch.setattr(bounded_http, "GRACE_SECONDS", 1.0)
    server.trick = "trickle_listing"
    started = time.monotonic()
    with pytest.raises(NetworkError, match="too slowly"):
        within(20, lambda: list(store().list_level(parse_location(f"gs://{BUCKET}/"))))
    assert time.monotonic() - started < 8


# -- 3. listings that never end --------------------------------------------------------------------


def _level(location: str) -> list[Any]:
    return [e for page in store().list_level(parse_location(location)) for e in page]


def _recursive(location: str) -> list[Any]:
    return [e for page in store().list_recursive(parse_location(location)) for e in page]


def _scan(location: str) -> Any:
    loc = parse_location(location)
    return scan(Stores(store()).for_location(loc), loc)


@pytest.mark.parametrize("listing", [_level, _recursive, _scan])
def test_a_repeated_page_token_is_an_error(server: HostileGcs, listing: Callable[[str], Any]) -> None:
    server.trick = "repeat_token"
    with pytest.raises(BadAnswerError, match="same page token twice"):
        within(20, lambda: listing(f"gs://{BUCKET}/"))


@pytest.mark.parametrize("listing", [_level, _recursive, _scan])
def test_pages_of_nothing_are_an_error(server: HostileGcs, listing: Callable[[str], Any]) -> None:
    server.trick = "empty_pages"
    with pytest.raises(BadAnswerError, match="more than 100 empty pages"):
        within(20, lambda: listing(f"gs://{BUCKET}/"))


def test_a_level_stops_at_its_cap_and_keeps_the_rows_before(server: HostileGcs) -> None:
    server.trick = "endless_tokens"
    rows: list[Any] = []

    def fill() -> None:
        for page in GcsStore(anonymous=True, level_max_entries=5_000).list_level(parse_location(f"gs://{BUCKET}/")):
            rows.extend(page)

    with pytest.raises(ListingStoppedError, match="more than 5,000 entries at this level"):
        within(30, fill)
    assert len(rows) == 5_000


def test_a_scan_stops_at_its_object_cap(server: HostileGcs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan_module, "MAX_OBJECTS", 20_000)
    server.trick = "endless_tokens"
    report = within(60, lambda: _scan(f"gs://{BUCKET}/"))
    assert report.truncated and 20_000 <= report.objects <= 21_000


def test_a_listing_stops_at_its_time_cap(server: HostileGcs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing_guard, "LISTING_SECONDS", 1.0)
    server.trick = "endless_tokens"
    pages = 0

    def follow() -> None:
        nonlocal pages
        for _ in store().list_recursive(parse_location(f"gs://{BUCKET}/")):
            pages += 1

    with pytest.raises(ListingStoppedError, match=r"took more than 1 s: stopped after [\d,]+ entries"):
        within(30, follow)
    assert pages > 0


def test_loading_a_folder_that_never_ends_stops_at_the_model_folder_cap(server: HostileGcs) -> None:
    server.trick = "endless_tokens"
    location = parse_location(f"gs://{BUCKET}/d/")
    with pytest.raises(NotAModelError, match="more than 20,000 files"):
        within(30, lambda: artifact_files(Stores(store()), location))


def test_scan_of_an_endless_listing_ends_in_bounded_memory(server: HostileGcs) -> None:
    """The real caps, through the CLI: 500,000 objects, then a summary that says the scan stopped."""
    server.trick = "endless_tokens"
    ran = cli("scan", f"gs://{BUCKET}/", "--anonymous", timeout=120)
    assert ran.code == 3 and "the listing stopped after 500,000 objects: scan a narrower prefix" in ran.stdout
    assert ran.peak < 1.5 * 1024**3, ran.peak


# -- 6. malformed answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trick", "words"),
    [
        ("items_not_objects", "an item that is not an object's resource"),
        ("size_not_a_number", "an object's size, generation or other field"),
        ("name_outside_prefix", "a name outside the prefix listed"),
        ("name_too_long", "a name longer than 1024 bytes"),
        ("not_an_object", "not a JSON object"),
        ("endless_json", "went on past 16,777,216 bytes"),
    ],
)
def test_a_malformed_listing_is_a_message_in_words(server: HostileGcs, trick: str, words: str) -> None:
    server.trick = trick
    ran = cli("scan", f"gs://{BUCKET}/d/", "--anonymous")
    assert ran.code == 2 and ran.stderr.startswith("tfscope: Bad answer from storage:"), ran  # 2: not checked
    assert words in ran.stderr and "Error:" not in ran.stderr


# -- 5. run inputs from gs:// ----------------------------------------------------------------------


def _npy(rows: int) -> bytes:
    import numpy as np

    out = io.BytesIO()
    np.save(out, np.zeros((rows, 16), np.float32))
    return out.getvalue()


def test_a_gs_input_whose_body_never_ends_stops_at_its_listed_size(
    server: HostileGcs, zoo: Path, tmp_path: Path
) -> None:
    server.objects["x.npy"] = _npy(1)
    server.trick = "endless_chunked"
    ran = cli("run", str(zoo / "keras/functional.keras"), "--input", f"features=gs://{BUCKET}/x.npy", "--anonymous",
              "--cache-dir", str(tmp_path))  # fmt: skip
    # the server's zeros, refused from the copy's header before TensorFlow (whose process would pass 400 MB)
    assert ran.code == 1 and "gs://hostile/x.npy is not a .npy or .npz file" in ran.stderr, ran.stderr
    assert server.sent < 64 * 1024 * 1024 and ran.peak < 400 * 1024**2, (server.sent, ran.peak)


def test_a_gs_input_over_the_limit_is_refused_before_it_is_downloaded(
    server: HostileGcs, zoo: Path, tmp_path: Path
) -> None:
    server.objects["x.npy"] = _npy(20_000)  # 1.3 MB
    ran = cli("run", str(zoo / "keras/functional.keras"), "--input", f"features=gs://{BUCKET}/x.npy", "--anonymous",
              "--max-input-mb", "1", "--cache-dir", str(tmp_path))  # fmt: skip
    assert ran.code == 1 and "is 1,280,128 bytes, more than the 1,000,000 allowed" in ran.stderr, ran.stderr
    assert server.sent < 100_000  # its metadata, not its bytes
