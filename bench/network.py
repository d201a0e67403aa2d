"""Where the gs:// rows' bucket lives: fake-gcs-server behind the latency proxy, all on loopback.

TensorFlow's own gs:// filesystem has no endpoint setting: it calls https://storage.googleapis.com and
https://www.googleapis.com. Inside a private user+network+mount namespace (`unshare -rnm`: loopback
only, so nothing can leave this machine) a bind-mounted hosts file points those names at 127.0.0.1,
the proxy listens on port 443, and fake-gcs-server speaks https with a throwaway self-signed
certificate that TensorFlow trusts through CURL_CA_BUNDLE. tfscope and google-cloud-storage use the
same proxy and certificate, so every gs:// row pays the same round trips and TLS handshakes.

Where the namespace cannot be made, the server speaks http on a free port and only the rows that need
TensorFlow's gs:// filesystem are skipped, with the reason.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from proxy import LatencyProxy

from tui.storage.emulator import Emulator, offline_env

STORAGE_HOSTS = ("storage.googleapis.com", "www.googleapis.com")
INSIDE_ENV = "TFSCOPE_BENCH_NAMESPACE"
"""Set in the re-executed bench inside the namespace."""


def namespace_problem() -> str | None:
    """Why `unshare -rnm` cannot make the namespace here, or None when it can."""
    # The same steps as _namespace_setup, so a machine that allows unshare but not the mount (or lacks
    # `ip`) is found here, not half-way through the bench.
    probe = "mount --bind /etc/hosts /etc/hosts && ip link set lo up"
    try:
        done = subprocess.run(["unshare", "-rnm", "sh", "-c", probe], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare is not available ({exc})"
    if done.returncode != 0:
        return f"`unshare -rnm sh -c '{probe}'` failed: {done.stderr.strip() or done.returncode}"
    return None


def reexec_in_namespace() -> int:
    """Run this bench again inside a fresh namespace; returns its exit code."""
    env = {**os.environ, INSIDE_ENV: "1"}
    return subprocess.run(["unshare", "-rnm", sys.executable, *sys.argv], env=env).returncode


def inside_namespace() -> bool:
    return os.environ.get(INSIDE_ENV) == "1"


class BenchNetwork:
    """The emulator and its proxy; `tfscope_env` for google-cloud-storage users, `tf_env` for TF's gs://."""

    def __init__(self, data: Path, rtt: float, bandwidth: float, shared: bool = False) -> None:
        self.data, self.rtt, self.bandwidth, self.shared = data, rtt, bandwidth, shared
        self.in_namespace = inside_namespace()
        self.tf_env: dict[str, str] | None = None
        self.tfscope_env: dict[str, str] = {}
        self._work = Path(tempfile.mkdtemp(prefix="tfscope-bench-net-"))

    def start(self) -> None:
        if self.in_namespace:
            cert, key = self._namespace_setup()
            self.emulator = Emulator(self.data, port=4443, tls=(cert, key))
            self.emulator.start()
            self.proxy = LatencyProxy(4443, self.rtt, self.bandwidth, port=443, shared=self.shared)
            self.proxy.start()
            ca = {"REQUESTS_CA_BUNDLE": str(cert), "CURL_CA_BUNDLE": str(cert), "SSL_CERT_FILE": str(cert)}
            self.tfscope_env = {**offline_env(), **ca, "STORAGE_EMULATOR_HOST": f"https://{STORAGE_HOSTS[1]}"}
            # The token is never checked by the emulator; with it TF calls no token endpoint.
            self.tf_env = {**offline_env(), **ca, "GOOGLE_AUTH_TOKEN_FOR_TESTING": "bench"}
        else:
            self.emulator = Emulator(self.data)
            self.emulator.start()
            self.proxy = LatencyProxy(self.emulator.port, self.rtt, self.bandwidth, shared=self.shared)
            self.proxy.start()
            self.tfscope_env = {**offline_env(), "STORAGE_EMULATOR_HOST": self.proxy.url}

    def stop(self) -> None:
        self.proxy.stop()
        self.emulator.stop()

    def _namespace_setup(self) -> tuple[Path, Path]:
        """Loopback up, Google's storage names on 127.0.0.1, and a certificate for them."""
        hosts = self._work / "hosts"
        hosts.write_text(f"127.0.0.1 localhost {' '.join(STORAGE_HOSTS)}\n::1 localhost\n")
        subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return self._certificate()

    def _certificate(self) -> tuple[Path, Path]:
        # cryptography comes with google-auth; the key lives only as long as this run.
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tfscope bench")])
        now = datetime.datetime.now(datetime.timezone.utc)
        names: list[x509.GeneralName] = [x509.DNSName(h) for h in STORAGE_HOSTS]
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        cert_path, key_path = self._work / "cert.pem", self._work / "key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_path, key_path
