"""Row 7's data: the zoo bucket of bench/build_scan_tree.py, built once into the bench's cache folder.

The build is redone when the builder or tests/malicious_models.py changes (their hash is kept beside
the tree), so the bench never scores a scan against stale expectations.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from common import ROOT

SCAN_FOLDER = "scan-v1"
BUILDER = Path(__file__).with_name("build_scan_tree.py")
MALICIOUS = ROOT / "tests" / "malicious_models.py"


@dataclass(frozen=True)
class ScanTree:
    """Where the zoo is, and what it holds."""

    data: Path
    """The emulator's `-data` folder: `<it>/<bucket>/<prefix>...`."""
    bucket: str
    prefix: str
    models: list[dict[str, str]]
    """path (in the bucket; a folder ends with /), format, template."""
    malicious: dict[str, list[list[str]]]
    """path -> the (op, capability) pairs tfscope must find there."""

    @property
    def local(self) -> Path:
        """The same tree on disk: what `modelscan -p` and the local scan read."""
        return self.data / self.bucket / self.prefix

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}"


def _fingerprint() -> str:
    digest = hashlib.sha256(BUILDER.read_bytes())
    digest.update(MALICIOUS.read_bytes() if MALICIOUS.is_file() else b"no malicious models")
    return digest.hexdigest()


def ensure_scan_tree(cache_root: Path) -> ScanTree:
    """The zoo under `cache_root/scan-v1/`, built first when missing or out of date (TensorFlow, ~1 min)."""
    folder = cache_root / SCAN_FOLDER
    stamp = folder / "fingerprint"
    fingerprint = _fingerprint()
    if not (stamp.is_file() and stamp.read_text() == fingerprint):
        print(f"Building row 7's model zoo once into {folder} (TensorFlow, about a minute)...", flush=True)
        staging = cache_root / f".{SCAN_FOLDER}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, str(BUILDER), str(staging)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{BUILDER.name} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        (staging / "fingerprint").write_text(fingerprint)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    return ScanTree(folder / "data", manifest["bucket"], manifest["prefix"], manifest["models"], manifest["malicious"])
