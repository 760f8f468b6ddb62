"""The OpenBao checks on small hand-written evidence, through the shipped baseline's controls."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from checks.openbao.access_checks import root_tokens
from scanner import evidence as evidence_io
from scanner.model import Evidence, Status
from tests.openbao.conftest import Evaluate, statuses

URI = "openbao://bao.example:8200"
COLLECTED_AT = "2026-12-01T00:00:00Z"
"""The scan time of the hand-written evidence (within the review interval of the shipped version floor)."""

GOOD: dict[str, Any] = {
    "connection": {
        "scheme": "https",
        "address": "bao.example:8200",
        "namespace": None,
        "tls": {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "verified": True},
    },
    "health": {"initialized": True, "sealed": False, "standby": False, "version": "2.7.2"},
    "seal_status": {"type": "shamir", "initialized": True, "sealed": False, "t": 3, "n": 5, "storage_type": "raft"},
    "raft": {
        "present": True,
        "storage_type": "raft",
        "servers": [
            {"node_id": f"n{i}", "address": f"10.0.0.{i}:8201", "leader": i == 1, "voter": True} for i in (1, 2, 3)
        ],
    },
    "probes": {"enabled": False},
    "auth_methods": [
        {
            "path": "token/",
            "type": "token",
            "uri_path": "sys/auth/token",
            "tune": {"default_lease_ttl": 3600, "max_lease_ttl": 86400},
        },
        {
            "path": "oidc/",
            "type": "oidc",
            "uri_path": "sys/auth/oidc",
            "tune": {"default_lease_ttl": 3600, "max_lease_ttl": 28800},
        },
        {
            "path": "approle/",
            "type": "approle",
            "uri_path": "sys/auth/approle",
            "tune": {
                "default_lease_ttl": 3600,
                "max_lease_ttl": 86400,
                "user_lockout_threshold": 5,
                "user_lockout_duration": 900,
                "user_lockout_disable": False,
            },
        },
    ],
    "secrets_engines": [
        {"path": "secret/", "type": "kv", "options": {"version": "2"}, "uri_path": "sys/mounts/secret"},
        {"path": "transit/", "type": "transit", "options": {}, "uri_path": "sys/mounts/transit"},
    ],
    "policies": [
        {
            "name": "default",
            "policy": 'path "auth/token/lookup-self" { capabilities = ["read"] }',
            "uri_path": "sys/policies/acl/default",
        },
        {"name": "root", "policy": "", "uri_path": "sys/policies/acl/root"},
        {
            "name": "admin",
            "policy": 'path "*" { capabilities = ["sudo", "update"] }',
            "uri_path": "sys/policies/acl/admin",
        },
        {
            "name": "app",
            "policy": 'path "secret/data/app/*" { capabilities = ["read"] }',
            "uri_path": "sys/policies/acl/app",
        },
    ],
    "audit_devices": [
        {
            "path": "file/",
            "type": "file",
            "options": {"file_path": "/var/log/bao/audit.log"},
            "uri_path": "sys/audit/file",
        }
    ],
    "sanitized_config": {
        "raw_storage_endpoint": False,
        "enable_ui": False,
        "storage": {"type": "raft"},
        "listeners": [
            {"type": "tcp", "config": {"address": "0.0.0.0:8200", "tls_min_version": "tls13"}},
            {"type": "unix", "config": {"address": "/run/bao.sock"}},
        ],
    },
    "cors": {"enabled": True, "allowed_origins": ["https://ui.example"], "allow_credentials": False},
    "rate_limit_quotas": [{"name": "global", "path": "", "rate": 500.0}],
    "token_accessors": {
        "total": 2,
        "looked_up": 2,
        "vanished": 0,
        "incomplete": None,
        "tokens": [
            {
                "accessor_sha256": "aaaaaaaaaaaaaaaa",
                "display_name": "approle",
                "policies": ["app", "default"],
                "ttl": 3000,
                "period": 0,
                "explicit_max_ttl": 0,
            },
            {
                "accessor_sha256": "bbbbbbbbbbbbbbbb",
                "display_name": "token-sovscan",
                "policies": ["sovscan-scanner"],
                "ttl": 80000,
                "period": 0,
                "explicit_max_ttl": 0,
            },
        ],
    },
}


def evidence(
    changes: dict[str, Any] | None = None, errors: dict[str, str] | None = None, drop: tuple[str, ...] = ()
) -> Evidence:
    """Evidence of a well-run server, changed section by section, round-tripped through the evidence file format."""
    sections = copy.deepcopy(GOOD)
    sections.update(copy.deepcopy(changes or {}))
    for name in drop:
        sections.pop(name, None)
    built = Evidence(
        target="bao.example:8200",
        kind="openbao",
        uri=URI,
        sections=sections,
        errors=errors or {},
        collected_at=COLLECTED_AT,
    )
    document = json.loads(json.dumps(evidence_io.to_document(built)))
    loaded, _ = evidence_io.from_document(document, "test")
    return loaded


def test_a_well_run_server_passes_everything_but_the_probes(evaluate: Evaluate) -> None:
    results = evaluate(evidence(), params={"BAO-13": {"allowed_policies": ["root", "admin"]}})
    for control, findings in results.items():
        # BAO-20: the Shamir seal has no recovery keys
        expected = {Status.NOT_APPLICABLE} if control in ("BAO-09", "BAO-16", "BAO-20") else {Status.PASS}
        assert set(statuses(findings).values()) == expected, (control, statuses(findings))


# -- BAO-01 ---------------------------------------------------------------------------------


def test_sealed_fails(evaluate: Evaluate) -> None:
    found = evaluate(evidence({"health": {**GOOD["health"], "sealed": True}}), only="BAO-01")["BAO-01"]
    assert found[""].status is Status.FAIL and "sealed" in found[""].message


def test_uninitialised_fails(evaluate: Evaluate) -> None:
    found = evaluate(evidence({"health": {**GOOD["health"], "initialized": False}}), only="BAO-01")["BAO-01"]
    assert found[""].status is Status.FAIL and "not initialised" in found[""].message


def test_too_few_raft_voters_fail(evaluate: Evaluate) -> None:
    raft = copy.deepcopy(GOOD["raft"])
    raft["servers"][2]["voter"] = False
    found = evaluate(evidence({"raft": raft}), only="BAO-01")["BAO-01"]
    assert statuses(found) == {"": Status.PASS, "sys/storage/raft/configuration": Status.FAIL}
    assert found["sys/storage/raft/configuration"].observed == ["n1", "n2"]
    relaxed = evaluate(evidence({"raft": raft}), only="BAO-01", params={"BAO-01": {"min_voters": 2}})["BAO-01"]
    assert relaxed["sys/storage/raft/configuration"].status is Status.PASS


def test_non_raft_storage_is_not_applicable_unless_required(evaluate: Evaluate) -> None:
    ev = evidence({"raft": {"present": False, "storage_type": "postgresql"}})
    found = evaluate(ev, only="BAO-01")["BAO-01"]
    assert found["sys/storage/raft/configuration"].status is Status.NOT_APPLICABLE
    required = evaluate(ev, only="BAO-01", params={"BAO-01": {"require_raft": True}})["BAO-01"]
    assert required["sys/storage/raft/configuration"].status is Status.FAIL


def test_unreadable_raft_is_error_not_pass(evaluate: Evaluate) -> None:
    ev = evidence(drop=("raft",), errors={"raft": "permission denied: sys/storage/raft/configuration needs ..."})
    found = evaluate(ev, only="BAO-01")["BAO-01"]
    # the check declares the raft section it reads: without it the whole control is ERROR, with the reason
    assert statuses(found) == {"": Status.ERROR}
    assert "permission denied" in found[""].message


# -- BAO-02 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seal", "expected"),
    [
        ({"type": "shamir", "t": 3, "n": 5}, Status.PASS),
        ({"type": "shamir", "t": 1, "n": 1}, Status.FAIL),
        ({"type": "shamir", "t": 2, "n": 5}, Status.FAIL),
        ({"type": "shamir", "t": 3, "n": 4}, Status.FAIL),
        ({"type": "pkcs11", "t": 1, "n": 1}, Status.PASS),
        ({"type": "transit", "t": 1, "n": 1}, Status.PASS),
        ({"type": "static", "t": 1, "n": 1}, Status.FAIL),
        ({"t": 3, "n": 5}, Status.ERROR),
    ],
)
def test_seal(evaluate: Evaluate, seal: dict[str, Any], expected: Status) -> None:
    found = evaluate(evidence({"seal_status": seal}), only="BAO-02")["BAO-02"]
    assert statuses(found) == {"sys/seal-status": expected}


# -- BAO-03 ---------------------------------------------------------------------------------


def test_plain_http_fails(evaluate: Evaluate) -> None:
    ev = evidence({"connection": {"scheme": "http", "address": "bao.example:8200", "tls": None}})
    assert evaluate(ev, only="BAO-03")["BAO-03"]["listeners/scanned"].status is Status.FAIL


def test_old_tls_fails(evaluate: Evaluate) -> None:
    ev = evidence({"connection": {**GOOD["connection"], "tls": {"version": "TLSv1.1"}}})
    found = evaluate(ev, only="BAO-03")["BAO-03"]
    assert found["listeners/scanned"].status is Status.FAIL
    assert (
        evaluate(evidence(), only="BAO-03", params={"BAO-03": {"min_version": "tls13"}})["BAO-03"][
            "listeners/scanned"
        ].status
        is Status.PASS
    )


def test_configured_listeners_are_checked(evaluate: Evaluate) -> None:
    config = {
        "raw_storage_endpoint": False,
        "listeners": [
            {"type": "tcp", "config": {"address": "0.0.0.0:8200"}},
            {"type": "tcp", "config": {"address": "127.0.0.1:8300", "tls_disable": True}},
            {"type": "tcp", "config": {"address": "0.0.0.0:8400", "tls_min_version": "tls11"}},
        ],
    }
    found = evaluate(evidence({"sanitized_config": config}), only="BAO-03")["BAO-03"]
    assert statuses(found) == {
        "listeners/scanned": Status.PASS,
        "sys/config/state/sanitized/listeners/0": Status.PASS,  # tls12 is the default
        "sys/config/state/sanitized/listeners/1": Status.FAIL,
        "sys/config/state/sanitized/listeners/2": Status.FAIL,
    }


@pytest.mark.parametrize("listeners", [[], None])
def test_no_listener_in_the_sanitized_config_is_error(evaluate: Evaluate, listeners: Any) -> None:
    config = {"raw_storage_endpoint": False, "listeners": listeners}
    found = evaluate(evidence({"sanitized_config": config}), only="BAO-03")["BAO-03"]
    assert statuses(found) == {"listeners/scanned": Status.PASS, "sys/config/state/sanitized/listeners": Status.ERROR}


def test_unreadable_listener_config_is_error(evaluate: Evaluate) -> None:
    ev = evidence(drop=("sanitized_config",), errors={"sanitized_config": "permission denied: nope"})
    found = evaluate(ev, only="BAO-03")["BAO-03"]
    assert statuses(found) == {"": Status.ERROR}  # the listeners are part of the control: nothing PASSes
    assert "permission denied: nope" in found[""].message


# -- BAO-05 / BAO-06 ------------------------------------------------------------------------


def test_no_audit_device_fails_and_hashing_is_not_applicable(evaluate: Evaluate) -> None:
    results = evaluate(evidence({"audit_devices": []}))
    assert statuses(results["BAO-05"]) == {"sys/audit": Status.FAIL}
    assert statuses(results["BAO-06"]) == {"sys/audit": Status.NOT_APPLICABLE}


def test_min_devices_param(evaluate: Evaluate) -> None:
    found = evaluate(evidence(), only="BAO-05", params={"BAO-05": {"min_devices": 2}})["BAO-05"]
    assert found["sys/audit"].status is Status.FAIL


def test_log_raw_fails(evaluate: Evaluate) -> None:
    devices = [
        {"path": "file/", "type": "file", "options": {"log_raw": "true"}, "uri_path": "sys/audit/file"},
        {"path": "syslog/", "type": "syslog", "options": {"log_raw": "false"}, "uri_path": "sys/audit/syslog"},
    ]
    found = evaluate(evidence({"audit_devices": devices}), only="BAO-06")["BAO-06"]
    assert statuses(found) == {"sys/audit/file": Status.FAIL, "sys/audit/syslog": Status.PASS}


def test_audit_without_sudo_is_error(evaluate: Evaluate) -> None:
    reason = "permission denied: sys/audit needs a token with read and sudo on sys/audit"
    results = evaluate(evidence(drop=("audit_devices",), errors={"audit_devices": reason}))
    for control in ("BAO-05", "BAO-06"):
        (finding,) = results[control].values()
        assert finding.status is Status.ERROR and "sudo on sys/audit" in finding.message


# -- BAO-08 ---------------------------------------------------------------------------------


def _tokens(*tokens: dict[str, Any], incomplete: str | None = None) -> dict[str, Any]:
    return {"total": len(tokens), "looked_up": len(tokens), "incomplete": incomplete, "tokens": list(tokens)}


def test_standing_root_token_fails(evaluate: Evaluate) -> None:
    ev = evidence(
        {
            "token_accessors": _tokens(
                {"accessor_sha256": "cafe", "display_name": "root", "policies": ["root"], "ttl": 0}
            )
        }
    )
    found = evaluate(ev, only="BAO-08")["BAO-08"]
    assert statuses(found) == {"auth/token/accessors/cafe": Status.FAIL}
    assert "never expires" in found["auth/token/accessors/cafe"].message


A1, A2, A3 = "a1a1a1a1a1a1a1a1", "a2a2a2a2a2a2a2a2", "a3a3a3a3a3a3a3a3"


def test_root_token_ttl_and_allow_list_by_identity(evaluate: Evaluate) -> None:
    ev = evidence(
        {
            "token_accessors": _tokens(
                {"accessor_sha256": A1, "display_name": "root", "policies": ["root"], "ttl": 600},
                {"accessor_sha256": A2, "display_name": "root", "policies": ["root"], "ttl": 7200},
                {"accessor_sha256": A3, "display_name": "token-breakglass", "policies": ["root"], "ttl": 0},
            )
        }
    )
    by_digest = evaluate(ev, only="BAO-08", params={"BAO-08": {"allowed": [A2], "max_ttl": "30m"}})["BAO-08"]
    assert statuses(by_digest) == {
        f"auth/token/accessors/{A1}": Status.PASS,
        f"auth/token/accessors/{A2}": Status.PASS,
        f"auth/token/accessors/{A3}": Status.FAIL,
        "auth/token/accessors/allow-list": Status.PASS,
    }
    assert "exempted 1 root token" in by_digest["auth/token/accessors/allow-list"].message
    # a display name is the creator's choice: it exempts nothing (and a baseline cannot even say it)
    by_name = evaluate(ev, only="BAO-08", params={"BAO-08": {"allowed": ["token-breakglass"]}})["BAO-08"]
    assert by_name[f"auth/token/accessors/{A3}"].status is Status.FAIL


def test_a_display_name_in_the_allow_list_is_refused_by_the_baseline() -> None:
    validator = Draft202012Validator(dict(root_tokens.params_schema))
    assert not list(validator.iter_errors({"allowed": [A1, "entity:0b1e9f0e-2c4a-4c39-9d6b-2f6a0f3c1d2e"]}))
    assert list(validator.iter_errors({"allowed": ["token-breakglass"]}))


def test_entity_allow_list(evaluate: Evaluate) -> None:
    entity = "0b1e9f0e-2c4a-4c39-9d6b-2f6a0f3c1d2e"
    ev = evidence(
        {"token_accessors": _tokens({"accessor_sha256": A1, "policies": ["root"], "ttl": 0, "entity_id": entity})}
    )
    found = evaluate(ev, only="BAO-08", params={"BAO-08": {"allowed": [f"entity:{entity}"]}})["BAO-08"]
    assert found[f"auth/token/accessors/{A1}"].status is Status.PASS


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ({"ttl": 1800, "period": 1800, "explicit_max_ttl": 0}, Status.FAIL),  # renewed forever
        ({"ttl": 1800, "period": 1800, "explicit_max_ttl": 3600}, Status.PASS),
        ({"ttl": 1800, "period": 0, "explicit_max_ttl": 0}, Status.PASS),
        ({"ttl": 1800, "period": 0, "explicit_max_ttl": 0, "renewable": True}, Status.FAIL),  # renewed to 768h
        ({"ttl": 1800, "period": 0, "explicit_max_ttl": 3600, "renewable": True}, Status.PASS),
    ],
)
def test_a_periodic_root_token_without_explicit_max_is_standing(
    evaluate: Evaluate, token: dict[str, Any], expected: Status
) -> None:
    ev = evidence({"token_accessors": _tokens({"accessor_sha256": A1, "policies": ["root"], **token})})
    found = evaluate(ev, only="BAO-08")["BAO-08"]
    assert found[f"auth/token/accessors/{A1}"].status is expected


def test_incomplete_token_listing_is_error_not_pass(evaluate: Evaluate) -> None:
    ev = evidence(
        {
            "token_accessors": _tokens(
                {"accessor_sha256": "x", "policies": ["default"], "ttl": 5}, incomplete="only the first 1 of 9"
            )
        }
    )
    found = evaluate(ev, only="BAO-08")["BAO-08"]
    assert statuses(found) == {"": Status.ERROR}
    assert "only the first 1 of 9" in found[""].message


# -- BAO-09 / BAO-16 ------------------------------------------------------------------------


def test_probes_off_are_not_applicable_with_the_reason(evaluate: Evaluate) -> None:
    results = evaluate(evidence())
    for control in ("BAO-09", "BAO-16"):
        (finding,) = results[control].values()
        assert finding.status is Status.NOT_APPLICABLE
        assert finding.message.startswith("active probe not enabled")


def test_probe_results(evaluate: Evaluate) -> None:
    probes = {
        "enabled": True,
        "results": {
            "sys/generate-root/attempt": {"status": 200},
            "sys/rekey/init": {"status": 405},
            "sys/metrics": {"status": 403},
            "sys/pprof/": {"error": "probe of sys/pprof/ failed: timed out"},
        },
    }
    results = evaluate(evidence({"probes": probes}))
    assert statuses(results["BAO-09"]) == {"sys/generate-root/attempt": Status.FAIL, "sys/rekey/init": Status.PASS}
    assert statuses(results["BAO-16"]) == {"sys/metrics": Status.PASS, "sys/pprof": Status.ERROR}


# -- BAO-10 / BAO-11 / BAO-12 ---------------------------------------------------------------


def _mount(path: str, kind: str, **tune: Any) -> dict[str, Any]:
    return {"path": f"{path}/", "type": kind, "uri_path": f"sys/auth/{path}", "tune": tune}


def test_ttls(evaluate: Evaluate) -> None:
    mounts = [
        _mount("token", "token", default_lease_ttl=2764800, max_lease_ttl=2764800),
        _mount("jwt", "jwt", default_lease_ttl=3600, max_lease_ttl=172800),
        _mount("ok", "approle", default_lease_ttl=3600, max_lease_ttl=86400),
        {
            "path": "hidden/",
            "type": "ldap",
            "uri_path": "sys/auth/hidden",
            "tune": None,
            "tune_error": "permission denied: x",
        },
    ]
    found = evaluate(evidence({"auth_methods": mounts}), only="BAO-10")["BAO-10"]
    assert statuses(found) == {
        "sys/auth/token": Status.FAIL,
        "sys/auth/jwt": Status.FAIL,
        "sys/auth/ok": Status.PASS,
        "sys/auth/hidden": Status.ERROR,
    }
    assert "768h" in found["sys/auth/token"].message
    relaxed = evaluate(evidence({"auth_methods": mounts}), only="BAO-10", params={"BAO-10": {"max_max_ttl": "48h"}})
    assert relaxed["BAO-10"]["sys/auth/jwt"].status is Status.PASS


def test_userpass_is_forbidden(evaluate: Evaluate) -> None:
    mounts = [_mount("token", "token"), _mount("userpass", "userpass"), _mount("people", "ldap")]
    found = evaluate(evidence({"auth_methods": mounts}), only="BAO-11")["BAO-11"]
    assert statuses(found) == {
        "sys/auth/token": Status.PASS,
        "sys/auth/userpass": Status.FAIL,
        "sys/auth/people": Status.PASS,
    }
    stricter = evaluate(
        evidence({"auth_methods": mounts}), only="BAO-11", params={"BAO-11": {"forbidden_types": ["ldap"]}}
    )
    assert stricter["BAO-11"]["sys/auth/people"].status is Status.FAIL


def test_lockout(evaluate: Evaluate) -> None:
    mounts = [
        _mount("token", "token"),
        _mount("up", "userpass"),
        _mount("off", "userpass", user_lockout_threshold=5, user_lockout_disable=True),
        _mount("lax", "ldap", user_lockout_threshold=20, user_lockout_disable=False),
        _mount("good", "approle", user_lockout_threshold=3, user_lockout_disable=False),
    ]
    found = evaluate(evidence({"auth_methods": mounts}), only="BAO-12")["BAO-12"]
    assert statuses(found) == {
        "sys/auth/up": Status.FAIL,
        "sys/auth/off": Status.FAIL,
        "sys/auth/lax": Status.FAIL,
        "sys/auth/good": Status.PASS,
    }
    lenient = evaluate(evidence({"auth_methods": mounts}), only="BAO-12", params={"BAO-12": {"accept_defaults": True}})
    assert lenient["BAO-12"]["sys/auth/up"].status is Status.PASS


def test_lockout_threshold_zero_is_not_a_lockout(evaluate: Evaluate) -> None:
    """OpenBao reads a mount threshold of 0 as "not set on this mount": the server-wide default applies."""
    mounts = [_mount("zero", "approle", user_lockout_threshold=0, user_lockout_disable=False)]
    found = evaluate(evidence({"auth_methods": mounts}), only="BAO-12")["BAO-12"]
    assert statuses(found) == {"sys/auth/zero": Status.FAIL}
    assert "no lockout configured on the mount" in found["sys/auth/zero"].message
    lenient = evaluate(evidence({"auth_methods": mounts}), only="BAO-12", params={"BAO-12": {"accept_defaults": True}})
    assert lenient["BAO-12"]["sys/auth/zero"].status is Status.PASS


def test_lockout_not_applicable_without_password_methods(evaluate: Evaluate) -> None:
    found = evaluate(evidence({"auth_methods": [_mount("token", "token"), _mount("k8s", "kubernetes")]}), only="BAO-12")
    assert statuses(found["BAO-12"]) == {"": Status.NOT_APPLICABLE}


# -- BAO-13 ---------------------------------------------------------------------------------


def _policy(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "policy": text, "uri_path": f"sys/policies/acl/{name}"}


def test_acl_policies(evaluate: Evaluate) -> None:
    policies = [
        _policy("root", ""),
        _policy("admin", 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'),
        _policy("ops", 'path "+/*" { capabilities = ["update"] }'),
        _policy("sneaky", 'path "s*" { capabilities = ["patch"] }'),
        _policy(
            "fenced", 'path "sys/*" { capabilities = ["update", "sudo"] }\npath "sys/*" { capabilities = ["deny"] }'
        ),
        _policy("scanner", 'path "sys/audit" { capabilities = ["read", "sudo"] }'),
        _policy("broken", 'path "x" { capabilities = ['),
        {
            "name": "hidden",
            "error": "permission denied: reading policy 'hidden' needs read",
            "uri_path": "sys/policies/acl/hidden",
        },
    ]
    found = evaluate(evidence({"policies": policies}), only="BAO-13")["BAO-13"]
    assert statuses(found) == {
        "sys/policies/acl/root": Status.PASS,
        "sys/policies/acl/admin": Status.FAIL,
        "sys/policies/acl/ops": Status.FAIL,
        "sys/policies/acl/sneaky": Status.FAIL,
        "sys/policies/acl/fenced": Status.PASS,
        "sys/policies/acl/scanner": Status.PASS,
        "sys/policies/acl/broken": Status.ERROR,
        "sys/policies/acl/hidden": Status.ERROR,
    }
    assert 'path "+/*" grants update on sys/<any> (in sys/*' in found["sys/policies/acl/ops"].message
    allowed = evaluate(
        evidence({"policies": policies}), only="BAO-13", params={"BAO-13": {"allowed_policies": ["admin"]}}
    )
    assert allowed["BAO-13"]["sys/policies/acl/admin"].status is Status.PASS


def test_acl_policies_as_openbao_reads_them(evaluate: Evaluate) -> None:
    """Forms OpenBao accepts and that grant sudo on sys/*: each must FAIL, not pass unnoticed."""
    policies = [
        _policy("slash", 'path "/sys/*" { capabilities = ["sudo"] }'),
        _policy("repeated", 'path "sys/*" {\n capabilities = ["sudo"]\n capabilities = ["read"]\n}'),
        _policy("labelled", 'path "sys/*" "x" { capabilities = ["update"] }'),
        _policy(
            "lapsed",
            'path "s*" { capabilities = ["sudo"] }\npath "sys/*" {\n capabilities = ["deny"]\n'
            ' expiration = "2027-01-01T00:00:00Z"\n}',
        ),
        _policy(
            "templated",
            'path "+/*" { capabilities = ["update"] }\npath "{{identity.entity.name}}/*" { capabilities = ["deny"] }',
        ),
    ]
    found = evaluate(evidence({"policies": policies}), only="BAO-13")["BAO-13"]
    assert set(statuses(found).values()) == {Status.FAIL}, statuses(found)
    assert len(found) == len(policies)
    assert "from 2027-01-01T00:00:00+00:00" in found["sys/policies/acl/lapsed"].message


def test_policy_without_text_or_no_policy_at_all_is_error(evaluate: Evaluate) -> None:
    policies = [{"name": "mute", "uri_path": "sys/policies/acl/mute"}, _policy("default", "")]
    found = evaluate(evidence({"policies": policies}), only="BAO-13")["BAO-13"]
    assert statuses(found) == {"sys/policies/acl/mute": Status.ERROR, "sys/policies/acl/default": Status.PASS}
    empty = evaluate(evidence({"policies": []}), only="BAO-13")["BAO-13"]
    assert statuses(empty) == {"sys/policies/acl": Status.ERROR}


# -- BAO-14 / BAO-15 / BAO-17 ---------------------------------------------------------------


def test_kv_version(evaluate: Evaluate) -> None:
    mounts = [
        {"path": "secret/", "type": "kv", "options": {"version": "2"}, "uri_path": "sys/mounts/secret"},
        {"path": "legacy/", "type": "kv", "options": {"version": "1"}, "uri_path": "sys/mounts/legacy"},
        {"path": "old/", "type": "generic", "options": {}, "uri_path": "sys/mounts/old"},
    ]
    found = evaluate(evidence({"secrets_engines": mounts}), only="BAO-14")["BAO-14"]
    assert statuses(found) == {
        "sys/mounts/secret": Status.PASS,
        "sys/mounts/legacy": Status.FAIL,
        "sys/mounts/old": Status.FAIL,
    }
    none = evaluate(evidence({"secrets_engines": []}), only="BAO-14")["BAO-14"]
    assert statuses(none) == {"": Status.NOT_APPLICABLE}


def test_raw_storage(evaluate: Evaluate) -> None:
    on = evaluate(evidence({"sanitized_config": {"raw_storage_endpoint": True, "listeners": []}}), only="BAO-15")
    assert statuses(on["BAO-15"]) == {"sys/config/state/sanitized/raw_storage_endpoint": Status.FAIL}
    unknown = evaluate(evidence({"sanitized_config": {"listeners": []}}), only="BAO-15")
    assert statuses(unknown["BAO-15"]) == {"sys/config/state/sanitized/raw_storage_endpoint": Status.ERROR}


@pytest.mark.parametrize(
    ("cors", "expected"),
    [
        ({"enabled": False, "allowed_origins": ["*"]}, Status.PASS),
        ({"enabled": True, "allowed_origins": ["*"]}, Status.FAIL),
        ({"enabled": True, "allowed_origins": ["https://a.example", "*"]}, Status.FAIL),
        ({"enabled": True, "allowed_origins": ["https://a.example"]}, Status.PASS),
    ],
)
def test_cors(evaluate: Evaluate, cors: dict[str, Any], expected: Status) -> None:
    assert statuses(evaluate(evidence({"cors": cors}), only="BAO-17")["BAO-17"]) == {"sys/config/cors": expected}


# -- BAO-18 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quota_path", "expected"),
    [
        ("", Status.PASS),
        ("auth/approle/", Status.PASS),
        ("auth/approle/login", Status.PASS),
        ("auth/app", Status.FAIL),
        ("auth/userpass/", Status.FAIL),
        ("secret/", Status.FAIL),
    ],
)
def test_login_rate_limits(evaluate: Evaluate, quota_path: str, expected: Status) -> None:
    ev = evidence(
        {
            "auth_methods": [_mount("token", "token"), _mount("approle", "approle")],
            "rate_limit_quotas": [{"name": "q", "path": quota_path, "rate": 10}],
        }
    )
    assert statuses(evaluate(ev, only="BAO-18")["BAO-18"]) == {"sys/auth/approle": expected}


def test_quota_without_a_path_covers_nothing(evaluate: Evaluate) -> None:
    ev = evidence(
        {
            "auth_methods": [_mount("token", "token"), _mount("approle", "approle")],
            "rate_limit_quotas": [{"name": "q", "path": None, "rate": 10}],
        }
    )
    assert statuses(evaluate(ev, only="BAO-18")["BAO-18"]) == {"sys/auth/approle": Status.FAIL}


def test_rate_limits_in_a_namespace(evaluate: Evaluate) -> None:
    connection = {**GOOD["connection"], "namespace": "team-a"}
    mounts = [{"path": "userpass/", "type": "userpass", "uri_path": "team-a/sys/auth/userpass", "tune": {}}]
    for quota_path, expected in (
        ("team-a/", Status.PASS),
        ("auth/userpass/", Status.FAIL),
        ("team-a/auth/userpass", Status.PASS),
    ):
        ev = evidence(
            {"connection": connection, "auth_methods": mounts, "rate_limit_quotas": [{"name": "q", "path": quota_path}]}
        )
        assert statuses(evaluate(ev, only="BAO-18")["BAO-18"]) == {"team-a/sys/auth/userpass": expected}, quota_path


def test_no_quota_evidence_is_error(evaluate: Evaluate) -> None:
    ev = evidence(
        drop=("rate_limit_quotas",), errors={"rate_limit_quotas": "permission denied: sys/quotas/rate-limit needs ..."}
    )
    (finding,) = evaluate(ev, only="BAO-18")["BAO-18"].values()
    assert finding.status is Status.ERROR and "sys/quotas/rate-limit" in finding.message


# -- BAO-19 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.7.2", Status.PASS),
        ("2.5.0", Status.PASS),
        ("2.4.9", Status.FAIL),
        ("v2.10.0+ent", Status.PASS),
        ("2.5.0-rc1", Status.FAIL),  # a release candidate comes before the release
        ("2.5.0+hsm", Status.PASS),  # build metadata is not a pre-release
        ("2.5.1-beta", Status.PASS),
        ("garbage", Status.ERROR),
    ],
)
def test_version(evaluate: Evaluate, version: str, expected: Status) -> None:
    ev = evidence({"health": {**GOOD["health"], "version": version}})
    assert statuses(evaluate(ev, only="BAO-19")["BAO-19"]) == {"": expected}


# -- missing sections --------------------------------------------------------------------


def test_every_control_is_error_when_its_section_is_missing(evaluate: Evaluate) -> None:
    reason = "OpenBao is sealed: cannot be read until it is unsealed"
    needed = [
        "auth_methods",
        "secrets_engines",
        "policies",
        "audit_devices",
        "sanitized_config",
        "cors",
        "rate_limit_quotas",
        "token_accessors",
        "raft",
    ]
    ev = evidence(drop=tuple(needed), errors=dict.fromkeys(needed, reason))
    results = evaluate(ev)
    for control in (
        "BAO-05",
        "BAO-06",
        "BAO-08",
        "BAO-10",
        "BAO-11",
        "BAO-12",
        "BAO-13",
        "BAO-14",
        "BAO-15",
        "BAO-17",
        "BAO-18",
    ):
        assert set(statuses(results[control]).values()) == {Status.ERROR}, control
        assert all(reason in f.message for f in results[control].values()), control


# -- controls added for issue 11 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seal", "expected"),
    [
        ({"type": "transit", "recovery_seal": True, "t": 3, "n": 5}, Status.PASS),
        ({"type": "awskms", "recovery_seal": True, "t": 1, "n": 1}, Status.FAIL),
        ({"type": "pkcs11", "recovery_seal": False, "t": 0, "n": 0}, Status.ERROR),  # not reported: not verified
        ({"type": "shamir", "t": 3, "n": 5}, Status.NOT_APPLICABLE),
    ],
)
def test_recovery_keys(evaluate: Evaluate, seal: dict[str, Any], expected: Status) -> None:
    found = evaluate(evidence({"seal_status": {"initialized": True, "sealed": False, **seal}}), only="BAO-20")
    assert statuses(found["BAO-20"]) == {"sys/seal-status/recovery": expected}


def test_ui_and_storage(evaluate: Evaluate) -> None:
    config = {**GOOD["sanitized_config"], "enable_ui": True, "storage": {"type": "inmem"}}
    found = evaluate(evidence({"sanitized_config": config}))
    assert statuses(found["BAO-21"]) == {"sys/config/state/sanitized/enable_ui": Status.FAIL}
    assert statuses(found["BAO-22"]) == {"sys/config/state/sanitized/storage": Status.FAIL}
    allowed = evaluate(evidence({"sanitized_config": config}), only="BAO-21", params={"BAO-21": {"allowed": True}})
    assert statuses(allowed["BAO-21"]) == {"sys/config/state/sanitized/enable_ui": Status.PASS}
    missing = {k: v for k, v in GOOD["sanitized_config"].items() if k != "enable_ui"}
    assert statuses(evaluate(evidence({"sanitized_config": missing}), only="BAO-21")["BAO-21"]) == {
        "sys/config/state/sanitized/enable_ui": Status.ERROR
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Status.PASS),
        ("10.1.2.0/24,10.1.3.4", Status.PASS),
        (["2001:db8::/56"], Status.PASS),
        ("0.0.0.0/0", Status.FAIL),
        ("10.1.2.0/24, 10.0.0.0/8", Status.FAIL),
        ("::/0", Status.FAIL),
        ("proxy.example", Status.ERROR),
    ],
)
def test_forwarded_for(evaluate: Evaluate, value: Any, expected: Status) -> None:
    listener: dict[str, Any] = {"address": "0.0.0.0:8200"}
    if value is not None:
        listener["x_forwarded_for_authorized_addrs"] = value
    config = {**GOOD["sanitized_config"], "listeners": [{"type": "tcp", "config": listener}]}
    found = evaluate(evidence({"sanitized_config": config}), only="BAO-23")["BAO-23"]
    assert statuses(found) == {"sys/config/state/sanitized/listeners/0/xff": expected}


@pytest.mark.parametrize(
    ("negotiated", "suites", "expected"),
    [
        ("TLS_AES_256_GCM_SHA384", None, {Status.PASS}),
        ("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", {Status.PASS}),
        ("AES128-GCM-SHA256", None, {Status.PASS, Status.FAIL}),  # RSA key exchange: no forward secrecy
        ("TLS_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", {Status.PASS, Status.FAIL}),
        ("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", {Status.PASS, Status.FAIL}),
    ],
)
def test_cipher_suites(evaluate: Evaluate, negotiated: str, suites: str | None, expected: set[Status]) -> None:
    listener: dict[str, Any] = {"address": "0.0.0.0:8200"}
    if suites:
        listener["tls_cipher_suites"] = suites
    connection = {**GOOD["connection"], "tls": {"version": "TLSv1.3", "cipher": negotiated, "verified": True}}
    config = {**GOOD["sanitized_config"], "listeners": [{"type": "tcp", "config": listener}]}
    found = evaluate(evidence({"connection": connection, "sanitized_config": config}), only="BAO-24")["BAO-24"]
    assert set(statuses(found).values()) == expected


def test_default_policy_changes(evaluate: Evaluate) -> None:
    from checks.openbao.defaults import DEFAULT_POLICY

    def run(text: str) -> Any:
        policies = [{"name": "default", "policy": text, "uri_path": "sys/policies/acl/default"}]
        return evaluate(evidence({"policies": policies}), only="BAO-25")["BAO-25"]["sys/policies/acl/default/changes"]

    assert run(DEFAULT_POLICY).status is Status.PASS
    assert run('path "auth/token/lookup-self" { capabilities = ["read"] }').status is Status.PASS  # narrower
    widened = run(DEFAULT_POLICY + '\npath "secret/*" { capabilities = ["read"] }\n')
    assert widened.status is Status.FAIL and 'path "secret/*" read' in widened.message
    more = run(
        DEFAULT_POLICY.replace(
            'path "sys/tools/hash" {\n    capabilities = ["update"]',
            'path "sys/tools/hash" {\n    capabilities = ["update", "sudo"]',
        )
    )
    assert more.status is Status.FAIL and "sudo" in more.message
    assert (
        evaluate(evidence({"policies": GOOD["policies"][1:]}), only="BAO-25")["BAO-25"][
            "sys/policies/acl/default/changes"
        ].status
        is Status.ERROR
    )


def test_discard_audit_devices_do_not_count_and_accessors_must_be_hashed(evaluate: Evaluate) -> None:
    devices = [
        {"path": "void/", "type": "file", "options": {"file_path": "discard"}, "uri_path": "sys/audit/void"},
        {"path": "null/", "type": "file", "options": {"file_path": "/dev/null"}, "uri_path": "sys/audit/null"},
        {"path": "plain/", "type": "socket", "options": {"hmac_accessor": "false"}, "uri_path": "sys/audit/plain"},
    ]
    found = evaluate(evidence({"audit_devices": devices}))
    assert statuses(found["BAO-05"]) == {"sys/audit": Status.PASS}  # the socket device counts
    two = evaluate(evidence({"audit_devices": devices}), only="BAO-05", params={"BAO-05": {"min_devices": 2}})
    assert statuses(two["BAO-05"]) == {"sys/audit": Status.FAIL}
    assert "write nowhere" in two["BAO-05"]["sys/audit"].message
    assert statuses(found["BAO-06"])["sys/audit/plain"] is Status.FAIL


def test_an_old_version_floor_is_reported(evaluate: Evaluate) -> None:
    ev = evidence()
    stale = Evidence(**{**ev.__dict__, "collected_at": "2027-12-01T00:00:00Z"})
    found = evaluate(stale, only="BAO-19")["BAO-19"]
    assert (
        found["version-floor"].status is Status.FAIL and "last reviewed on 2026-11-25" in found["version-floor"].message
    )
    assert statuses(evaluate(ev, only="BAO-19")["BAO-19"]) == {"": Status.PASS}
