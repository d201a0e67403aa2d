"""Row 7: `tfscope scan` of a whole zoo in the bucket, against ModelScan reading a local copy of it.

The zoo (bench/build_scan_tree.py) holds 500+ small models in every format at depths 2 to 7, and the
SavedModels of tests/malicious_models.py, each of which reaches outside itself in one way (files read,
written, listed or mapped, the network, streams, Python). tfscope scans `gs://` through the latency
proxy with its own emulator (started after the other rows' one is stopped, so it can take the same
ports), and the same tree on disk; ModelScan (`modelscan -p`, in its own virtualenv with TensorFlow,
bench/.venv-modelscan, created here on first use) reads the local copy. A malicious model counts as
found by tfscope when every (op, capability) pair it must report is there; by ModelScan when any
issue names a file of it, whatever the issue.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NamedTuple

from common import BIG_RUNS, PYTHON, QUICK, ROOT, Row, faster, seconds
from network import BenchNetwork, inside_namespace
from scan_tree import ScanTree, ensure_scan_tree

MODELSCAN_VERSION = "0.8.8"
MODELSCAN_VENV = Path(__file__).with_name(".venv-modelscan")
"""ModelScan's own virtualenv (ignored by git): its pins and TensorFlow's stay out of tfscope's."""
TFSCOPE_SCAN = [PYTHON, "-m", "tui", "scan"]
SCAN_EXIT_CODES = {0, 1, 2}
"""clean, findings, some models unreadable: each a finished scan."""


class ScanRun(NamedTuple):
    seconds: float
    models: int
    """Models reported."""
    found: set[str]
    """Malicious paths found (every expected finding for tfscope; any issue for ModelScan)."""
    flagged_benign: dict[str, int]
    """Benign models with findings, per template."""
    note: str = ""


def scan_rows(cache_root: Path, env: dict[str, str], rtt: float, bandwidth: float, shared: bool) -> list[Row]:
    tree = ensure_scan_tree(cache_root)
    label = _label(tree)
    missing = _tfscope_scan_missing(env)
    modelscan = ensure_modelscan(install=not inside_namespace() and not QUICK)
    theirs = _modelscan(modelscan, tree, env) if isinstance(modelscan, Path) else None
    usual = _modelscan_cell(theirs, tree) if theirs else f"skipped: {modelscan}"
    if missing:
        return [Row(f"7. {label}, gs:// at {rtt * 1000:g} ms", f"skipped: {missing}", usual, "")]
    net = BenchNetwork(tree.data, rtt, bandwidth, shared)
    net.start()
    try:
        remote = _tfscope(tree.uri, tree, {**env, **net.tfscope_env})
        remote = remote._replace(note=f"{remote.note}, {net.proxy.requests / BIG_RUNS:,.0f} requests")
    finally:
        net.stop()
    local = _tfscope(str(tree.local), tree, env)
    rows = []
    for where, ours in ((f"gs:// at {rtt * 1000:g} ms", remote), ("the local copy", local)):
        ratio = faster(ours.seconds, theirs.seconds) if theirs else ""
        rows.append(Row(f"7. {label}, {where}", _tfscope_cell(ours, tree), usual, ratio))
    return rows


def _label(tree: ScanTree) -> str:
    counts: dict[str, int] = {}
    for model in tree.models:
        if not model["template"].startswith("malicious:"):
            counts[model["format"]] = counts.get(model["format"], 0) + 1
    mix = ", ".join(f"{n} {fmt}" for fmt, n in sorted(counts.items(), key=lambda item: -item[1]))
    depths = sorted({model["path"].rstrip("/").count("/") for model in tree.models})
    return (
        f"scan of {len(tree.models)} models ({mix}, and {len(tree.malicious)} malicious SavedModels) "
        f"at depths {depths[0]}-{depths[-1]}"
    )


def _tfscope_scan_missing(env: dict[str, str]) -> str | None:
    """Why `tfscope scan` cannot run yet, or None."""
    done = subprocess.run([*TFSCOPE_SCAN, "--help"], capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0 or "--jobs" not in done.stdout:
        return "this tfscope has no `scan` command"
    return None


def _tfscope(uri: str, tree: ScanTree, env: dict[str, str]) -> ScanRun:
    """Median wall time (imports included) of `tfscope scan URI --json`, and what the last run found."""
    times, report = [], {}
    for _ in range(BIG_RUNS):
        start = time.perf_counter()
        done = subprocess.run([*TFSCOPE_SCAN, uri, "--json"], capture_output=True, text=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if done.returncode not in SCAN_EXIT_CODES:
            raise RuntimeError(f"tfscope scan {uri} exited {done.returncode}:\n{done.stderr[-2000:]}")
        report = json.loads(done.stdout)
    base = uri.rstrip("/") + "/"
    found, benign = set(), {}
    templates = {model["path"].rstrip("/"): model["template"] for model in tree.models}
    unreadable = 0
    for model in report["models"]:
        path = tree.prefix + _relative(model["uri"], base)
        unreadable += model.get("error") is not None
        pairs = {(finding["name"], finding["capability"]) for finding in model.get("findings") or ()}
        expected = tree.malicious.get(path + "/") or tree.malicious.get(path)
        if expected is not None:
            if {(op, capability) for op, capability in expected} <= pairs:
                found.add(path)
        elif pairs:
            template = templates.get(path, "not in the manifest")
            benign[template] = benign.get(template, 0) + 1
    note = f", {unreadable} unreadable" if unreadable else ""
    return ScanRun(statistics.median(times), len(report["models"]), found, benign, note)


def _relative(uri: str, base: str) -> str:
    """A reported model's path below the scanned prefix, without a trailing slash."""
    for root in (base, str(Path(base).resolve()) + "/"):
        if uri.startswith(root):
            return uri[len(root) :].rstrip("/")
    raise ValueError(f"tfscope scan reported {uri}, outside {base}")


def _tfscope_cell(run: ScanRun, tree: ScanTree) -> str:
    return (
        f"{seconds(run.seconds)} tfscope scan --json: {run.models} models{run.note}, "
        f"found {len(run.found)}/{len(tree.malicious)} malicious (every expected finding)"
        f"{_benign(run.flagged_benign)}"
    )


def _benign(flagged: dict[str, int]) -> str:
    if not flagged:
        return "; no benign model flagged"
    return "; benign flagged: " + ", ".join(f"{n} {template}" for template, n in sorted(flagged.items()))


def ensure_modelscan(install: bool = True) -> Path | str:
    """The `modelscan` executable of its own virtualenv, made first when missing (`install`: the
    bench does it before entering its namespace, which has no network); or why there is none."""
    executable = MODELSCAN_VENV / "bin" / "modelscan"
    requirements = [f"modelscan=={MODELSCAN_VERSION}", "h5py", f"tensorflow-cpu=={_tensorflow_version()}"]
    stamp = MODELSCAN_VENV / ".installed"
    if executable.is_file() and stamp.is_file() and stamp.read_text() == " ".join(requirements):
        return executable
    if not install:
        return f"ModelScan is not installed in bench/{MODELSCAN_VENV.name} (a full `make bench` installs it)"
    print(f"Installing ModelScan {MODELSCAN_VERSION} and TensorFlow into {MODELSCAN_VENV} (once, ~30 s)...")
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(MODELSCAN_VENV)], check=True)
        pip = [str(MODELSCAN_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *requirements], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        errors = [line for line in (exc.stderr or "").splitlines() if line.startswith("ERROR")]
        reason = f"could not install ModelScan: {errors[-1] if errors else exc.returncode}"
        print(reason, flush=True)
        return reason
    stamp.write_text(" ".join(requirements))
    return executable


def _tensorflow_version() -> str:
    """The TensorFlow tfscope's venv has: both tools then parse with the same protobufs."""
    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "2.21.0"


def _modelscan(executable: Path, tree: ScanTree, env: dict[str, str]) -> ScanRun:
    """Median wall time of `modelscan -p LOCAL_COPY -r json -o FILE`, and which malicious models it flags."""
    times, report = [], {}
    with tempfile.TemporaryDirectory(prefix="tfscope-bench-modelscan-") as work:
        out = Path(work) / "report.json"
        for _ in range(BIG_RUNS):
            out.unlink(missing_ok=True)
            command = [str(executable), "-p", str(tree.local), "-r", "json", "-o", str(out)]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work)
            times.append(time.perf_counter() - start)
            if done.returncode not in {0, 1, 2} or not out.is_file():
                raise RuntimeError(f"modelscan exited {done.returncode}:\n{done.stdout[-1000:]}{done.stderr[-2000:]}")
            report = json.loads(out.read_text())
    issues = [_issue_path(issue, tree) for issue in report.get("issues", [])]
    found = {path for path in tree.malicious if any(issue.startswith(path) for issue in issues)}
    benign: dict[str, int] = {}
    for model in tree.models:
        if model["path"] not in tree.malicious and any(_within(issue, model["path"]) for issue in issues):
            benign[model["template"]] = benign.get(model["template"], 0) + 1
    scanned = report.get("summary", {}).get("scanned", {}).get("total_scanned", 0)
    errors = len(report.get("errors") or [])
    note = f", {scanned} files scanned" + (f", {errors} errors" if errors else "")
    return ScanRun(statistics.median(times), scanned, found, benign, note)


def _issue_path(issue: dict[str, Any], tree: ScanTree) -> str:
    """The bucket path of the file an issue is about (its source is absolute or relative to the copy)."""
    source = str(issue.get("source", "")).split(":", 1)[0]  # `x.keras:model.weights.h5`: a zip member
    local = str(tree.local) + "/"
    relative = source[len(local) :] if source.startswith(local) else source
    return tree.prefix + relative


def _within(issue: str, model: str) -> bool:
    return issue.startswith(model) if model.endswith("/") else issue == model


def _modelscan_cell(run: ScanRun, tree: ScanTree) -> str:
    return (
        f"{seconds(run.seconds)} modelscan {MODELSCAN_VERSION} -p on a local copy{run.note}, "
        f"flagged {len(run.found)}/{len(tree.malicious)} malicious{_benign(run.flagged_benign)}"
    )
