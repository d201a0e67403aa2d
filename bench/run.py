"""`make bench`: tfscope against the usual ways, side by side, in one run, on the demo models.

The gs:// rows go through bench/proxy.py: a loopback proxy adding a round-trip time per request and a
bandwidth cap (RTT_MS, BANDWIDTH_MBPS; default 30 ms and 100 MB/s). Rows so far (issue 5 lists the rest):
  1. time to signatures of the MobileNetV2 SavedModel: `tfscope inspect` vs `saved_model_cli show --all`
     (local folder), and `tfscope inspect gs://` through the emulator;
  2. loading it from the emulator: cold (download through the cache, then restore in the runtime child)
     and warm (cache hit) vs `tf.saved_model.load` of a local copy, TensorFlow's import included in both;
  3. bytes and requests to read the layer table of the .h5 and .keras, against their sizes;
  5. TUI launch to first paint and to the demo bucket's first page (headless pilot);
  6. warm inference latency reported by tfscope vs the same signature timed in plain TF.
Writes bench/RESULTS.md and prints the same table. QUICK=1 runs fewer repetitions.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tui.demo import DEMO_BUCKET, demo_data_dir, ensure_demo_data  # noqa: E402
from tui.formatting import format_size  # noqa: E402
from tui.storage.emulator import Emulator, offline_env  # noqa: E402

QUICK = os.environ.get("QUICK", "") not in {"", "0"}
RUNS = 2 if QUICK else 5
RTT_MS = float(os.environ.get("RTT_MS", "30"))
BANDWIDTH_MBPS = float(os.environ.get("BANDWIDTH_MBPS", "100"))
"""The network the gs:// rows see: defaults are a VM reading a bucket in another region."""


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def median_of(command: list[str], env: dict[str, str]) -> float:
    return statistics.median(timed(command, env) for _ in range(RUNS))


def imports_tensorflow(uri: str, env: dict[str, str]) -> bool:
    code = (
        "import sys, io, contextlib; from tui.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): main(['inspect', {uri!r}])\n"
        "print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip() == "True"


def main() -> int:
    env = {**os.environ, **offline_env(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    os.environ.update(env)
    data = ensure_demo_data(demo_data_dir())
    bucket = data / DEMO_BUCKET
    saved_model = bucket / "serving" / "mobilenet_v2" / "1"
    tfscope = [sys.executable, "-m", "tui"]
    saved_model_cli = shutil.which("saved_model_cli", path=str(Path(sys.executable).parent)) or "saved_model_cli"
    rows: list[tuple[str, str, str, str]] = []

    ours = median_of([*tfscope, "inspect", str(saved_model)], env)
    theirs = median_of([saved_model_cli, "show", "--all", "--dir", str(saved_model)], env)
    rows.append(("1. signatures of MobileNetV2 SavedModel (local)", f"{ours:.2f} s tfscope inspect",
                 f"{theirs:.2f} s saved_model_cli show --all", f"{theirs / ours:.1f}x faster"))  # fmt: skip
    assert not imports_tensorflow(str(saved_model), env), "tfscope inspect imported tensorflow"

    from proxy import LatencyProxy

    with Emulator(data) as emulator:
        proxy = LatencyProxy(emulator.port, rtt=RTT_MS / 1000, bandwidth=BANDWIDTH_MBPS * 1e6)
        proxy.start()
        env.update({**emulator.environ(), "STORAGE_EMULATOR_HOST": proxy.url})
        os.environ.update(env)
        uri = f"gs://{DEMO_BUCKET}/serving/mobilenet_v2/1/"
        remote = median_of([*tfscope, "inspect", uri], env)
        rows.append(("1. signatures of MobileNetV2 SavedModel (gs://)", f"{remote:.2f} s tfscope inspect",
                     f"{theirs:.2f} s saved_model_cli (local copy)", f"{theirs / remote:.1f}x faster"))  # fmt: skip
        for name in ("mobilenet_v2.h5", "mobilenet_v2.keras"):
            done = subprocess.run([*tfscope, "inspect", "--json", f"gs://{DEMO_BUCKET}/models/image/{name}"],
                                  capture_output=True, text=True, env=env, check=True)  # fmt: skip
            report = json.loads(done.stdout)
            share = 100 * report["bytes_read"] / report["size"]
            seconds = timed([*tfscope, "inspect", f"gs://{DEMO_BUCKET}/models/image/{name}"], env)
            rows.append((f"3. layer table of {name} (gs://)",
                         f"{format_size(report['bytes_read'])} in {report['requests']} requests, {seconds:.2f} s",
                         f"{format_size(report['size'])} (full download)", f"{share:.1f}% of the file"))  # fmt: skip

        rows += load_rows(saved_model, env)
        rows += launch_rows(env)
        proxy.stop()

    header = ("row", "tfscope", "the usual way", "ratio")
    rows.sort(key=lambda row: row[0].split(".")[0])
    table = "\n".join("| " + " | ".join(r) + " |" for r in [header, ("---",) * 4, *rows])
    settings = f"{RUNS} runs each, median" + (" (QUICK)" if QUICK else "")
    report = "\n".join([
        "# tfscope benchmark results", "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}, TensorFlow {_version('tensorflow-cpu', 'tensorflow')}",
        f"- settings: {settings}; gs:// rows go to fake-gcs-server through a loopback proxy adding "
        f"{RTT_MS:g} ms per request and capping bandwidth at {BANDWIDTH_MBPS:g} MB/s (RTT_MS, BANDWIDTH_MBPS)", "",
        table, "",
    ])  # fmt: skip
    print(report)
    (Path(__file__).parent / "RESULTS.md").write_text(report)
    return 0


PLAIN_TF = """
import json, sys, time
start = time.perf_counter()
import numpy as np, tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
loaded = time.perf_counter() - start
fn = model.signatures["serving_default"]
x = tf.constant(np.random.default_rng(0).standard_normal((1, 224, 224, 3)).astype("float32"))
fn(keras_tensor=x)
runs = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); fn(keras_tensor=x); runs.append((time.perf_counter() - t) * 1000)
runs.sort()
print(json.dumps({"load_s": loaded, "p50_ms": runs[len(runs) // 2]}))
"""


def load_rows(saved_model: Path, env: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """Rows 2 and 6: tfscope's load and inference against plain TensorFlow on a local copy."""
    import tempfile

    from tui.runtime.host import RuntimeHost
    from tui.runtime.session import load_model
    from tui.storage import ArtifactKind, GcsStore, Stores, parse_location
    from tui.storage.cache import ModelCache

    repeat = 20 if QUICK else 100
    location = parse_location(f"gs://{DEMO_BUCKET}/serving/mobilenet_v2/1/")
    cold, warm, p50 = [], [], []
    for _ in range(RUNS):
        cache = ModelCache(Path(tempfile.mkdtemp(prefix="tfscope-bench-")))
        for bucket in (cold, warm):
            host = RuntimeHost()  # a fresh child each time: TensorFlow's import is part of the cost
            start = time.perf_counter()
            load_model(Stores(GcsStore()), host, cache, location, ArtifactKind.SAVED_MODEL)
            bucket.append(time.perf_counter() - start)
            if bucket is warm:
                result = host.request("run", doing="bench", signature="serving_default", repeat=repeat,
                                      inputs={"keras_tensor": {"source": "random"}})  # fmt: skip
                p50.append(result["timings"]["p50_ms"])
            host.stop()
        shutil.rmtree(cache.root, ignore_errors=True)
    plain = []
    for _ in range(RUNS):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", PLAIN_TF, str(saved_model), str(repeat)], capture_output=True,
                              text=True, env=env, check=True)  # fmt: skip
        plain.append((time.perf_counter() - start, json.loads(done.stdout)))
    # Import + load as timed inside the process: its interpreter start and TF's slow teardown are not load time.
    plain_load = statistics.median(r["load_s"] for _, r in plain)
    plain_p50 = statistics.median(r["p50_ms"] for _, r in plain)
    ours_cold, ours_warm, ours_p50 = statistics.median(cold), statistics.median(warm), statistics.median(p50)
    return [
        ("2. cold load of MobileNetV2 SavedModel from gs:// (download + import TF + restore)",
         f"{ours_cold:.2f} s", f"{plain_load:.2f} s tf.saved_model.load of a local copy (import included)",
         f"{ours_cold / plain_load:.2f}x (our overhead: {ours_cold - plain_load:+.2f} s)"),
        ("2. warm load (cache hit, nothing downloaded)", f"{ours_warm:.2f} s", f"{plain_load:.2f} s",
         f"{ours_warm / plain_load:.2f}x"),
        (f"6. warm inference p50 ({repeat} runs, batch 1)", f"{ours_p50:.2f} ms tfscope",
         f"{plain_p50:.2f} ms plain TF", f"{100 * (ours_p50 / plain_p50 - 1):+.1f}%"),
    ]  # fmt: skip


def launch_rows(env: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """Row 5: TUI launch to first paint and to the first page of the demo bucket (headless pilot)."""
    script = str(Path(__file__).parent / "tui_launch.py")
    results = []
    for _ in range(RUNS):
        done = subprocess.run([sys.executable, script, repr(time.time()), f"gs://{DEMO_BUCKET}/"],
                              capture_output=True, text=True, env=env, check=True)  # fmt: skip
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    paint = statistics.median(r["paint_s"] for r in results)
    page = statistics.median(r["first_page_s"] for r in results)
    return [
        ("5. TUI launch to first paint (headless pilot)", f"{paint:.2f} s", "n/a (no TUI does this)", ""),
        ("5. TUI launch to the demo bucket's first page (gs://)", f"{page:.2f} s", "n/a", ""),
    ]


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
