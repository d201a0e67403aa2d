"""The runtime host: drives the TensorFlow child process from the app (or a headless command).

TensorFlow runs in a child so that a crash or abort while loading a malformed model cannot take
the TUI down, cancel can really stop a 10 GB load (the child is killed), importing TF does not
fight the UI for the GIL, and switching models gives the memory back. This module imports no
TensorFlow: it speaks JSON lines to `python -m tui.runtime.child` (see protocol.py), and its
methods return the protocol's dataclasses.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.errors import TfscopeError
from tui.formats.kinds import ArtifactKind
from tui.runtime.protocol import (
    DEVICE_LISTING_ENV,
    LIFELINE_ENV,
    Devices,
    Loaded,
    Placement,
    RunRequest,
    RunResult,
)

STDERR_TAIL = 12


class RuntimeCrashedError(TfscopeError):
    title = "The runtime crashed"


class RuntimeCancelledError(TfscopeError):
    title = "Cancelled"


class RuntimeRequestError(TfscopeError):
    """The child answered with an error (bad input, refused by safe mode, no such signature...)."""


PhaseCallback = Callable[[str], None]


class RuntimeHost:
    """One TensorFlow child process, started on first need and restarted after a crash."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._lock = threading.Lock()
        self._cancelled = False
        self._cancels = 0  # how many cancels so far: a request waiting its turn checks it did not miss one
        self._warm: threading.Thread | None = None
        self._lifeline: int | None = None
        """The write end of the pipe the child watches (see child.watch_lifeline)."""
        self.held: tuple[str, Loaded] | None = None
        """(key, what loading it returned) of the model the child holds; None once it holds none."""

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The TensorFlow child's process id while it runs (to find it in `top`), else None."""
        return self._process.pid if self.running and self._process is not None else None

    def start(self) -> None:
        if self.running:
            return
        self._close_lifeline()
        self.held = None
        # The child exits when this pipe closes: when this process ends, however it ends (kill -9
        # included), the kernel closes the write end, which no other process holds.
        lifeline_read, self._lifeline = os.pipe()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", LIFELINE_ENV: str(lifeline_read), **(self.env or {})}
        self._stderr.clear()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tui.runtime.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                pass_fds=(lifeline_read,),
            )
        finally:
            os.close(lifeline_read)
        stderr = self._process.stderr
        assert stderr is not None
        threading.Thread(target=self._drain_stderr, args=(stderr,), daemon=True, name="tfscope-runtime-stderr").start()

    def prewarm(self) -> None:
        """Start the child and import TensorFlow in the background, so a request sent seconds later
        (after a download, say) finds it ready. Errors are left for that request to report."""
        if self.warming or self.running:
            return  # a running child has TensorFlow imported, or a request in flight is importing it
        self.start()  # now, not in the thread: a caller that asks `running` right after gets the truth

        def warm() -> None:
            with contextlib.suppress(TfscopeError):
                self._request("warm", doing="starting TensorFlow")

        self._warm = threading.Thread(target=warm, daemon=True, name="tfscope-runtime-warm")
        self._warm.start()

    @property
    def warming(self) -> bool:
        """True while a prewarm is still importing TensorFlow."""
        return self._warm is not None and self._warm.is_alive()

    def _drain_stderr(self, stream: Any) -> None:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self._stderr.append(line)

    def stop(self) -> None:
        """End the child (its memory goes with it)."""
        process, self._process = self._process, None
        self.held = None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._close_lifeline()

    def _close_lifeline(self) -> None:
        if self._lifeline is not None:
            with contextlib.suppress(OSError):
                os.close(self._lifeline)
            self._lifeline = None

    def cancel(self) -> None:
        """Stop what the child is doing by killing it, and the requests waiting for it; the next
        request starts a fresh one."""
        self._cancels += 1
        self._cancelled = True
        self.stop()

    # -- what the child does ----------------------------------------------------------------

    def load(
        self,
        path: str,
        kind: ArtifactKind,
        *,
        key: str = "",
        unsafe: bool = False,
        device: str | None = None,
        on_phase: PhaseCallback | None = None,
    ) -> Loaded:
        """Restore the model at `path` (a local file or folder), replacing any model held before.

        `key` names it (the artifact's URI) in `held`, so a screen opened on it again knows.
        """
        self.held = None  # the child lets go of the previous model first

        def event(message: dict[str, Any]) -> None:
            if on_phase is not None:
                on_phase(str(message.get("phase", "")))

        raw = self._request("load", doing=f"loading {key or path}", on_event=event, path=path, kind=kind.value,
                            unsafe=unsafe, device=device)  # fmt: skip
        loaded = Loaded.from_json(raw)
        self.held = (key or path, loaded)
        return loaded

    def run(self, request: RunRequest) -> RunResult:
        raw = self._request("run", doing=f"running {request.signature}", **request.to_json())
        return RunResult.from_json(raw)

    def devices(self) -> Devices:
        listing = os.environ.get(DEVICE_LISTING_ENV)
        if listing:
            return Devices.from_json(json.loads(Path(listing).read_text()))
        return Devices.from_json(self._request("devices", doing="listing devices"))

    def placement(self) -> Placement:
        return Placement.from_json(self._request("placement", doing="reading placement"))

    def unload(self) -> None:
        """Let go of the model (its memory returns to the system); the child stays warm."""
        self.held = None
        if self.running:
            self._request("unload", doing="unloading")

    def hello(self) -> dict[str, Any]:
        """The child's pid and Python version (starting it if needed)."""
        return self._request("hello", doing="starting the runtime")

    # -- the pipe ---------------------------------------------------------------------------

    def _request(
        self, op: str, *, doing: str, on_event: Callable[[dict[str, Any]], None] | None = None, **args: Any
    ) -> dict[str, Any]:
        """Send one request and wait for its answer, passing events to `on_event` meanwhile.

        Args:
            op: The child's operation ("load", "devices", "placement", "run", ...).
            doing: What this is, for messages ("loading gs://b/m").
        """
        cancels = self._cancels
        with self._lock:
            if self._cancels != cancels:  # cancelled while waiting (say, behind TensorFlow's import)
                raise RuntimeCancelledError(f"Stopped {doing}.", "Press l to load again.")
            self._cancelled = False
            self.start()
            process = self._process
            assert process is not None and process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
                process.stdin.flush()
                for raw in process.stdout:
                    message = json.loads(raw)
                    if "event" in message:
                        if on_event is not None:
                            on_event(message)
                        continue
                    if message.get("ok"):
                        result: dict[str, Any] = message["result"]
                        return result
                    error = message["error"]
                    raise RuntimeRequestError(error["detail"], error.get("fix", ""), title=error["title"])
            except (BrokenPipeError, ValueError, OSError):
                pass  # the child is gone: explained below
            if self._cancelled:
                raise RuntimeCancelledError(f"Stopped {doing}.", "Press l to load again.")
            self.stop()
            tail = "\n".join(self._stderr) or "(no output)"
            raise RuntimeCrashedError(
                f"The runtime crashed while {doing}:\n{tail}",
                "It restarts on the next load. If the model crashes it every time, it may be damaged.",
            )
