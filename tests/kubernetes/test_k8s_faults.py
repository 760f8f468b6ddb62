"""The live Kubernetes connector against a misbehaving API server (tests/faults.py, an HTTP stand-in).

A real kube-apiserver cannot be made to hang, drip, answer 500 or send `{}` / an array / a
truncated body for a LIST, so these cases use the loopback fault server; what a real server does
is tested in test_k8s_apiserver_*.py. For every fault, on every path and behind a `/version/` that
answers properly, the scan ends by the target's deadline, no control reads PASS from what was not
read (only the version control, from a `/version/` that answered), the collector only sends GETs
and the planted bearer token appears in no output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults import FAULTS, fault_server
from tests.services.kubeapi import write_kubeconfig

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "k8s-fault-planted-token-93ad"
VERSION = {"major": "1", "minor": "36", "gitVersion": "v1.36.3", "platform": "linux/amd64"}


def _scan(url: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, token=TOKEN, context="faulty")
    out = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["KUBECONFIG"] = str(kubeconfig)
    command = [sys.executable, "-m", "scanner", "scan", "--target", "kubernetes=context:faulty"]
    command += ["--timeout", "8", "--no-progress", "--fail-on", "none", "-f", f"json={out}"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    return done, out


@pytest.mark.parametrize("version_ok", [False, True], ids=["all-paths", "after-version"])
@pytest.mark.parametrize("fault", FAULTS)
def test_no_control_passes_on_a_broken_api_server(fault: str, version_ok: bool, tmp_path: Path) -> None:
    routes = {"/version/": (200, VERSION), "/version": (200, VERSION)} if version_ok else {}
    with fault_server(fault, routes=routes, drip_interval=0.5) as server:
        done, out = _scan(server.url, tmp_path)
        methods = {method for method, _, _ in server.requests}
        lists = [path for _, path, _ in server.requests if not path.startswith("/version")]
    assert done.returncode == 3, done.stderr  # incomplete: nothing could be verified
    findings = json.loads(out.read_text())["findings"]
    judged = {(f["control_id"], f["status"]) for f in findings if f["status"] in ("PASS", "FAIL")}
    # only the version control may be judged, and only when /version/ really answered
    assert judged <= ({("K8S-24", "PASS")} if version_ok and fault != "down" else set()), judged
    assert "ERROR" in {f["status"] for f in findings}
    assert methods <= {"GET"}, methods
    if version_ok and fault != "down":
        assert lists  # the fault was met on the LISTs, not only on /version
    for text in (done.stdout, done.stderr, out.read_text()):
        assert TOKEN not in text
