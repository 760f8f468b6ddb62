"""Keycloak's own built-in clients and privileged roles, as exact identities.

A built-in client is recognised by everything Keycloak gives it when it creates a realm (its
`clientId` AND its display name, root URL, redirect URIs, client type and flow switches, as
Keycloak 26 creates them), never by `clientId` alone: a client an attacker (or a careless
admin) creates or edits into `account-console` with a wildcard redirect URI is not the built-in
and is judged like any other client. What each built-in is allowed, and why, is in
`EXEMPT_REASONS` (the baseline repeats the reasons).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BuiltinClient:
    """The identity of one built-in client as Keycloak 26 creates it (`{realm}` is the realm name)."""

    client_id: str
    name: str
    root_url: str | None
    redirect_uris: tuple[str, ...]
    public_client: bool
    bearer_only: bool
    standard_flow: bool
    direct_access_grants: bool
    realm_client: bool


BUILTIN_CLIENTS: tuple[BuiltinClient, ...] = (
    BuiltinClient(
        "account", "${client_account}", "${authBaseUrl}", ("/realms/{realm}/account/*",), True, False, True, False,
        False,
    ),
    BuiltinClient(
        "account-console",
        "${client_account-console}",
        "${authBaseUrl}",
        ("/realms/{realm}/account/*",),
        True,
        False,
        True,
        False,
        False,
    ),
    BuiltinClient("admin-cli", "${client_admin-cli}", None, (), True, False, False, True, False),
    BuiltinClient("broker", "${client_broker}", None, (), False, True, True, False, True),
    BuiltinClient("realm-management", "${client_realm-management}", None, (), False, True, True, False, True),
    BuiltinClient(
        "security-admin-console",
        "${client_security-admin-console}",
        "${authAdminUrl}",
        ("/admin/{realm}/console/*",),
        True,
        False,
        True,
        False,
        False,
    ),
)  # fmt: skip
"""The built-in clients of every realm (the master realm also has `<realm>-realm` clients)."""

EXEMPT_REASONS: Mapping[str, str] = {
    "redirect_wildcard": (
        "Keycloak's own account and admin consoles redirect to a path under Keycloak's own origin "
        "(`${authBaseUrl}` / `${authAdminUrl}`), which an attacker cannot choose"
    ),
    "pkce_account": (
        "the built-in `account` client only links to the account console on Keycloak's own origin; "
        "the console itself (`account-console`) uses PKCE S256"
    ),
    "direct_grants_admin_cli": (
        "`admin-cli` is Keycloak's command-line client (kcadm): it has no redirect URIs and no "
        "browser flow, so the password grant is its only way in"
    ),
    "full_scope": (
        "`admin-cli` and `security-admin-console` carry the administrator's own roles: they need the "
        "full scope to act for the signed-in admin, and neither can get a token without that admin's login"
    ),
}
"""Why a built-in client may do what the baseline forbids for other clients."""


def _as_bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def builtin_identity(client: Mapping[str, Any], realm: str) -> str | None:
    """The built-in client this client is, by its full identity; None when it is not exactly one.

    Realm clients of the master realm (`<realm>-realm`) are built-in when they are bearer-only,
    carry `realm_client: true` and Keycloak's display name `<realm> Realm`.
    """
    client_id = str(client.get("clientId") or "")
    attributes = client.get("attributes") or {}
    for builtin in BUILTIN_CLIENTS:
        if builtin.client_id != client_id:
            continue
        redirects = tuple(sorted(str(u) for u in client.get("redirectUris") or []))
        expected = tuple(sorted(u.replace("{realm}", realm) for u in builtin.redirect_uris))
        if (
            client.get("name") == builtin.name
            and (client.get("rootUrl") or None) == builtin.root_url
            and redirects == expected
            and _as_bool(client.get("publicClient")) == builtin.public_client
            and _as_bool(client.get("bearerOnly")) == builtin.bearer_only
            and _as_bool(client.get("standardFlowEnabled")) == builtin.standard_flow
            and _as_bool(client.get("directAccessGrantsEnabled")) == builtin.direct_access_grants
            and not _as_bool(client.get("implicitFlowEnabled"))
            and not _as_bool(client.get("serviceAccountsEnabled"))
            and _as_bool(attributes.get("realm_client", "false")) == builtin.realm_client
            and not [w for w in client.get("webOrigins") or [] if w != "+"]
        ):
            return builtin.client_id
        return None
    if (
        realm == "master"
        and client_id.endswith("-realm")
        and client.get("name") == f"{client_id[: -len('-realm')]} Realm"
        and _as_bool(client.get("bearerOnly"))
        and _as_bool(attributes.get("realm_client"))
        and not client.get("redirectUris")
        and not _as_bool(client.get("serviceAccountsEnabled"))
        and not _as_bool(client.get("publicClient"))
    ):
        return "<realm>-realm"
    return None


REALM_MANAGEMENT = "realm-management"
"""The client holding a realm's admin roles (in the master realm: `<realm>-realm` clients instead)."""

PRIVILEGED_CLIENT_ROLES = frozenset(
    {
        "realm-admin",
        "manage-realm",
        "manage-users",
        "manage-clients",
        "manage-events",
        "manage-identity-providers",
        "manage-authorization",
        "manage-organizations",
        "impersonation",
        "create-client",
    }
)
"""Admin-client roles that change a realm or act as its users (`view-*` / `query-*` only read)."""

MASTER_PRIVILEGED_REALM_ROLES = frozenset({"admin", "create-realm"})
"""Realm roles of the master realm that administer the whole server."""

VIEW_ROLES: tuple[str, ...] = (
    "view-realm",
    "view-clients",
    "view-users",
    "view-events",
    "view-identity-providers",
)
"""The realm-management roles sovscan needs, and nothing more (view-authorization is not needed: no
control reads authorization-services data)."""


def admin_clients(realm: str, client_ids: list[str]) -> list[str]:
    """The clientIds holding admin roles in `realm`: `realm-management`, and in master also `<r>-realm`."""
    if realm == "master":
        return sorted(c for c in client_ids if c.endswith("-realm"))
    return [REALM_MANAGEMENT] if REALM_MANAGEMENT in client_ids else []


def is_privileged(realm: str, client: str | None, role: str) -> bool:
    """Whether a role (realm role when `client` is None) administers the realm or the server."""
    if client is None:
        return realm == "master" and role in MASTER_PRIVILEGED_REALM_ROLES
    if client == REALM_MANAGEMENT or (realm == "master" and client.endswith("-realm")):
        return role in PRIVILEGED_CLIENT_ROLES
    return False
