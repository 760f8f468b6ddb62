"""Pure parts of the Keycloak checks on real Keycloak shapes: MFA flow semantics, built-in identities,
password policies, redirect URIs, and the options / inventory schema of the target kind."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from checks.keycloak.builtins import builtin_identity
from checks.keycloak.client_checks import redirect_problem
from checks.keycloak.plugin import PLUGIN
from checks.keycloak.realm_checks import mfa_enforced, parse_password_policy
from checks.keycloak.shape import REDACTED, client, strip_secrets
from scanner.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

# Keycloak 26.7's default browser flow as GET .../authentication/flows/browser/executions flattens it
DEFAULT_BROWSER = [
    {"requirement": "ALTERNATIVE", "authenticator": "auth-cookie", "flow": None, "level": 0, "index": 0},
    {"requirement": "DISABLED", "authenticator": "auth-spnego", "flow": None, "level": 0, "index": 1},
    {
        "requirement": "ALTERNATIVE",
        "authenticator": "identity-provider-redirector",
        "flow": None,
        "level": 0,
        "index": 2,
    },
    {"requirement": "ALTERNATIVE", "authenticator": None, "flow": "forms", "level": 0, "index": 3},
    {"requirement": "REQUIRED", "authenticator": "auth-username-password-form", "flow": None, "level": 1, "index": 0},
    {"requirement": "CONDITIONAL", "authenticator": None, "flow": "Browser - Conditional 2FA", "level": 1, "index": 1},
    {"requirement": "REQUIRED", "authenticator": "conditional-user-configured", "flow": None, "level": 2, "index": 0},
    {"requirement": "REQUIRED", "authenticator": "conditional-credential", "flow": None, "level": 2, "index": 1},
    {"requirement": "ALTERNATIVE", "authenticator": "auth-otp-form", "flow": None, "level": 2, "index": 2},
    {"requirement": "DISABLED", "authenticator": "webauthn-authenticator", "flow": None, "level": 2, "index": 3},
]


def test_default_browser_flow_does_not_enforce_mfa() -> None:
    assert mfa_enforced(DEFAULT_BROWSER) is False


def test_otp_required_after_the_password_enforces_mfa() -> None:
    flow = [dict(step) for step in DEFAULT_BROWSER]
    flow[5]["requirement"] = "REQUIRED"  # the 2FA subflow always runs
    flow[6]["requirement"] = flow[7]["requirement"] = "DISABLED"
    assert mfa_enforced(flow) is True


def test_a_password_only_alternative_is_a_way_around_mfa() -> None:
    flow = [
        {"requirement": "ALTERNATIVE", "authenticator": None, "flow": "mfa", "level": 0, "index": 0},
        {
            "requirement": "REQUIRED",
            "authenticator": "auth-username-password-form",
            "flow": None,
            "level": 1,
            "index": 0,
        },
        {"requirement": "REQUIRED", "authenticator": "auth-otp-form", "flow": None, "level": 1, "index": 1},
        {
            "requirement": "ALTERNATIVE",
            "authenticator": "auth-username-password-form",
            "flow": None,
            "level": 0,
            "index": 1,
        },
    ]
    assert mfa_enforced(flow) is False
    assert mfa_enforced(flow[:3]) is True


def _account_console(realm: str, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "clientId": "account-console",
        "name": "${client_account-console}",
        "rootUrl": "${authBaseUrl}",
        "redirectUris": [f"/realms/{realm}/account/*"],
        "webOrigins": [],
        "publicClient": True,
        "bearerOnly": False,
        "standardFlowEnabled": True,
        "directAccessGrantsEnabled": False,
        "implicitFlowEnabled": False,
        "serviceAccountsEnabled": False,
        "attributes": {"realm_client": "false", "pkce.code.challenge.method": "S256"},
    }
    return {**base, **changes}


def test_builtin_identity_is_more_than_the_name() -> None:
    assert builtin_identity(_account_console("app"), "app") == "account-console"
    assert builtin_identity(_account_console("app", redirectUris=["/realms/app/account/*", "*"]), "app") is None
    assert builtin_identity(_account_console("app"), "other") is None  # another realm's path
    assert builtin_identity(_account_console("app", rootUrl="https://evil.example"), "app") is None
    assert builtin_identity(_account_console("app", webOrigins=["*"]), "app") is None


def test_password_policy_parsing_and_redirects() -> None:
    assert parse_password_policy("length(14) and notUsername and passwordHistory(5)") == {
        "length": "14",
        "notUsername": "",
        "passwordHistory": "5",
    }
    assert redirect_problem("https://app.example.com/cb") is None
    assert redirect_problem("http://localhost:8080/cb") is None
    assert redirect_problem("http://127.0.0.1/cb") is None
    assert redirect_problem("http://app.example.com/cb") is not None
    assert redirect_problem("https://*.example.com/cb") is not None
    assert redirect_problem("com.example.app:/oauth2redirect") is None


def test_secret_stripping_keeps_settings() -> None:
    stripped = strip_secrets(
        {"passwordPolicy": "length(12)", "bindCredential": ["x"], "use.refresh.tokens": "true", "secret": "s",
         "validateSignature": "true", "clientSecret": "c", "privateKey": ["k"], "revokeRefreshToken": True}
    )  # fmt: skip
    assert stripped == {
        "passwordPolicy": "length(12)",
        "bindCredential": REDACTED,
        "use.refresh.tokens": "true",
        "secret": REDACTED,
        "validateSignature": "true",
        "clientSecret": REDACTED,
        "privateKey": REDACTED,
        "revokeRefreshToken": True,
    }
    shaped = client({"clientId": "c", "secret": "s3cr3t", "registrationAccessToken": "t", "attributes": {}})
    assert "secret" not in shaped and "registrationAccessToken" not in shaped and shaped["secret_set"] is True


def test_target_parsing() -> None:
    target = PLUGIN.parse_target("sso.example:8443/auth?realms=a,b&client_id=sovscan")
    assert (target.id, target.url, dict(target.options)) == (
        "sso.example:8443/auth",
        "https://sso.example:8443/auth",
        {"realms": "a,b", "client_id": "sovscan"},
    )
    assert PLUGIN.target_uri(target) == "keycloak://sso.example:8443"
    assert PLUGIN.target_uri(PLUGIN.parse_target("https://sso.example")) == "keycloak://sso.example"
    for bad, message in [
        ("https://u:p@sso.example", "credentials"),
        ("https://sso.example?client_secret=x", "client_secret"),
        ("https://sso.example?nosuch=1", "unknown Keycloak option"),
        ("https://sso.example/admin/realms/x", "base URL"),
        ("ftp://sso.example", "https://"),
    ]:
        with pytest.raises(ConfigError, match=message):
            PLUGIN.parse_target(bad)
    offline = PLUGIN.parse_target("export:/tmp/realm.json")
    assert PLUGIN.target_uri(offline) == "keycloak-export://realm.json"


def test_inventory_schema_knows_keycloak_options() -> None:
    schema = json.loads((ROOT / "scanner" / "schema" / "inventory.schema.json").read_text(encoding="utf-8"))
    good = {"apiVersion": "sovscan/v1", "kind": "Inventory", "targets": [
        {"kind": "keycloak", "url": "https://sso.example", "options": {"realms": ["a"], "client_id": "s"},
         "credentials": {"client_secret": "env:X"}}]}  # fmt: skip
    jsonschema.validate(good, schema)
    for bad in ({"options": {"realm": "a"}}, {"credentials": {"token": "env:X"}}):
        doc = json.loads(json.dumps(good))
        doc["targets"][0].update(bad)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)


def test_demo_evidence_matches_the_contract_and_holds_no_secret() -> None:
    """examples/evidence/sso-*.json (collected from the real test server by scripts/make-demo-evidence)."""
    from checks.keycloak.contract import CONTRACT
    from scanner import evidence as evidence_io
    from tests.keycloak.realms import PLANTED

    (path,) = sorted((ROOT / "examples" / "evidence").glob("sso-*.json"))
    text = path.read_text(encoding="utf-8")
    assert not [name for name, value in PLANTED.items() if value in text]
    evidence, _labels = evidence_io.from_document(json.loads(text), str(path))
    assert evidence.kind == "keycloak" and evidence.uri == "keycloak://sso.example"
    for name, schema in CONTRACT.items():
        jsonschema.validate(evidence.sections[name], schema)
    manifest = (ROOT / "examples" / "evidence" / "SHA256SUMS").read_text(encoding="utf-8")
    assert path.name in manifest
