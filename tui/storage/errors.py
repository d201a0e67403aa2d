"""One translation of storage failures into TfscopeErrors that name the location and the fix.

Both stores wrap every call in `translated(location)`: a GCS location's failures are google-auth,
google-api-core and requests errors; a local one's are OS errors.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tui.errors import (
    AccessDeniedError,
    BadAnswerError,
    EmulatorNotRunningError,
    NetworkError,
    NoCredentialsError,
    NotFoundError,
    ServerError,
    TfscopeError,
)
from tui.storage.uri import Location

SERVER_FIX = (
    "If STORAGE_EMULATOR_HOST or a proxy sends tfscope to another server, check that server; against "
    "Google Cloud Storage itself, try again."
)
STALL_SECONDS = 10.0
"""A transfer with no bytes for this long fails (the read timeout); a slow but moving one goes on."""
EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
SIGN_IN_FIX = (
    "Run `gcloud auth application-default login` (on Colab: "
    "`from google.colab import auth; auth.authenticate_user()`), set GOOGLE_APPLICATION_CREDENTIALS "
    "to a service-account key file, or pass --anonymous for a public bucket."
)


def emulator_host() -> str | None:
    """The emulator URL from STORAGE_EMULATOR_HOST, if one is configured."""
    return os.environ.get(EMULATOR_ENV) or None


class translated:  # noqa: N801 - used as `with translated(location):`, like contextlib's suppress
    """Raise the TfscopeError a user should see instead of a library's exception on `location`.

    `generation` is set for GCS reads pinned to the generation a listing saw; `stall` is the read
    timeout the store uses, named in the message.
    """

    def __init__(self, location: Location, generation: int | None = None, *, stall: float = STALL_SECONDS) -> None:
        self.location = location
        self.generation = generation
        self.stall = stall

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, TfscopeError) or not isinstance(exc, Exception):
            return
        if self.location.is_gcs:
            raise translate_gcs_error(exc, self.location, self.generation, self.stall) from exc
        if isinstance(exc, OSError):
            raise translate_os_error(exc, self.location) from exc


def translate_os_error(exc: OSError, location: Location) -> TfscopeError:
    """The TfscopeError for a failed read of a local path."""
    path = location.path
    if isinstance(exc, FileNotFoundError):
        return NotFoundError(f"{path} does not exist.", "Check the path.")
    if isinstance(exc, PermissionError):
        return AccessDeniedError(f"No permission to read {path}.", "Check the file's permissions.")
    if isinstance(exc, NotADirectoryError):
        return NotFoundError(f"{path} is a file, not a folder.", "Open its folder.")
    return TfscopeError(f"Could not read {path}: {exc.strerror or exc}.", title="Disk error")


def translate_gcs_error(
    exc: Exception, location: Location, generation: int | None = None, stall: float = STALL_SECONDS
) -> TfscopeError:
    """The TfscopeError a user should see for a failed GCS call on `location`.

    `generation` is set for reads pinned to the generation a listing saw: a 404 then means the object
    was deleted or replaced since, not that the bucket is missing.
    """
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    bucket = f"gs://{location.bucket}" if location.bucket else "the project's buckets"
    retried = isinstance(exc, api.RetryError)
    if retried and isinstance(exc.cause, Exception):  # type: ignore[attr-defined]
        exc = exc.cause  # type: ignore[attr-defined]
    # InvalidOperation (a 401 on an anonymous client) subclasses DefaultCredentialsError: test it first.
    if isinstance(exc, auth.InvalidOperation):
        return AccessDeniedError(
            f"{bucket} is not public: anonymous access was refused.",
            "Drop --anonymous and sign in: `gcloud auth application-default login`.",
        )
    if isinstance(exc, auth.DefaultCredentialsError):
        return NoCredentialsError("No Google Cloud credentials were found on this machine.", SIGN_IN_FIX)
    bounds_error = _over_bounds(exc, location)
    if bounds_error is not None:
        return bounds_error
    status = _status_of(exc)
    if isinstance(exc, auth.RefreshError) or status == 401:
        return NoCredentialsError(
            "Your Google Cloud credentials were rejected or have expired.",
            "Run `gcloud auth application-default login` again.",
        )
    if status == 403:
        needed = "roles/storage.objectViewer" if location.bucket else "a role with storage.buckets.list"
        return AccessDeniedError(
            f"The signed-in account may not read {bucket}.",
            f"Ask for {needed} on {bucket}, or sign in as another account (`gcloud auth application-default login`).",
        )
    if status == 404:
        return _not_found(exc, location, generation)
    if status == 429:
        return ServerError(
            f"Google Cloud Storage is limiting requests (429 Too Many Requests) for {location.uri}"
            + (" and kept doing so while tfscope retried." if retried else "."),
            "Wait a minute, then try again; heavy parallel use of the bucket from elsewhere can cause it.",
            title="Rate limited",
        )
    if status is not None and status >= 500:
        return ServerError(
            f"Google Cloud Storage answered {status} {_reason(status)} for {location.uri}"
            + (", again on every retry." if retried else "."),
            "A fault on the server's side: try again in a moment (status.cloud.google.com lists outages).",
        )
    if status is not None:
        return TfscopeError(
            f"Google Cloud Storage refused the request for {location.uri} ({status} {_reason(status)}): "
            f"{_message(exc)}",
            "Check the location.",
            title="Request refused",
        )
    if _is_stall(exc):
        return NetworkError(
            f"Google Cloud Storage stopped sending data for {location.uri}: nothing arrived for {stall:g} s.",
            "Check the connection (a VPN, proxy or a very slow link), then try again.",
            title="Transfer stalled",
        )
    if _is_cut(exc):
        return NetworkError(
            f"The connection dropped in the middle of reading {location.uri}.",
            "Check the connection, then try again: nothing half-read is kept.",
            title="Connection lost",
        )
    if _is_network_error(exc):
        host = emulator_host()
        if host:
            return EmulatorNotRunningError(
                f"Nothing answers at {host} (STORAGE_EMULATOR_HOST).",
                "Start the emulator, or unset STORAGE_EMULATOR_HOST to use Google Cloud Storage.",
            )
        return NetworkError(
            f"Could not reach Google Cloud Storage for {location.uri}.",
            "Check the network connection, proxy settings and DNS, then try again.",
        )
    if isinstance(exc, api.GoogleAPICallError):
        return TfscopeError(f"Google Cloud Storage answered: {exc.message}", "Try again.", title="Storage error")
    return TfscopeError(f"{type(exc).__name__}: {exc}", "Try again.", title="Storage error")


def _over_bounds(exc: Exception, location: Location) -> TfscopeError | None:
    """The error for an answer that went past what bounded_http allows it (bytes, time), else None."""
    from tui.storage.bounded_http import GRACE_SECONDS, MIN_RATE, AnswerTooBig, AnswerTooSlow

    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, AnswerTooBig | AnswerTooSlow):  # requests may wrap it
        seen = seen.__context__
    if isinstance(seen, AnswerTooSlow):
        return NetworkError(
            f"Google Cloud Storage sent {location.uri} too slowly: {seen.received:,} bytes in "
            f"{seen.seconds:.0f} s (an answer gets {GRACE_SECONDS:g} s, then must average {MIN_RATE // 1024} KiB/s).",
            "Check the connection (a VPN, proxy or a very slow link), then try again.",
            title="Transfer stalled",
        )
    if isinstance(seen, AnswerTooBig):
        return BadAnswerError(
            f"The server's answer for {location.uri} went on past {seen.bounds.max_bytes:,} bytes, more than "
            "was asked for: it was cut off there.",
            SERVER_FIX,
        )
    return None


def _status_of(exc: Exception) -> int | None:
    """The HTTP status behind an api_core error or a media download's InvalidResponse."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and 100 <= code < 600:
        return code
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return status
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) > 1 and isinstance(args[1], int) and 100 <= args[1] < 600:
        return int(args[1])  # InvalidResponse(response, "Request failed with status code", 503, ...)
    return None


def _message(exc: Exception) -> str:
    message = getattr(exc, "message", None)
    text = str(message if message else exc)
    return text.rsplit(": ", 1)[-1][:200]


def _reason(status: int) -> str:
    import http

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _not_found(exc: Exception, location: Location, generation: int | None) -> TfscopeError:
    message = _message(exc).lower()
    if location.is_dir or ("bucket" in message and "not exist" in message):  # a listing: only the bucket can be missing
        return NotFoundError(
            f"Bucket gs://{location.bucket} does not exist ({location.uri}).",
            "Check the bucket name; names are global and case-sensitive.",
        )
    if generation is not None:
        return NotFoundError(
            f"{location.uri} was deleted or replaced while tfscope was reading it.",
            "Open it again to read the version that is there now.",
            title="Object changed",
        )
    return NotFoundError(f"{location.uri} does not exist.", "Check the path; names are case-sensitive.")


def _error_type(module: str, name: str) -> type | tuple[()]:
    """An exception class of a library, looked up without importing it.

    An exception of a library that was never imported cannot have been raised, and importing here (a worker
    thread, mid-error) can meet another thread's half-done import of the same library and see a module without
    its attributes yet: a lookup cannot.
    """
    return getattr(sys.modules.get(module), name, ())


def _is_stall(exc: Exception) -> bool:
    timeouts = (_error_type("requests.exceptions", "ReadTimeout"), TimeoutError)
    return isinstance(exc, timeouts) or "Read timed out" in str(exc)


def _is_cut(exc: Exception) -> bool:
    text = str(exc)
    return isinstance(exc, _error_type("requests.exceptions", "ChunkedEncodingError")) or any(
        marker in text for marker in ("IncompleteRead", "Connection broken", "Response ended prematurely")
    )


def _is_network_error(exc: Exception) -> bool:
    network_types = (
        # refused, reset, timed out, or cut mid-transfer (ChunkedEncodingError)
        _error_type("requests.exceptions", "RequestException"),
        ConnectionError,
        TimeoutError,
        _error_type("google.auth.exceptions", "TransportError"),
        _error_type("google.api_core.exceptions", "RetryError"),
    )
    return isinstance(exc, network_types)
