"""The least privilege sovscan needs in Keycloak: realm-management view roles, never manage-*."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from checks.keycloak import builtins, connect
from checks.keycloak.collect import NEEDS
from scanner.interface import Target

ALWAYS = ("view-realm",)
"""Listing the realms (GET /admin/realms) and reading server info need at least one view role; view-realm."""


def roles_for(sections: Collection[str]) -> list[str]:
    """The realm-management view roles that let sovscan read `sections` (all of them for every section)."""
    wanted: set[str] = set(ALWAYS)
    for section in sections:
        for part in NEEDS.get(section, "").replace(" and ", " ").split():
            if part.startswith("view-"):
                wanted.add(part)
    return [role for role in builtins.VIEW_ROLES if role in wanted]


def least_privilege(target: Target, sections: Collection[str]) -> str:
    """The role list and the kcadm.sh commands granting it (see examples/keycloak/)."""
    options: dict[str, Any] = dict(target.options)
    auth_realm = str(options.get("auth_realm") or "master")
    client_id = str(options.get("client_id") or "sovscan")
    realms = connect.realm_list(options.get("realms")) or ["<realm>"]
    roles = roles_for(sections)
    role_args = " ".join(f"--rolename {r}" for r in roles)
    lines = [
        "# Keycloak grants for sovscan: view roles only (no manage-*, no realm-admin).",
        f"# Client '{client_id}' (confidential, service account on, no browser/password flow) in realm '{auth_realm}'.",
        "# Roles: " + ", ".join(roles),
        f"kcadm.sh create clients -r {auth_realm} -s clientId={client_id} -s publicClient=false "
        "-s serviceAccountsEnabled=true -s standardFlowEnabled=false -s directAccessGrantsEnabled=false",
    ]
    for realm in realms:
        admin_client = f"{realm}-realm" if auth_realm == "master" else "realm-management"
        realm_arg = "master" if auth_realm == "master" else auth_realm
        lines.append(
            f"kcadm.sh add-roles -r {realm_arg} --uusername service-account-{client_id} "
            f"--cclientid {admin_client} {role_args}"
        )
    return "\n".join(lines) + "\n"
