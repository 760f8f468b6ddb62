"""A real Keycloak server for tests, started once per session, and its session fixture.

The distribution (Maven Central `org.keycloak:keycloak-quarkus-dist`) is downloaded and unpacked
by `scripts/prepare-keycloak` into `~/.cache/sovscan-test/keycloak/<version>/`; the fixture runs
that script (so a fresh machine works), copies the distribution into a temporary directory (the
cache is never modified), writes the realms of `tests/keycloak/realms.py` into its `data/import`,
and runs `kc.sh start-dev --import-realm` on free loopback ports (HTTP, and HTTPS with a
certificate from a CA the fixture makes), with Keycloak's HTTP access log on (the server-side
record of every request the collector sends) and the dev H2 database in AUTO_SERVER mode, so that
`kc.sh export` can run beside the live server against the same database. Then it applies
`examples/keycloak/setup-sovscan-reader.sh` (kcadm.sh) to create the `sovscan` reader in the master
realm for the realms master, hardened and weak. The fixture writes to the server (import, the
setup script, the bootstrap admin); the collector under test never does.

Keycloak 26.7 needs Java 21+: the JDK is the one `scripts/prepare-keycloak --print-java-home` finds.
Startup on a shared 2-core machine takes one to two minutes, so the timeouts are generous.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.keycloak.realms import IMPOSTOR_ACCOUNT_CONSOLE, PLANTED, REALMS
from tests.services.openbao import make_tls

ROOT = Path(__file__).resolve().parents[2]
PREPARE = ROOT / "scripts" / "prepare-keycloak"
SETUP_SCRIPT = ROOT / "examples" / "keycloak" / "setup-sovscan-reader.sh"
VERSION = os.environ.get("SOVSCAN_KEYCLOAK_VERSION", "26.7.3")
CACHE = Path(os.environ.get("SOVSCAN_TEST_CACHE", str(Path.home() / ".cache" / "sovscan-test"))) / "keycloak"
STARTUP_TIMEOUT = 420.0
SCANNED_REALMS = ("master", "hardened", "weak")
"""Realms the `sovscan` reader is granted (by the example setup script)."""

_ACCESS = re.compile(
    r'org\.keycloak\.http\.access-log.*?"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3})'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A loopback port with nothing listening."""
    return _free_port()


def prepare() -> str:
    """Run scripts/prepare-keycloak (download + unpack when missing); return JAVA_HOME. Fails loudly."""
    result = subprocess.run([str(PREPARE)], capture_output=True, text=True, timeout=1200, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/prepare-keycloak failed: {result.stderr.strip() or result.stdout.strip()}")
    java = subprocess.run([str(PREPARE), "--print-java-home"], capture_output=True, text=True, timeout=60, check=False)
    if java.returncode != 0 or not java.stdout.strip():
        raise RuntimeError(f"no Java 21+ for Keycloak: {java.stderr.strip()}")
    return java.stdout.strip()


@dataclass
class KeycloakServer:
    """A running Keycloak (start-dev) on loopback ports."""

    home: Path
    java_home: str
    http_port: int
    https_port: int
    ca: Path
    admin_user: str
    admin_password: str
    db_url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The plain-HTTP base URL."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self) -> str:
        """The HTTPS base URL (certificate for 127.0.0.1 signed by `ca`)."""
        return f"https://127.0.0.1:{self.https_port}"

    def env(self) -> dict[str, str]:
        """Environment for kc.sh / kcadm.sh: Java 21+, no KEYCLOAK_/KC_ variables of the caller."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYCLOAK_", "KC_", "JAVA_OPTS"))}
        env["JAVA_HOME"] = self.java_home
        env["HOME"] = str(self.home)
        env["PATH"] = f"{self.java_home}/bin:{env.get('PATH', '')}"
        return env

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log (for failure messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def access_log(self) -> list[tuple[str, str, int]]:
        """(method, path with query, status) of every request in Keycloak's HTTP access log so far."""
        text = self.log_path.read_text(errors="replace")
        return [(m["method"], m["path"], int(m["status"])) for m in _ACCESS.finditer(text)]

    def wait_log_quiet(self, count: int, timeout: float = 10.0) -> None:
        """Wait until the access log has at least `count` entries (it is written asynchronously)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(self.access_log()) < count:
            time.sleep(0.2)

    def token(self, realm: str, client_id: str, secret: str) -> str:
        """A client-credentials access token (fixture use)."""
        data = urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        ).encode()
        with urllib.request.urlopen(  # noqa: S310 - loopback test server
            f"{self.url}/realms/{realm}/protocol/openid-connect/token", data=data, timeout=30
        ) as response:
            return str(json.load(response)["access_token"])

    def admin_token(self) -> str:
        """An access token of the bootstrap admin (fixture use only)."""
        data = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": self.admin_user,
                "password": self.admin_password,
            }
        ).encode()
        with urllib.request.urlopen(  # noqa: S310 - loopback test server
            f"{self.url}/realms/master/protocol/openid-connect/token", data=data, timeout=30
        ) as response:
            return str(json.load(response)["access_token"])

    def admin(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """Call the admin API as the bootstrap admin (or with `token`); return parsed JSON or None."""
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            f"{self.url}/admin/realms/{path.lstrip('/')}" if not path.startswith("/") else f"{self.url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token or self.admin_token()}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:500]!r}") from None
        return json.loads(raw) if raw else None

    def export(self, realm: str | None, destination: Path, *, directory: bool = False) -> Path:
        """`kc.sh export` beside the running server (same dev database, H2 AUTO_SERVER mode).

        A file export puts the users in the realm file (`--users same_file`); a directory export
        writes them to `<realm>-users-<n>.json` files (`--users different_files`).
        """
        target = (
            ["--dir", str(destination), "--users", "different_files"]
            if directory
            else ["--file", str(destination), "--users", "same_file"]
        )
        realm_args = ["--realm", realm] if realm else []
        command = [str(self.home / "bin" / "kc.sh"), "--profile=dev", "export", *realm_args, *target,
                   f"--db-url={self.db_url}"]  # fmt: skip
        result = subprocess.run(command, env=self.env(), capture_output=True, text=True, timeout=900, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"kc.sh export failed: {(result.stdout + result.stderr)[-2000:]}")
        return destination

    def stop(self) -> None:
        """SIGTERM the server's process group, then SIGKILL after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def start_keycloak(realms: Mapping[str, Mapping[str, Any]], base: Path) -> KeycloakServer:
    """Start Keycloak (start-dev) in a copy of the cached distribution, importing `realms`."""
    java_home = prepare()
    source = CACHE / VERSION
    home = base / "keycloak"
    shutil.copytree(source, home, symlinks=True)
    imports = home / "data" / "import"
    imports.mkdir(parents=True, exist_ok=True)
    for name, realm in realms.items():
        (imports / f"{name}-realm.json").write_text(json.dumps(realm, indent=1), encoding="utf-8")
    ca, cert, key = make_tls(base)
    db_url = f"jdbc:h2:file:{home}/data/h2/keycloakdb;NON_KEYWORDS=VALUE;AUTO_SERVER=TRUE"
    server = KeycloakServer(
        home=home,
        java_home=java_home,
        http_port=_free_port(),
        https_port=_free_port(),
        ca=ca,
        admin_user="bootstrap-admin",
        admin_password=secrets.token_urlsafe(18),
        db_url=db_url,
        log_path=base / "keycloak.log",
    )
    env = server.env()
    env["KC_BOOTSTRAP_ADMIN_USERNAME"] = server.admin_user
    env["KC_BOOTSTRAP_ADMIN_PASSWORD"] = server.admin_password
    command = [
        str(home / "bin" / "kc.sh"), "start-dev", "--import-realm",
        "--http-host=127.0.0.1", f"--http-port={server.http_port}", f"--https-port={server.https_port}",
        f"--https-certificate-file={cert}", f"--https-certificate-key-file={key}",
        f"--http-management-port={_free_port()}", "--http-access-log-enabled=true",
f"--db-url={db_url}", "--hostname-strict=false",
    ]  # fmt: skip
    log = server.log_path.open("wb")
    server.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    end = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < end:
        if server.process.poll() is not None:
            raise RuntimeError(f"Keycloak exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/realms/master", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(2)
    else:
        server.stop()
        raise RuntimeError(f"Keycloak did not start within {STARTUP_TIMEOUT:g}s:\n{server.log_tail()}")
    return server


def tamper_weak(server: KeycloakServer) -> None:
    """What an import cannot express: replace weak's built-in account-console by an impostor with a
    wildcard redirect, make `offline_access` a default scope of the realm and of `http-app`, and
    give `http-app` a browser-flow override (a flow id, unknown before the import)."""
    token = server.admin_token()
    (builtin,) = server.admin("GET", "weak/clients?clientId=account-console", token=token)
    # Keycloak refuses to delete a client named account-console; renamed first, it can be deleted
    server.admin(
        "PUT", f"weak/clients/{builtin['id']}", {**builtin, "clientId": "account-console-deleted"}, token=token
    )
    server.admin("DELETE", f"weak/clients/{builtin['id']}", token=token)
    server.admin("POST", "weak/clients", IMPOSTOR_ACCOUNT_CONSOLE, token=token)
    scopes = server.admin("GET", "weak/client-scopes", token=token)
    offline = next(s["id"] for s in scopes if s["name"] == "offline_access")
    server.admin("DELETE", f"weak/default-optional-client-scopes/{offline}", token=token)
    server.admin("PUT", f"weak/default-default-client-scopes/{offline}", token=token)
    (app,) = server.admin("GET", "weak/clients?clientId=http-app", token=token)
    server.admin("DELETE", f"weak/clients/{app['id']}/optional-client-scopes/{offline}", token=token)
    server.admin("PUT", f"weak/clients/{app['id']}/default-client-scopes/{offline}", token=token)
    # http-app signs in through the built-in browser flow (2FA only if configured), bypassing the realm's binding
    flows = server.admin("GET", "weak/authentication/flows", token=token)
    browser = next(f["id"] for f in flows if f["alias"] == "browser")
    (app,) = server.admin("GET", "weak/clients?clientId=http-app", token=token)
    app["authenticationFlowBindingOverrides"] = {"browser": browser}
    server.admin("PUT", f"weak/clients/{app['id']}", app, token=token)


def apply_reader_setup(server: KeycloakServer, realms: tuple[str, ...], client_id: str = "sovscan") -> str:
    """Run examples/keycloak/setup-sovscan-reader.sh against the server; return the client secret."""
    secret = secrets.token_urlsafe(24)
    env = server.env()
    env.update(
        {
            "KCADM": str(server.home / "bin" / "kcadm.sh"),
            "KEYCLOAK_URL": server.url,
            "ADMIN_USER": server.admin_user,
            "ADMIN_PASSWORD": server.admin_password,
            "SOVSCAN_REALMS": " ".join(realms),
            "SOVSCAN_CLIENT_ID": client_id,
            "SOVSCAN_CLIENT_SECRET": secret,
        }
    )
    result = subprocess.run(
        ["sh", str(SETUP_SCRIPT)], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{SETUP_SCRIPT.name} failed: {result.stdout}\n{result.stderr}")
    return secret


@pytest.fixture(scope="session")
def keycloak_server() -> Iterator[KeycloakServer]:
    """The session's Keycloak with realms hardened and weak, and the `sovscan` reader in master."""
    base = Path(tempfile.mkdtemp(prefix="sovscan-kc-"))
    server: KeycloakServer | None = None
    try:
        server = start_keycloak({name: build() for name, build in REALMS.items()}, base)
        tamper_weak(server)
        server.secrets["sovscan"] = apply_reader_setup(server, SCANNED_REALMS)
        server.secrets["sovscan-noevents"] = PLANTED["noevents_secret"]
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
