"""Checks on clients, scopes, roles, service accounts, identity providers, keys, federation, the
master realm and the server version. Built-in clients are recognised by identity
(`checks.keycloak.builtins`), never by name alone."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from checks.keycloak import roles
from checks.keycloak.builtins import EXEMPT_REASONS, builtin_identity, is_privileged
from checks.keycloak.common import (
    SCOPE,
    client_resource,
    each_realm,
    first,
    realm_resource,
    sub_resource,
    truthy,
)
from scanner import floors
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

_STRS = {"type": "array", "items": {"type": "string"}}
_INT = {"type": "integer", "minimum": 0}


def _clients(evidence: Evidence) -> Iterable[tuple[str, Mapping[str, Any] | None, CheckResult | None]]:
    """(realm, client, None) for every client of every realm; (realm, None, ERROR) for unread realms."""
    for realm, clients, error in each_realm(evidence, "clients"):
        if error is not None:
            yield realm, None, error
            continue
        for client in clients:
            yield realm, client, None


def _user_facing(client: Mapping[str, Any]) -> bool:
    """Whether people sign in through the client (any browser, password, device or CIBA grant)."""
    attributes = client.get("attributes") or {}
    return not truthy(client.get("bearerOnly")) and (
        truthy(client.get("standardFlowEnabled"))
        or truthy(client.get("implicitFlowEnabled"))
        or truthy(client.get("directAccessGrantsEnabled"))
        or truthy(attributes.get("oauth2.device.authorization.grant.enabled"))
        or truthy(attributes.get("oidc.ciba.grant.enabled"))
    )


def _browser(client: Mapping[str, Any]) -> bool:
    return not truthy(client.get("bearerOnly")) and (
        truthy(client.get("standardFlowEnabled")) or truthy(client.get("implicitFlowEnabled"))
    )


@check("keycloak.pkce", needs=(SCOPE, "clients"), params={"confidential_too": {"type": "boolean"}})
def pkce(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Public clients using the authorization code flow enforce PKCE with S256 (confidential ones too, by parameter)."""
    confidential = bool(params.get("confidential_too", False))
    for realm, client, error in _clients(evidence):
        if error is not None or client is None:
            yield error  # type: ignore[misc]
            continue
        if not truthy(client.get("standardFlowEnabled")) or truthy(client.get("bearerOnly")):
            continue
        public = truthy(client.get("publicClient"))
        if not public and not confidential:
            continue
        resource = client_resource(evidence, realm, client)
        method = (client.get("attributes") or {}).get("pkce.code.challenge.method") or None
        if method == "S256":
            yield CheckResult(resource, Status.PASS, "PKCE S256 enforced", method, "S256")
        elif builtin_identity(client, realm) == "account":
            yield CheckResult(
                resource, Status.PASS, f"built-in client: {EXEMPT_REASONS['pkce_account']}", method, "S256"
            )
        else:
            kind = "public" if public else "confidential"
            yield CheckResult(
                resource, Status.FAIL, f"{kind} client without PKCE S256 (method: {method or 'none'})", method, "S256"
            )


def _local(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redirect_problem(uri: str) -> str | None:
    """Why a redirect URI is unsafe, or None. Wildcards, plain HTTP to non-local hosts."""
    if uri == "+":
        return None
    if "*" in uri:
        return f"wildcard in '{uri}'"
    split = urlsplit(uri)
    scheme = split.scheme.lower()
    if scheme == "http" and not _local(split.hostname or ""):
        return f"plain HTTP to a non-local host in '{uri}'"
    return None


@check("keycloak.redirect_uris", needs=(SCOPE, "clients"))
def redirect_uris(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Browser clients' redirect URIs (and post-logout redirect URIs) are exact HTTPS (or local) URIs."""
    for realm, client, error in _clients(evidence):
        if error is not None or client is None:
            yield error  # type: ignore[misc]
            continue
        if not _browser(client):
            continue
        resource = client_resource(evidence, realm, client)
        uris = list(client.get("redirectUris") or [])
        logout = str((client.get("attributes") or {}).get("post.logout.redirect.uris") or "")
        uris += [u for u in logout.split("##") if u]
        problems = [p for p in (redirect_problem(u) for u in uris) if p]
        if not uris:
            yield CheckResult(resource, Status.PASS, "no redirect URIs: the code flow cannot redirect anywhere", uris)
        elif problems and builtin_identity(client, realm) in ("account", "account-console", "security-admin-console"):
            yield CheckResult(resource, Status.PASS, f"built-in client: {EXEMPT_REASONS['redirect_wildcard']}", uris)
        elif problems:
            yield CheckResult(resource, Status.FAIL, "; ".join(problems), uris, "exact https:// (or loopback) URIs")
        else:
            yield CheckResult(resource, Status.PASS, "redirect URIs are exact", uris)


@check("keycloak.web_origins", needs=(SCOPE, "clients"))
def web_origins(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No client allows every web origin (`*`) for CORS."""
    for realm, client, error in _clients(evidence):
        if error is not None or client is None:
            yield error  # type: ignore[misc]
            continue
        origins = list(client.get("webOrigins") or [])
        if not origins:
            continue
        resource = client_resource(evidence, realm, client)
        bad = [o for o in origins if "*" in o]
        if bad:
            yield CheckResult(resource, Status.FAIL, f"wildcard web origin(s): {', '.join(bad)}", origins, "no '*'")
        else:
            yield CheckResult(resource, Status.PASS, "web origins are explicit", origins)


def _flag_check(
    evidence: Evidence, flag: str, what: str, exempt: Mapping[str, str] | None = None
) -> Iterable[CheckResult]:
    for realm, client, error in _clients(evidence):
        if error is not None or client is None:
            yield error  # type: ignore[misc]
            continue
        if truthy(client.get("bearerOnly")):
            continue
        resource = client_resource(evidence, realm, client)
        on = truthy(client.get(flag))
        builtin = builtin_identity(client, realm)
        if on and exempt and builtin is not None and builtin in exempt:
            yield CheckResult(resource, Status.PASS, f"built-in client: {exempt[builtin]}", on, False)
        elif on:
            yield CheckResult(resource, Status.FAIL, f"{what} is enabled", on, False)
        else:
            yield CheckResult(resource, Status.PASS, f"{what} is off", on, False)


@check("keycloak.implicit_flow", needs=(SCOPE, "clients"))
def implicit_flow(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No client uses the implicit flow (RFC 9700: tokens in the URL fragment)."""
    return _flag_check(evidence, "implicitFlowEnabled", "the implicit flow")


@check("keycloak.direct_grants", needs=(SCOPE, "clients"))
def direct_grants(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No client accepts users' passwords directly (resource owner password grant), except built-in admin-cli."""
    return _flag_check(
        evidence,
        "directAccessGrantsEnabled",
        "the password grant (direct access grants)",
        {"admin-cli": EXEMPT_REASONS["direct_grants_admin_cli"]},
    )


@check("keycloak.full_scope", needs=(SCOPE, "clients"))
def full_scope(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Clients people sign in through do not put every role of the user into their tokens."""
    exempt = {"admin-cli": EXEMPT_REASONS["full_scope"], "security-admin-console": EXEMPT_REASONS["full_scope"]}
    for realm, client, error in _clients(evidence):
        if error is not None or client is None:
            yield error  # type: ignore[misc]
            continue
        if not _user_facing(client):
            continue  # service-account-only or bearer-only: its tokens carry only its own account's roles
        resource = client_resource(evidence, realm, client)
        on = truthy(client.get("fullScopeAllowed"))
        builtin = builtin_identity(client, realm)
        if on and builtin in exempt:
            yield CheckResult(resource, Status.PASS, f"built-in client: {exempt[str(builtin)]}", on, False)
        elif on:
            yield CheckResult(
                resource, Status.FAIL, "full scope allowed: tokens carry every role of the user", on, False
            )
        else:
            yield CheckResult(resource, Status.PASS, "scope limited to mapped roles", on, False)


@check("keycloak.client_authentication", needs=(SCOPE, "clients"), params={"allowed": _STRS})
def client_authentication(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Confidential clients authenticate with an allowed method (signed JWT / mTLS when the parameter says so)."""
    allowed = list(params.get("allowed", ["client-jwt", "client-x509", "client-secret-jwt", "client-secret"]))
    for realm, client, error in _clients(evidence):
        if error is not None or client is None:
            yield error  # type: ignore[misc]
            continue
        if truthy(client.get("publicClient")) or truthy(client.get("bearerOnly")):
            continue
        resource = client_resource(evidence, realm, client)
        method = str(client.get("clientAuthenticatorType") or "client-secret")
        status = Status.PASS if method in allowed else Status.FAIL
        yield CheckResult(resource, status, f"client authenticates with {method}", method, allowed)


def _named(keys: Iterable[roles.RoleKey]) -> list[str]:
    return sorted(name if client is None else f"{client}:{name}" for client, name in keys)


@check("keycloak.service_account_privileges", needs=(SCOPE, "service_accounts"))
def service_account_privileges(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No service account holds realm-admin, a manage-* role, impersonation or the master admin role."""
    for realm, accounts, error in each_realm(evidence, "service_accounts"):
        if error is not None:
            yield error
            continue
        for account in accounts:
            resource = sub_resource(
                evidence, realm, "service_account", "clients", str(account.get("client_id")), "service-account"
            )
            held = roles.keys_of(account.get("effective_roles"))
            bad = {key for key in held if is_privileged(realm, key[0], key[1])}
            if bad:
                yield CheckResult(
                    resource,
                    Status.FAIL,
                    f"service account of '{account.get('client_id')}' holds {', '.join(_named(bad))}: "
                    "whoever has the client secret administers the realm",
                    _named(bad),
                    "no admin role",
                )
            else:
                yield CheckResult(resource, Status.PASS, "service account holds no admin role", _named(held))


@check("keycloak.default_roles", needs=(SCOPE, "roles"))
def default_roles(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The default roles (granted to every new user) contain no admin-client role and no master admin role."""
    for realm, data, error in each_realm(evidence, "roles"):
        if error is not None:
            yield error
            continue
        default = data.get("default_role") or f"default-roles-{realm}"
        edges = roles.graph(data)
        resource = sub_resource(evidence, realm, "role", "roles", str(default))
        if (None, default) not in edges:
            yield CheckResult(resource, Status.ERROR, f"default role '{default}' is not among the realm roles read")
            continue
        granted = roles.expand(edges, [(None, default)])
        admin_clients = set(data.get("client") or {})
        bad = {k for k in granted if (k[0] in admin_clients) or is_privileged(realm, k[0], k[1])}
        if bad:
            yield CheckResult(
                resource, Status.FAIL, f"every new user gets {', '.join(_named(bad))}", _named(bad), "no admin roles"
            )
        else:
            yield CheckResult(
                resource, Status.PASS, "default roles grant no admin role", _named(granted - {(None, default)})
            )


@check("keycloak.offline_access_default", needs=(SCOPE, "client_scopes", "clients"))
def offline_access_default(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """`offline_access` is an optional scope, never a default one (realm-wide or per client)."""
    for realm, scopes, error in each_realm(evidence, "client_scopes"):
        if error is not None:
            yield error
            continue
        resource = realm_resource(evidence, realm)
        default = list(scopes.get("default") or [])
        if "offline_access" in default:
            yield CheckResult(resource, Status.FAIL, "offline_access is a default client scope of the realm", default)
        else:
            yield CheckResult(resource, Status.PASS, "offline_access is not a realm default scope", default)
    for realm, client, error in _clients(evidence):
        if error is not None or client is None:
            yield error  # type: ignore[misc]
            continue
        if "offline_access" in (client.get("defaultClientScopes") or []):
            yield CheckResult(
                client_resource(evidence, realm, client),
                Status.FAIL,
                "offline_access is a default scope of the client: every login gets an offline token",
                client.get("defaultClientScopes"),
            )


@check("keycloak.identity_providers", needs=(SCOPE, "identity_providers"))
def identity_providers(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Identity providers do not trust their emails, validate signatures and use PKCE (OIDC)."""
    for realm, providers, error in each_realm(evidence, "identity_providers"):
        if error is not None:
            yield error
            continue
        for provider in providers:
            resource = sub_resource(
                evidence, realm, "identity_provider", "identity-providers", str(provider.get("alias"))
            )
            config = provider.get("config") or {}
            kind = str(provider.get("providerId") or "")
            problems = []
            if truthy(provider.get("trustEmail")):
                problems.append("emails from it are trusted as verified (account takeover by email)")
            if kind in ("oidc", "keycloak-oidc"):
                if not truthy(config.get("validateSignature")):
                    problems.append("token signatures are not validated")
                if not truthy(config.get("pkceEnabled")) or str(config.get("pkceMethod") or "S256") != "S256":
                    problems.append("no PKCE S256")
            elif kind == "saml" and not truthy(config.get("validateSignature")):
                problems.append("SAML signatures are not validated")
            observed = {
                "trustEmail": provider.get("trustEmail"),
                **{k: config.get(k) for k in ("validateSignature", "pkceEnabled", "pkceMethod")},
            }
            if problems:
                yield CheckResult(resource, Status.FAIL, "; ".join(problems), observed)
            else:
                yield CheckResult(resource, Status.PASS, "identity provider is verified strictly", observed)


@check("keycloak.signing_keys", needs=(SCOPE, "keys"), params={"min_rsa_bits": _INT, "min_ec_bits": _INT})
def signing_keys(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Enabled RSA and EC keys are long enough (RSA >= 2048 bits by default; BSI TR-02102: 3072)."""
    min_rsa = int(params.get("min_rsa_bits", 2048))
    min_ec = int(params.get("min_ec_bits", 256))
    for realm, data, error in each_realm(evidence, "keys"):
        if error is not None:
            yield error
            continue
        for key in data.get("keys") or []:
            if key.get("type") not in ("RSA", "EC") or str(key.get("status")) == "DISABLED":
                continue
            name = str(key.get("provider_name") or key.get("providerId"))
            resource = sub_resource(evidence, realm, "key", "keys", name, str(key.get("algorithm")))
            bits = key.get("bits")
            minimum = min_rsa if key.get("type") == "RSA" else min_ec
            if not isinstance(bits, int):
                yield CheckResult(resource, Status.ERROR, f"size of {key.get('type')} key '{name}' could not be read")
            elif bits < minimum:
                yield CheckResult(
                    resource,
                    Status.FAIL,
                    f"{key.get('type')} key '{name}' has {bits} bits (< {minimum})",
                    bits,
                    f">= {minimum}",
                )
            else:
                yield CheckResult(
                    resource, Status.PASS, f"{key.get('type')} key '{name}' has {bits} bits", bits, f">= {minimum}"
                )


@check("keycloak.ldap_tls", needs=(SCOPE, "components"))
def ldap_tls(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """LDAP user federation connects over ldaps:// or StartTLS."""
    for realm, components, error in each_realm(evidence, "components"):
        if error is not None:
            yield error
            continue
        for component in components:
            if (
                component.get("providerType") != "org.keycloak.storage.UserStorageProvider"
                or component.get("providerId") != "ldap"
            ):
                continue
            config = component.get("config") or {}
            url = str(first(config.get("connectionUrl")) or "")
            resource = sub_resource(evidence, realm, "user_federation", "user-federation", str(component.get("name")))
            observed = {
                "connectionUrl": url,
                "startTls": first(config.get("startTls")),
                "enabled": first(config.get("enabled")),
            }
            secure = all(u.strip().lower().startswith("ldaps://") for u in url.split() if u) and bool(url.strip())
            if secure or truthy(config.get("startTls")):
                yield CheckResult(resource, Status.PASS, "LDAP connection is encrypted", observed)
            else:
                yield CheckResult(
                    resource,
                    Status.FAIL,
                    "LDAP over plain ldap:// without StartTLS: bind password and user data travel in clear",
                    observed,
                    "ldaps:// or startTls",
                )


def _master_only(evidence: Evidence) -> Iterable[CheckResult]:
    """NOT_APPLICABLE when the master realm is not among the scanned realms."""
    if "master" not in set(evidence.section(SCOPE).get("realms") or []):
        yield CheckResult(
            evidence.resource("realm", "master", "realms/master"),
            Status.NOT_APPLICABLE,
            "the master realm is not among the scanned realms",
        )


@check("keycloak.bootstrap_admin", needs=(SCOPE, "users"))
def bootstrap_admin(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The temporary bootstrap admin of the master realm has been replaced and deleted."""
    yield from _master_only(evidence)
    for realm, data, error in each_realm(evidence, "users"):
        if realm != "master":
            continue
        if error is not None:
            yield error
            continue
        resource = realm_resource(evidence, realm)
        temporary = data.get("temporary_admins")
        if temporary is None:
            yield CheckResult(resource, Status.ERROR, "temporary admin accounts were not looked up")
        elif temporary:
            for user in temporary:
                yield CheckResult(
                    sub_resource(evidence, realm, "user", "users", str(user.get("username"))),
                    Status.FAIL,
                    f"temporary bootstrap admin '{user.get('username')}' still exists (attribute is_temporary_admin)",
                    user.get("username"),
                    "none",
                )
        elif not data.get("temporary_admins_complete", True):
            yield CheckResult(resource, Status.ERROR, "the temporary-admin lookup was cut at its limit")
        else:
            yield CheckResult(resource, Status.PASS, "no temporary bootstrap admin")


@check("keycloak.master_clients", needs=(SCOPE, "clients", "service_accounts"))
def master_clients(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The master realm holds only Keycloak's built-in clients (and sovscan's own read-only client)."""
    yield from _master_only(evidence)
    scope = evidence.section(SCOPE)
    scanner_client = scope.get("scanner_client") if scope.get("auth_realm") == "master" else None
    accounts = {realm: (data, err) for realm, data, err in each_realm(evidence, "service_accounts")}
    for realm, clients, error in each_realm(evidence, "clients"):
        if realm != "master":
            continue
        if error is not None:
            yield error
            continue
        sa_data, _sa_error = accounts.get(realm, (None, None))
        for client in clients:
            if builtin_identity(client, realm) is not None:
                continue
            resource = client_resource(evidence, realm, client)
            if client.get("clientId") == scanner_client and not _user_facing(client) and sa_data is not None:
                held = next(
                    (roles.keys_of(a.get("effective_roles")) for a in sa_data if a.get("client_id") == scanner_client),
                    set(),
                )
                if not any(is_privileged(realm, k[0], k[1]) for k in held):
                    yield CheckResult(
                        resource,
                        Status.PASS,
                        "the read-only client this scan signed in with (no admin role, no user login)",
                    )
                    continue
            yield CheckResult(
                resource,
                Status.FAIL,
                f"application client '{client.get('clientId')}' in the master realm: "
                "tokens of the master realm administer every realm",
                client.get("clientId"),
                "only built-in clients",
            )


@check("keycloak.master_users", needs=(SCOPE, "users"), params={"max_users": _INT})
def master_users(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The master realm has no more than `max_users` human users (administrators only)."""
    yield from _master_only(evidence)
    limit = int(params.get("max_users", 3))
    for realm, data, error in each_realm(evidence, "users"):
        if realm != "master":
            continue
        if error is not None:
            yield error
            continue
        resource = realm_resource(evidence, realm)
        count = data.get("count")
        if not isinstance(count, int):
            yield CheckResult(resource, Status.ERROR, "user count not read")
            continue
        status = Status.PASS if count <= limit else Status.FAIL
        yield CheckResult(resource, status, f"{count} human user(s) in the master realm", count, f"<= {limit}")


@check("keycloak.secure_redirect_policy", needs=(SCOPE, "client_policies"))
def secure_redirect_policy(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """An enabled client policy applies the secure-redirect-URIs executor (so new clients cannot add wildcards)."""
    executor = "secure-redirect-uris-enforcer"
    for realm, data, error in each_realm(evidence, "client_policies"):
        if error is not None:
            yield error
            continue
        resource = realm_resource(evidence, realm)
        local = {str(p.get("name")): p for p in data.get("profiles") or []}
        global_list = data.get("global_profiles")
        global_profiles = {str(p.get("name")): p for p in global_list or []}
        unknown = []
        for policy in data.get("policies") or []:
            if not truthy(policy.get("enabled", True)):
                continue
            for name in policy.get("profiles") or []:
                profile = local.get(name) or global_profiles.get(name)
                if profile is None:
                    unknown.append(name)
                elif executor in (profile.get("executors") or []):
                    yield CheckResult(
                        resource,
                        Status.PASS,
                        f"client policy '{policy.get('name')}' enforces secure redirect URIs (profile '{name}')",
                        name,
                    )
                    break
            else:
                continue
            break
        else:
            if unknown and global_list is None:
                yield CheckResult(
                    resource,
                    Status.ERROR,
                    f"policies use profiles not in the input ({', '.join(sorted(set(unknown)))}; "
                    "global profiles are not in a realm export)",
                )
            else:
                yield CheckResult(
                    resource, Status.FAIL, f"no enabled client policy applies the {executor} executor", None, executor
                )


@check("keycloak.privileged_holders", needs=(SCOPE, "privileged_holders"), params={"max_holders": _INT})
def privileged_holders(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Few people hold admin roles (realm-admin, manage-*, impersonation; master admin), by any path."""
    limit = int(params.get("max_holders", 5))
    for realm, data, error in each_realm(evidence, "privileged_holders"):
        if error is not None:
            yield error
            continue
        resource = realm_resource(evidence, realm)
        humans = sorted(
            {
                str(h.get("username"))
                for r in data.get("roles") or []
                for h in r.get("holders") or []
                if not h.get("service_account")
            }
        )
        if len(humans) > limit:
            yield CheckResult(
                resource, Status.FAIL, f"{len(humans)} people hold admin roles (> {limit})", humans, f"<= {limit}"
            )
        elif not data.get("complete", True):
            yield CheckResult(
                resource, Status.ERROR, f"admin-role holders were listed only up to {data.get('limit')} per role"
            )
        else:
            yield CheckResult(resource, Status.PASS, f"{len(humans)} people hold admin roles", humans, f"<= {limit}")


@check("keycloak.version", needs=(SCOPE, "server_info"), params={"version_floor": dict(floors.FLOOR_SCHEMA)})
def version(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Keycloak is at or above the security floor of its release line (a dated parameter)."""
    resource = evidence.resource("server", evidence.target, "server")
    floor = floors.floor_from_params(params["version_floor"])
    stale = floors.stale_floor_result(
        floor,
        evidence.collected_at,
        evidence.resource("floor", "version floor", "server/version-floor"),
        "Keycloak version floor",
    )
    if stale is not None:
        yield stale
    info = evidence.section("server_info")
    text = info.get("version")
    if text is None:
        yield CheckResult(
            resource, Status.ERROR, str(info.get("version_unavailable") or "the server version was not read")
        )
        return
    parsed = floors.parse_version(text)
    if parsed is None:
        yield CheckResult(resource, Status.ERROR, f"server version {text!r} is not a version")
        return
    judged = floors.judge(parsed, floor)
    yield CheckResult(
        resource, Status.PASS if judged.passes else Status.FAIL, judged.message("Keycloak"), text, floor.describe()
    )


CHECKS = (
    pkce,
    redirect_uris,
    web_origins,
    implicit_flow,
    direct_grants,
    full_scope,
    client_authentication,
    service_account_privileges,
    default_roles,
    offline_access_default,
    identity_providers,
    signing_keys,
    ldap_tls,
    bootstrap_admin,
    master_clients,
    master_users,
    secure_redirect_policy,
    privileged_holders,
    version,
)
"""The client, access and server checks."""
