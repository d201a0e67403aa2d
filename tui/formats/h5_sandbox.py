"""The HDF5 helper process: h5py runs there, fenced by the OS, so a crafted file cannot hang or crash tfscope.

The HDF5 library can loop forever or crash on a crafted file, inside C code that Python cannot
interrupt. So `probe_h5` asks a helper process (`python -m tui.formats.h5_sandbox`), which has a
CPU-time limit and an address-space limit set by the kernel. The helper never opens a file: h5py
reads through a file object whose reads come back here over the pipe, where they are served from
the caller's file object (local, ranged GCS, or a zip member) and charged to its Budget. A cancel,
a budget stop, a hang or a crash ends the helper; the next probe starts a fresh one. Helpers are
reused while they are healthy (starting one costs ~0.15 s: Python, NumPy and h5py).

Frames on the pipes: one type byte, an 8-byte length, the payload. Q: a probe (JSON, to the helper);
R: a read (offset and length, from it); B: the bytes read, or E: why the read failed (to it);
P: the attributes are read (from it); A: the answer (JSON, from it).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import resource
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import IO, Any, BinaryIO, cast

from tui.errors import CorruptArtifactError, TfscopeError
from tui.formats.limits import Budget, TooComplexError
from tui.storage.ranged import BlockCachedReader

CPU_LIMIT = 4
"""Seconds of CPU one probe may use in the helper (a ResNet50 .h5 takes 0.2 s); the kernel enforces it."""
MEMORY_LIMIT = 2 * 1024**3
"""The helper's address space: past it, allocations fail (an error) instead of taking the machine's memory."""
POLL = 0.1
"""Seconds between checks of the caller's cancel flag while the helper works."""
SILENCE = 5.0
"""Seconds the helper may go without a frame and without using any CPU: a deadlock, so it goes. (A
helper that computes is bounded by CPU_LIMIT; one that is slow to start on a busy machine uses CPU.)"""
MAX_HELPERS = 4
"""Helpers alive at once; more probes wait for one. A scan reads dozens of .h5 files at a time: a
helper each meant a Python, NumPy and h5py start-up each (measured: 530 models, 3.4 s instead of 1.1 s)."""
_HEADER = struct.Struct("<cQ")


class H5Error(CorruptArtifactError):
    """The HDF5 library refused the file (damaged, truncated, not HDF5)."""


def probe_h5(
    file: BinaryIO, size: int, request: dict[str, Any], what: str, budget: Budget, attribute_reads: int | None = None
) -> dict[str, Any]:
    """Ask h5py about `file` (see h5_probe.probe for `request` and the answer), in a helper process.

    `attribute_reads` caps the bytes read until the attributes are read (a variable-length string
    has no size to check before the library reads it); the groups' walk is not capped by it.

    Raises:
        H5Error: the library refused the file; TooComplexError: it ran out of time or memory;
        InspectionCancelled: the budget's caller cancelled.
    """
    while not _slots.acquire(timeout=POLL):
        budget.check()  # cancelled while waiting for a helper
    try:
        return _probe(file, size, request, what, budget, attribute_reads)
    finally:
        _slots.release()


def _probe(
    file: BinaryIO, size: int, request: dict[str, Any], what: str, budget: Budget, attribute_reads: int | None
) -> dict[str, Any]:
    helper = _take()
    healthy = False
    try:
        answer = helper.call(file, size, request, what, budget, attribute_reads)
        healthy = True  # only a helper whose last probe succeeded is reused: an error may leave h5py's
        return answer  # lock held, and the next probe would wait on it forever
    finally:
        _give_back(helper, healthy)


class _Helper:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui.formats.h5_sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            bufsize=0,  # unbuffered: a frame left in a buffer would be invisible to select(), and wait forever
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()

    def call(
        self, file: BinaryIO, size: int, request: dict[str, Any], what: str, budget: Budget, cap: int | None
    ) -> dict[str, Any]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        capped = budget.reads_capped(cap) if cap is not None else contextlib.nullcontext()
        capped.__enter__()
        try:
            _send(stdin, b"Q", json.dumps({**request, "size": size, "cpu": CPU_LIMIT}).encode())
            with selectors.DefaultSelector() as selector:
                selector.register(stdout, selectors.EVENT_READ)
                while True:
                    watch = _Stillness(self.process.pid)
                    while not selector.select(POLL):
                        budget.check()  # cancelled while the helper computes: ends it (below)
                        if watch.still_for() > SILENCE:
                            raise TooComplexError(
                                f"Reading {what} made the HDF5 library stop answering: refused as crafted or damaged.",
                            )
                    kind, payload = _receive(stdout)
                    if kind == b"A":
                        return _answer(json.loads(payload), what)
                    if kind == b"P":  # the attributes are read: the cap on them is lifted
                        capped.__exit__(None, None, None)
                        capped = contextlib.nullcontext()
                        continue
                    offset, length = struct.unpack("<QQ", payload)
                    _serve(stdin, file, offset, length)
        except (OSError, EOFError, ValueError, struct.error) as exc:
            self.kill()
            raise _why_it_died(self.process.returncode, what) from exc
        except BaseException:
            self.kill()  # cancelled or over budget: the helper may be anywhere, so it goes
            raise
        finally:
            capped.__exit__(None, None, None)


class _Stillness:
    """How long a process has neither sent anything nor used CPU (Linux's /proc; elsewhere, plain time)."""

    def __init__(self, pid: int) -> None:
        self.stat = f"/proc/{pid}/stat"
        self.ticks = self._ticks()
        self.since = time.monotonic()

    def _ticks(self) -> int | None:
        try:
            with open(self.stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            return None

    def still_for(self) -> float:
        ticks = self._ticks()
        if ticks is not None and ticks != self.ticks:
            self.ticks, self.since = ticks, time.monotonic()
        return time.monotonic() - self.since


def _serve(stdin: IO[bytes], file: BinaryIO, offset: int, length: int) -> None:
    """One read for the helper: its bytes, or why they could not be read (the budget's stop included)."""
    try:
        file.seek(offset)
        data = file.read(length)
    except TfscopeError as error:
        _send(stdin, b"E", error.one_line().encode())
        raise
    except OSError as exc:
        _send(stdin, b"E", str(exc).encode())
        return
    _send(stdin, b"B", data)


helper_peak_rss = 0
"""The largest resident size a helper reported (bytes): fuzzing reports it beside its own."""


def _answer(answer: dict[str, Any], what: str) -> dict[str, Any]:
    global helper_peak_rss
    helper_peak_rss = max(helper_peak_rss, int(answer.get("rss", 0)))
    error = answer.get("error")
    if error is None:
        result: dict[str, Any] = answer["result"]
        return result
    if error["kind"] == "refused":
        raise TooComplexError(f"{what} is refused as crafted: {error['detail']}.")
    if error["kind"] == "memory":
        raise TooComplexError(f"Reading {what} needed more than {MEMORY_LIMIT // 2**30} GB: refused as crafted.")
    raise unreadable(what, error["detail"])


def unreadable(what: str, why: str) -> H5Error:
    """The error for a file the HDF5 library refuses (or would: see h5_messages.NotHdf5)."""
    return H5Error(
        f"{what} is not a readable HDF5 file ({why}); it may be truncated or damaged.",
        "Check that the upload finished (compare sizes or crc32c) and save the model again.",
    )


def _why_it_died(code: int | None, what: str) -> TfscopeError:
    if code == -signal.SIGXCPU:
        return TooComplexError(
            f"Reading {what} took more than {CPU_LIMIT:g} s of computation (real models take well under one): "
            "refused as crafted or damaged.",
        )
    return H5Error(
        f"The HDF5 library failed on {what} (its helper process ended with {code}): the file is damaged or crafted.",
        "Check that the upload finished (compare sizes or crc32c) and save the model again.",
    )


# -- the pool ------------------------------------------------------------------------------------

_idle: list[_Helper] = []
_lock = threading.Lock()
_slots = threading.BoundedSemaphore(MAX_HELPERS)
"""One per helper at work: taken before a probe takes (or starts) a helper, given back after."""


def _take() -> _Helper:
    with _lock:
        while _idle:
            helper = _idle.pop()
            if helper.alive:
                return helper
    return _Helper()


def _give_back(helper: _Helper, healthy: bool) -> None:
    with _lock:
        if healthy and helper.alive and len(_idle) < MAX_HELPERS:
            _idle.append(helper)
            return
    helper.kill()


@atexit.register
def stop_all() -> None:
    with _lock:
        helpers, _idle[:] = list(_idle), []
    for helper in helpers:
        helper.kill()


# -- framing -------------------------------------------------------------------------------------


def _send(stream: IO[bytes], kind: bytes, payload: bytes) -> None:
    data = memoryview(_HEADER.pack(kind, len(payload)) + payload)
    while data:  # an unbuffered pipe may take part of it at a time
        written = stream.write(data)
        data = data[written if written is not None else len(data) :]
    stream.flush()


def _receive(stream: IO[bytes]) -> tuple[bytes, bytes]:
    kind, length = _HEADER.unpack(_read_exactly(stream, _HEADER.size))
    return kind, _read_exactly(stream, length)


def _read_exactly(stream: IO[bytes], length: int) -> bytes:
    """`length` bytes from a pipe (an unbuffered read returns what has arrived so far)."""
    chunks, left = [], length
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed its pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- the helper's side ---------------------------------------------------------------------------


def _pipe_file(size: int, requests: IO[bytes], replies: IO[bytes]) -> BinaryIO:
    """The file h5py reads in the helper: aligned blocks, cached, each miss a request over the pipe.

    h5py reads metadata a few hundred bytes at a time (6,700 reads for an EfficientNet-B7): a round
    trip each would cost more than the reading. The blocks match the GCS reader's, so a bucket sees
    the same requests as before.
    """

    def fetch(start: int, length: int) -> bytes:
        _send(requests, b"R", struct.pack("<QQ", start, length))
        kind, payload = _receive(replies)
        if kind != b"B":
            raise OSError(payload.decode(errors="replace"))
        return payload

    return cast(BinaryIO, BlockCachedReader(fetch, size))


def main() -> int:
    """The helper: answer probes until the pipe closes. Never opens a file itself."""
    from tui.formats.h5_probe import Refused, probe

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    requests, replies = sys.stdout.buffer, sys.stdin.buffer
    sys.stdout = sys.stderr  # nothing may write to the pipe but the frames
    while True:
        try:
            kind, payload = _receive(replies)
        except EOFError:
            return 0
        request = json.loads(payload)
        used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        # The kernel ends this process (SIGXCPU) past the limit, even inside the HDF5 library's C code.
        resource.setrlimit(resource.RLIMIT_CPU, (int(used) + request["cpu"], resource.RLIM_INFINITY))
        try:
            file = _pipe_file(request["size"], requests, replies)
            answer: dict[str, Any] = {"result": probe(file, request, lambda: _send(requests, b"P", b""))}
        except Refused as exc:
            answer = {"error": {"kind": "refused", "detail": str(exc)}}
        except MemoryError:
            answer = {"error": {"kind": "memory", "detail": ""}}
        except Exception as exc:  # noqa: BLE001 (h5py's errors on damaged files come as many types)
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            answer = {"error": {"kind": "damaged", "detail": text[:300]}}
        answer["rss"] = _peak_rss()
        with contextlib.suppress(BrokenPipeError):
            _send(requests, b"A", json.dumps(answer).encode())


def _peak_rss() -> int:
    """This process's peak resident size (bytes), then reset, so each answer reports its own probe."""
    try:
        with open("/proc/self/status") as status:
            peak = next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")), 0)
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return peak


if __name__ == "__main__":
    sys.exit(main())
