"""The collector and the baseline against real OpenBao servers (see tests/services/openbao.py)."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from checks.openbao.acl import Sensitive, policy_reaches
from checks.openbao.collect import NEEDS
from checks.openbao.plugin import PLUGIN
from checks.openbao.policy import parse_blocks, parse_policy
from scanner.cli import cli
from scanner.errors import CollectionError
from scanner.interface import Secret
from scanner.model import Evidence, Status
from tests.openbao.conftest import Collect, Evaluate, statuses, target_for
from tests.services.openbao import SCANNER_POLICY, TRICKY_POLICIES, BaoServer, closed_port

SUDO_SECTIONS = {"audit_devices", "cors", "token_accessors"}
"""Sections whose endpoints need sudo (documented in examples/openbao/README.md)."""
SUDO_CONTROLS = {"BAO-05", "BAO-06", "BAO-08", "BAO-17"}
SINGLE_NODE = {"BAO-01": {"min_voters": 1}}
"""The production-like fixture runs one raft node; three voters are tested on evidence."""


def findings_text(results: dict[str, Any]) -> str:
    return json.dumps({c: {p: (f.status.value, f.message) for p, f in r.items()} for c, r in results.items()}, indent=1)


# -- the weak dev server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_evidence(bao_dev: BaoServer) -> Evidence:
    assert bao_dev.root_token
    target = target_for(bao_dev, probes=True)
    collected = PLUGIN.collect(target, {"token": Secret(bao_dev.root_token)}, 60)
    return replace(collected, collected_at=datetime.now(UTC).isoformat())  # as the engine stamps it


def test_dev_server_fails_what_it_should(dev_evidence: Evidence, evaluate: Evaluate) -> None:
    assert dev_evidence.errors == {}
    results = evaluate(dev_evidence)
    report = findings_text(results)
    expected = {
        "BAO-02": {"sys/seal-status": Status.FAIL},
        "BAO-05": {"sys/audit": Status.FAIL},  # its one device writes to `discard`
        "BAO-06": {"sys/audit/void": Status.FAIL},  # hmac_accessor = false
        "BAO-09": {"sys/generate-root/attempt": Status.FAIL, "sys/rekey/init": Status.FAIL},
        "BAO-15": {"sys/config/state/sanitized/raw_storage_endpoint": Status.FAIL},
        "BAO-16": {"sys/metrics": Status.FAIL, "sys/pprof": Status.FAIL},
        "BAO-17": {"sys/config/cors": Status.FAIL},
    }
    for control, wanted in expected.items():
        assert statuses(results[control]) == wanted, report
    assert statuses(results["BAO-11"])["sys/auth/userpass"] is Status.FAIL
    assert statuses(results["BAO-11"])["sys/auth/token"] is Status.PASS
    # approle-zero has lockout_threshold 0 on the mount, which OpenBao reads as "not set here"
    assert statuses(results["BAO-12"]) == {"sys/auth/userpass": Status.FAIL, "sys/auth/approle-zero": Status.FAIL}
    assert "no lockout configured on the mount" in results["BAO-12"]["sys/auth/approle-zero"].message
    assert statuses(results["BAO-10"])["sys/auth/token"] is Status.FAIL
    assert "768h" in results["BAO-10"]["sys/auth/token"].message
    assert statuses(results["BAO-14"]) == {
        "sys/mounts/legacy": Status.FAIL,
        "sys/mounts/secret": Status.PASS,
        "sys/mounts/team/kv": Status.PASS,
    }
    assert statuses(results["BAO-18"]) == {"sys/auth/userpass": Status.FAIL, "sys/auth/approle-zero": Status.FAIL}
    acl = statuses(results["BAO-13"])
    assert acl["sys/policies/acl/admin"] is Status.FAIL
    assert acl["sys/policies/acl/ops"] is Status.FAIL  # `+/*` covers sys/*
    assert acl["sys/policies/acl/reader"] is Status.PASS
    assert acl["sys/policies/acl/root"] is Status.PASS  # allow-listed
    for name in TRICKY_POLICIES:
        assert acl[f"sys/policies/acl/{name}"] is Status.FAIL, (name, report)
    # the deny expired in 2020, before this scan: the `s*` grant behind it is in force now
    expired = results["BAO-13"]["sys/policies/acl/expired-deny"].message
    assert 'path "s*" grants sudo,update on sys/<any>' in expired and " from 20" not in expired
    assert statuses(results["BAO-21"]) == {"sys/config/state/sanitized/enable_ui": Status.FAIL}  # dev: ui on
    assert statuses(results["BAO-22"]) == {"sys/config/state/sanitized/storage": Status.FAIL}  # dev: inmem
    assert statuses(results["BAO-25"]) == {"sys/policies/acl/default/changes": Status.PASS}
    assert statuses(results["BAO-20"]) == {"sys/seal-status/recovery": Status.NOT_APPLICABLE}
    assert "write nowhere: void/ (file_path discard)" in results["BAO-05"]["sys/audit"].message
    assert "hmac_accessor=false" in results["BAO-06"]["sys/audit/void"].message
    xff = {path: f for path, f in results["BAO-23"].items() if f.status is Status.FAIL}
    assert len(xff) == 1 and "0.0.0.0/0" in next(iter(xff.values())).message  # the extra listener
    assert results["BAO-03"]["listeners/scanned"].status is Status.FAIL
    root_tokens = [f for f in results["BAO-08"].values() if f.status is Status.FAIL]
    assert root_tokens and all("never expires" in f.message for f in root_tokens), report
    assert statuses(results["BAO-01"])[""] is Status.PASS


@pytest.mark.parametrize("name", sorted(TRICKY_POLICIES))
def test_tricky_policies_really_grant_sudo_on_sys(bao_dev: BaoServer, name: str) -> None:
    """OpenBao itself grants sudo under sys/ to each policy BAO-13 fails (so the FAIL is not an artefact)."""
    token = bao_dev.api("POST", "auth/token/create", {"policies": [name], "ttl": "10m"})["auth"]["client_token"]
    try:
        paths = ["sys/mounts/x", "sys/policies/acl/x", "sys/audit/x"]
        answer = bao_dev.api("POST", "sys/capabilities-self", {"paths": paths}, token=token)["data"]
        for path in paths:
            assert "sudo" in answer[path], (name, path, answer)
    finally:
        bao_dev.api("POST", "auth/token/revoke-self", {}, token=token)
    grants = policy_reaches(
        parse_blocks(TRICKY_POLICIES[name]), [Sensitive("sys/*", frozenset({"sudo"}), generic=True)]
    )
    assert grants and all("sudo" in g.capabilities for g in grants)


def test_dev_evidence_holds_no_secret(dev_evidence: Evidence, bao_dev: BaoServer) -> None:
    text = json.dumps({"s": dict(dev_evidence.sections), "m": dict(dev_evidence.metadata)})
    assert bao_dev.root_token and bao_dev.root_token not in text
    assert bao_dev.tokens["team-a"] not in text
    assert dev_evidence.metadata["token_source"] == "inventory credential 'token'"
    assert dev_evidence.metadata["account"]["policies"] == ["root"]
    for token in dev_evidence.sections["token_accessors"]["tokens"]:
        assert set(token) >= {"accessor_sha256", "policies"} and "id" not in token and "accessor" not in token
        assert re.fullmatch(r"[0-9a-f]{16}", token["accessor_sha256"])


def test_probes_off_by_default(bao_dev: BaoServer, collect: Collect, evaluate: Evaluate) -> None:
    evidence = collect(bao_dev, bao_dev.root_token)
    assert evidence.sections["probes"] == {"enabled": False}
    results = evaluate(evidence)
    for control in ("BAO-09", "BAO-16"):
        (finding,) = results[control].values()
        assert finding.status is Status.NOT_APPLICABLE and finding.message.startswith("active probe not enabled")


# -- namespaces ---------------------------------------------------------------------------


def test_namespace_scan_with_a_root_token(bao_dev: BaoServer, collect: Collect, evaluate: Evaluate) -> None:
    evidence = collect(bao_dev, bao_dev.root_token, namespace="team-a")
    assert evidence.errors == {}
    assert [m["path"] for m in evidence.sections["auth_methods"]] == ["token/", "userpass/"]
    results = evaluate(evidence)
    assert statuses(results["BAO-11"]) == {
        "team-a/sys/auth/token": Status.PASS,
        "team-a/sys/auth/userpass": Status.FAIL,
    }
    assert set(statuses(results["BAO-13"])) == {"team-a/sys/policies/acl/default", "team-a/sys/policies/acl/ns-admin"}
    assert "sys/audit" in statuses(results["BAO-05"])  # root-namespace endpoints are read from the root namespace
    # root tokens exist only in the root namespace: the namespaced token store would show none of them
    root_tokens = {p: f for p, f in results["BAO-08"].items() if f.status is Status.FAIL}
    assert root_tokens and all(p.startswith("auth/token/accessors/") for p in root_tokens), statuses(results["BAO-08"])


def test_namespace_token_lacks_root_namespace_access(bao_dev: BaoServer, collect: Collect, evaluate: Evaluate) -> None:
    evidence = collect(bao_dev, bao_dev.tokens["team-a"], namespace="team-a")
    assert {"auth_methods", "secrets_engines", "policies"} <= set(evidence.sections)
    root_only = {"audit_devices", "sanitized_config", "cors", "rate_limit_quotas", "token_accessors"}
    assert root_only <= set(evidence.errors), evidence.errors
    for name in root_only:
        assert evidence.errors[name].startswith("permission denied:")
        assert "in the root namespace" in evidence.errors[name]
    (finding,) = evaluate(evidence, only="BAO-05")["BAO-05"].values()
    assert finding.status is Status.ERROR and "root namespace" in finding.message


# -- the production-like server -----------------------------------------------------------


@pytest.fixture(scope="module")
def prod_evidence(bao_prod: BaoServer) -> Evidence:
    target = target_for(bao_prod, probes=True)
    collected = PLUGIN.collect(target, {"token": Secret(bao_prod.tokens["scanner"])}, 60)
    return replace(collected, collected_at=datetime.now(UTC).isoformat())  # as the engine stamps it


def test_production_like_server_passes(prod_evidence: Evidence, evaluate: Evaluate) -> None:
    results = evaluate(prod_evidence, params=SINGLE_NODE)
    report = findings_text(results)
    for control, findings in results.items():
        assert set(statuses(findings).values()) <= {Status.PASS, Status.NOT_APPLICABLE}, report
        if control != "BAO-20":  # a Shamir seal has no recovery keys
            assert Status.PASS in statuses(findings).values(), (control, report)
    assert statuses(results["BAO-05"]) == {"sys/audit": Status.PASS}
    assert statuses(results["BAO-12"]) == {"sys/auth/approle": Status.PASS}
    assert statuses(results["BAO-18"]) == {"sys/auth/approle": Status.PASS}
    assert results["BAO-03"]["listeners/scanned"].observed in ("tls12", "tls13")
    [configured] = [f for p, f in results["BAO-24"].items() if p.endswith("/ciphers")]
    assert configured.observed == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
    [trusted] = [f for p, f in results["BAO-23"].items() if p.endswith("/xff")]
    assert trusted.observed == ["10.0.0.0/24", "192.0.2.10"] and trusted.status is Status.PASS


def test_single_raft_node_fails_the_default_voter_count(prod_evidence: Evidence, evaluate: Evaluate) -> None:
    found = evaluate(prod_evidence, only="BAO-01")["BAO-01"]
    assert found["sys/storage/raft/configuration"].status is Status.FAIL
    assert found["sys/storage/raft/configuration"].observed == ["node1"]


def test_scanner_policy_is_sufficient(prod_evidence: Evidence) -> None:
    """examples/openbao/scanner-policy.hcl (with its documented sudo) reads every section."""
    assert prod_evidence.errors == {}
    assert set(prod_evidence.sections) == {"health", "seal_status", "connection", "probes", *NEEDS}
    assert prod_evidence.metadata["account"]["policies"] == ["default", "sovscan-scanner"]
    assert prod_evidence.sections["raft"]["present"] is True


def test_without_sudo_the_sudo_controls_are_error_not_pass(
    bao_prod: BaoServer, collect: Collect, evaluate: Evaluate
) -> None:
    evidence = collect(bao_prod, bao_prod.tokens["nosudo"])
    assert set(evidence.errors) == SUDO_SECTIONS, evidence.errors
    assert evidence.errors["audit_devices"] == (
        "permission denied: sys/audit needs a token with read and sudo on sys/audit"
    )
    assert "sudo on sys/config/cors" in evidence.errors["cors"]
    assert "sudo on auth/token/accessors" in evidence.errors["token_accessors"]
    results = evaluate(evidence, params=SINGLE_NODE)
    for control in SUDO_CONTROLS:
        (finding,) = results[control].values()
        assert finding.status is Status.ERROR, control
        assert "sudo" in finding.message
    for control in set(results) - SUDO_CONTROLS:
        assert Status.ERROR not in statuses(results[control]).values(), control


def test_accessor_cap_makes_root_token_control_error(bao_prod: BaoServer, collect: Collect, evaluate: Evaluate) -> None:
    evidence = collect(bao_prod, bao_prod.tokens["scanner"], max_accessors=1)
    data = evidence.sections["token_accessors"]
    assert data["total"] >= 4 and data["looked_up"] == 1
    (finding,) = evaluate(evidence, only="BAO-08")["BAO-08"].values()
    assert finding.status is Status.ERROR and "max_accessors" in finding.message


def test_audit_log_shows_only_reads(bao_prod: BaoServer, collect: Collect) -> None:
    """The server's own audit log: the scanner token sent only read/list, plus the documented lookup-accessor."""
    evidence = collect(bao_prod, bao_prod.tokens["audited"], probes=True)  # a token used by this test only
    assert evidence.errors == {}
    log = bao_prod.base / "audit.log"
    operations: set[tuple[str, str]] = set()
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") != "request":
            continue
        auth = entry.get("auth") or {}
        if auth.get("display_name") != "token-sovscan-audited":
            continue
        request = entry["request"]
        operations.add((request["operation"], request["path"]))
    assert operations, "the scan left no trace in the audit log"
    writes = {(op, path) for op, path in operations if op not in ("read", "list")}
    assert writes == {("update", "auth/token/lookup-accessor")}
    assert {("read", "sys/audit"), ("list", "sys/policies/acl/"), ("read", "sys/config/state/sanitized")} <= operations
    assert not any(path.startswith("secret/") for _, path in operations)
    # the audit log hashes values: the scanner's token never appears in it in clear
    assert bao_prod.tokens["audited"] not in log.read_text()


# -- TLS ----------------------------------------------------------------------------------


def test_unknown_ca_is_a_tls_error(bao_prod: BaoServer) -> None:
    target = replace(PLUGIN.parse_target(bao_prod.url), options={})
    with pytest.raises(CollectionError) as info:
        PLUGIN.collect(target, {"token": Secret(bao_prod.tokens["scanner"])}, 20)
    assert info.value.reason == CollectionError.TLS
    assert "ca_cert" in info.value.message


def test_ca_from_environment(bao_prod: BaoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAO_CACERT", str(bao_prod.ca_file))
    monkeypatch.setenv("BAO_TOKEN", bao_prod.tokens["scanner"])
    evidence = PLUGIN.collect(PLUGIN.parse_target(bao_prod.url), {}, 30)
    assert evidence.metadata["ca_source"] == "BAO_CACERT"
    assert evidence.metadata["token_source"] == "BAO_TOKEN"
    assert evidence.metadata["tls_verify"] is True and "tls_skip_verify" not in evidence.metadata


def test_skip_verify_is_said_in_metadata(bao_prod: BaoServer, monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("BAO_SKIP_VERIFY", "true")
    (home / ".vault-token").write_text(bao_prod.tokens["scanner"] + "\n")
    with pytest.warns(Warning):  # urllib3 warns about unverified HTTPS; the warning is kept on purpose
        evidence = PLUGIN.collect(PLUGIN.parse_target(bao_prod.url), {}, 30)
    assert evidence.metadata["tls_verify"] is False
    assert "DISABLED by BAO_SKIP_VERIFY" in evidence.metadata["tls_skip_verify"]
    assert evidence.metadata["token_source"] == "~/.vault-token"
    assert evidence.sections["connection"]["tls"]["verified"] is False


# -- failures of the whole target ---------------------------------------------------------


def test_sealed_server(bao_sealed: BaoServer, collect: Collect, evaluate: Evaluate) -> None:
    evidence = collect(bao_sealed, "s.not-needed-while-sealed")
    assert evidence.sections["health"]["sealed"] is True
    assert all("OpenBao is sealed" in reason for reason in evidence.errors.values())
    results = evaluate(evidence)
    assert results["BAO-01"][""].status is Status.FAIL
    assert statuses(results["BAO-02"]) == {"sys/seal-status": Status.PASS}  # 3 of 5 is readable while sealed
    assert results["BAO-19"][""].status is Status.PASS
    for control in ("BAO-05", "BAO-08", "BAO-10", "BAO-13", "BAO-15", "BAO-17", "BAO-18"):
        (finding,) = results[control].values()
        assert finding.status is Status.ERROR and "sealed" in finding.message, control


def test_server_down() -> None:
    target = PLUGIN.parse_target(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(CollectionError) as info:
        PLUGIN.collect(target, {"token": Secret("s.x")}, 10)
    assert info.value.reason == CollectionError.UNREACHABLE


def test_https_to_a_closed_port(bao_prod: BaoServer) -> None:
    target = replace(
        PLUGIN.parse_target(f"https://127.0.0.1:{closed_port()}"), options={"ca_cert": str(bao_prod.ca_file)}
    )
    with pytest.raises(CollectionError) as info:
        PLUGIN.collect(target, {"token": Secret("s.x")}, 10)
    assert info.value.reason == CollectionError.UNREACHABLE


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    accepted.append(sock.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield sock.getsockname()[1]
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()


def test_hung_server_times_out(silent_port: int) -> None:
    target = PLUGIN.parse_target(f"http://127.0.0.1:{silent_port}")
    with pytest.raises(CollectionError) as info:
        PLUGIN.collect(target, {"token": Secret("s.x")}, 2)
    assert info.value.reason == CollectionError.TIMEOUT


def test_bad_token(bao_prod: BaoServer, collect: Collect) -> None:
    with pytest.raises(CollectionError) as info:
        collect(bao_prod, "s.this-token-does-not-exist")
    assert info.value.reason == CollectionError.AUTHENTICATION
    assert "s.this-token-does-not-exist" not in str(info.value)


def test_no_token(bao_prod: BaoServer, collect: Collect) -> None:
    with pytest.raises(CollectionError) as info:
        collect(bao_prod, None)
    assert info.value.reason == CollectionError.CREDENTIALS


def test_not_an_openbao_server(bao_prod: BaoServer, httpserver: Any) -> None:
    httpserver.expect_request("/v1/sys/health").respond_with_data("<html>hello</html>", content_type="text/html")
    target = PLUGIN.parse_target(httpserver.url_for("/").rstrip("/").replace("localhost", "127.0.0.1"))
    with pytest.raises(CollectionError) as info:
        PLUGIN.collect(target, {"token": Secret("s.x")}, 10)
    assert info.value.reason == CollectionError.PROTOCOL


# -- the documented example policy ----------------------------------------------------------


def test_example_policy_grants_sudo_exactly_where_documented() -> None:
    """The sudo paths of scanner-policy.hcl are the endpoints of the sudo sections, and the README lists them."""
    rules = parse_policy(SCANNER_POLICY.read_text())
    sudo_paths = {r.path for r in rules if "sudo" in r.granted}
    assert sudo_paths == {"sys/audit", "sys/config/cors", "auth/token/accessors"}
    assert all("sudo" in NEEDS[section] for section in SUDO_SECTIONS)
    assert not [r.path for r in rules if r.granted & {"create", "delete", "patch"}]
    assert [r.path for r in rules if "update" in r.granted] == ["auth/token/lookup-accessor"]
    readme = (SCANNER_POLICY.parent / "README.md").read_text()
    for path in sudo_paths:
        assert f"`{path}` | " in readme


# -- through the command line ---------------------------------------------------------------


def test_cli_scan_of_the_dev_server(bao_dev: BaoServer, tmp_path: Path) -> None:
    assert bao_dev.root_token
    sarif = tmp_path / "bao.sarif"
    result = CliRunner().invoke(
        cli,
        ["scan", "--target", f"openbao={bao_dev.url}?probes=true", "-f", f"sarif={sarif}", "--no-progress"],
        env={"BAO_TOKEN": bao_dev.root_token},
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output  # the gate fails on the dev server's FAILs
    log = json.loads(sarif.read_text())
    failing = {r["ruleId"] for run in log["runs"] for r in run["results"]}
    assert {"BAO-02", "BAO-05", "BAO-09", "BAO-13", "BAO-15", "BAO-16", "BAO-17"} <= failing
    assert bao_dev.root_token not in sarif.read_text() + result.output


# -- an auto-unsealed server -----------------------------------------------------------------


def test_recovery_keys_of_an_auto_unseal_are_judged(
    bao_transit: BaoServer, collect: Collect, evaluate: Evaluate
) -> None:
    assert bao_transit.root_token
    evidence = collect(bao_transit, bao_transit.root_token)
    status = evidence.sections["seal_status"]
    assert (status["type"], status["recovery_seal"], status["t"], status["n"]) == ("transit", True, 1, 1)
    results = evaluate(evidence, only="BAO-20")
    assert statuses(results["BAO-20"]) == {"sys/seal-status/recovery": Status.FAIL}
    assert "threshold 1 of 1" in results["BAO-20"]["sys/seal-status/recovery"].message
    assert statuses(evaluate(evidence, only="BAO-02")["BAO-02"]) == {"sys/seal-status": Status.PASS}
    text = json.dumps({"s": dict(evidence.sections), "e": dict(evidence.errors), "m": dict(evidence.metadata)})
    assert bao_transit.tokens["transit"] not in text  # the seal's token in the configuration stays out


def test_a_periodic_root_token_is_standing_on_a_real_server(
    bao_dev: BaoServer, collect: Collect, evaluate: Evaluate
) -> None:
    """OpenBao reports `period` and `explicit_max_ttl`; a periodic root token with a short TTL still fails."""
    created = bao_dev.api("POST", "auth/token/create", {"policies": ["root"], "period": "30m"})["auth"]
    bounded = bao_dev.api("POST", "auth/token/create", {"policies": ["root"], "ttl": "20m", "explicit_max_ttl": "30m"})[
        "auth"
    ]
    try:
        assert bao_dev.root_token
        evidence = collect(bao_dev, bao_dev.root_token)
        found = evaluate(evidence, only="BAO-08")["BAO-08"]
        periodic = found[f"auth/token/accessors/{hashlib.sha256(created['accessor'].encode()).hexdigest()[:16]}"]
        assert periodic.status is Status.FAIL and "periodic (30m) with no explicit max TTL" in periodic.message
        short = found[f"auth/token/accessors/{hashlib.sha256(bounded['accessor'].encode()).hexdigest()[:16]}"]
        assert short.status is Status.PASS, short.message
        allowed = hashlib.sha256(created["accessor"].encode()).hexdigest()[:16]
        exempt = evaluate(evidence, only="BAO-08", params={"BAO-08": {"allowed": [allowed]}})["BAO-08"]
        assert exempt[f"auth/token/accessors/{allowed}"].status is Status.PASS
        assert "exempted 1 root token" in exempt["auth/token/accessors/allow-list"].message
    finally:
        for auth in (created, bounded):
            bao_dev.api("POST", "auth/token/revoke-accessor", {"accessor": auth["accessor"]})
