"""Faults between tfscope and the bucket, injected by a proxy in front of the real emulator: server
errors, rate limits, stalls, connections cut mid-body, objects gone mid-download. Each is told apart,
named with the location, and fails in seconds; a failed download keeps nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import Uploader
from fault_proxy import FaultProxy, Rule, anything, listing, media

from tui.errors import (
    AccessDeniedError,
    EmulatorNotRunningError,
    NetworkError,
    NotFoundError,
    ServerError,
    TfscopeError,
)
from tui.runtime.session import artifact_files
from tui.storage import GcsStore, Stores, parse_location
from tui.storage.cache import CHUNK, ModelCache


@pytest.fixture
def proxy(fault_proxy: FaultProxy) -> FaultProxy:
    return fault_proxy


@pytest.fixture
def model(uploader: Uploader) -> str:
    """A 3-chunk object, so a download spans several requests."""
    uploader.put("m.h5", bytes(range(256)) * (3 * CHUNK // 256))
    return uploader.uri + "m.h5"


def quick_store() -> GcsStore:
    return GcsStore(deadline=1, stall=1)


@pytest.mark.parametrize(
    ("rule", "error", "words"),
    [
        (Rule(media, status=503), ServerError, "answered 503"),
        (Rule(media, status=403), AccessDeniedError, "may not read"),
        (Rule(media, status=404), NotFoundError, "does not exist"),
        (Rule(media, cut=1000), NetworkError, "dropped in the middle"),
        (Rule(media, stall=30), NetworkError, "stopped sending data"),
    ],
)
def test_faults_on_the_first_read_of_an_open(
    proxy: FaultProxy, model: str, rule: Rule, error: type[TfscopeError], words: str
) -> None:
    """Opening an object reads its front at once (no stat first): that read's failures read as any other's."""
    proxy.add(rule)
    started = time.monotonic()
    with pytest.raises(error, match=words):
        quick_store().open(parse_location(model))
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("code", [500, 502, 503])
def test_server_errors_say_so_for_reads_and_listings(proxy: FaultProxy, model: str, code: int) -> None:
    proxy.add(Rule(anything, status=code))
    location = parse_location(model)
    for call in (lambda: quick_store().read_range(location, 0, 8), lambda: list(quick_store().list_level(
            location.parent))):  # fmt: skip
        with pytest.raises(ServerError) as caught:
            call()
        assert f"answered {code}" in caught.value.detail and "gs://zoo/" in caught.value.detail
        assert "InvalidResponse" not in caught.value.one_line() and "emulator" not in caught.value.one_line()


def test_rate_limit_is_named(proxy: FaultProxy, model: str) -> None:
    proxy.add(Rule(media, status=429))
    with pytest.raises(ServerError) as caught:
        quick_store().read_range(parse_location(model), 0, 8)
    assert caught.value.title == "Rate limited" and "429" in caught.value.detail


@pytest.mark.parametrize("what", ["read", "listing"])
def test_a_stall_fails_in_the_stall_time_and_says_so(proxy: FaultProxy, model: str, what: str) -> None:
    proxy.add(Rule(media if what == "read" else listing, stall=30))
    location = parse_location(model)
    started = time.monotonic()
    with pytest.raises(NetworkError) as caught:
        if what == "read":
            quick_store().read_range(location, 0, 8)
        else:
            list(quick_store().list_level(location.parent))
    assert time.monotonic() - started < 8
    assert caught.value.title == "Transfer stalled" and "1 s" in caught.value.detail


def test_a_cut_mid_body_is_a_lost_connection(proxy: FaultProxy, model: str) -> None:
    proxy.add(Rule(media, cut=1000))
    with pytest.raises(NetworkError) as caught:
        quick_store().read_range(parse_location(model), 0, 100_000)
    assert caught.value.title == "Connection lost"


def download(proxy: FaultProxy, model: str, cache_root: Path) -> ModelCache:
    stores = Stores(quick_store())
    location = parse_location(model)
    files = artifact_files(stores, location)  # listed before the fault starts
    cache = ModelCache(cache_root)
    cache.fetch(stores.gcs, location, files)
    return cache


def entries(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if not p.name.endswith(".lock")] if root.exists() else []


@pytest.mark.parametrize(
    ("rule", "error", "words"),
    [
        (Rule(media, status=404, uses=None), NotFoundError, "deleted or replaced while tfscope was reading it"),
        (Rule(media, cut=4096), NetworkError, "dropped in the middle"),
        (Rule(media, stall=30), NetworkError, "stopped sending data"),
        (Rule(media, status=503), ServerError, "answered 503"),
    ],
    ids=["object-gone", "cut", "stall", "503"],
)
def test_faults_mid_download_keep_nothing(
    proxy: FaultProxy, model: str, tmp_path: Path, rule: Rule, error: type[TfscopeError], words: str
) -> None:
    stores = Stores(quick_store())
    location = parse_location(model)
    files = artifact_files(stores, location)
    proxy.add(rule)
    started = time.monotonic()
    with pytest.raises(error) as caught:
        ModelCache(tmp_path / "cache").fetch(stores.gcs, location, files)
    assert time.monotonic() - started < 10
    assert words in caught.value.detail
    assert entries(tmp_path / "cache") == []


def test_connection_refused_is_still_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.storage.emulator import free_port

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(EmulatorNotRunningError):
        quick_store().read_range(parse_location("gs://zoo/x"), 0, 8)
