"""Offline Keycloak input: realm exports read into the same evidence shape as a live scan.

Accepted: a `kc.sh export --file` file (one realm object, or a list of realms), a
`kc.sh export --dir` directory (`<realm>-realm.json` plus `<realm>-users-<n>.json`), and the
admin console's partial export (one realm, without users; secrets masked). What an export does
not hold is a section error for that realm (for example "the export holds no users"), never an
empty list: the controls that need it are ERROR.

Effective roles are computed the way Keycloak computes them: direct realm and client role
mappings, the role mappings of the user's groups and their parent groups, expanded through
composite roles. Secrets (client secrets, IdP secrets, bind credentials, private keys, user
credentials) are stripped by `checks.keycloak.shape`; key sizes are read from the key material
before it is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from checks.keycloak import builtins, roles, shape
from scanner import __version__
from scanner.errors import CollectionError
from scanner.model import Evidence

MASKED = "**********"
"""How the admin console's partial export (and the admin API) shows a secret."""
PARTIAL_USERS = (
    "the export is the admin console's partial export (secrets masked): it holds only service-account "
    "users, not the realm's people (use `kc.sh export`)"
)
NO_USERS = (
    "the export holds no users (the admin console's partial export has none; use "
    "`kc.sh export --users same_file` or a directory export)"
)


def _load(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise CollectionError(CollectionError.CREDENTIALS, f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CollectionError(CollectionError.PROTOCOL, f"{path}: not JSON ({exc})") from None


def read_realms(path: Path) -> list[dict[str, Any]]:
    """The realm representations of an export file or directory (users merged in from user files)."""
    if path.is_dir():
        realms: dict[str, dict[str, Any]] = {}
        for file in sorted(path.glob("*-realm.json")):
            doc = _load(file)
            if not isinstance(doc, dict) or "realm" not in doc:
                raise CollectionError(CollectionError.PROTOCOL, f"{file}: not a Keycloak realm export")
            realms[str(doc["realm"])] = doc
        if not realms:
            raise CollectionError(CollectionError.PROTOCOL, f"{path}: no <realm>-realm.json files (kc.sh export --dir)")
        for file in sorted(path.glob("*-users-*.json")):
            doc = _load(file)
            if isinstance(doc, dict) and str(doc.get("realm")) in realms:
                realms[str(doc["realm"])].setdefault("users", []).extend(doc.get("users") or [])
        return list(realms.values())
    doc = _load(path)
    items = doc if isinstance(doc, list) else [doc]
    for item in items:
        if not isinstance(item, dict) or not item.get("realm"):
            raise CollectionError(CollectionError.PROTOCOL, f"{path}: not a Keycloak realm export (no 'realm')")
    return items


def _flatten(flows: list[Mapping[str, Any]], top: Mapping[str, Any]) -> list[dict[str, Any]]:
    by_alias = {str(f.get("alias")): f for f in flows}
    out: list[dict[str, Any]] = []

    def walk(flow: Mapping[str, Any], level: int, seen: frozenset[str]) -> None:
        steps = sorted(flow.get("authenticationExecutions") or [], key=lambda e: int(e.get("priority") or 0))
        for index, step in enumerate(steps):
            sub = step.get("flowAlias") if step.get("authenticatorFlow") else None
            out.append(
                shape.execution(step.get("requirement"), None if sub else step.get("authenticator"), sub, level, index)
            )
            if sub and sub in by_alias and sub not in seen:
                walk(by_alias[sub], level + 1, seen | {sub})

    walk(top, 0, frozenset({str(top.get("alias"))}))
    return out


def _components(rep: Mapping[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(raw, normalised) pairs of every component and subcomponent."""
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def walk(groups: Mapping[str, Any], parent: Any) -> None:
        for provider_type, items in (groups or {}).items():
            for item in items or []:
                raw = dict(item)
                raw.setdefault("parentId", parent)
                out.append((raw, shape.component(raw, str(provider_type))))
                walk(item.get("subComponents") or {}, item.get("id"))

    walk(rep.get("components") or {}, rep.get("id"))
    return out


def _role_entry(role: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": role.get("name"), "composite": bool(role.get("composite"))}
    if role.get("composite"):
        entry["composites"] = roles.as_composites(roles.keys_of(role.get("composites")))
    return entry


def _groups(rep: Mapping[str, Any]) -> dict[str, set[roles.RoleKey]]:
    """Group path -> its direct role mappings (subgroups listed under their own path)."""
    found: dict[str, set[roles.RoleKey]] = {}

    def walk(items: Iterable[Mapping[str, Any]], prefix: str) -> None:
        for group in items:
            path = str(group.get("path") or f"{prefix}/{group.get('name')}")
            found[path] = roles.keys_of({"realm": group.get("realmRoles"), "client": group.get("clientRoles")})
            walk(group.get("subGroups") or [], path)

    walk(rep.get("groups") or [], "")
    return found


def _inherited(path: str, groups: Mapping[str, set[roles.RoleKey]]) -> set[roles.RoleKey]:
    """Roles of a group and its ancestors (a subgroup inherits its parents' role mappings)."""
    keys: set[roles.RoleKey] = set()
    parts = [p for p in path.split("/") if p]
    for depth in range(1, len(parts) + 1):
        keys |= groups.get("/" + "/".join(parts[:depth]), set())
    return keys


class _Realm:
    """One realm representation turned into per-realm section data (or errors)."""

    def __init__(self, rep: Mapping[str, Any]) -> None:
        self.rep = rep
        self.name = str(rep.get("realm"))
        self.data: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    def missing(self, section: str, what: str) -> None:
        self.errors[section] = f"the export holds no {what}"

    def build(self) -> None:
        rep = self.rep
        self.data["realms"] = shape.realm_settings(rep)
        if "eventsEnabled" in rep:
            self.data["events_config"] = shape.events_config(rep)
        else:
            self.missing("events_config", "events configuration (eventsEnabled)")
        clients = rep.get("clients")
        if isinstance(clients, list):
            self.data["clients"] = sorted((shape.client(c) for c in clients), key=lambda c: str(c.get("clientId")))
        else:
            self.missing("clients", "clients")
        if isinstance(rep.get("clientScopes"), list):
            self.data["client_scopes"] = {
                "scopes": sorted(
                    (shape.client_scope(s) for s in rep["clientScopes"]), key=lambda s: str(s.get("name"))
                ),
                "default": sorted(str(s) for s in rep.get("defaultDefaultClientScopes") or []),
                "optional": sorted(str(s) for s in rep.get("defaultOptionalClientScopes") or []),
            }
        else:
            self.missing("client_scopes", "client scopes")
        self._roles(clients)
        flows = rep.get("authenticationFlows")
        if isinstance(flows, list):
            self.data["authentication_flows"] = sorted(
                (shape.flow(f, _flatten(flows, f)) for f in flows if f.get("topLevel")),
                key=lambda f: str(f.get("alias")),
            )
        else:
            self.missing("authentication_flows", "authentication flows")
        if isinstance(rep.get("requiredActions"), list):
            self.data["required_actions"] = [shape.required_action(a) for a in rep["requiredActions"]]
        else:
            self.missing("required_actions", "required actions")
        mappers = rep.get("identityProviderMappers") or []
        self.data["identity_providers"] = sorted(
            (
                shape.identity_provider(i, [m for m in mappers if m.get("identityProviderAlias") == i.get("alias")])
                for i in rep.get("identityProviders") or []
            ),
            key=lambda i: str(i.get("alias")),
        )
        if isinstance(rep.get("components"), dict):
            pairs = _components(rep)
            self.data["components"] = [normal for _raw, normal in pairs]
            keys = [
                shape.key_from_component(raw)
                for raw, normal in pairs
                if normal["providerType"] == "org.keycloak.keys.KeyProvider"
            ]
            self.data["keys"] = {
                "keys": sorted(
                    (k for k in keys if k is not None),
                    key=lambda k: (str(k.get("provider_name")), str(k.get("algorithm"))),
                )
            }
        else:
            self.missing("components", "components")
            self.missing("keys", "key providers (components)")
        self.data["client_policies"] = shape.client_policies(
            (rep.get("clientPolicies") or {}).get("policies") or [],
            (rep.get("clientProfiles") or {}).get("profiles") or [],
            None,
        )
        self._users()

    def _roles(self, clients: Any) -> None:
        rep_roles = self.rep.get("roles")
        if not isinstance(rep_roles, dict) or not isinstance(clients, list):
            self.missing("roles", "roles" if isinstance(clients, list) else "clients, so client roles cannot be named")
            return
        client_ids = [str(c.get("clientId")) for c in clients]
        client_roles = rep_roles.get("client") or {}
        admin_clients = builtins.admin_clients(self.name, client_ids)
        self.data["roles"] = {
            "realm": sorted((_role_entry(r) for r in rep_roles.get("realm") or []), key=lambda r: str(r.get("name"))),
            "client": {
                c: sorted((_role_entry(r) for r in client_roles.get(c) or []), key=lambda r: str(r.get("name")))
                for c in admin_clients
            },
            "other_composites": {
                c: sorted((_role_entry(r) for r in items if r.get("composite")), key=lambda r: str(r.get("name")))
                for c, items in sorted(client_roles.items())
                if c not in admin_clients and any(r.get("composite") for r in items or [])
            },
            "default_role": (self.rep.get("defaultRole") or {}).get("name"),
        }
        # the full graph (every client's roles) for effective-role expansion
        full: dict[roles.RoleKey, set[roles.RoleKey]] = {}
        for role in rep_roles.get("realm") or []:
            full[(None, str(role.get("name")))] = roles.keys_of(role.get("composites"))
        for client, items in client_roles.items():
            for role in items or []:
                full[(str(client), str(role.get("name")))] = roles.keys_of(role.get("composites"))
        self.full_graph = full

    def _masked(self) -> bool:
        """Whether secrets are masked: the admin console's partial export, not a kc.sh export."""
        if any(c.get("secret") == MASKED for c in self.rep.get("clients") or []):
            return True
        if any((i.get("config") or {}).get("clientSecret") == MASKED for i in self.rep.get("identityProviders") or []):
            return True
        return any(
            MASKED in (item.get("config") or {}).get("bindCredential", [])
            for item in (self.rep.get("components") or {}).get("org.keycloak.storage.UserStorageProvider", [])
        )

    def _users(self) -> None:
        users = self.rep.get("users")
        if not isinstance(users, list):
            for section in ("service_accounts", "privileged_holders", "users"):
                self.errors[section] = NO_USERS
            return
        partial = self._masked() and all(u.get("serviceAccountClientId") for u in users)
        realm = self.name
        # as GET users/count answers: service-account users are not counted
        self.data["users"] = {"count": len([u for u in users if not u.get("serviceAccountClientId")])}
        if realm == "master":
            self.data["users"]["temporary_admins"] = sorted(
                (
                    {"id": u.get("id"), "username": u.get("username"), "enabled": u.get("enabled", True)}
                    for u in users
                    if "true" in [str(v).lower() for v in (u.get("attributes") or {}).get("is_temporary_admin", [])]
                ),
                key=lambda u: str(u.get("username")),
            )
            self.data["users"]["temporary_admins_complete"] = True
        if "roles" not in self.data:
            reason = self.errors.get("roles", "roles not read")
            self.errors["service_accounts"] = f"roles not read: {reason}"
            self.errors["privileged_holders"] = f"roles not read: {reason}"
            return
        groups = _groups(self.rep)
        admin = set(self.data["roles"]["client"])
        accounts = []
        direct_by_user: dict[str, tuple[Mapping[str, Any], set[roles.RoleKey], list[str]]] = {}
        for user in users:
            direct = roles.keys_of({"realm": user.get("realmRoles"), "client": user.get("clientRoles")})
            paths = [str(g) for g in user.get("groups") or []]
            direct_by_user[str(user.get("id") or user.get("username"))] = (user, direct, paths)
            if user.get("serviceAccountClientId"):
                start = set(direct)
                for path in paths:
                    start |= _inherited(path, groups)
                effective = {key for key in roles.expand(self.full_graph, start) if key[0] is None or key[0] in admin}
                accounts.append(
                    {
                        "client_id": user.get("serviceAccountClientId"),
                        "user_id": user.get("id"),
                        "username": user.get("username"),
                        "effective_roles": roles.as_composites(effective),
                    }
                )
        self.data["service_accounts"] = sorted(accounts, key=lambda s: str(s.get("client_id")))
        if partial:
            del self.data["users"]
            self.errors["users"] = PARTIAL_USERS
            self.errors["privileged_holders"] = PARTIAL_USERS
            return
        # the full graph: a custom role of any client may be a composite holding an admin role
        edges = self.full_graph
        privileged = {key for key in edges if builtins.is_privileged(realm, key[0], key[1])}
        entries = []
        for key in sorted(roles.containing(edges, privileged), key=lambda k: (k[0] or "", k[1])):
            client, name = key
            if key not in edges:
                continue  # a composite naming a role the export does not define
            holder_groups = sorted(path for path, mapped in groups.items() if key in mapped)
            holders: dict[str, dict[str, Any]] = {}
            for user_key, (user, direct, paths) in direct_by_user.items():
                via: str | None = None
                if key in direct:
                    via = None
                else:
                    hits = [p for p in paths if any(p == g or p.startswith(g + "/") for g in holder_groups)]
                    if not hits:
                        continue
                    via = hits[0]
                holders[user_key] = {
                    "id": user.get("id"),
                    "username": user.get("username"),
                    "service_account": bool(user.get("serviceAccountClientId")),
                    "via_group": via,
                }
            entries.append(
                {
                    "role": {"client": client, "name": name},
                    "holders": sorted(holders.values(), key=lambda h: str(h.get("username"))),
                    "groups": holder_groups,
                    "complete": True,
                }
            )
        self.data["privileged_holders"] = {"roles": entries, "complete": True, "limit": None}


def read_export(target_id: str, path: Path) -> Evidence:
    """Read a realm export into evidence (`keycloak-export://<file name>`)."""
    realms = [_Realm(rep) for rep in read_realms(path)]
    for realm in realms:
        realm.build()
    sections: dict[str, Any] = {}
    errors: dict[str, str] = {}
    versions = sorted({str(r.rep.get("keycloakVersion")) for r in realms if r.rep.get("keycloakVersion")})
    if versions:
        sections["server_info"] = {"version": versions[-1], "features": None}
    else:
        errors["server_info"] = "the export names no Keycloak version (keycloakVersion)"
    names = [r.name for r in realms]
    sections["scope"] = {"realms": names, "source": "export", "auth_realm": None}
    for section in shape.PER_REALM_SECTIONS:
        sections[section] = shape.per_realm(
            {r.name: r.data[section] for r in realms if section in r.data},
            {r.name: r.errors[section] for r in realms if section in r.errors},
        )
    return Evidence(
        target=target_id,
        kind="keycloak",
        uri=f"keycloak-export://{path.name}",
        sections=sections,
        errors=errors,
        tool_version=__version__,
        metadata={"source": str(path), "realms": names},
    )
