"""`make bench`: tfscope against the usual ways, side by side, in one run, on the same data.

Rows (issue 5):
  1. time to the signatures of a MobileNetV2 SavedModel: `tfscope inspect` vs `saved_model_cli show --all`
     and vs `tf.saved_model.load("gs://...")`;
  2. full load from the bucket, cold (tfscope: parallel cached download with TensorFlow's import alongside,
     then restore in a fresh runtime) vs TensorFlow's own gs:// and vs `blob.download_to_filename` file by
     file then load; warm (cache hit) vs loading a local copy. MobileNetV2 SavedModel and a ~100 MB
     ResNet50 .keras and .h5;
  3. bytes and requests to read the layer table of .h5 and .keras files, against their size;
  4. a prefix of 100,000 objects: the first page and the whole level in the browser, and peak memory,
     vs a full `list_blobs` listing;
  5. TUI launch to first paint and to the demo bucket's first page (headless pilot);
  6. warm inference latency reported by `tfscope run` vs the same signature timed in plain TensorFlow;
  7. `tfscope scan` of a zoo of 500+ models (8 malicious) in the bucket and on disk vs `modelscan -p` on
     the local copy: time, and how many malicious models each finds (bench/scan_rows.py);
  8. `tfscope diff` of two ResNet50 .keras in the bucket vs downloading both and comparing `model.summary()`
     in Keras (issue 21).

gs:// rows go through bench/proxy.py (RTT_MS per request, BANDWIDTH_MBPS per connection; default 30 ms and
100 MB/s: a VM reading a bucket in another region, GCS's per-stream throughput; BANDWIDTH_SHARED=1 caps all
connections together instead, like a thin link). The bench re-runs itself inside `unshare -rnm` so
TensorFlow's gs:// filesystem reaches the emulator (bench/network.py). Every process times itself from
its start (imports included); tfscope's loads are timed from the call, a fresh runtime child each time.

Writes BENCH_OUT (default bench/RESULTS.md) and prints the same table; builds its models once under
TFSCOPE_BENCH_CACHE (default: the user cache). QUICK=1: one run each and a
20,000-object listing, for a check that the harness works (under 2 minutes once its models are built);
row 7 then uses ModelScan only if an earlier full run installed it.

ROWS=7 (or ROWS=scan, ROWS=1,listing, ...) runs only those rows and replaces just them in BENCH_OUT,
keeping the others and noting when each was re-run.
"""

from __future__ import annotations

import compileall
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIG_RUNS, QUICK, RUNS, Row  # noqa: E402
from data import ensure_bench_data  # noqa: E402
from network import BenchNetwork, inside_namespace, namespace_problem, reexec_in_namespace  # noqa: E402

RTT_MS = float(os.environ.get("RTT_MS", "30"))
BANDWIDTH_MBPS = float(os.environ.get("BANDWIDTH_MBPS", "100"))
SHARED = os.environ.get("BANDWIDTH_SHARED", "") not in {"", "0"}
"""BANDWIDTH_SHARED=1: the cap is for all connections together, not for each."""
LISTING_OBJECTS = 20_000 if QUICK else 100_000
OUT = Path(os.environ.get("BENCH_OUT") or Path(__file__).with_name("RESULTS.md"))
CACHE = os.environ.get("TFSCOPE_BENCH_CACHE")
"""Where the models are built once (default: the user cache, shared with `make demo`)."""
NO_NAMESPACE_ENV = "TFSCOPE_BENCH_NO_NAMESPACE"
"""Why the namespace could not be made (set for the run outside it)."""
ROW_NAMES = {"signatures": 1, "load": 2, "layers": 3, "listing": 4, "launch": 5, "inference": 6, "scan": 7, "diff": 8}
ALL_ROWS = frozenset(ROW_NAMES.values())


def selected_rows() -> frozenset[int]:
    """The rows ROWS names (numbers or ROW_NAMES, comma-separated); all when it is unset."""
    wanted = os.environ.get("ROWS", "").replace(" ", "")
    if not wanted:
        return ALL_ROWS
    rows = {int(name) if name.isdigit() else ROW_NAMES.get(name, 0) for name in wanted.split(",") if name}
    if not rows or not rows <= ALL_ROWS:
        raise SystemExit(f"ROWS={wanted}: name rows 1-8 or {', '.join(ROW_NAMES)}")
    return frozenset(rows)


def main() -> int:
    if 7 in selected_rows() and not inside_namespace() and not QUICK:  # QUICK checks the harness: no installs
        from scan_rows import ensure_modelscan

        ensure_modelscan()  # pip needs the network, which the namespace has not
    if not inside_namespace() and NO_NAMESPACE_ENV not in os.environ:
        problem = namespace_problem()
        if problem is None:
            return reexec_in_namespace()
        print(f"note: {problem}: the rows that need TensorFlow's gs:// filesystem are skipped", flush=True)
        os.environ[NO_NAMESPACE_ENV] = problem
    return bench(os.environ.get(NO_NAMESPACE_ENV, ""))


def bench(skip_reason: str) -> int:
    from diff_rows import diff_rows
    from inspect_rows import layer_table_rows, signature_rows
    from load_rows import load_rows
    from scan_rows import scan_rows
    from tui_rows import launch_rows, listing_rows

    from tui.demo import demo_data_dir
    from tui.storage.emulator import offline_env

    # An installed tfscope has its bytecode, as the tools it is compared with do (pip compiles at install);
    # an editable install writes it on first run, unless PYTHONDONTWRITEBYTECODE is set, as on some CI
    # machines: then every timed process would compile tfscope's sources again (~0.05-0.1 s).
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "tui", quiet=1)
    load = os.getloadavg()[0]  # others' work on a shared machine slows every row: the report says how busy it was
    started = time.perf_counter()
    wanted = selected_rows()
    env = {**os.environ, **offline_env(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    os.environ.update(env)
    cache_root = Path(CACHE) if CACHE else demo_data_dir().parent
    rows: list[Row] = []

    def run(section: Callable[[], list[Row]]) -> None:
        new = section()
        for row in new:
            print(" | ".join(row), flush=True)
        rows.extend(new)

    if wanted - {7}:  # rows 1-6 and 8 share the demo bucket's emulator
        data = ensure_bench_data(cache_root)
        net = BenchNetwork(data, RTT_MS / 1000, BANDWIDTH_MBPS * 1e6, SHARED)
        net.start()
        os.environ.update(net.tfscope_env)  # for the loads this process drives
        try:
            for numbers, section in (
                ({1}, lambda: signature_rows(data, net, env, skip_reason)),
                ({2, 6}, lambda: load_rows(data, net, env, QUICK, skip_reason)),
                ({3}, lambda: layer_table_rows(net, env)),
                ({4}, lambda: listing_rows(env, LISTING_OBJECTS, RTT_MS / 1000, BANDWIDTH_MBPS * 1e6, SHARED)),
                ({5}, lambda: launch_rows(net, env)),
                ({8}, lambda: diff_rows(net, env)),
            ):
                if numbers & wanted:
                    run(section)
        finally:
            net.stop()
    if 7 in wanted:  # its own emulator, on the ports the one above has given back
        run(lambda: scan_rows(cache_root, env, RTT_MS / 1000, BANDWIDTH_MBPS * 1e6, SHARED))
    write_report(rows, wanted, time.perf_counter() - started, load)
    return 0


def write_report(rows: list[Row], wanted: frozenset[int], took: float, load: float) -> None:
    """The whole table, or with ROWS only those rows replaced in the table BENCH_OUT already holds."""
    if wanted != ALL_ROWS and OUT.is_file():
        return update_report(rows, took, load)
    rows = sorted(rows, key=_number)  # stable: each section keeps its order
    where = (
        "inside `unshare -rnm` (TensorFlow's gs:// reaches the emulator over https)"
        if inside_namespace()
        else f"without a namespace ({os.environ.get(NO_NAMESPACE_ENV, '')}): TensorFlow's gs:// rows skipped"
    )
    runs = "one run each (QUICK)" if QUICK else f"median of {RUNS} runs (ResNet50 loads, the listing and the scans: 3)"
    report = "\n".join([
        "# tfscope benchmark results", "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}; the whole run took {took / 60:.1f} min; "
        f"load average {load:.1f} at its start",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}, TensorFlow {_version('tensorflow-cpu', 'tensorflow')}, "
        f"Keras {_version('keras')}, google-cloud-storage {_version('google-cloud-storage')}",
        f"- settings: {runs}; "
        f"gs:// goes to fake-gcs-server through a loopback proxy adding {RTT_MS:g} ms per request and "
        f"capping {'all connections together' if SHARED else 'each connection'} at {BANDWIDTH_MBPS:g} MB/s "
        f"(RTT_MS, BANDWIDTH_MBPS, BANDWIDTH_SHARED); {where}",
        "- times include each process's imports (TensorFlow's too); tfscope loads start a fresh runtime child",
        "", _table(rows), "",
    ])  # fmt: skip
    print(report)
    OUT.write_text(report)


def update_report(rows: list[Row], took: float, load: float) -> None:
    """Replace the rows with the numbers of `rows` in BENCH_OUT, keep the rest, and say so in its header."""
    numbers = sorted({_number(row) for row in rows})
    lines = OUT.read_text().splitlines()
    kept = [_parse(line) for line in lines if line.startswith("| ") and line[2].isdigit()]
    merged = sorted([row for row in kept if _number(row) not in numbers] + rows, key=_number)
    which = "row " + ", ".join(map(str, numbers)) if numbers else "no row"
    runs = "one run each (QUICK)" if QUICK else f"median of {RUNS} runs, {BIG_RUNS} for the slow ones"
    when = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}"
    note = f"- {which} re-run alone on {when} ({runs}; {took / 60:.1f} min; load average {load:.1f} at its start)"
    header = lines[: next(i for i, line in enumerate(lines) if line.startswith("| "))]
    header = [line for line in header if not line.startswith(f"- {which} re-run alone")]
    while header and not header[-1]:
        header.pop()
    report = "\n".join([*header, note, "", _table(merged), ""])
    print(report)
    OUT.write_text(report)


def _table(rows: list[Row]) -> str:
    header = Row("row", "tfscope", "the usual way", "ratio")
    return "\n".join("| " + " | ".join(r) + " |" for r in [header, Row("---", "---", "---", "---"), *rows])


def _parse(line: str) -> Row:
    cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
    return Row(*(cells + [""] * 4)[:4])


def _number(row: Row) -> int:
    return int(row.row.split(".")[0])


def _version(*distributions: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for name in distributions:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "not installed"


if __name__ == "__main__":
    sys.exit(main())
