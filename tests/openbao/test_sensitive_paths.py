"""BAO-13 judges every rule that reaches a sensitive path, and OpenBao agrees that it is reached.

Each policy below grants one dangerous capability inside one sensitive family, in a form the old
"covers all of sys/*" reading missed. The control must FAIL it (naming the rule and a path), the
shipped `default` and scanner policies must PASS, narrow `deny` rules shield exactly what they
cover, and the real server (`sys/capabilities` for a token holding the policy) must grant the
capability on the witness path the finding names.
"""

from __future__ import annotations

from typing import Any

import pytest

from checks.openbao.defaults import DEFAULT_POLICY
from scanner.model import Status
from tests.openbao.conftest import Evaluate
from tests.openbao.test_checks import evidence
from tests.services.openbao import CREDENTIALS_POLICY, SCANNER_POLICY, BaoServer

REACHING = {
    "acl-writer": ('path "sys/policies/acl/*" { capabilities = ["update"] }', "update"),
    "legacy-acl": ('path "sys/policy/+" { capabilities = ["create"] }', "create"),
    "raw-sudo": ('path "sys/raw/*" { capabilities = ["read", "sudo"] }', "sudo"),
    "audit-sudo": ('path "sys/audit/*" { capabilities = ["sudo", "update"] }', "sudo"),
    "role-writer": ('path "auth/+/role/*" { capabilities = ["update"] }', "update"),
    "approle-writer": ('path "auth/approle/role/admin" { capabilities = ["create", "update"] }', "update"),
    "token-roles": ('path "auth/token/roles/*" { capabilities = ["create"] }', "create"),
    "identity": ('path "identity/*" { capabilities = ["update"] }', "update"),
    "group-writer": ('path "identity/group/name/+" { capabilities = ["update"] }', "update"),
    "mint": ('path "auth/token/create" { capabilities = ["update", "sudo"] }', "sudo"),
    "orphans": ('path "auth/token/create-orphan" { capabilities = ["update"] }', "update"),
    "sealer": ('path "sys/seal" { capabilities = ["update", "sudo"] }', "update"),
    "mounter": ('path "sys/mounts/+" { capabilities = ["create", "update"] }', "update"),
    "auth-enabler": ('path "sys/auth" { capabilities = ["update"] }', "update"),
    "reads-all": ('path "+/*" { capabilities = ["read", "list"] }\npath "*" { capabilities = ["read"] }', "read"),
    "glob-reaches": ('path "sys/p*" { capabilities = ["update"] }', "update"),
    "partly-fenced": (
        'path "sys/*" { capabilities = ["update"] }\npath "sys/policies/acl/+" { capabilities = ["deny"] }',
        "update",
    ),
    # denies written to shield the scanner's own witness paths: they must shield nothing else
    "witness-fenced": (
        'path "sys/policies/acl/*" { capabilities = ["update"] }\n'
        'path "sys/policies/acl/~*" { capabilities = ["deny"] }\n'
        'path "sys/policies/acl/+/*" { capabilities = ["deny"] }',
        "update",
    ),
    "depth-fenced": (
        'path "sys/*" { capabilities = ["update"] }\npath "sys/policies/acl/+" { capabilities = ["deny"] }\n'
        'path "sys/policies/acl/+/+" { capabilities = ["deny"] }\n'
        'path "sys/policies/acl/+/+/+" { capabilities = ["deny"] }\npath "sys/+" { capabilities = ["deny"] }\n'
        'path "sys/+/+" { capabilities = ["deny"] }\npath "sys/+/+/+" { capabilities = ["deny"] }',
        "update",
    ),
    "suffix-fenced": (
        'path "identity/*" { capabilities = ["update"] }\npath "identity/entity~*" { capabilities = ["deny"] }\n'
        'path "identity/entity/~*" { capabilities = ["deny"] }\npath "identity/group~*" { capabilities = ["deny"] }',
        "update",
    ),
}
"""Policy name -> (text, a capability OpenBao grants on the witness path of the finding)."""

SAFE = {
    "default": DEFAULT_POLICY,
    "scanner": SCANNER_POLICY.read_text(),
    "credentials": CREDENTIALS_POLICY.read_text(),
    "fenced": 'path "sys/*" { capabilities = ["update"] }\npath "sys/*" { capabilities = ["deny"] }',
    "shielded": (
        'path "auth/*" { capabilities = ["read"] }\npath "auth/+/role/*" { capabilities = ["update"] }\n'
        'path "auth/+/role/*" { capabilities = ["deny"] }'
    ),
    "app": 'path "secret/data/app/*" { capabilities = ["create", "read", "update"] }',
    "child-tokens": 'path "auth/token/create" { capabilities = ["update"] }',
}


TEXTS = {name: text for name, (text, _capability) in REACHING.items()}


def _policies(texts: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": n, "policy": t, "uri_path": f"sys/policies/acl/{n}"} for n, t in texts.items()]


def test_every_reaching_policy_fails_and_the_safe_ones_pass(evaluate: Evaluate) -> None:
    found = evaluate(evidence({"policies": _policies({**TEXTS, **SAFE})}), only="BAO-13")["BAO-13"]
    for name in REACHING:
        assert found[f"sys/policies/acl/{name}"].status is Status.FAIL, (
            name,
            found[f"sys/policies/acl/{name}"].message,
        )
    for name in SAFE:
        assert found[f"sys/policies/acl/{name}"].status is Status.PASS, (
            name,
            found[f"sys/policies/acl/{name}"].message,
        )
    assert (
        'path "sys/policies/acl/*" grants update on sys/policies/acl/<any>'
        in found["sys/policies/acl/acl-writer"].message
    )
    assert "read every secret" in found["sys/policies/acl/reads-all"].message


def test_the_allow_list_says_how_many_policies_it_exempted(evaluate: Evaluate) -> None:
    params = {"BAO-13": {"allowed_policies": ["root", "acl-writer", "mint"]}}
    found = evaluate(evidence({"policies": _policies(TEXTS)}), only="BAO-13", params=params)["BAO-13"]
    assert found["sys/policies/acl/acl-writer"].status is Status.PASS
    assert "exempted 2 policy" in found["sys/policies/acl-allow-list"].message


@pytest.mark.parametrize("name", sorted(REACHING))
def test_openbao_grants_what_the_finding_says(bao_dev: BaoServer, evaluate: Evaluate, name: str) -> None:
    text, capability = REACHING[name]
    found = evaluate(evidence({"policies": _policies({name: text})}), only="BAO-13")["BAO-13"]
    observed = found[f"sys/policies/acl/{name}"].observed
    assert isinstance(observed, list) and observed
    policy = f"sens-{name}"
    bao_dev.api("PUT", f"sys/policies/acl/{policy}", {"policy": text})
    try:
        token = bao_dev.api(
            "POST", "auth/token/create", {"policies": [policy], "no_default_policy": True, "ttl": "5m"}
        )["auth"]["client_token"]
        paths = [str(item["witness"]) for item in observed]
        answer = bao_dev.api("POST", "sys/capabilities", {"token": token, "paths": paths})["data"]
    finally:
        bao_dev.api("DELETE", f"sys/policies/acl/{policy}")
    for item, path in zip(observed, paths, strict=True):
        assert set(item["capabilities"]) <= set(answer[path]), (name, path, answer[path])
    assert any(capability in answer[p] for p in paths), (name, answer)


def test_the_shipped_default_policy_is_the_servers(bao_dev: BaoServer) -> None:
    served = bao_dev.api("GET", "sys/policies/acl/default")["data"]["policy"]
    assert served.strip() == DEFAULT_POLICY.strip()
