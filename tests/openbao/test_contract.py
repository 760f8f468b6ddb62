"""The evidence contract of the openbao kind, ambient credentials and insecure-transport notes.

The contract accepts exactly what the collector really produces (evidence of the real dev and
production-like servers, and the shipped demo evidence), and an answer of `{"data": {}}` where
OpenBao always sends fields never makes "no standing root tokens" or "CORS disabled" PASS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pytest_httpserver import HTTPServer

from checks.openbao import contract
from checks.openbao.collect import NEEDS
from checks.openbao.plugin import PLUGIN
from checks.openbao.policy import parse_policy
from scanner import evidence as evidence_io
from scanner.interface import Secret
from scanner.model import Evidence, Status
from tests.openbao.conftest import Collect, Evaluate, statuses
from tests.services.openbao import BaoServer

ROOT = Path(__file__).resolve().parents[2]
HEALTH = {"initialized": True, "sealed": False, "standby": False, "version": "2.7.2"}
SEAL = {"type": "shamir", "initialized": True, "sealed": False, "t": 3, "n": 5, "storage_type": "raft"}
SELF = {"data": {"display_name": "token-sovscan", "policies": ["default"], "type": "service"}}


def test_the_contract_is_valid_json_schema() -> None:
    assert PLUGIN.evidence_contract() is contract.SECTIONS
    for schema in (*contract.SECTIONS.values(), *contract.ANSWERS.values()):
        Draft202012Validator.check_schema(schema)


def _problems(evidence: Evidence) -> dict[str, str]:
    return contract.section_problems(evidence.sections)


def test_real_evidence_matches_the_contract(bao_dev: BaoServer, bao_prod: BaoServer, collect: Collect) -> None:
    assert bao_dev.root_token
    dev = collect(bao_dev, bao_dev.root_token, probes=True)
    prod = collect(bao_prod, bao_prod.tokens["scanner"])
    for evidence in (dev, prod):
        assert evidence.errors == {}
        assert set(evidence.sections) == set(contract.SECTIONS)
        assert _problems(evidence) == {}


def test_the_shipped_demo_evidence_matches_the_contract() -> None:
    files = [p for p in (ROOT / "examples" / "evidence").glob("*.json") if '"kind": "openbao"' in p.read_text()]
    assert files
    for path in files:
        loaded, _ = evidence_io.from_document(json.loads(path.read_text()), str(path))
        assert loaded.kind == "openbao"
        assert _problems(loaded) == {}, path.name


Serve = Callable[[dict[tuple[str, str], tuple[int, Any]]], Evidence]


@pytest.fixture
def serve(httpserver: HTTPServer) -> Serve:
    """A stand-in that answers the indispensable endpoints well and `extra` as given (real HTTP, loopback)."""

    def run(extra: dict[tuple[str, str], tuple[int, Any]]) -> Evidence:
        httpserver.expect_request("/v1/sys/health").respond_with_json(HEALTH)
        httpserver.expect_request("/v1/sys/seal-status").respond_with_json(SEAL)
        httpserver.expect_request("/v1/auth/token/lookup-self").respond_with_json(SELF)
        for (method, path), (status, body) in extra.items():
            httpserver.expect_request(f"/v1/{path}", method=method).respond_with_json(body, status=status)
        url = httpserver.url_for("/").rstrip("/").replace("localhost", "127.0.0.1")
        return PLUGIN.collect(PLUGIN.parse_target(url), {"token": Secret("s.contract-token")}, 20)

    return run


def test_an_empty_lookup_answer_is_not_no_root_tokens(serve: Serve, evaluate: Evaluate) -> None:
    evidence = serve(
        {
            ("GET", "auth/token/accessors"): (200, {"data": {"keys": ["acc-1"]}}),
            ("POST", "auth/token/lookup-accessor"): (200, {"data": {}}),
        }
    )
    assert "unexpected shape" in evidence.errors["token_accessors"]
    assert statuses(evaluate(evidence, only="BAO-08")["BAO-08"]) == {"": Status.ERROR}


@pytest.mark.parametrize("body", [{"data": {}}, {}, {"data": {"enabled": "false"}}])
def test_an_empty_cors_answer_is_not_cors_disabled(serve: Serve, evaluate: Evaluate, body: Any) -> None:
    evidence = serve({("GET", "sys/config/cors"): (200, body)})
    assert "unexpected shape" in evidence.errors["cors"]
    assert statuses(evaluate(evidence, only="BAO-17")["BAO-17"]) == {"": Status.ERROR}


def test_a_list_answer_without_keys_is_not_an_empty_list(serve: Serve, evaluate: Evaluate) -> None:
    evidence = serve({("GET", "auth/token/accessors"): (200, {"data": {}})})
    assert "lacks 'keys'" in evidence.errors["token_accessors"]
    assert statuses(evaluate(evidence, only="BAO-08")["BAO-08"]) == {"": Status.ERROR}


def test_evidence_that_breaks_the_contract_is_reported() -> None:
    broken = {"token_accessors": {"total": 1, "looked_up": 1, "tokens": [{"accessor_sha256": "x", "ttl": "0"}]}}
    [(name, message)] = contract.section_problems(broken).items()
    assert name == "token_accessors" and message.startswith("malformed evidence in section 'token_accessors'")


# -- ambient credentials and insecure transport --------------------------------------------------------


def test_ambient_credentials_name_every_source(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = PLUGIN.parse_target("https://bao.example:8200")
    assert PLUGIN.ambient_credentials(target) == {}  # nothing set: nothing found, nothing raised
    monkeypatch.setenv("BAO_TOKEN", "s.from-bao-token")
    monkeypatch.setenv("VAULT_TOKEN", "s.from-vault-token")
    (home / ".vault-token").write_text("s.from-helper\n")
    (tmp_path / "t").write_text("s.from-file")
    found = PLUGIN.ambient_credentials(PLUGIN.parse_target(f"https://bao.example:8200?token_file={tmp_path / 't'}"))
    assert {k: v.reveal() for k, v in found.items()} == {
        "BAO_TOKEN": "s.from-bao-token",
        "VAULT_TOKEN": "s.from-vault-token",
        "token_file": "s.from-file",
        "~/.vault-token": "s.from-helper",
    }
    missing = PLUGIN.parse_target("https://bao.example:8200?token_file=/nonexistent/token")
    assert "token_file" not in PLUGIN.ambient_credentials(missing)


def test_skip_verify_is_reported_as_insecure_transport(
    bao_prod: BaoServer, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("VAULT_SKIP_VERIFY", "1")
    with pytest.warns(Warning):  # urllib3 warns about unverified HTTPS
        evidence = PLUGIN.collect(PLUGIN.parse_target(bao_prod.url), {"token": Secret(bao_prod.tokens["scanner"])}, 30)
    assert evidence.metadata["insecure_transport"] == [
        "TLS verification disabled by VAULT_SKIP_VERIFY: the identity of the OpenBao server was not verified"
    ]
    with pytest.warns(Warning):
        option = PLUGIN.collect(
            PLUGIN.parse_target(f"{bao_prod.url}?tls_skip_verify=true"),
            {"token": Secret(bao_prod.tokens["scanner"])},
            30,
        )
    assert "option tls_skip_verify" in option.metadata["insecure_transport"][0]
    monkeypatch.delenv("VAULT_SKIP_VERIFY")
    verified = PLUGIN.collect(
        PLUGIN.parse_target(f"{bao_prod.url}?ca_cert={bao_prod.ca_file}"),
        {"token": Secret(bao_prod.tokens["scanner"])},
        30,
    )
    assert "insecure_transport" not in verified.metadata


def test_plain_http_is_reported_as_insecure_transport(bao_dev: BaoServer, collect: Collect) -> None:
    assert bao_dev.root_token
    evidence = collect(bao_dev, bao_dev.root_token)
    assert evidence.metadata["insecure_transport"][0].startswith("plain HTTP")


def test_least_privilege_is_the_shipped_scanner_policy() -> None:
    """Interface 4: the grants for every section are exactly examples/openbao/scanner-policy.hcl."""
    target = PLUGIN.parse_target("https://bao.example:8200")
    everything = PLUGIN.least_privilege(target, list(contract.SECTIONS))
    assert everything is not None
    shipped = {r.path: r.capabilities for r in parse_policy((ROOT / "examples/openbao/scanner-policy.hcl").read_text())}
    assert {r.path: r.capabilities for r in parse_policy(everything)} == shipped
    assert set(NEEDS) <= set(contract.SECTIONS)
    only_cors = PLUGIN.least_privilege(target, ["cors", "health"])
    assert only_cors is not None
    assert {r.path for r in parse_policy(only_cors)} == {"auth/token/lookup-self", "sys/config/cors"}
