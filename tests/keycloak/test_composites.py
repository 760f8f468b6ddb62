"""Admin power held through custom composite roles, judged as the real Keycloak evaluates it.

The fixture (as the bootstrap admin; the collector never writes) adds to realm `weak`:

* client `sidestep-ops` with client role `operator`, a composite holding realm-management
  manage-users, mapped directly to user `sidestep-client-role`;
* realm roles `sidestep-tier1` -> `sidestep-tier2` -> manage-users (two levels), mapped to
  `sidestep-deep`;
* client `sidestep-desk` with client role `desk`, a composite holding realm role `sidestep-tier1`,
  mapped to group `/sidestep-helpdesk`, whose subgroup `/sidestep-helpdesk/night` has member
  `sidestep-group`;
* realm roles `sidestep-loop-a` <-> `sidestep-loop-b` (a composite cycle) and client role
  `sidestep-ops:viewer` (a composite of view-users only), mapped to `sidestep-plain`, who holds no
  admin power;
* user `service-account-sidestep-mallory`, a person (not a client's service account) named like
  one, holding `sidestep-tier2`: counted among the people, by identity, not by name.

Every user of the realm is then compared: sovscan lists a user among the admin-role holders exactly
when Keycloak's own evaluation of the user's effective realm-management roles
(`users/<id>/role-mappings/clients/<realm-management>/composite`) contains realm-admin, a manage-*
role or impersonation. Everything the fixture adds is removed afterwards.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from checks.keycloak.builtins import PRIVILEGED_CLIENT_ROLES
from checks.keycloak.plugin import PLUGIN
from checks.keycloak.roles import containing
from scanner.model import Evidence, Status
from tests.keycloak.conftest import Evaluate, collect_live
from tests.services.keycloak import KeycloakServer

REALM = "weak"
IMPOSTOR = "service-account-sidestep-mallory"
"""A person whose chosen username looks like a service account's: still a person."""
SIDESTEP_USERS = ("sidestep-client-role", "sidestep-deep", "sidestep-group", "sidestep-plain", IMPOSTOR)
POWERFUL = {"sidestep-client-role", "sidestep-deep", "sidestep-group", IMPOSTOR}


class _Setup:
    """The fixture's writes to realm weak (bootstrap admin), undone by `remove`."""

    def __init__(self, server: KeycloakServer, realm: str = REALM) -> None:
        self.server = server
        self.realm = realm
        self.token = server.admin_token()
        self.token_at = time.monotonic()
        self.made: list[str] = []  # admin paths to DELETE afterwards, last made first

    def fresh_token(self) -> str:
        """The bootstrap admin's token, renewed before master's 60 s access-token lifespan ends."""
        if time.monotonic() - self.token_at > 30:
            self.token, self.token_at = self.server.admin_token(), time.monotonic()
        return self.token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return self.server.admin(method, f"{self.realm}/{path}", body, token=self.fresh_token())

    def make(self, collection: str, body: dict[str, Any], lookup: str) -> dict[str, Any]:
        self.call("POST", collection, body)
        found = self.call("GET", lookup)
        item = found[0] if isinstance(found, list) else found
        return dict(item)

    def client(self, client_id: str) -> str:
        made = self.make("clients", {"clientId": client_id, "publicClient": False}, f"clients?clientId={client_id}")
        self.made.append(f"clients/{made['id']}")
        return str(made["id"])

    def realm_role(self, name: str) -> dict[str, Any]:
        role = self.make("roles", {"name": name}, f"roles/{name}")
        self.made.append(f"roles-by-id/{role['id']}")
        return role

    def user(self, name: str) -> str:
        """A user holding only what the test maps: weak's default role (which holds an admin role) is taken away."""
        made = self.make("users", {"username": name, "enabled": True}, f"users?exact=true&username={name}")
        self.made.append(f"users/{made['id']}")
        default = self.server.admin("GET", self.realm, token=self.fresh_token())["defaultRole"]
        self.call("DELETE", f"users/{made['id']}/role-mappings/realm", [default])
        return str(made["id"])

    def remove(self) -> None:
        for path in reversed(self.made):
            # a path may be gone with its parent already (a client's roles, a group's subgroups)
            with contextlib.suppress(RuntimeError):
                self.call("DELETE", path)


@pytest.fixture(scope="module")
def composite_realm(keycloak_server: KeycloakServer) -> Iterator[_Setup]:
    setup = _Setup(keycloak_server)
    try:
        (rm,) = setup.call("GET", "clients?clientId=realm-management")
        manage_users = setup.call("GET", f"clients/{rm['id']}/roles/manage-users")
        view_users = setup.call("GET", f"clients/{rm['id']}/roles/view-users")
        # a custom client role holding manage-users, mapped directly
        ops = setup.client("sidestep-ops")
        operator = setup.make(f"clients/{ops}/roles", {"name": "operator"}, f"clients/{ops}/roles/operator")
        setup.call("POST", f"clients/{ops}/roles/operator/composites", [manage_users])
        viewer = setup.make(f"clients/{ops}/roles", {"name": "viewer"}, f"clients/{ops}/roles/viewer")
        setup.call("POST", f"clients/{ops}/roles/viewer/composites", [view_users])
        # realm roles two levels deep
        tier2 = setup.realm_role("sidestep-tier2")
        setup.call("POST", "roles/sidestep-tier2/composites", [manage_users])
        tier1 = setup.realm_role("sidestep-tier1")
        setup.call("POST", "roles/sidestep-tier1/composites", [tier2])
        # a cycle without admin power
        loop_a, loop_b = setup.realm_role("sidestep-loop-a"), setup.realm_role("sidestep-loop-b")
        setup.call("POST", "roles/sidestep-loop-a/composites", [loop_b])
        setup.call("POST", "roles/sidestep-loop-b/composites", [loop_a])
        # a group (and its subgroup) whose client role holds the realm roles above
        desk_client = setup.client("sidestep-desk")
        desk = setup.make(f"clients/{desk_client}/roles", {"name": "desk"}, f"clients/{desk_client}/roles/desk")
        setup.call("POST", f"clients/{desk_client}/roles/desk/composites", [tier1])
        group = setup.make("groups", {"name": "sidestep-helpdesk"}, "group-by-path/sidestep-helpdesk")
        setup.made.append(f"groups/{group['id']}")
        setup.call("POST", f"groups/{group['id']}/children", {"name": "night"})
        night = setup.call("GET", "group-by-path/sidestep-helpdesk/night")
        setup.call("POST", f"groups/{group['id']}/role-mappings/clients/{desk_client}", [desk])
        users = {name: setup.user(name) for name in SIDESTEP_USERS}
        setup.call("POST", f"users/{users['sidestep-client-role']}/role-mappings/clients/{ops}", [operator])
        setup.call("POST", f"users/{users['sidestep-deep']}/role-mappings/realm", [tier1])
        setup.call("PUT", f"users/{users['sidestep-group']}/groups/{night['id']}")
        setup.call("POST", f"users/{users['sidestep-plain']}/role-mappings/clients/{ops}", [viewer])
        setup.call("POST", f"users/{users['sidestep-plain']}/role-mappings/realm", [loop_a])
        setup.call("POST", f"users/{users[IMPOSTOR]}/role-mappings/realm", [tier2])
        yield setup
    finally:
        setup.remove()


@pytest.fixture(scope="module")
def composite_evidence(keycloak_server: KeycloakServer, composite_realm: _Setup) -> Evidence:
    return collect_live(keycloak_server, keycloak_server.secrets["sovscan"], realms=[REALM])


def _keycloak_says(setup: _Setup) -> dict[str, set[str]]:
    """Username -> the admin roles Keycloak itself says the user holds (its effective-role evaluation)."""
    (rm,) = setup.call("GET", "clients?clientId=realm-management")
    answer: dict[str, set[str]] = {}
    people = setup.call("GET", "users?max=1000&briefRepresentation=true")  # Keycloak lists no service accounts here
    accounts = [
        setup.call("GET", f"clients/{c['id']}/service-account-user")
        for c in setup.call("GET", "clients?max=1000")
        if c.get("serviceAccountsEnabled")
    ]
    for user in people + accounts:
        effective = setup.call("GET", f"users/{user['id']}/role-mappings/clients/{rm['id']}/composite")
        answer[str(user["username"])] = {str(r["name"]) for r in effective} & set(PRIVILEGED_CLIENT_ROLES)
    return answer


def _holders(evidence: Evidence) -> dict[str, set[str]]:
    """Username -> the roles through which sovscan lists the user as an admin-role holder."""
    data = evidence.sections["privileged_holders"]["by_realm"][REALM]
    found: dict[str, set[str]] = {}
    for entry in data["roles"]:
        role = entry["role"]
        label = role["name"] if role.get("client") is None else f"{role['client']}:{role['name']}"
        for holder in entry["holders"]:
            found.setdefault(str(holder["username"]), set()).add(label)
    return found


def test_admin_power_through_custom_composites_is_seen_as_keycloak_evaluates_it(
    composite_realm: _Setup, composite_evidence: Evidence, evaluate: Evaluate
) -> None:
    truth = _keycloak_says(composite_realm)
    assert {name for name in SIDESTEP_USERS if truth.get(name)} == POWERFUL  # the setup does what it says
    holders = _holders(composite_evidence)
    users = set(truth) | set(holders)
    mismatches = {u: (sorted(truth.get(u, ())), sorted(holders.get(u, ()))) for u in users}
    mismatches = {u: v for u, v in mismatches.items() if bool(v[0]) != bool(v[1])}
    assert mismatches == {}, f"user: (Keycloak's admin roles, sovscan's holder roles): {mismatches}"
    assert "sidestep-ops:operator" in holders["sidestep-client-role"]
    assert {"sidestep-tier1"} <= holders["sidestep-deep"]
    assert "sidestep-desk:desk" in holders["sidestep-group"]
    assert "sidestep-plain" not in holders
    entries = composite_evidence.sections["privileged_holders"]["by_realm"][REALM]["roles"]
    (desk,) = [e for e in entries if e["role"] == {"client": "sidestep-desk", "name": "desk"}]
    assert desk["groups"] == ["/sidestep-helpdesk"]
    (member,) = [h for h in desk["holders"] if h["username"] == "sidestep-group"]
    assert member["via_group"] == "/sidestep-helpdesk/night"
    entries_by_user = {h["username"]: h for e in entries for h in e["holders"]}
    assert entries_by_user[IMPOSTOR]["service_account"] is False
    accounts = composite_evidence.sections["service_accounts"]["by_realm"][REALM]
    assert accounts, "the realm has service accounts"
    for account in accounts:
        if account["username"] in entries_by_user:
            assert entries_by_user[account["username"]]["service_account"] is True
    # KC-33 counts them among the realm's admin-role holders (the impostor as a person)
    finding = evaluate(composite_evidence)["KC-33"][f"realms/{REALM}"]
    assert finding.status in (Status.FAIL, Status.PASS)
    assert set(finding.observed or []) >= POWERFUL, finding.observed


def test_a_realm_export_finds_the_same_holders(
    keycloak_server: KeycloakServer,
    composite_evidence: Evidence,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """`kc.sh export` of the same realm (beside the running server) gives the same holders, offline."""
    path = keycloak_server.export(REALM, tmp_path_factory.mktemp("kc-composites") / "weak.json")
    offline = PLUGIN.collect(PLUGIN.parse_target(str(path)), {}, 60)
    assert _holders(offline) == _holders(composite_evidence)


@pytest.fixture(scope="module")
def hardened_default_role(keycloak_server: KeycloakServer) -> Iterator[_Setup]:
    """Realm hardened's default role gets a custom role of client `backend` holding manage-users (removed
    afterwards; a new client cannot be made there: hardened's client policy wants redirect URIs)."""
    setup = _Setup(keycloak_server, "hardened")
    try:
        (rm,) = setup.call("GET", "clients?clientId=realm-management")
        manage_users = setup.call("GET", f"clients/{rm['id']}/roles/manage-users")
        (backend,) = setup.call("GET", "clients?clientId=backend")
        path = f"clients/{backend['id']}/roles"
        role = setup.make(path, {"name": "sidestep-starter"}, f"{path}/sidestep-starter")
        setup.made.append(f"roles-by-id/{role['id']}")
        setup.call("POST", f"{path}/sidestep-starter/composites", [manage_users])
        default = keycloak_server.admin("GET", "hardened", token=setup.fresh_token())["defaultRole"]
        setup.call("POST", f"roles-by-id/{default['id']}/composites", [role])
        yield setup
    finally:
        setup.remove()  # deleting the role takes it out of the default role


def test_an_admin_role_in_the_default_roles_through_a_custom_client_role_fails(
    keycloak_server: KeycloakServer, hardened_default_role: _Setup, evaluate: Evaluate
) -> None:
    evidence = collect_live(keycloak_server, keycloak_server.secrets["sovscan"], realms=["hardened"])
    others = evidence.sections["roles"]["by_realm"]["hardened"]["other_composites"]
    assert "sidestep-starter" in [r["name"] for r in others["backend"]]
    (finding,) = [f for path, f in evaluate(evidence)["KC-22"].items() if path.startswith("realms/hardened/")]
    assert finding.status is Status.FAIL, finding.message  # reached only through backend:sidestep-starter
    assert finding.observed == ["realm-management:manage-users"]


def test_containing_follows_cycles_and_mixed_nesting() -> None:
    admin = ("realm-management", "manage-users")
    edges = {
        (None, "a"): {(None, "b")},
        (None, "b"): {(None, "a"), ("app", "x")},
        ("app", "x"): {admin},
        ("app", "y"): {(None, "c")},
        (None, "c"): {(None, "c")},
        admin: set(),
    }
    assert containing(edges, {admin}) == {(None, "a"), (None, "b"), ("app", "x"), admin}
