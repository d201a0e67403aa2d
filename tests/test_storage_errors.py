"""Failures become TfscopeErrors with a title, the detail and the fix: 401/403 from a stub server
(the emulator has no IAM), missing credentials, an unreachable network."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tui.errors import AccessDeniedError, NetworkError, NoCredentialsError
from tui.storage import GcsStore, parse_location
from tui.storage.emulator import free_port
from tui.storage.errors import translate_gcs_error as translate_error


def serve_status(code: int) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"error": {"code": code, "message": "denied by the stub"}}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def forbidden(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for url in serve_status(403):
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
        yield


@pytest.fixture
def unauthorized(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for url in serve_status(401):
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
        yield


def test_403_names_the_bucket_and_the_role(forbidden: None) -> None:
    with pytest.raises(AccessDeniedError) as caught:
        list(GcsStore(deadline=1).list_level(parse_location("gs://secret-models/prod/")))
    assert "gs://secret-models" in caught.value.detail
    assert "roles/storage.objectViewer" in caught.value.fix


def test_403_on_a_ranged_read(forbidden: None) -> None:
    with pytest.raises(AccessDeniedError, match="secret-models"):
        GcsStore(deadline=1).read_range(parse_location("gs://secret-models/m.h5"), 0, 8)


def test_401_anonymous_says_the_bucket_is_not_public(unauthorized: None) -> None:
    with pytest.raises(AccessDeniedError) as caught:
        list(GcsStore(anonymous=True, deadline=1).list_level(parse_location("gs://private/")))
    assert "not public" in caught.value.detail
    assert "gcloud auth application-default login" in caught.value.fix


def test_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ADC file, no key, no metadata server (blocked): sign-in instructions, not a traceback."""
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    with pytest.raises(NoCredentialsError) as caught:
        list(GcsStore(deadline=1).list_level(parse_location("gs://any-bucket/")))
    assert "gcloud auth application-default login" in caught.value.fix
    assert "--anonymous" in caught.value.fix


def test_network_unreachable_without_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real GCS is out of bounds for tests, so the translation is checked on the error requests raises.
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    error = translate_error(requests.ConnectionError("Max retries exceeded"), parse_location("gs://bkt/p/"))
    assert isinstance(error, NetworkError)
    assert "gs://bkt/p/" in error.detail and "try again" in error.fix


def test_mid_transfer_cut_is_a_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    error = translate_error(requests.exceptions.ChunkedEncodingError("connection broken"), parse_location("gs://bkt/x"))
    assert isinstance(error, NetworkError)
