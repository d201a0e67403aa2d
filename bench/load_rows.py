"""Rows 2 and 6: loading for real, cold and warm, against TensorFlow's gs:// and a download first;
then warm inference as `tfscope run` reports it against the same call timed in plain TensorFlow."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from common import BIG_RUNS, PYTHON, RUNS, Row, faster, json_of, seconds
from data import BENCH_BUCKET
from network import BenchNetwork

from tui.demo import DEMO_BUCKET
from tui.runtime.host import RuntimeHost
from tui.runtime.session import load_model
from tui.storage import ArtifactKind, GcsStore, Stores, parse_location
from tui.storage.cache import ModelCache


class Model(NamedTuple):
    label: str
    path: str  # in its bucket
    bucket: str
    kind: ArtifactKind
    plain_kind: str  # bench/plain.py's KIND
    runs: int


MODELS = (
    Model("MobileNetV2 SavedModel (30 MB)", "serving/mobilenet_v2/1/", DEMO_BUCKET, ArtifactKind.SAVED_MODEL,
          "saved_model", RUNS),
    Model("ResNet50 .keras (103 MB)", "resnet50.keras", BENCH_BUCKET, ArtifactKind.KERAS, "keras", BIG_RUNS),
    Model("ResNet50 .h5 (103 MB)", "resnet50.h5", BENCH_BUCKET, ArtifactKind.HDF5, "keras", BIG_RUNS),
)  # fmt: skip
H5_FROM_GCS = "Keras 3 cannot: load_model('gs://...h5') raises FileNotFoundError (it copies only .keras zips)"
REPEAT_QUICK, REPEAT = 20, 100


def load_rows(data: Path, net: BenchNetwork, env: dict[str, str], quick: bool, skip_reason: str) -> list[Row]:
    rows: list[Row] = []
    for model in MODELS:
        uri = f"gs://{model.bucket}/{model.path}"
        ours = _tfscope_loads(model, net, with_inference=model.kind is ArtifactKind.SAVED_MODEL, quick=quick)
        cold, warm = statistics.median(ours["cold"]), statistics.median(ours["warm"])
        cold_requests = int(ours["requests"][-1])
        label = f"2. cold load, {model.label}"
        theirs: list[tuple[str, float | None]] = []
        if net.tf_env is None:
            rows.append(Row(label, seconds(cold), f"TensorFlow's gs://: skipped: {skip_reason}", ""))
        elif model.kind is ArtifactKind.HDF5:
            rows.append(Row(label, seconds(cold), H5_FROM_GCS, ""))
        else:
            before = net.proxy.requests
            direct = _plain_median("gs", model, uri, {**env, **net.tf_env})
            requests = (net.proxy.requests - before) // model.runs
            how = "tf.saved_model.load" if model.kind is ArtifactKind.SAVED_MODEL else "keras.saving.load_model"
            theirs.append((f"{how}('gs://...'), {requests} requests", direct))
        downloaded = _plain_median("download", model, uri, {**env, **net.tfscope_env})
        theirs.append(("blob.download_to_filename file by file, then load", downloaded))
        for how, took in theirs:
            assert took is not None
            rows.append(Row(label, f"{seconds(cold)}, {cold_requests} requests", f"{seconds(took)} {how}",
                            faster(cold, took)))  # fmt: skip
        repeat = (REPEAT_QUICK if quick else REPEAT) if ours["p50"] else 0
        plain = _plain_runs("local", model, str(data / model.bucket / model.path), env, repeat)
        local = statistics.median(r["load_s"] for r in plain)
        rows.append(Row(f"2. warm load (cache hit), {model.label}", seconds(warm),
                        f"{seconds(local)} load of a local copy", faster(warm, local)))  # fmt: skip
        if repeat:
            p50, plain_p50 = statistics.median(ours["p50"]), statistics.median(r["p50_ms"] for r in plain)
            rows.append(Row(f"6. warm inference p50, {model.label} ({repeat} runs, batch 1)",
                            f"{p50:.2f} ms tfscope run", f"{plain_p50:.2f} ms the same signature in plain TF",
                            f"{100 * (p50 / plain_p50 - 1):+.1f}%"))  # fmt: skip
    return rows


def _tfscope_loads(model: Model, net: BenchNetwork, with_inference: bool, quick: bool) -> dict[str, list[float]]:
    """Cold (empty cache, fresh runtime: TF's import included) then warm (cache hit, fresh runtime)."""
    location = parse_location(f"gs://{model.bucket}/{model.path}")
    result: dict[str, list[float]] = {"cold": [], "warm": [], "p50": [], "requests": []}
    for _ in range(model.runs):
        cache = ModelCache(Path(tempfile.mkdtemp(prefix="tfscope-bench-cache-")))
        try:
            for phase in ("cold", "warm"):
                host = RuntimeHost()  # a fresh child each time: TensorFlow's import is part of the cost
                before = net.proxy.requests
                start = time.perf_counter()
                load_model(Stores(GcsStore()), host, cache, location, model.kind)
                result[phase].append(time.perf_counter() - start)
                if phase == "cold":
                    result["requests"].append(net.proxy.requests - before)
                if phase == "warm" and with_inference:
                    run = host.request("run", doing="bench", signature="serving_default",
                                       repeat=REPEAT_QUICK if quick else REPEAT,
                                       inputs={"keras_tensor": {"source": "random"}})  # fmt: skip
                    result["p50"].append(run["timings"]["p50_ms"])
                host.stop()
        finally:
            shutil.rmtree(cache.root, ignore_errors=True)
    return result


def _plain_runs(way: str, model: Model, source: str, env: dict[str, str], repeat: int = 0) -> list[dict[str, float]]:
    command = [PYTHON, "bench/plain.py", way, model.plain_kind, source, str(repeat)]
    return [json_of(command, env) for _ in range(model.runs)]


def _plain_median(way: str, model: Model, source: str, env: dict[str, str]) -> float:
    return statistics.median(r["load_s"] for r in _plain_runs(way, model, source, env))
