"""The hostile cases of `make fuzz`: the real CLI against tests/hostile_gcs.py and hostile local files,
with the bounds at their defaults, each timed and its own peak memory measured (VmHWM, see PEAK_WRAPPER).

A case passes when the command ends by itself within CASE_SECONDS, in a one-line message or a result,
with no traceback, and under PEAK_LIMIT. The figures are what issue 19's closing note quotes.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hostile_gcs import LISTING_TRICKS, MEDIA_TRICKS, HostileGcs

PEAK_WRAPPER = (
    "import atexit, os, runpy, sys\n"
    "def peak():\n"
    "    with open('/proc/self/status') as status, open(os.environ['TFSCOPE_PEAK_FILE'], 'w') as out:\n"
    "        out.write(next(line.split()[1] for line in status if line.startswith('VmHWM:')))\n"
    "atexit.register(peak)\n"
    "if sys.argv[1] == '-c':\n"
    "    code = sys.argv[2]; sys.argv = ['-c', *sys.argv[3:]]; exec(compile(code, '<case>', 'exec'))\n"
    "else:\n"
    "    sys.argv = ['tfscope', *sys.argv[1:]]; runpy.run_module('tui', run_name='__main__')\n"
)
"""Runs `tfscope ARGS` (or `-c CODE ARGS`) and writes its own peak resident KiB (VmHWM) at exit: getrusage's
ru_maxrss would carry the size of the process that started it (the test run holds TensorFlow)."""
CASE_SECONDS = 180.0
PEAK_LIMIT = 1.5 * 1024**3
LEVEL = (
    "import sys; from tui.storage import GcsStore, parse_location; from tui.errors import TfscopeError\n"
    "n = 0\n"
    "try:\n"
    "    for page in GcsStore(anonymous=True).list_level(parse_location(sys.argv[1])): n += len(page)\n"
    "except TfscopeError as e: print(f'tfscope: {e.one_line()}', file=sys.stderr); sys.exit(1)\n"
    "print(n, 'rows')"
)
"""A browser level's listing, as the TUI's worker runs it (the CLI has no command for one level)."""


@dataclass
class Case:
    name: str
    seconds: float
    peak: int
    code: int
    said: str

    @property
    def passed(self) -> bool:
        return self.code >= 0 and "Traceback" not in self.said and self.peak < PEAK_LIMIT

    def row(self) -> str:
        mark = "ok  " if self.passed else "FAIL"
        return f"{mark} {self.name:34} {self.seconds:7.1f} s {self.peak / 2**20:7.0f} MB  {self.said[:110]}"


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak: int
    """Peak resident bytes of the command's own process (0 where it was killed)."""


def run_measured(args: list[str], env: dict[str, str] | None = None, timeout: float = CASE_SECONDS) -> Ran:
    """`tfscope ARGS` (or `-c CODE ARGS`) in a subprocess, killed after `timeout` s (code -9)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tfscope-peak-") as folder:
        peak_file = Path(folder) / "peak"
        with open(peak_file.with_name("out"), "w+") as out, open(peak_file.with_name("err"), "w+") as err:
            done = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, *args], stdout=out, stderr=err, text=True,
                                  env={**(env or os.environ), "TFSCOPE_PEAK_FILE": str(peak_file)},
                                  timeout=timeout)  # fmt: skip
            out.seek(0)
            err.seek(0)
            peak = int(peak_file.read_text()) * 1024 if peak_file.exists() else 0
            return Ran(done.returncode, out.read(), err.read(), time.monotonic() - started, peak)


def _run(name: str, args: list[str], env: dict[str, str] | None = None) -> Case:
    try:
        ran = run_measured(args, env)
    except subprocess.TimeoutExpired:
        return Case(name, CASE_SECONDS, 0, -9, f"still running after {CASE_SECONDS:.0f} s")
    lines = [line for line in (ran.stdout + ran.stderr).splitlines() if line.strip()]
    code = ran.code
    said = next((line for line in lines if line.startswith("tfscope: ")), lines[-1] if lines else "")
    if any("Traceback" in line for line in lines):
        said = "Traceback: " + lines[-1]
    return Case(name, ran.seconds, ran.peak, code, said)


def _tfscope(*args: str) -> list[str]:
    return list(args)


def server_cases(model: Path) -> list[Case]:
    """Every trick of the hostile server, through the command a user would meet it with."""
    import numpy as np

    npy = io.BytesIO()
    np.save(npy, np.zeros((1, 16), np.float32))
    objects = {"m.h5": b"\x89HDF\r\n\x1a\n" + bytes(10_000), "x.npy": npy.getvalue(), "d/m.h5": bytes(100)}
    server = HostileGcs("hostile", objects)
    cases = []
    with server.running():
        env = {**os.environ, "STORAGE_EMULATOR_HOST": server.url}
        for trick in MEDIA_TRICKS:
            server.trick = trick
            cases.append(_run(f"{trick}: inspect", _tfscope("inspect", "gs://hostile/m.h5", "--anonymous"), env))
            cases.append(
                _run(
                    f"{trick}: run --input gs://",
                    _tfscope("run", str(model), "--input", "features=gs://hostile/x.npy", "--anonymous", "--no-cache"),
                    env,
                )
            )
        for trick in LISTING_TRICKS:
            server.trick = trick
            cases.append(_run(f"{trick}: scan", _tfscope("scan", "gs://hostile/d/", "--anonymous"), env))
            cases.append(_run(f"{trick}: level", ["-c", LEVEL, "gs://hostile/d/"], env))
    return cases


def local_cases(model: Path, work: Path) -> list[Case]:
    """A FIFO named like a model, 20,000 junk .h5 files, inputs that ask for too much."""
    import numpy as np

    fifo, junk = work / "fifo", work / "junk"
    fifo.mkdir()
    os.mkfifo(fifo / "model.h5")
    junk.mkdir()
    rng = random.Random(0)
    for i in range(20_000):
        (junk / f"j{i:05d}.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + rng.randbytes(rng.randrange(8, 4096)))
    bomb = work / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z, z.open("f.npy", "w", force_zip64=True) as member:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (2**25, 16)})
        member.write(header.getvalue())
        for _ in range(2048):
            member.write(bytes(1024 * 1024))
    deep = "[" * 50_000 + "]" * 50_000
    return [
        _run("FIFO model.h5: inspect", _tfscope("inspect", str(fifo / "model.h5"))),
        _run("FIFO model.h5: scan", _tfscope("scan", str(fifo))),
        _run("20,000 junk .h5: scan", _tfscope("scan", str(junk))),
        _run("--shape asking 3 GiB: run", _tfscope("run", str(model), "--shape", "features=50000000,16")),
        _run(".npz inflating to 2 GiB: run", _tfscope("run", str(model), "--input", f"features={bomb}")),
        _run("JSON 50,000 deep: run", _tfscope("run", str(model), "--input", f"features={deep}")),
        _run("ragged JSON: run", _tfscope("run", str(model), "--input", "features=[[1,2],[3]]")),
    ]


def run_all(zoo: Path) -> list[Case]:
    model = zoo / "keras" / "functional.keras"
    with tempfile.TemporaryDirectory(prefix="tfscope-hostile-") as work:
        return server_cases(model) + local_cases(model, Path(work))


def report(cases: list[Case]) -> str:
    failed = sum(not c.passed for c in cases)
    lines = [f"hostile cases: {len(cases)}, {failed} failed (each: seconds, peak memory, what it said)"]
    return "\n".join(lines + [c.row() for c in cases])
