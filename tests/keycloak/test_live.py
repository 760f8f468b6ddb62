"""The collector and the baseline against the real Keycloak test server (tests/services/keycloak.py).

Keycloak's own HTTP access log is the server-side witness of what the collector sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from checks.keycloak import access, builtins, shape
from checks.keycloak.collect import NEEDS
from checks.keycloak.contract import CONTRACT
from checks.keycloak.plugin import PLUGIN
from scanner.errors import CollectionError
from scanner.interface import Secret
from scanner.model import Evidence, Status
from tests.keycloak.conftest import Evaluate, collect_live, live_target, statuses
from tests.keycloak.realms import PLANTED
from tests.services.keycloak import SCANNED_REALMS, SETUP_SCRIPT, KeycloakServer, closed_port


@pytest.fixture(scope="module")
def reader_scan(keycloak_server: KeycloakServer) -> tuple[Evidence, list[tuple[str, str, int]]]:
    """Evidence of the `sovscan` reader over verified HTTPS, and the access-log entries it caused."""
    before = len(keycloak_server.access_log())
    evidence = collect_live(keycloak_server, keycloak_server.secrets["sovscan"])
    requests = int(evidence.metadata["requests"])
    keycloak_server.wait_log_quiet(before + requests)
    return evidence, keycloak_server.access_log()[before:]


def _section_errors(evidence: Evidence) -> dict[str, Any]:
    return {
        name: data["errors"]
        for name, data in evidence.sections.items()
        if isinstance(data, dict) and data.get("errors")
    }


def test_reader_reads_everything_with_view_roles_only(reader_scan: tuple[Evidence, list[Any]]) -> None:
    evidence, _log = reader_scan
    assert evidence.errors == {}
    assert _section_errors(evidence) == {}
    assert evidence.sections["scope"]["realms"] == sorted(SCANNED_REALMS)
    # view roles do not show the version (systemInfo is for master admins only): KC-35 says so, as ERROR
    assert evidence.sections["server_info"]["version"] is None
    assert "only to administrators of the master realm" in evidence.sections["server_info"]["version_unavailable"]
    assert evidence.metadata["tls"]["verified"] is True
    assert "insecure_transport" not in evidence.metadata
    for name, schema in CONTRACT.items():
        jsonschema.validate(evidence.sections[name], schema)


def test_only_gets_after_one_token_request_and_no_403(reader_scan: tuple[Evidence, list[Any]]) -> None:
    """Keycloak's access log: one POST (the token request), every other request a GET, none refused."""
    evidence, log = reader_scan
    assert len(log) == evidence.metadata["requests"], log[:5]
    posts = [entry for entry in log if entry[0] != "GET"]
    assert posts == [("POST", "/realms/master/protocol/openid-connect/token", 200)]
    refused = [entry for entry in log if entry[2] in (401, 403)]
    assert refused == []
    # no listing of all users: user endpoints are counts, role members, group members, or the attribute query
    user_lists = [p for _m, p, _s in log if re.search(r"^/admin/realms/[^/]+/users(\?|$)", p)]
    assert all("q=is_temporary_admin" in p for p in user_lists), user_lists


def test_setup_script_grants_exactly_the_view_roles(keycloak_server: KeycloakServer, reader_scan: Any) -> None:
    """examples/keycloak/setup-sovscan-reader.sh (what the fixture ran) grants exactly the roles sovscan
    says it needs; Keycloak's own answer for the service account confirms it, and sovscan reads the same."""
    script = SETUP_SCRIPT.read_text()
    listed = re.search(r'VIEW_ROLES="([^"]+)"', script)
    assert listed is not None
    assert listed.group(1).split() == list(builtins.VIEW_ROLES)
    assert access.roles_for(NEEDS) == list(builtins.VIEW_ROLES)
    assert "manage-" not in re.sub(r"#.*", "", script)
    token = keycloak_server.admin_token()
    (client,) = keycloak_server.admin("GET", "master/clients?clientId=sovscan", token=token)
    user = keycloak_server.admin("GET", f"master/clients/{client['id']}/service-account-user", token=token)
    mappings = keycloak_server.admin("GET", f"master/users/{user['id']}/role-mappings", token=token)
    granted = {
        client: sorted(r["name"] for r in data["mappings"]) for client, data in mappings["clientMappings"].items()
    }
    assert granted == {f"{realm}-realm": sorted(builtins.VIEW_ROLES) for realm in SCANNED_REALMS}
    evidence, _log = reader_scan
    (mine,) = [a for a in evidence.sections["service_accounts"]["by_realm"]["master"] if a["client_id"] == "sovscan"]
    effective = mine["effective_roles"]["client"]
    for realm in SCANNED_REALMS:
        assert set(builtins.VIEW_ROLES) <= set(effective[f"{realm}-realm"])
        assert not [r for r in effective[f"{realm}-realm"] if not r.startswith(("view-", "query-"))]


def test_hardened_realm_passes_and_weak_fails(reader_scan: tuple[Evidence, list[Any]], evaluate: Evaluate) -> None:
    evidence, _log = reader_scan
    results = evaluate(evidence)
    hardened = statuses(results, "hardened")
    bad = {k: v for k, v in hardened.items() if v not in (Status.PASS, Status.NOT_APPLICABLE)}
    assert bad == {}, {k: results[k[0]][k[1]].message for k in bad}
    weak = statuses(results, "weak")
    expected_fail = {
        ("KC-01", "realms/weak"),
        ("KC-02", "realms/weak"),
        ("KC-03", "realms/weak"),
        ("KC-04", "realms/weak"),
        ("KC-05", "realms/weak"),
        ("KC-06", "realms/weak"),
        ("KC-07", "realms/weak"),
        ("KC-08", "realms/weak"),
        ("KC-09", "realms/weak"),
        ("KC-10", "realms/weak"),
        ("KC-10", "realms/weak/clients/http-app"),
        ("KC-06", "realms/weak/clients/http-app"),
        ("KC-11", "realms/weak"),
        ("KC-12", "realms/weak"),
        ("KC-13", "realms/weak"),
        ("KC-14", "realms/weak/clients/wild"),
        ("KC-15", "realms/weak/clients/wild"),
        ("KC-15", "realms/weak/clients/http-app"),
        ("KC-15", "realms/weak/clients/account-console"),
        ("KC-16", "realms/weak/clients/wild"),
        ("KC-17", "realms/weak/clients/wild"),
        ("KC-18", "realms/weak/clients/wild"),
        ("KC-19", "realms/weak/clients/wild"),
        ("KC-21", "realms/weak/clients/robot/service-account"),
        ("KC-21", "realms/weak/clients/ci-bot/service-account"),
        ("KC-22", "realms/weak/roles/default-roles-weak"),
        ("KC-23", "realms/weak"),
        ("KC-23", "realms/weak/clients/http-app"),
        ("KC-24", "realms/weak/identity-providers/sloppy"),
        ("KC-25", "realms/weak/keys/rsa-1024/RS256"),
        ("KC-26", "realms/weak"),
        ("KC-27", "realms/weak"),
        ("KC-28", "realms/weak"),
        ("KC-32", "realms/weak"),
        ("KC-34", "realms/weak/user-federation/plain-ldap"),
    }
    failing = {k for k, v in weak.items() if v is Status.FAIL}
    assert expected_fail - failing == set(), {k: weak.get(k) for k in expected_fail - failing}
    # the built-in account-console of hardened is exempt; the impostor of weak is not
    assert weak[("KC-15", "realms/weak/clients/account-console")] is Status.FAIL
    assert hardened[("KC-15", "realms/hardened/clients/account-console")] is Status.PASS
    assert "built-in" in results["KC-15"]["realms/hardened/clients/account-console"].message
    # master: the bootstrap admin is still there; sovscan's own read-only client is not an extra client
    master = statuses(results, "master")
    assert master[("KC-29", "realms/master/users/bootstrap-admin")] is Status.FAIL
    assert master[("KC-30", "realms/master/clients/sovscan")] is Status.PASS
    assert master[("KC-06", "realms/master")] is Status.FAIL  # default browser flow: 2FA only if configured


def test_secrets_never_reach_evidence(reader_scan: tuple[Evidence, list[Any]], keycloak_server: KeycloakServer) -> None:
    evidence, _log = reader_scan
    text = repr(evidence.sections) + repr(evidence.metadata) + repr(evidence.errors)
    for value in [*PLANTED.values(), keycloak_server.secrets["sovscan"], keycloak_server.admin_password]:
        assert value not in text
    clients = evidence.sections["clients"]["by_realm"]["weak"]
    robot = next(c for c in clients if c["clientId"] == "robot")
    assert robot["secret_set"] is True and "secret" not in robot
    http_app = next(c for c in clients if c["clientId"] == "http-app")
    assert http_app["attributes"].get("client.secret.rotated") == shape.REDACTED


def test_missing_view_events_is_error_naming_the_role(keycloak_server: KeycloakServer, evaluate: Evaluate) -> None:
    """A service account in realm hardened with every view role but view-events."""
    evidence = collect_live(
        keycloak_server,
        keycloak_server.secrets["sovscan-noevents"],
        auth_realm="hardened",
        client_id="sovscan-noevents",
    )
    assert evidence.sections["scope"]["realms"] == ["hardened"]
    assert "events_config" not in evidence.sections
    assert "needs realm-management view-events" in evidence.errors["events_config"]
    assert "HTTP 403" in evidence.errors["events_config"]
    results = evaluate(evidence)
    for control in ("KC-07", "KC-08"):
        (finding,) = results[control].values()
        assert finding.status is Status.ERROR
        assert "view-events" in finding.message
    assert {f.status for f in results["KC-02"].values()} == {Status.PASS}
    assert _section_errors(evidence) == {}


def test_wrong_secret_is_an_authentication_error(keycloak_server: KeycloakServer) -> None:
    wrong = "not-the-secret-" + "x" * 12
    with pytest.raises(CollectionError) as caught:
        collect_live(keycloak_server, wrong)
    assert caught.value.reason == CollectionError.AUTHENTICATION
    assert "HTTP 401" in caught.value.message and "client id and secret" in caught.value.message
    assert wrong not in str(caught.value)


def test_server_down_is_unreachable(keycloak_server: KeycloakServer) -> None:
    target = replace(PLUGIN.parse_target(f"http://127.0.0.1:{closed_port()}"), options={"client_id": "sovscan"})
    with pytest.raises(CollectionError) as caught:
        PLUGIN.collect(target, {"client_secret": Secret("irrelevant-secret")}, 10)
    assert caught.value.reason == CollectionError.UNREACHABLE
    assert "Connection refused" in caught.value.message


def test_tls_is_verified_and_opting_out_is_reported(keycloak_server: KeycloakServer) -> None:
    secret = {"client_secret": Secret(keycloak_server.secrets["sovscan"])}
    with pytest.raises(CollectionError) as caught:
        PLUGIN.collect(live_target(keycloak_server, ca_cert=None), secret, 30)
    assert caught.value.reason == CollectionError.TLS
    assert "certificate" in caught.value.message and "ca_cert" in caught.value.message
    unverified = PLUGIN.collect(
        live_target(keycloak_server, ca_cert=None, tls_skip_verify=True, realms=["hardened"]), secret, 60
    )
    assert unverified.metadata["insecure_transport"] == [
        "TLS verification disabled by option tls_skip_verify: the identity of the Keycloak server was not verified"
    ]
    plain = PLUGIN.collect(live_target(keycloak_server, https=False, realms=["hardened"]), secret, 60)
    assert plain.metadata["insecure_transport"][0].startswith("plain HTTP")


def test_realm_selection_and_an_unknown_realm(keycloak_server: KeycloakServer, evaluate: Evaluate) -> None:
    evidence = collect_live(keycloak_server, keycloak_server.secrets["sovscan"], realms="weak,nosuch")
    assert evidence.sections["scope"]["realms"] == ["weak", "nosuch"]
    assert "weak" in evidence.sections["realms"]["by_realm"]
    assert "does not exist or the account cannot see it" in evidence.sections["realms"]["errors"]["nosuch"]
    results = evaluate(evidence)
    assert results["KC-01"]["realms/nosuch"].status is Status.ERROR


def test_least_privilege_lists_view_roles_only(keycloak_server: KeycloakServer) -> None:
    text = PLUGIN.least_privilege(live_target(keycloak_server, realms=["a", "b"]), ["events_config", "clients"])
    assert text is not None
    assert "--cclientid a-realm --rolename view-realm --rolename view-clients --rolename view-events" in text
    assert "manage" not in text.replace("no manage-*", "")


def test_evidence_save_and_reread_give_identical_findings(
    reader_scan: tuple[Evidence, list[Any]], evaluate: Evaluate, tmp_path: Path
) -> None:
    from scanner import evidence as evidence_io

    evidence, _log = reader_scan
    path = evidence_io.save(tmp_path, evidence)
    again, _labels = evidence_io.from_document(json.loads(path.read_text(encoding="utf-8")), str(path))
    first = {(c, p): (f.status, f.message) for c, r in evaluate(evidence).items() for p, f in r.items()}
    second = {(c, p): (f.status, f.message) for c, r in evaluate(again).items() for p, f in r.items()}
    assert first == second


def test_user_and_password_login_in_another_realm(keycloak_server: KeycloakServer) -> None:
    """Sites without a service-account client: a user's password through admin-cli (password grant)."""
    password = PLANTED["alice_password"]
    target = replace(
        PLUGIN.parse_target(keycloak_server.url), options={"auth_realm": "hardened", "username": "alice-admin"}
    )
    evidence = PLUGIN.collect(target, {"password": Secret(password)}, 120)
    assert evidence.metadata["account"]["grant"] == "password"
    assert evidence.sections["scope"]["realms"] == ["hardened"]
    assert password not in repr(evidence.sections) + repr(evidence.metadata)
    with pytest.raises(CollectionError) as caught:
        PLUGIN.collect(target, {"password": Secret("wrong-" + password)}, 60)
    assert caught.value.reason == CollectionError.AUTHENTICATION
    assert "username and password" in caught.value.message and password not in caught.value.message


def test_keycloak_environment_conventions(keycloak_server: KeycloakServer, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = keycloak_server.secrets["sovscan"]
    monkeypatch.setenv("KEYCLOAK_CLIENT_ID", "sovscan")
    monkeypatch.setenv("KEYCLOAK_CLIENT_SECRET", secret)
    monkeypatch.setenv("KEYCLOAK_CA_CERT", str(keycloak_server.ca))
    target = replace(PLUGIN.parse_target(keycloak_server.https_url), options={"realms": ["hardened"]})
    assert {k: v.reveal() for k, v in PLUGIN.ambient_credentials(target).items()} == {"KEYCLOAK_CLIENT_SECRET": secret}
    evidence = PLUGIN.collect(target, {}, 120)
    assert evidence.metadata["account"]["source"] == "KEYCLOAK_CLIENT_SECRET"
    assert evidence.metadata["ca_source"] == "KEYCLOAK_CA_CERT"
    monkeypatch.delenv("KEYCLOAK_CLIENT_SECRET")
    with pytest.raises(CollectionError) as caught:
        PLUGIN.collect(target, {}, 30)
    assert caught.value.reason == CollectionError.CREDENTIALS
