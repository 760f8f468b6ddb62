"""The OpenBao connector against hostile and broken servers: secrets never leak, nothing reads PASS unread.

These servers are stand-ins served over real HTTP on 127.0.0.1 (pytest-httpserver and raw
sockets), because a real OpenBao cannot be made to echo the token it received, drip its
answers, or answer `{"data": {}}`:

* an **echo server** answers like OpenBao where it must (`sys/health`, `sys/seal-status`) and
  reflects the `X-Vault-Token` it received in the error text of every other endpoint. For each
  credential source (inventory reference, option token_file, BAO_TOKEN, VAULT_TOKEN,
  ~/.vault-token) a real `sovscan scan` writes every report format, saved evidence and console
  output, and the planted token appears in none of them;
* **fault injection**: down, hanging, dripping, 401/403/500 and malformed 200 answers (on all
  endpoints, and on each endpoint alone): no control whose evidence was not read reads PASS.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from checks.openbao.plugin import PLUGIN
from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.cli import cli
from scanner.errors import CollectionError
from scanner.interface import Secret
from scanner.model import Control, Evidence, Finding, Status
from scanner.plugins import Registry, discover
from tests.openbao.conftest import Evaluate
from tests.services.openbao import closed_port

HEALTH = {"initialized": True, "sealed": False, "standby": False, "version": "2.7.2"}
SEAL = {"type": "shamir", "initialized": True, "sealed": False, "t": 3, "n": 5, "storage_type": "raft"}
FORMATS = tuple(sorted(discover().reporters))
"""Every installed report format (so a new reporter is grepped too)."""


def _url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/").replace("localhost", "127.0.0.1")


def _echo(request: Request) -> Response:
    token = request.headers.get("X-Vault-Token", "")
    path = request.path
    if path == "/v1/sys/health":
        return Response(json.dumps(HEALTH), 200, content_type="application/json")
    if path == "/v1/sys/seal-status":
        return Response(json.dumps(SEAL), 200, content_type="application/json")
    if path == "/v1/auth/token/lookup-self":
        body = {"data": {"display_name": f"token-{token}", "policies": ["default", token], "type": "service"}}
        return Response(json.dumps(body), 200, content_type="application/json")
    body = {"errors": [f"1 error occurred:\n\t* permission denied for token {token} on {path}\n\n"]}
    return Response(json.dumps(body), 500 if "audit" in path else 403, content_type="application/json")


def _refusing_echo(request: Request) -> Response:
    if request.path in ("/v1/sys/health", "/v1/sys/seal-status"):
        return _echo(request)
    token = request.headers.get("X-Vault-Token", "")
    return Response(json.dumps({"errors": [f"invalid token {token}"]}), 403, content_type="application/json")


SOURCES = ("inventory", "token_file", "BAO_TOKEN", "VAULT_TOKEN", "vault-token")


def _scan(url: str, source: str, token: str, home: Path, tmp_path: Path) -> tuple[str, list[Path], int]:
    """Run `sovscan scan` with the token from `source`; return console output, written files, exit code."""
    env = {"HOME": str(home)}
    target = ["--target", f"openbao={url}"]
    if source == "inventory":
        (tmp_path / "bao.token").write_text(token)
        inventory = tmp_path / "targets.yaml"
        inventory.write_text(
            "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
            f"  - id: echo\n    kind: openbao\n    url: {url}\n"
            f"    credentials: {{token: 'file:{tmp_path / 'bao.token'}'}}\n"
        )
        target = ["--inventory", str(inventory)]
    elif source == "token_file":
        (tmp_path / "bao.token").write_text(token + "\n")
        target = ["--target", f"openbao={url}?token_file={tmp_path / 'bao.token'}"]
    elif source == "vault-token":
        (home / ".vault-token").write_text(token)
    else:
        env[source] = token
    reports = tmp_path / "reports"
    reports.mkdir()
    files = [reports / f"out.{name}" for name in FORMATS]
    formats = [arg for name, path in zip(FORMATS, files, strict=True) for arg in ("-f", f"{name}={path}")]
    evidence_dir = tmp_path / "evidence"
    result = CliRunner().invoke(
        cli,
        ["scan", *target, *formats, "--save-evidence", str(evidence_dir), "--no-progress", "--timeout", "20"],
        env=env,
        catch_exceptions=False,
    )
    written = [*files, *sorted(evidence_dir.rglob("*"))]
    return result.output, [p for p in written if p.is_file()], result.exit_code


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("handler", [_echo, _refusing_echo], ids=["echo-in-errors", "echo-in-refusal"])
def test_an_echoed_token_appears_in_no_artefact(
    httpserver: HTTPServer,
    home: Path,
    tmp_path: Path,
    source: str,
    handler: Callable[[Request], Response],
) -> None:
    assert {"console", "json", "junit", "sarif", "wazuh"} <= set(FORMATS)
    token = "s.planted-" + secrets.token_hex(12)
    httpserver.expect_request(re.compile("/v1/.*")).respond_with_handler(handler)
    output, files, code = _scan(_url(httpserver), source, token, home, tmp_path)
    assert code in (1, 3), output
    assert any(f.name.startswith("out.") for f in files) and any("evidence" in str(f) for f in files)
    sent = [r.headers.get("X-Vault-Token") for r, _ in httpserver.log]
    assert token in sent, "the echo server never saw the planted token: the test would prove nothing"
    for path in files:
        assert token not in path.read_text(errors="replace"), f"token leaked into {path.name}"
        assert token[2:] not in path.read_text(errors="replace"), f"token leaked into {path.name}"
    assert token not in output
    echoed = "".join(path.read_text(errors="replace") for path in files)
    assert "[REDACTED]" in echoed + output  # the echo reached the artefacts, redacted


# -- fault injection --------------------------------------------------------------------------------------------


def _controls_needing(evaluate: Evaluate, evidence: Evidence) -> dict[str, dict[str, Status]]:
    return {c: {p: f.status for p, f in r.items()} for c, r in evaluate(evidence).items()}


def _collect(url: str, timeout: float = 15) -> Evidence:
    return PLUGIN.collect(PLUGIN.parse_target(url), {"token": Secret("s.fault-token-value")}, timeout)


GOOD_ANSWERS: dict[str, Any] = {
    "sys/health": HEALTH,
    "sys/seal-status": SEAL,
    "auth/token/lookup-self": {"data": {"display_name": "token-x", "policies": ["default"], "type": "service"}},
    "sys/auth": {"data": {"token/": {"type": "token", "config": {}}}},
    "sys/mounts/auth/token/tune": {"data": {"default_lease_ttl": 3600, "max_lease_ttl": 86400}},
    "sys/mounts": {"data": {"secret/": {"type": "kv", "options": {"version": "2"}, "config": {}}}},
    "sys/policies/acl": {"data": {"keys": ["default"]}},
    "sys/policies/acl/default": {"data": {"name": "default", "policy": 'path "a" { capabilities = ["read"] }'}},
    "sys/audit": {"data": {"file/": {"type": "file", "options": {"file_path": "/var/log/a.log"}}}},
    "sys/config/state/sanitized": {
        "data": {
            "raw_storage_endpoint": False,
            "enable_ui": False,
            "storage": {"type": "raft"},
            "listeners": [{"type": "tcp", "config": {"address": "0.0.0.0:8200"}}],
        }
    },
    "sys/config/cors": {"data": {"enabled": False}},
    "sys/quotas/rate-limit": {"data": {"keys": []}},
    "auth/token/accessors": {"data": {"keys": ["acc1"]}},
    "auth/token/lookup-accessor": {"data": {"policies": ["default"], "ttl": 600, "display_name": "t"}},
    "sys/storage/raft/configuration": {"data": {"config": {"servers": [{"node_id": "n1", "voter": True}]}}},
}
"""What a well-behaved server answers (enough for every section)."""

SECTION_OF = {
    "sys/auth": "auth_methods",
    "sys/mounts": "secrets_engines",
    "sys/policies/acl": "policies",
    "sys/policies/acl/default": "policies",
    "sys/audit": "audit_devices",
    "sys/config/state/sanitized": "sanitized_config",
    "sys/config/cors": "cors",
    "auth/token/accessors": "token_accessors",
    "auth/token/lookup-accessor": "token_accessors",
    "sys/storage/raft/configuration": "raft",
}

FAULTS: dict[str, tuple[int, Any]] = {
    "401": (401, {"errors": ["permission denied"]}),
    "403": (403, {"errors": ["permission denied"]}),
    "500": (500, {"errors": ["internal error"]}),
    "empty-data": (200, {"data": {}}),
    "no-data": (200, {}),
    "wrong-types": (200, {"data": {"keys": "default", "enabled": "no", "policies": "root", "ttl": "0"}}),
    "not-json": (200, "<html>hello</html>"),
}


def _serve(httpserver: HTTPServer, faulty: str | None, fault: tuple[int, Any]) -> None:
    for path, body in GOOD_ANSWERS.items():
        status, answer = fault if path == faulty or faulty == "*" else (200, body)
        if path in ("sys/health", "sys/seal-status", "auth/token/lookup-self") and faulty == "*":
            status, answer = 200, body  # the target is reachable; every section answer is broken
        method = "POST" if path == "auth/token/lookup-accessor" else "GET"
        if isinstance(answer, str):
            httpserver.expect_request(f"/v1/{path}", method=method).respond_with_data(answer, status)
        else:
            httpserver.expect_request(f"/v1/{path}", method=method).respond_with_json(answer, status=status)


def test_the_well_behaved_stand_in_reads_fully(httpserver: HTTPServer, evaluate: Evaluate) -> None:
    _serve(httpserver, None, (200, {}))
    evidence = _collect(_url(httpserver))
    assert evidence.errors == {}, evidence.errors
    results = _controls_needing(evaluate, evidence)
    assert results["BAO-08"] == {"": Status.PASS}  # so the faults below change something real
    assert results["BAO-17"] == {"sys/config/cors": Status.PASS}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("endpoint", sorted(SECTION_OF))
def test_a_broken_answer_makes_no_control_pass(
    httpserver: HTTPServer,
    evaluate: Evaluate,
    controls: dict[str, Control],
    registry: Registry,
    endpoint: str,
    fault: str,
) -> None:
    _serve(httpserver, endpoint, FAULTS[fault])
    evidence = _collect(_url(httpserver))
    section = SECTION_OF[endpoint]
    # `{"data": {}}` from sys/audit means "no device" (a FAIL); a policy that cannot be read is its own error
    if (fault != "empty-data" or endpoint != "sys/audit") and endpoint != "sys/policies/acl/default":
        assert section in evidence.errors, (section, evidence.errors)
    checked = 0
    for control_id, findings in evaluate(evidence).items():
        control = controls[control_id]
        reads = {*registry.checks[control.check].needs, control.params.get("section")}  # generic.field: its section
        if section not in reads:
            continue
        for path, finding in findings.items():
            checked += 1
            assert finding.status is not Status.PASS, (control_id, path, finding.message)
    assert checked


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_section_broken_at_once(httpserver: HTTPServer, evaluate: Evaluate, fault: str) -> None:
    _serve(httpserver, "*", FAULTS[fault])
    evidence = _collect(_url(httpserver))
    for control_id, findings in evaluate(evidence).items():
        for path, finding in findings.items():
            if control_id in ("BAO-01", "BAO-02", "BAO-19", "BAO-20", "BAO-09", "BAO-16", "BAO-03"):
                continue  # read from sys/health and sys/seal-status, which answered well, or probes off
            assert finding.status is not Status.PASS, (control_id, path, finding.message)


# -- the whole target broken ----------------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[tuple[int, Callable[[bytes, float], None]]]:
    """A loopback TCP server; `configure(prefix, drip)` makes it send `prefix` then one byte every `drip` s."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    settings: dict[str, Any] = {"prefix": b"", "drip": 0.0}
    stop = threading.Event()
    clients: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            clients.append(conn)
            threading.Thread(target=talk, args=(conn,), daemon=True).start()

    def talk(conn: socket.socket) -> None:
        try:
            if settings["prefix"]:
                conn.sendall(settings["prefix"])
            while settings["drip"] and not stop.is_set():
                conn.sendall(b"x")
                time.sleep(settings["drip"])
            stop.wait(30)
        except OSError:
            pass

    def configure(prefix: bytes, drip: float) -> None:
        settings.update(prefix=prefix, drip=drip)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], configure
    finally:
        stop.set()
        for conn in clients:
            conn.close()
        listener.close()
        thread.join(5)


def _engine_findings(url: str, timeout: float) -> tuple[list[Finding], float]:
    registry = discover()
    target = PLUGIN.parse_target(url)
    started = time.monotonic()
    evidence = engine.collect([target], registry, timeout=timeout)[target.id]
    elapsed = time.monotonic() - started
    controls = BaselineLibrary(registry).load("openbao").controls
    return [f for c in controls for f in engine.evaluate_control(c, evidence, registry)], elapsed


@pytest.mark.parametrize(
    ("name", "prefix", "drip"),
    [
        ("hanging", b"", 0.0),
        ("dripping", b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", 0.3),
        ("garbage", b"\x16\x03\x01 not http at all\r\n\r\n", 0.0),
    ],
)
def test_a_hanging_or_dripping_server_is_error_everywhere(
    silent_server: tuple[int, Callable[[bytes, float], None]], name: str, prefix: bytes, drip: float
) -> None:
    port, configure = silent_server
    configure(prefix, drip)
    findings, elapsed = _engine_findings(f"http://127.0.0.1:{port}", timeout=4)
    assert findings and {f.status for f in findings} == {Status.ERROR}, name
    assert elapsed < 15, f"{name}: the scan took {elapsed:.1f}s for a 4s timeout"


def test_a_server_that_is_down_is_error_everywhere() -> None:
    findings, _elapsed = _engine_findings(f"http://127.0.0.1:{closed_port()}", timeout=5)
    assert findings and {f.status for f in findings} == {Status.ERROR}


@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_refusals_of_everything_are_error_everywhere(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request(re.compile("/v1/.*")).respond_with_json({"errors": ["no"]}, status=status)
    findings, _elapsed = _engine_findings(_url(httpserver), timeout=10)
    assert findings and Status.PASS not in {f.status for f in findings}


@pytest.mark.parametrize("body", [{}, {"data": {}}, {"initialized": "yes", "sealed": "no"}, [1, 2]])
def test_a_malformed_health_answer_fails_the_target(httpserver: HTTPServer, body: Any) -> None:
    httpserver.expect_request("/v1/sys/health").respond_with_json(body)
    httpserver.expect_request("/v1/sys/seal-status").respond_with_json(SEAL)
    with pytest.raises(CollectionError) as caught:
        _collect(_url(httpserver))
    assert caught.value.reason == CollectionError.PROTOCOL
