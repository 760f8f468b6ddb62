"""The fault harness (tests/faults.py) against a minimal HTTP collector driven by the real engine.

The `httpdemo` kind reads one JSON document (`{"users": [...]}`) with urllib under the target's
deadline; a real collector does more, but the engine's promise is the same: whatever the server
does, no control reads PASS from evidence that was not read, and a hung or dripping server costs
its own deadline, not the scan.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.errors import CollectionError
from scanner.interface import CheckSpec, Secret, Target, TargetPlugin, check
from scanner.model import CheckResult, Evidence, Status
from scanner.plugins import Registry
from tests.faults import FAULTS, fault_server

BASELINE = """\
apiVersion: sovscan/v1
kind: Baseline
name: httpdemo
version: "1"
target: httpdemo
controls:
  - {id: HD-1, title: users have MFA, severity: high, check: httpdemo.mfa, rationale: a reason, remediation: a fix}
"""

CONTRACT = {"users": {"type": "array", "items": {"type": "object", "required": ["name", "mfa"]}}}


@check("httpdemo.mfa", needs=("users",))
def mfa(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every user has MFA."""
    users = evidence.section("users")
    if not users:
        yield CheckResult(evidence.target_resource(), Status.PASS, "no users")
    for user in users:
        status = Status.PASS if user["mfa"] is True else Status.FAIL
        yield CheckResult(evidence.resource("user", user["name"], f"users/{user['name']}"), status, user["name"])


class HttpDemo(TargetPlugin):
    """Kind `httpdemo`: GET {url}/users, JSON `{"users": [...]}`."""

    kind = "httpdemo"

    def __init__(self, baseline: Path) -> None:
        self.baseline = baseline

    def checks(self) -> Sequence[CheckSpec]:
        """The one check."""
        return (mfa,)

    def baselines(self) -> Sequence[Any]:
        """The test baseline."""
        return (self.baseline,)

    def parse_target(self, value: str) -> Target:
        """VALUE is the base URL."""
        return Target(id="h", kind="httpdemo", url=value)

    def evidence_contract(self) -> Mapping[str, Mapping[str, Any]]:
        """`users` is a list of users."""
        return CONTRACT

    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """One GET; HTTP and transport failures become CollectionError."""
        deadline = time.monotonic() + timeout
        try:
            with urllib.request.urlopen(f"{target.url}/users", timeout=timeout) as answer:  # noqa: S310 - loopback
                chunks = []
                while chunk := answer.read(1):
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise CollectionError(CollectionError.TIMEOUT, f"no complete answer within {timeout:g}s")
                body = json.loads(b"".join(chunks))
        except urllib.error.HTTPError as exc:
            reason = CollectionError.PERMISSION if exc.code in (401, 403) else CollectionError.PROTOCOL
            raise CollectionError(reason, f"HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise CollectionError(CollectionError.UNREACHABLE, str(getattr(exc, "reason", exc))) from None
        except ValueError as exc:  # JSON, and http.client.IncompleteRead's cousins
            raise CollectionError(CollectionError.PROTOCOL, f"not JSON: {type(exc).__name__}") from None
        except Exception as exc:  # http.client.IncompleteRead on a truncated body
            raise CollectionError(CollectionError.PROTOCOL, f"{type(exc).__name__}") from None
        if not isinstance(body, dict):
            raise CollectionError(CollectionError.PROTOCOL, "the answer is not an object")
        sections = {"users": body["users"]} if "users" in body else {}
        errors = {} if "users" in body else {"users": "the answer has no users field"}
        return Evidence(target=target.id, kind=self.kind, uri=target.url, sections=sections, errors=errors)


@pytest.mark.parametrize("fault", FAULTS)
def test_no_control_passes_on_evidence_that_was_not_read(tmp_path: Path, fault: str) -> None:
    baseline = tmp_path / "httpdemo.yaml"
    baseline.write_text(BASELINE)
    registry = Registry()
    registry.add_plugin(HttpDemo(baseline))
    started = time.monotonic()
    with fault_server(fault, drip_interval=0.3) as server:
        result = engine.run_scan(
            [Target(id="h", kind="httpdemo", url=server.url)], registry, BaselineLibrary(registry), timeout=1.5
        )
        methods = {method for method, _, _ in server.requests}
    assert time.monotonic() - started < 15  # a hung or dripping server costs its deadline, not more
    assert {f.status for f in result.findings} == {Status.ERROR}, [f.message for f in result.findings]
    assert methods <= {"GET"}


def test_a_route_answers_normally_and_a_wrong_shape_is_error_not_pass(tmp_path: Path) -> None:
    baseline = tmp_path / "httpdemo.yaml"
    baseline.write_text(BASELINE)
    registry = Registry()
    registry.add_plugin(HttpDemo(baseline))
    for body, expected in (({"users": [{"name": "a", "mfa": True}]}, {Status.PASS}), ({"users": {}}, {Status.ERROR})):
        with fault_server("500", routes={"/users": (200, body)}) as server:
            result = engine.run_scan(
                [Target(id="h", kind="httpdemo", url=server.url)], registry, BaselineLibrary(registry)
            )
        assert {f.status for f in result.findings} == expected
