"""The Keycloak connector against a misbehaving server (tests/faults.py, an HTTP stand-in).

A real Keycloak cannot be made to hang, drip, answer 500 or send `{}` where a realm list belongs,
so these cases use the loopback fault server; everything else about the connector is tested
against the real Keycloak of the suite (test_live.py). For every fault, once on every endpoint
and once behind a token endpoint that answers properly, the scan ends at the target's deadline at
the latest, no control reads PASS, and the planted client secret appears nowhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults import FAULTS, fault_server

ROOT = Path(__file__).resolve().parents[2]
SECRET = "kc-fault-planted-secret-6d1f"
TOKEN = "/realms/master/protocol/openid-connect/token"
GOOD_TOKEN = {"access_token": "eyJ.fault.token", "expires_in": 300, "token_type": "Bearer", "scope": "profile"}


def _scan(url: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYCLOAK_")}
    env["KEYCLOAK_CLIENT_SECRET"] = SECRET
    command = [
        sys.executable,
        "-m",
        "scanner",
        "scan",
        "--target",
        f"keycloak={url}?client_id=sovscan-reader",
        "--timeout",
        "8",
        "--no-progress",
        "--fail-on",
        "none",
        "-f",
        f"json={out}",
    ]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("token_ok", [False, True], ids=["all-endpoints", "after-token"])
@pytest.mark.parametrize("fault", FAULTS)
def test_no_control_passes_on_a_broken_server(fault: str, token_ok: bool, tmp_path: Path) -> None:
    routes = {TOKEN: (200, GOOD_TOKEN)} if token_ok else {}
    out = tmp_path / "result.json"
    with fault_server(fault, routes=routes, drip_interval=0.5) as server:
        done = _scan(server.url, out)
        methods = {method for method, path, _ in server.requests if path.split("?", 1)[0] != TOKEN}
    assert done.returncode == 3, done.stderr  # incomplete: nothing could be verified
    result = json.loads(out.read_text())
    statuses = {f["status"] for f in result["findings"]}
    assert "PASS" not in statuses and "FAIL" not in statuses, statuses
    assert "ERROR" in statuses
    assert methods <= {"GET"}, methods  # apart from the token request, the connector only reads
    if token_ok and fault != "down":
        assert methods == {"GET"}  # the fault was met on the admin API, not only at the token
    for text in (done.stdout, done.stderr, out.read_text()):
        assert SECRET not in text


@pytest.mark.parametrize("status", [400, 401, 500])
def test_a_server_echoing_the_secret_in_its_error_puts_it_nowhere(status: int, tmp_path: Path) -> None:
    """A token endpoint that repeats the client secret it received (KEYCLOAK_CLIENT_SECRET, an ambient
    credential) in its error: the secret is redacted from every output."""
    echo = {"error": "invalid_client", "error_description": f"client secret '{SECRET}' is not valid"}
    out = tmp_path / "result.json"
    with fault_server("403", routes={TOKEN: (status, echo)}) as server:
        done = _scan(server.url, out)
    assert done.returncode == 3, done.stderr
    for text in (done.stdout, done.stderr, out.read_text()):
        assert SECRET not in text
    assert "ERROR" in {f["status"] for f in json.loads(out.read_text())["findings"]}
