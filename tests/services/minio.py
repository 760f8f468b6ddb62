"""Real MinIO servers for tests, and the session fixtures that start them.

The `minio` binary is built from the Go module proxy by `scripts/prepare-minio` into
`~/.cache/sovscan-test/minio/<version>/minio` ($SOVSCAN_MINIO overrides the path); a fixture that
cannot find it builds it with that script and fails loudly when that fails. Every server listens
on free ports of 127.0.0.1, stores its data in a temporary directory, and is stopped (SIGTERM,
then SIGKILL) at the end of the session, even when its setup fails. The fixtures set servers up
through the `minio` Python clients (`Minio`, `MinioAdmin`) as root; the collector under test
never writes.

Fixtures (session scope):

- `minio_hardened`: TLS with a certificate from a CA the fixture makes, a static KMS key
  (`MINIO_KMS_SECRET_KEY`), a strong random root credential, the audit webhook sending to an
  HTTPS receiver in the test process (`server.audit`, which records every API call: the read-only
  proof), Prometheus metrics behind authentication, root API access switched off after setup.
  Buckets: `backups` (object lock GOVERNANCE 30 days, versioning, SSE-KMS default, a lifecycle
  rule for noncurrent versions, tag `purpose=backup`), `app-data` (versioning, SSE-S3 default,
  lifecycle, a bucket policy denying everything from outside 10.0.0.0/8 and 127.0.0.0/8 and every
  plain-HTTP request; no anonymous Allow). Users: `scanner` (examples/s3/scanner-policy.json),
  `app` (read-write on `app-data` only, an access key that expires), `viewer` (built-in `readonly`,
  member of group `auditors`), `s3reader` (the S3 half of the scanner policy, no admin actions).
- `minio_weak`: plain HTTP, root `minioadmin`/`minioadmin`, public Prometheus metrics, no KMS.
  Buckets: `public-data` (anonymous read, list, write and delete), `backups` (no encryption, no
  versioning, no object lock), `office` (anonymous read of `reports/*` from 10.0.0.0/8 only: not from
  here, still anonymous access). Users: `app` with the policy `everything` (`s3:*` on `*`),
  `olduser` (disabled), a root-owned access key without expiry, and `viewer` (`readonly`, member of
  group `ops`); an audit
  webhook target `planted` (disabled) whose auth_token is `PLANTED_SECRET`.
- `minio_oracle`: plain HTTP MinIO for the differential policy test; the test rewrites the policy
  of bucket `oracle` (and of IAM user `diffuser`) many times, so nothing else scans it.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import io
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, GOVERNANCE, Filter, Tags
from minio.credentials import StaticProvider
from minio.error import S3Error
from minio.lifecycleconfig import LifecycleConfig, NoncurrentVersionExpiration, Rule
from minio.minioadmin import MinioAdmin
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.sseconfig import Rule as SseRule
from minio.sseconfig import SSEConfig
from minio.versioningconfig import VersioningConfig

from tests.services.openbao import closed_port, make_tls

ROOT = Path(__file__).resolve().parents[2]
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
SCANNER_POLICY = ROOT / "examples" / "s3" / "scanner-policy.json"
ENV_PREFIXES = ("MINIO_", "AWS_")
PLANTED_SECRET = "planted-" + secrets.token_hex(12)
"""A secret value planted in the weak server's configuration; no artifact may contain it."""


def find_minio() -> Path:
    """The MinIO binary, built by scripts/prepare-minio when missing (fails loudly if that fails)."""
    override = os.environ.get("SOVSCAN_MINIO")
    if override:
        return Path(override)
    cache = Path(os.environ.get("SOVSCAN_CACHE", Path.home() / ".cache" / "sovscan-test"))
    binary = cache / "minio" / MINIO_VERSION / "minio"
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "prepare-minio")], capture_output=True, text=True, timeout=3000, check=False
    )
    if result.returncode != 0 or not binary.is_file():
        pytest.fail(f"MinIO could not be built: {result.stderr.strip()[-2000:]}", pytrace=False)
    return binary


def free_port() -> int:
    """A free port of 127.0.0.1."""
    return closed_port()


class AuditReceiver:
    """An HTTPS (or HTTP) server in the test process that records MinIO's audit webhook entries."""

    def __init__(self, cert: Path | None = None, key: Path | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                for line in body.splitlines():
                    with contextlib.suppress(ValueError), receiver.lock:
                        receiver.entries.append(json.loads(line))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if cert and key:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert), str(key))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def calls(self, access_key: str | None) -> list[tuple[str, str]]:
        """(API name, request path) MinIO recorded for requests signed with `access_key` (None: anonymous)."""
        with self.lock:
            return [
                (str(e.get("api", {}).get("name", "")), str(e.get("requestPath", "")))
                for e in self.entries
                if e.get("accessKey") == access_key
            ]

    def close(self) -> None:
        """Stop the receiver."""
        self.server.shutdown()
        self.server.server_close()


@dataclass
class MinioServer:
    """A running throwaway MinIO server."""

    name: str
    base: Path
    port: int = 0
    secure: bool = False
    root_user: str = ""
    root_password: str = ""
    ca_file: Path | None = None
    users: dict[str, str] = field(default_factory=dict)
    """User (or access key) -> secret key, made by the fixture."""
    process: subprocess.Popen[bytes] | None = None
    log_file: Path | None = None
    audit: AuditReceiver | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """`127.0.0.1:port`."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The URL to scan."""
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    def http(self) -> urllib3.PoolManager:
        """A pool manager that trusts the server's CA."""
        if self.ca_file:
            return urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(self.ca_file), retries=False)
        return urllib3.PoolManager(retries=False)

    def client(self, access_key: str | None = None, secret_key: str | None = None) -> Minio:
        """An S3 client (root by default)."""
        return Minio(
            self.endpoint,
            access_key=access_key or self.root_user,
            secret_key=secret_key or self.root_password,
            secure=self.secure,
            http_client=self.http(),
        )

    def admin(self, access_key: str | None = None, secret_key: str | None = None) -> MinioAdmin:
        """An admin client (root by default)."""
        return MinioAdmin(
            endpoint=self.endpoint,
            credentials=StaticProvider(access_key or self.root_user, secret_key or self.root_password),
            secure=self.secure,
            http_client=self.http(),
        )

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log."""
        if self.log_file is None:
            return ""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def start(self, binary: Path, env: dict[str, str]) -> None:
        """Start the server and wait until it answers its readiness probe."""
        self.port = free_port()
        console = free_port()
        data = self.base / "data"
        data.mkdir(parents=True, exist_ok=True)
        self.log_file = self.base / "minio.log"
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
        base_env.update({"HOME": str(self.base), "MINIO_ROOT_USER": self.root_user})
        base_env["MINIO_ROOT_PASSWORD"] = self.root_password
        base_env["MINIO_BROWSER"] = "off"
        base_env["MINIO_UPDATE"] = "off"
        base_env.update(env)
        self.env = env
        args = [str(binary), "server", str(data), "--address", f"127.0.0.1:{self.port}"]
        args += ["--console-address", f"127.0.0.1:{console}", "--certs-dir", str(self.base / "certs"), "--quiet"]
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(args, env=base_env, stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Wait for `/minio/health/ready`."""
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"MinIO {self.name} exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(  # noqa: S310 (our own loopback server)
                    f"{self.url}/minio/health/ready", timeout=2, context=context
                ) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"MinIO {self.name} did not become ready:\n{self.log_tail()}")

    def wait_initialised(self, timeout: float = 90.0) -> None:
        """Wait until the object layer answers (health/ready can answer before it is initialised)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client().list_buckets()
                return
            except S3Error as exc:
                if exc.code != "XMinioServerNotInitialized" or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.audit is not None:
            self.audit.close()


def _bucket_policy(bucket: str, statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _add_user(server: MinioServer, name: str, policies: list[str]) -> str:
    secret = secrets.token_urlsafe(24)
    admin = server.admin()
    admin.user_add(name, secret)
    if policies:
        admin.attach_policy(policies, user=name)
    server.users[name] = secret
    return secret


def _setup_hardened(server: MinioServer) -> None:
    s3 = server.client()
    admin = server.admin()
    s3.make_bucket("backups", object_lock=True)
    s3.set_object_lock_config("backups", ObjectLockConfig(GOVERNANCE, 30, DAYS))
    s3.set_bucket_versioning("backups", VersioningConfig(ENABLED))
    s3.set_bucket_encryption("backups", SSEConfig(SseRule.new_sse_kms_rule("sovscan-key")))
    tags = Tags.new_bucket_tags()
    tags["purpose"] = "backup"
    s3.set_bucket_tags("backups", tags)
    lifecycle = LifecycleConfig(
        [Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id="noncurrent", noncurrent_version_expiration=(
            NoncurrentVersionExpiration(noncurrent_days=90)))]
    )  # fmt: skip
    s3.set_bucket_lifecycle("backups", lifecycle)
    s3.make_bucket("app-data")
    s3.set_bucket_versioning("app-data", VersioningConfig(ENABLED))
    s3.set_bucket_encryption("app-data", SSEConfig(SseRule.new_sse_s3_rule()))
    s3.set_bucket_lifecycle("app-data", lifecycle)
    s3.set_bucket_policy(
        "app-data",
        _bucket_policy(
            "app-data",
            [
                {
                    "Sid": "OnlyTheOfficeNetwork",
                    "Effect": "Deny",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:*"],
                    "Resource": ["arn:aws:s3:::app-data", "arn:aws:s3:::app-data/*"],
                    "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}},
                },
                {
                    "Sid": "DenyPlainHttp",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": ["s3:*"],
                    "Resource": ["arn:aws:s3:::app-data", "arn:aws:s3:::app-data/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        ),
    )
    s3.put_object("app-data", "reports/q1.txt", io.BytesIO(b"q1"), 2)
    admin.policy_add("scanner", policy=json.loads(SCANNER_POLICY.read_text()))
    admin.policy_add(
        "app-rw",
        policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                    "Resource": ["arn:aws:s3:::app-data", "arn:aws:s3:::app-data/*"],
                }
            ],
        },
    )
    _add_user(server, "scanner", ["scanner"])
    _add_user(server, "app", ["app-rw"])
    _add_user(server, "viewer", ["readonly"])
    admin.group_add("auditors", ["viewer"])
    admin.attach_policy(["readonly"], group="auditors")
    s3_only = json.loads(SCANNER_POLICY.read_text())
    s3_only["Statement"] = [s for s in s3_only["Statement"] if not any(a.startswith("admin:") for a in s["Action"])]
    admin.policy_add("s3-reader", policy=s3_only)
    _add_user(server, "s3reader", ["s3-reader"])
    expiry = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # the app user's own access key, with an expiry (users may create keys for themselves)
    server.admin("app", server.users["app"]).add_service_account(
        access_key="appkey2026", secret_key=secrets.token_urlsafe(24), expiration=expiry
    )
    admin.config_set("api", {"root_access": "off"})


def _setup_weak(server: MinioServer) -> None:
    s3 = server.client()
    admin = server.admin()
    s3.make_bucket("public-data")
    s3.set_bucket_policy(
        "public-data",
        _bucket_policy(
            "public-data",
            [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                    "Resource": ["arn:aws:s3:::public-data"],
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": ["arn:aws:s3:::public-data/*"],
                },
            ],
        ),
    )
    s3.put_object("public-data", "readme.txt", io.BytesIO(b"hello"), 5)
    s3.make_bucket("backups")
    s3.make_bucket("office")
    s3.set_bucket_policy(
        "office",
        _bucket_policy(
            "office",
            [
                {
                    "Sid": "OfficeReadsReports",
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject"],
                    "Resource": ["arn:aws:s3:::office/reports/*"],
                    "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}},
                }
            ],
        ),
    )
    admin.policy_add(
        "everything",
        policy={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}]},
    )
    _add_user(server, "app", ["everything"])
    _add_user(server, "olduser", ["readonly"])
    admin.user_disable("olduser")
    _add_user(server, "viewer", ["readonly"])
    admin.group_add("ops", ["viewer"])
    admin.attach_policy(["readonly"], group="ops")
    admin.add_service_account(access_key="rootkey0001", secret_key=secrets.token_urlsafe(24))
    # a planted secret the collector reads back (config) and must never show
    admin.config_set(
        "audit_webhook:planted", {"enable": "off", "endpoint": "http://127.0.0.1:9/x", "auth_token": PLANTED_SECRET}
    )


def _start(name: str, *, secure: bool, root_user: str, root_password: str, env: dict[str, str]) -> MinioServer:
    binary = find_minio()
    base = Path(tempfile.mkdtemp(prefix=f"sovscan-minio-{name}-"))
    server = MinioServer(name=name, base=base, secure=secure, root_user=root_user, root_password=root_password)
    (base / "certs").mkdir()
    if secure:
        ca, cert, key = make_tls(base)
        (base / "certs" / "CAs").mkdir()
        (base / "certs" / "public.crt").write_bytes(cert.read_bytes())
        (base / "certs" / "private.key").write_bytes(key.read_bytes())
        (base / "certs" / "CAs" / "ca.crt").write_bytes(ca.read_bytes())
        server.ca_file = ca
        server.audit = AuditReceiver(cert, key)
        env = {
            **env,
            "MINIO_AUDIT_WEBHOOK_ENABLE_sovscan": "on",
            "MINIO_AUDIT_WEBHOOK_ENDPOINT_sovscan": f"https://127.0.0.1:{server.audit.port}/audit",
        }
    server.start(binary, env)
    return server


@contextlib.contextmanager
def _running(server_factory: Any, setup: Any) -> Iterator[MinioServer]:
    server: MinioServer | None = None
    try:
        server = server_factory()
        server.wait_initialised()
        setup(server)
        yield server
    finally:
        if server is not None:
            server.stop()


def kms_key() -> str:
    """A `MINIO_KMS_SECRET_KEY` value (`name:base64(32 bytes)`)."""
    return "sovscan-key:" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="session")
def minio_hardened() -> Iterator[MinioServer]:
    """The hardened MinIO server (see the module docstring)."""

    def factory() -> MinioServer:
        return _start(
            "hardened",
            secure=True,
            root_user="sovscan-root-" + secrets.token_hex(4),
            root_password=secrets.token_urlsafe(24),
            env={"MINIO_KMS_SECRET_KEY": kms_key()},
        )

    with _running(factory, _setup_hardened) as server:
        yield server


@pytest.fixture(scope="session")
def minio_weak() -> Iterator[MinioServer]:
    """The weak MinIO server (see the module docstring)."""

    def factory() -> MinioServer:
        return _start(
            "weak",
            secure=False,
            root_user="minioadmin",
            root_password="minioadmin",
            env={"MINIO_PROMETHEUS_AUTH_TYPE": "public"},
        )

    with _running(factory, _setup_weak) as server:
        yield server


@pytest.fixture(scope="session")
def minio_oracle() -> Iterator[MinioServer]:
    """A plain MinIO whose bucket `oracle` and user `diffuser` the differential test rewrites."""

    def factory() -> MinioServer:
        return _start("oracle", secure=False, root_user="oracle-root", root_password=secrets.token_urlsafe(24), env={})

    def setup(server: MinioServer) -> None:
        server.client().make_bucket("oracle")
        _add_user(server, "diffuser", [])

    with _running(factory, setup) as server:
        yield server


def socket_closed_port() -> int:
    """A loopback port nothing listens on (a server that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
