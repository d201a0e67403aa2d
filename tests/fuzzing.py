"""Run crafted and mutated model files through every reader, each in a watched worker process.

    python tests/fuzzing.py --zoo DIR [--minutes M | --mutations N] [--seed S] [--no-crafted] [--no-hostile]
    python tests/fuzzing.py --zoo DIR --hostile-only

A case passes when the readers return a ModelInfo or raise a TfscopeError that is not an internal
one (an unexpected exception the safety net caught). It fails with a traceback, a run over the time
limit (the worker is killed), a worker that died (a crash in native code), or memory over the limit.
`make fuzz` runs this for as long as you let it; the test suite runs the crafted cases and a few
hundred mutations (tests/test_fuzzing.py). Files are written under a temp folder and removed.
Then the hostile cases (tests/fuzz_hostile.py): the CLI against a hostile GCS server and hostile local
files, each with its time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TIME_LIMIT = 10.0
"""Seconds one case may take; a slower one counts as a hang."""
MEMORY_LIMIT = 3 * 1024**3
"""Address space of a worker: past it, allocations fail (MemoryError) instead of swapping the machine."""
SEEDS = [
    "keras/functional.keras", "keras/nested.keras", "keras/subclassed.keras", "keras/functional.h5",
    "keras/nested.h5", "keras2/model.h5", "tflite/int8.tflite", "tflite/float.tflite", "ckpt/slots/ckpt-1.index",
    "ckpt/keras/ckpt-1.index", "saved/multi/saved_model.pb", "saved/tf1/saved_model.pb",
    "keras2/saved/keras_metadata.pb", "keras2/saved/saved_model.pb",
]  # fmt: skip
"""Files of the zoo that mutations start from (a SavedModel's .pb files are mutated in their folder)."""


@dataclass
class Outcome:
    case: str
    status: str
    """read | refused | traceback | hang | crash"""
    seconds: float = 0.0
    peak_rss: int = 0
    detail: str = ""


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in {"traceback", "hang", "crash"}]

    def report(self) -> str:
        counts = Counter(o.status for o in self.outcomes)
        slowest = max(self.outcomes, key=lambda o: o.seconds, default=None)
        peak = max((o.peak_rss for o in self.outcomes), default=0)
        lines = [
            f"{len(self.outcomes):,} cases: " + ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items())),
            f"slowest {slowest.seconds:.2f} s ({slowest.case})" if slowest else "",
            f"peak memory of a worker or its HDF5 helper {peak / 2**20:.0f} MB",
        ]
        for failure in self.failures[:20]:
            lines.append(f"FAIL {failure.status}: {failure.case}\n    {failure.detail[-1500:]}")
        return "\n".join(line for line in lines if line)


# -- the worker: one process, many cases --------------------------------------------------------


def worker() -> None:
    """Read case paths on stdin, answer one JSON line each (run with `python tests/fuzzing.py worker`)."""
    import faulthandler
    import traceback

    faulthandler.enable()  # a hang's stacks reach the runner's report (it sends SIGABRT)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    from tui.errors import TfscopeError
    from tui.formats import h5_sandbox
    from tui.formats.inspect import inspect_model
    from tui.storage import LocalStore, parse_location

    store = LocalStore()
    for line in sys.stdin:
        path = line.strip()
        _reset_peak_rss()
        h5_sandbox.helper_peak_rss = 0
        started = time.perf_counter()
        try:
            inspect_model(store, parse_location(path))
            status, detail = "read", ""
        except TfscopeError as error:
            internal = getattr(error, "internal", False)
            status = "traceback" if internal else "refused"
            detail = error.one_line() + (f"\n{error.__cause__!r}" if internal else "")
        except BaseException:  # noqa: BLE001 (this is what the fuzzer looks for)
            status, detail = "traceback", traceback.format_exc()
        seconds = time.perf_counter() - started
        answer = {"status": status, "seconds": seconds, "peak_rss": max(_peak_rss(), h5_sandbox.helper_peak_rss),
                  "detail": detail}  # fmt: skip
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (Linux 4.0+)
    except OSError:
        pass


def _peak_rss() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Runner:
    """Feeds cases to a worker process, killing and replacing it on a hang or a crash."""

    def __init__(self, time_limit: float = TIME_LIMIT) -> None:
        self.time_limit = time_limit
        self.process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.process is None or self.process.poll() is not None:
            root = Path(__file__).resolve().parent.parent
            env = {**os.environ, "PYTHONPATH": str(root)}
            self.process = subprocess.Popen([sys.executable, __file__, "worker"], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                            cwd=root)  # fmt: skip
        return self.process

    def run(self, case: Path) -> Outcome:
        import selectors

        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        started = time.monotonic()
        process.stdin.write(f"{case}\n")
        process.stdin.flush()
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(self.time_limit + 5)  # the worker measures; this only catches a stuck one
        selector.close()
        if not ready:
            process.send_signal(signal.SIGABRT)  # faulthandler prints where it is stuck
            try:
                _, stderr = process.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                stderr = ""
            self.stop()
            detail = f"no answer in {self.time_limit + 5} s\n{stderr[-3000:]}"
            return Outcome(str(case), "hang", time.monotonic() - started, 0, detail)
        line = process.stdout.readline()
        if not line:
            stderr = process.stderr.read() if process.stderr else ""
            code = process.wait()
            self.process = None
            return Outcome(str(case), "crash", time.monotonic() - started, 0, f"exit {code}\n{stderr[-2000:]}")
        answer = json.loads(line)
        status = answer["status"]
        if answer["seconds"] > self.time_limit:
            status, answer["detail"] = "hang", f"took {answer['seconds']:.1f} s: {answer['detail']}"
        return Outcome(str(case), status, answer["seconds"], answer["peak_rss"], answer["detail"])

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


# -- mutations ------------------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A few edits of the kinds that break parsers: flipped bits, boundary integers, cut, copied spans."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not out:
            break
        choice = rng.random()
        at = rng.randrange(len(out))
        if choice < 0.35:
            out[at] ^= 1 << rng.randrange(8)
        elif choice < 0.6:
            value = rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63 - 1])
            width = rng.choice([1, 2, 4, 8])
            out[at : at + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
        elif choice < 0.75:
            span = rng.randint(1, 64)
            source = rng.randrange(len(out))
            out[at:at] = out[source : source + span]
        elif choice < 0.9:
            del out[at : at + rng.randint(1, 64)]
        else:
            out = out[:at]
    return bytes(out)


def mutated_cases(zoo: Path, dest: Path, rng: random.Random) -> Iterator[Path]:
    """Endless mutants of the seed files, each in its own folder (with the siblings a reader needs)."""
    number = 0
    while True:
        seed = zoo / rng.choice(SEEDS)
        number += 1
        folder = dest / f"m{number:07d}"
        folder.mkdir(parents=True)
        if seed.name.endswith(".pb"):  # a SavedModel: the whole folder, one .pb mutated
            for sibling in seed.parent.iterdir():
                if sibling.is_file():
                    shutil.copy(sibling, folder / sibling.name)
            (folder / seed.name).write_bytes(mutate(seed.read_bytes(), rng))
            yield folder
        else:
            for sibling in seed.parent.iterdir():  # a checkpoint index is read beside its shards
                if sibling.is_file() and sibling.name.startswith(seed.name.split(".")[0] + "."):
                    shutil.copy(sibling, folder / sibling.name)
            (folder / seed.name).write_bytes(mutate(seed.read_bytes(), rng))
            yield folder / seed.name


def run(zoo: Path, mutations: int, minutes: float | None, seed: int, crafted: bool = True,
        progress: bool = False, keep: Path | None = None) -> Summary:  # fmt: skip
    """Crafted cases, then mutants until `mutations` are done or `minutes` have passed.

    Failing cases are copied into `keep` (when given) to be run again by hand.
    """
    from crafted import write_all

    summary = Summary()
    runner = Runner()
    work = Path(tempfile.mkdtemp(prefix="tfscope-fuzz-"))

    def record(case: Path) -> None:
        outcome = runner.run(case)
        summary.outcomes.append(outcome)
        if keep is not None and outcome.status in {"traceback", "hang", "crash"}:
            folder = case if case.is_dir() else case.parent
            shutil.copytree(folder, keep / f"{outcome.status}-{len(summary.outcomes):07d}", dirs_exist_ok=True)

    try:
        if crafted:
            for case in write_all(zoo, work / "crafted"):
                record(case)
                if progress:
                    _show(summary)
        rng = random.Random(seed)
        deadline = time.monotonic() + minutes * 60 if minutes else None
        for done, case in enumerate(mutated_cases(zoo, work / "mutated", rng)):
            if done >= mutations and (deadline is None or time.monotonic() > deadline):
                break
            record(case)
            shutil.rmtree(case if case.is_dir() else case.parent, ignore_errors=True)
            if progress and done % 50 == 0:
                _show(summary)
    finally:
        runner.stop()
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _show(summary: Summary) -> None:
    counts = Counter(o.status for o in summary.outcomes)
    print(f"\r{len(summary.outcomes):,} cases  " + "  ".join(f"{s} {n:,}" for s, n in sorted(counts.items())),
          end="", file=sys.stderr, flush=True)  # fmt: skip


def main() -> int:
    if sys.argv[1:2] == ["worker"]:
        worker()
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zoo", type=Path, required=True, help="the test zoo (tests/build_zoo.py DEST builds one)")
    parser.add_argument("--mutations", type=int, default=0, help="at least this many mutated files")
    parser.add_argument("--minutes", type=float, help="keep mutating for this long")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-crafted", action="store_true", help="mutations only")
    parser.add_argument("--keep", type=Path, default=Path("fuzz-failures"), help="where failing cases are copied")
    parser.add_argument("--no-hostile", action="store_true", help="skip the hostile server and file cases")
    parser.add_argument("--hostile-only", action="store_true", help="only the hostile server and file cases")
    args = parser.parse_args()
    failed = False
    if not args.hostile_only:
        summary = run(args.zoo, args.mutations, args.minutes, args.seed, crafted=not args.no_crafted,
                      progress=sys.stderr.isatty(), keep=args.keep)  # fmt: skip
        print(file=sys.stderr)
        print(summary.report())
        failed = bool(summary.failures)
    if not args.no_hostile:
        from fuzz_hostile import report, run_all

        cases = run_all(args.zoo)
        print(report(cases))
        failed = failed or not all(c.passed for c in cases)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
