"""Shared fixtures: real model files made by TF at test time, and the real GCS emulator on loopback.

The metadata server is blocked and credentials are cleared before anything imports google-auth, so
no test can reach beyond 127.0.0.1 or pick up a developer's own Google account.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_proxy import FaultProxy

from tui.storage.emulator import Emulator, offline_env

# Before any google-auth import: no metadata probes, no developer credentials, no gcloud config.
os.environ.update(offline_env())
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
os.environ.pop("STORAGE_EMULATOR_HOST", None)
os.environ["CLOUDSDK_CONFIG"] = tempfile.mkdtemp(prefix="tfscope-no-gcloud-")
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TEXTUAL_ANIMATIONS"] = "none"  # snapshots must not catch a tab underline mid-slide

DEMO_BUCKET = "tfscope-demo"
PAGING_BUCKET = "paging"
ZOO_BUCKET = "zoo"
PAGING_OBJECTS = 5_500


@pytest.fixture(scope="session")
def emulator_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The emulator's -data folder: the demo bucket (small models) and a 5,500-object bucket.

    fake-gcs-server does not follow symlinks, so the models are built in place.
    """
    data = tmp_path_factory.mktemp("gcs-data")
    builds = [
        [sys.executable, "-m", "tui.runtime.demo_models", str(data / DEMO_BUCKET), "--small"],
        [sys.executable, str(Path(__file__).parent / "build_zoo.py"), str(data / ZOO_BUCKET)],
    ]
    running = [subprocess.Popen(b, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for b in builds]
    for build, process in zip(builds, running, strict=True):
        output, _ = process.communicate()
        assert process.returncode == 0, f"{build} failed:\n{output[-5000:]}"
    write_paging_bucket(data)
    return data


@pytest.fixture(scope="session")
def zoo(emulator_data: Path) -> Path:
    """Every model shape the readers must handle (see build_zoo.py), made by TF/Keras at test time."""
    return emulator_data / ZOO_BUCKET


@pytest.fixture(scope="session")
def model_files(emulator_data: Path) -> Path:
    """Every artifact kind, made by TF/Keras at test time (the demo builder in its small mode)."""
    return emulator_data / DEMO_BUCKET


def write_paging_bucket(root: Path) -> None:
    """5,500 objects under one prefix, plus a few prefixes, laid out for the emulator's -data preload."""
    many = root / PAGING_BUCKET / "many"
    many.mkdir(parents=True)
    for i in range(PAGING_OBJECTS):
        (many / f"obj-{i:05d}.txt").write_bytes(b"x" * (i % 7))
    for sub in ("a", "b", "c"):
        (root / PAGING_BUCKET / "nested" / sub).mkdir(parents=True)
        (root / PAGING_BUCKET / "nested" / sub / "file.txt").write_text(sub)


@pytest.fixture(scope="session")
def emulator(emulator_data: Path) -> Iterator[Emulator]:
    """fake-gcs-server preloaded with the demo bucket and a 5,500-object bucket, for the whole session."""
    server = Emulator(emulator_data)
    server.start()
    os.environ.update(server.environ())
    yield server
    server.stop()
    os.environ.pop("STORAGE_EMULATOR_HOST", None)


class Uploader:
    """Writes objects into the emulator at test time: names that a folder preload cannot hold."""

    def __init__(self, bucket: str, prefix: str) -> None:
        from google.cloud import storage

        self.bucket = storage.Client(project="tfscope-tests").bucket(bucket)
        self.prefix = prefix
        """Every name given below lands under this prefix (ends with "/")."""

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket.name}/{self.prefix}"

    def put(self, name: str, data: bytes) -> None:
        self.bucket.blob(self.prefix + name).upload_from_string(data)

    def put_tree(self, folder: Path, under: str = "") -> None:
        """Every file below `folder`, named by its path relative to it."""
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self.put(under + path.relative_to(folder).as_posix(), path.read_bytes())


@pytest.fixture
def uploader(emulator: Emulator, request: pytest.FixtureRequest) -> Uploader:
    """A fresh prefix in the zoo bucket for this test's own objects."""
    import uuid

    return Uploader(ZOO_BUCKET, f"t-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}/")


@pytest.fixture
def fault_proxy(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A proxy in front of the emulator (see fault_proxy.py), where this test's GCS calls go; add rules to it."""
    server = FaultProxy(emulator.port).start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    yield server
    server.stop()


def h5_helpers() -> int:
    """HDF5 helper processes this test process has running now."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        count += ppid == os.getpid() and b"tui.formats.h5_sandbox" in command
    return count
