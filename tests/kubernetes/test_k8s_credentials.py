"""Kubernetes credentials never reach an artifact, and disabled TLS verification is reported.

The API server here is an HTTP stand-in that echoes the Authorization header it receives into the
`message` of its error `Status` (a real kube-apiserver never echoes credentials; the stand-in plays
the careless proxy or the hostile server). The scan runs end to end through the CLI with every
report format and `--save-evidence`; every artifact, the console and stderr are grepped for
every credential the kubeconfig holds.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.plugin import PLUGIN
from scanner.interface import Target
from tests.kubernetes.k8s_objects import sample_cluster
from tests.services.kubeapi import KubeAPIServer, self_signed_certificate, write_kubeconfig

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "k8s-planted-token-7a9f3c1e5b"
PASSWORD = "k8s-planted-password-Q8w2"
KEY_BODY = "k8s-planted-client-key-body-4d6e8f0a2c"
CLIENT_KEY = f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----\n"
FILE_TOKEN = "k8s-planted-token-file-91b3d5"


class EchoServer:
    """Answers /version, and every LIST with HTTP 500 whose Status message repeats the Authorization header."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/version":
                    code, body = 200, {"gitVersion": "v1.35.1"}
                else:
                    seen = self.headers.get("Authorization", "")
                    code = 500
                    body = {"kind": "Status", "status": "Failure", "code": 500, "message": f"bad request with {seen}"}
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.stop()


def kubeconfig_with_secrets(path: Path, server: str) -> Path:
    """A kubeconfig whose current user has the token, and other users a password, a key and a token file."""
    token_file = path.parent / "token.txt"
    token_file.write_text(FILE_TOKEN + "\n")
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [
            {"name": "scanner", "user": {"token": TOKEN}},
            {"name": "legacy", "user": {"username": "admin", "password": PASSWORD}},
            {
                "name": "cert",
                "user": {"client-key-data": base64.b64encode(CLIENT_KEY.encode()).decode(), "tokenFile": "token.txt"},
            },
        ],
        "contexts": [{"name": "echo", "context": {"cluster": "c", "user": "scanner"}}],
        "current-context": "echo",
    }
    path.write_text(json.dumps(document))
    return path


def test_ambient_credentials_are_every_kubeconfig_secret(tmp_path: Path) -> None:
    kubeconfig = kubeconfig_with_secrets(tmp_path / "kubeconfig", "http://127.0.0.1:1")
    target = Target(id="c", kind="kubernetes", url="context:echo", options={"kubeconfig": str(kubeconfig)})
    values = {s.reveal() for s in PLUGIN.ambient_credentials(target).values()}
    assert {TOKEN, PASSWORD, FILE_TOKEN, KEY_BODY, CLIENT_KEY.strip()} <= values
    assert base64.b64encode(CLIENT_KEY.encode()).decode() in values
    # never raises for what is absent; offline targets have none
    missing = Target(id="c", kind="kubernetes", url="context:x", options={"kubeconfig": str(tmp_path / "none")})
    assert PLUGIN.ambient_credentials(missing) == {}
    assert PLUGIN.ambient_credentials(PLUGIN.parse_target("manifests:./deploy")) == {}
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("in-cluster-planted-token-55\n")
    in_cluster = Target(id="i", kind="kubernetes", url="in-cluster", options={"service_account_dir": str(sa)})
    assert {s.reveal() for s in PLUGIN.ambient_credentials(in_cluster).values()} == {"in-cluster-planted-token-55"}


def test_an_echoed_token_appears_in_no_artifact(echo: EchoServer, tmp_path: Path) -> None:
    kubeconfig = kubeconfig_with_secrets(tmp_path / "kubeconfig", echo.url)
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - id: echo\n    kind: kubernetes\n    url: 'context:echo'\n    options: {{kubeconfig: '{kubeconfig}'}}\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    formats = ["json", "sarif", "junit", "wazuh", "console"]
    args = [sys.executable, "-m", "scanner", "scan", "--inventory", str(inventory), "--no-progress"]
    args += ["--save-evidence", str(out / "evidence"), "--fail-on", "none"]
    for name in formats:
        args += ["-f", f"{name}={out / ('report.' + name)}"]
    args += ["-f", "console"]
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 3, done.stderr  # ERROR results: every LIST failed
    artifacts = {path.name: path.read_text(errors="replace") for path in out.rglob("*") if path.is_file()}
    artifacts["stdout"], artifacts["stderr"] = done.stdout, done.stderr
    assert {f"report.{name}" for name in formats} <= set(artifacts)
    assert any(name.endswith(".json") and name.startswith("echo") for name in artifacts), sorted(artifacts)
    # the echo reached the report (the server's message is kept), the credential did not
    assert any("bad request with [REDACTED]" in text for text in artifacts.values())
    for name, text in artifacts.items():
        for secret in (TOKEN, PASSWORD, FILE_TOKEN, KEY_BODY):
            assert secret not in text, (name, secret)
    # the plain-HTTP connection is reported in every report format, not only in the evidence
    for name in ("report.json", "report.sarif", "report.junit", "report.wazuh", "report.console"):
        assert "plain HTTP to the API server" in artifacts[name], name


def test_insecure_skip_tls_verify_is_reported_not_hidden(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with KubeAPIServer(sample_cluster(), token=TOKEN, tls=(cert, key)) as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, token=TOKEN, context="skip")
        document = json.loads(kubeconfig.read_text())
        document["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
        kubeconfig.write_text(json.dumps(document))
        target = Target(id="s", kind="kubernetes", url="context:skip", options={"kubeconfig": str(kubeconfig)})
        evidence = PLUGIN.collect(target, {}, 30.0)
        assert evidence.errors == {}
        assert evidence.metadata["insecure_transport"] == [
            "TLS verification disabled by kubeconfig insecure-skip-tls-verify (context skip)"
        ]
        # verification is on by default: the same server without the opt-out is refused
        verified = write_kubeconfig(tmp_path / "verified", server.url, token=TOKEN, context="v")
        strict = Target(id="v", kind="kubernetes", url="context:v", options={"kubeconfig": str(verified)})
        from scanner.errors import CollectionError

        with pytest.raises(CollectionError) as refused:
            PLUGIN.collect(strict, {}, 30.0)
        assert refused.value.reason == CollectionError.TLS
        # and with its CA it is trusted, with nothing to report
        trusted = write_kubeconfig(tmp_path / "trusted", server.url, token=TOKEN, context="t", ca_file=cert)
        ok = PLUGIN.collect(
            Target(id="t", kind="kubernetes", url="context:t", options={"kubeconfig": str(trusted)}), {}, 30.0
        )
        assert "insecure_transport" not in ok.metadata


def test_a_token_from_an_exec_credential_plugin_is_scrubbed_too(echo: EchoServer, tmp_path: Path) -> None:
    """An exec plugin's token exists only at run time: the collector scrubs what the client sends."""
    exec_token = "k8s-planted-exec-token-c0ffee42"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": exec_token},
    }
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": echo.url}}],
        "users": [
            {
                "name": "exec",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": sys.executable,
                        "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": "exec", "context": {"cluster": "c", "user": "exec"}}],
        "current-context": "exec",
    }
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(document))
    target = Target(id="x", kind="kubernetes", url="context:exec", options={"kubeconfig": str(kubeconfig)})
    assert exec_token not in {s.reveal() for s in PLUGIN.ambient_credentials(target).values()}
    evidence = PLUGIN.collect(target, {}, 30.0)
    text = json.dumps({"errors": evidence.errors, "metadata": evidence.metadata, "sections": evidence.sections})
    assert "bad request with [REDACTED]" in evidence.errors["pods"]
    assert exec_token not in text
