"""Realm exports made by the real test server (kc.sh export beside the running server, and the admin
console's partial export) give the same evidence shape and the same findings as a live scan."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from checks.keycloak.contract import CONTRACT
from checks.keycloak.offline import NO_USERS, PARTIAL_USERS
from checks.keycloak.plugin import PLUGIN
from scanner.model import Evidence, Status
from tests.keycloak.conftest import Evaluate, collect_live, statuses
from tests.keycloak.realms import PLANTED
from tests.services.keycloak import KeycloakServer

COMPARED = ("hardened", "weak")


@pytest.fixture(scope="module")
def live(keycloak_server: KeycloakServer) -> Evidence:
    return collect_live(keycloak_server, keycloak_server.secrets["sovscan"])


@pytest.fixture(scope="module")
def dir_export(keycloak_server: KeycloakServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`kc.sh export --dir` of every realm (users in separate `<realm>-users-<n>.json` files)."""
    return keycloak_server.export(None, tmp_path_factory.mktemp("kc-dir") / "export", directory=True)


@pytest.fixture(scope="module")
def weak_file(keycloak_server: KeycloakServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`kc.sh export --file --realm weak --users same_file`: one realm, users in the same file."""
    return keycloak_server.export("weak", tmp_path_factory.mktemp("kc-file") / "weak.json")


def _compare(live: dict[tuple[str, str], Status], offline: dict[tuple[str, str], Status]) -> dict[Any, Any]:
    return {k: (live.get(k), offline.get(k)) for k in set(live) | set(offline) if live.get(k) != offline.get(k)}


def test_dir_export_gives_the_live_findings(live: Evidence, dir_export: Path, evaluate: Evaluate) -> None:
    target = PLUGIN.parse_target(f"export:{dir_export}")
    evidence = PLUGIN.collect(target, {}, 60)
    assert evidence.uri == f"keycloak-export://{dir_export.name}"
    for name, schema in CONTRACT.items():
        jsonschema.validate(evidence.sections[name], schema)
    live_results, offline_results = evaluate(live), evaluate(evidence)
    for realm in COMPARED:
        assert _compare(statuses(live_results, realm), statuses(offline_results, realm)) == {}
    # the export has the real secrets in it; the evidence read from it has none
    raw = "".join(p.read_text(encoding="utf-8") for p in dir_export.iterdir())
    assert PLANTED["weak_robot_secret"] in raw and PLANTED["weak_ldap_bind"] in raw
    text = repr(evidence.sections)
    assert not [name for name, value in PLANTED.items() if value in text]
    assert "privateKey" not in text or '"privateKey": "[redacted]"' in json.dumps(evidence.sections)


def test_single_file_export_gives_the_live_findings(live: Evidence, weak_file: Path, evaluate: Evaluate) -> None:
    evidence = PLUGIN.collect(PLUGIN.parse_target(str(weak_file)), {}, 60)
    assert evidence.sections["scope"]["realms"] == ["weak"]
    assert _compare(statuses(evaluate(live), "weak"), statuses(evaluate(evidence), "weak")) == {}


def test_partial_export_without_users_is_error_not_pass(
    keycloak_server: KeycloakServer, live: Evidence, evaluate: Evaluate, tmp_path: Path
) -> None:
    """The admin console's partial export (clients, groups and roles; only service-account users;
    secrets masked): the controls on people are ERROR, the service accounts are judged as live."""
    body = keycloak_server.admin("POST", "weak/partial-export?exportClients=true&exportGroupsAndRoles=true")
    path = tmp_path / "realm-export.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    evidence = PLUGIN.collect(PLUGIN.parse_target(f"export:{path}"), {}, 60)
    assert evidence.sections["users"]["errors"]["weak"] == PARTIAL_USERS
    results = evaluate(evidence)
    assert {f.status for f in results["KC-33"].values()} == {Status.ERROR}
    differences = _compare(statuses(evaluate(live), "weak"), statuses(results, "weak"))
    assert {control for control, _path in differences} == {"KC-06", "KC-33"}, differences
    assert results["KC-21"]["realms/weak/clients/robot/service-account"].status is Status.FAIL
    # a kc.sh export without any users at all: every user-based section is ERROR
    del body["users"]
    path.write_text(json.dumps(body), encoding="utf-8")
    bare = PLUGIN.collect(PLUGIN.parse_target(f"export:{path}"), {}, 60)
    assert bare.sections["service_accounts"]["errors"]["weak"] == NO_USERS


def test_missing_section_in_an_export_is_error(weak_file: Path, tmp_path: Path, evaluate: Evaluate) -> None:
    realm = json.loads(weak_file.read_text(encoding="utf-8"))
    broken = copy.deepcopy(realm)
    del broken["components"], broken["eventsEnabled"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    results = evaluate(PLUGIN.collect(PLUGIN.parse_target(str(path)), {}, 60))
    for control in ("KC-25", "KC-34", "KC-07", "KC-08"):
        (finding,) = results[control].values()
        assert finding.status is Status.ERROR and "the export holds no" in finding.message, control
