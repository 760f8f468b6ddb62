"""The live Keycloak collector: the only code of this target kind that talks to the network.

It signs in with one token request (`POST /realms/<auth realm>/protocol/openid-connect/token`,
client credentials or password grant, through python-keycloak's `KeycloakOpenIDConnection`)
and then sends only GET requests to the admin API (`KeycloakAdmin` on that connection):

* `/admin/serverinfo` (version, features); `/admin/realms` (the realms the account sees);
* per realm: the realm, `events/config`, `clients` (paged), `client-scopes` and the realm's
  default / optional scopes, `roles`, the admin client's roles and every other client's roles
  (`clients/<id>/roles`), composites with their members (`roles-by-id/<id>/composites`),
  `authentication/flows` and each top-level flow's executions,
  `authentication/required-actions`, `identity-provider/instances` and their mappers,
  `components`, `keys`, `client-policies/policies` and `profiles`;
* service-account users of clients (`clients/<id>/service-account-user`) and their effective
  roles as Keycloak computes them (`users/<id>/role-mappings/realm/composite`,
  `.../clients/<admin client>/composite`);
* holders of privileged roles through the role-member endpoints (`roles/<r>/users`,
  `roles/<r>/groups`, `groups/<id>/members`, `groups/<id>/children`), paged, never a listing of
  all users: the privileged roles are realm-admin, manage-*, impersonation (and master's admin)
  and every realm or client role of any client whose composite closure contains one;
  `users/count`; in the master realm the bootstrap admin by attribute (`users?q=is_temporary_admin:true`).

The account needs only realm-management `view-*` roles (for the master realm and cross-realm
scans: the same roles of the `<realm>-realm` clients). A 401/403 on any endpoint becomes an error
for that realm and section naming the missing role; it is never read as "nothing there".
Client secrets, identity-provider secrets, LDAP bind credentials and key material are stripped
by `checks.keycloak.shape` before anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

if TYPE_CHECKING:  # python-keycloak is loaded when a Keycloak target is collected, not at every scan's start
    from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from checks.keycloak import builtins, connect, roles, shape
from scanner import __version__, httpkit
from scanner.errors import CollectionError
from scanner.interface import Secret, Target
from scanner.model import Evidence

DEFAULT_PAGE_SIZE = 100
"""Items per page of paged endpoints (option `page_size`)."""
DEFAULT_MAX_MEMBERS = 1000
"""Holders read at most per privileged role (option `max_members`); beyond it the list is marked incomplete."""

NEEDS: Mapping[str, str] = {
    "realms": "view-realm",
    "events_config": "view-events",
    "clients": "view-clients",
    "client_scopes": "view-clients",
    "roles": "view-realm",
    "authentication_flows": "view-realm",
    "required_actions": "view-realm",
    "identity_providers": "view-identity-providers",
    "components": "view-realm",
    "keys": "view-realm",
    "client_policies": "view-realm",
    "service_accounts": "view-clients and view-users",
    "privileged_holders": "view-users and view-clients",
    "users": "view-users",
}
"""The view role(s) each per-realm section needs."""


class _Denied(Exception):
    """HTTP 401/403 on one endpoint."""

    def __init__(self, path: str, status: int) -> None:
        super().__init__(path)
        self.path = path
        self.status = status


def needed_role(section: str, realm: str, auth_realm: str) -> str:
    """The grant a section of `realm` needs, in Keycloak's words, for an account of `auth_realm`."""
    role = NEEDS[section]
    if auth_realm == "master" and realm != "master":
        return f"role(s) {role} of the client '{realm}-realm' in the master realm"
    if realm == "master":
        return f"role(s) {role} of the client 'master-realm'"
    return f"realm-management {role}"


class _Api:
    """GETs through python-keycloak's connection, each bounded by the target's deadline."""

    def __init__(self, admin: KeycloakAdmin, deadline: httpkit.Deadline) -> None:
        self.admin = admin
        self.connection: KeycloakOpenIDConnection = admin.connection
        self.deadline = deadline
        self.requests = 0

    def get(self, path: str, **params: Any) -> Any:
        """GET an admin path and return its JSON; _Denied on 401/403, RequestFailed otherwise."""
        from keycloak.exceptions import KeycloakError

        self.connection.timeout = max(1, int(self.deadline.request_timeout()))
        self.requests += 1
        try:
            response: requests.Response = self.connection.raw_get(path, **params)
        except KeycloakError as exc:
            cause = exc.__cause__ or exc
            raise httpkit.request_failure(cause, f"reading {_shown(path)}") from None
        except requests.exceptions.RequestException as exc:
            raise httpkit.request_failure(exc, f"reading {_shown(path)}") from None
        status = response.status_code
        if status in (401, 403):
            raise _Denied(path, status)
        if status != 200:
            raise httpkit.status_failure(status, f"GET /{_shown(path)}", httpkit.response_error_text(response))
        try:
            return response.json()
        except ValueError:
            raise httpkit.RequestFailed(f"GET /{_shown(path)} did not return JSON (is this Keycloak?)") from None

    def paged(self, path: str, page_size: int, limit: int | None = None, **params: Any) -> tuple[list[Any], bool]:
        """GET a paged list (`first`/`max`); returns (items, complete) - complete False when `limit` cut it."""
        items: list[Any] = []
        first = 0
        while True:
            size = page_size if limit is None else min(page_size, limit - len(items) + 1)
            page = self.get(path, first=first, max=size, **params)
            if not isinstance(page, list):
                raise httpkit.RequestFailed(f"GET /{_shown(path)} did not return a list")
            items.extend(page)
            if limit is not None and len(items) > limit:
                return items[:limit], False
            if len(page) < size:
                return items, True
            first += len(page)


def _shown(path: str) -> str:
    return path.lstrip("/")


def _q(name: str) -> str:
    return quote(name, safe="")


class Collector:
    """Collects one Keycloak target. Build one per collection."""

    def __init__(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> None:
        self.target = target
        self.secrets = secrets
        self.deadline = httpkit.Deadline(timeout)
        self.options = target.options
        self.page_size = int(self.options.get("page_size", DEFAULT_PAGE_SIZE))
        self.max_members = int(self.options.get("max_members", DEFAULT_MAX_MEMBERS))
        self.data: dict[str, dict[str, Any]] = {name: {} for name in shape.PER_REALM_SECTIONS}
        self.realm_errors: dict[str, dict[str, str]] = {name: {} for name in shape.PER_REALM_SECTIONS}
        self.sections: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.metadata: dict[str, Any] = {}
        self.auth_realm = "master"

    # -- plumbing -----------------------------------------------------------------------

    def _read(self, section: str, realm: str, reader: Callable[[], Any]) -> Any:
        """Run one reader for a realm; store its data or the reason it could not be read."""
        try:
            value = reader()
        except _Denied as exc:
            self.realm_errors[section][realm] = (
                f"permission denied: GET /{_shown(exc.path)} (HTTP {exc.status}) needs "
                f"{needed_role(section, realm, self.auth_realm)}"
            )
            return None
        except httpkit.RequestFailed as exc:
            self.realm_errors[section][realm] = str(exc)
            return None
        self.data[section][realm] = value
        return value

    # -- the collection ----------------------------------------------------------------

    def collect(self) -> Evidence:
        """Read the target; raise CollectionError when it cannot be read at all."""
        connect.check_options(self.options)
        scheme, host, port = httpkit.target_parts(self.target.url)
        if scheme not in ("http", "https") or not host:
            raise CollectionError(CollectionError.PROTOCOL, f"not an http(s) URL: {self.target.url}")
        tls = connect.tls_settings(self.options)
        server_url = self.target.url.rstrip("/") + "/"
        notes = httpkit.insecure_transport(scheme, tls, "the Keycloak server")
        if notes:
            self.metadata["insecure_transport"] = notes
        self.metadata.update({"address": server_url.rstrip("/"), "tls_verify": tls.verify is not False})
        if tls.ca_source:
            self.metadata["ca_source"] = tls.ca_source
        if scheme == "https":
            self.metadata["tls"] = httpkit.tls_handshake(
                host, port, tls, self.deadline, ca_hint="give option ca_cert or KEYCLOAK_CA_CERT"
            )
        login = connect.login(self.secrets, self.options)
        self.auth_realm = login.realm
        self.metadata["account"] = {
            "grant": login.grant,
            "realm": login.realm,
            "client_id": login.client_id,
            "username": login.username,
            "source": login.source,
        }
        from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

        connection = KeycloakOpenIDConnection(
            server_url=server_url,
            realm_name=login.realm,
            user_realm_name=login.realm,
            client_id=login.client_id,
            client_secret_key=login.secret.reveal() if login.grant == "client_credentials" else None,
            username=login.username,
            password=login.secret.reveal() if login.grant == "password" else None,
            grant_type=login.grant,
            verify=tls.verify,
            cert=tls.client_cert,
            timeout=int(max(1, self.deadline.soft_timeout())),
        )
        try:
            self._token(connection, login)
            api = _Api(KeycloakAdmin(connection=connection), self.deadline)
            self._collect_all(api)
            self.metadata["requests"] = api.requests + 1
        finally:
            connection.token = None
            session = getattr(connection, "_s", None)
            if session is not None:
                session.close()
        shown = httpkit.url_host(host)
        default_port = 443 if scheme == "https" else 80
        return Evidence(
            target=self.target.id,
            kind="keycloak",
            uri=keycloak_uri(shown, port, default_port),
            sections=self.sections,
            errors=self.errors,
            tool_version=__version__,
            metadata=self.metadata,
        )

    def _token(self, connection: KeycloakOpenIDConnection, login: connect.Login) -> None:
        """The one non-GET request: the token request. Failures end the collection."""
        from keycloak.exceptions import KeycloakError

        what = f"requesting a token in realm '{login.realm}' for client '{login.client_id}'"
        try:
            connection.keycloak_openid.connection.timeout = max(1, int(self.deadline.request_timeout()))
            connection.get_token()
        except KeycloakError as exc:
            status = getattr(exc, "response_code", None)
            if isinstance(status, int) and status in (400, 401, 403):
                detail = _oauth_error(getattr(exc, "response_body", b""))
                raise CollectionError(
                    CollectionError.AUTHENTICATION,
                    f"{what}: refused (HTTP {status}{': ' + detail if detail else ''}); "
                    "check the "
                    + ("client id and secret" if login.grant == "client_credentials" else "username and password"),
                ) from None
            if isinstance(status, int):
                raise httpkit.status_failure(
                    status, what, _oauth_error(getattr(exc, "response_body", b""))
                ).as_collection_error(what) from None
            cause = exc.__cause__
            if cause is not None:
                raise httpkit.request_failure(cause, what).as_collection_error(what) from None
            raise CollectionError(CollectionError.PROTOCOL, f"{what}: {httpkit.short_error(exc)}") from None
        except httpkit.TRANSPORT_ERRORS as exc:
            raise httpkit.request_failure(exc, what).as_collection_error(what) from None

    def _collect_all(self, api: _Api) -> None:
        try:
            info = api.get("admin/serverinfo")
            self.sections["server_info"] = _server_info(info)
            self.metadata["server_version"] = self.sections["server_info"]["version"]
        except _Denied as exc:
            self.errors["server_info"] = (
                f"permission denied: GET /admin/serverinfo (HTTP {exc.status}) needs any realm-management view role"
            )
        except httpkit.RequestFailed as exc:
            if exc.reason != CollectionError.PROTOCOL:
                raise exc.as_collection_error("reading /admin/serverinfo") from None
            self.errors["server_info"] = str(exc)

        wanted = connect.realm_list(self.options.get("realms"))
        try:
            visible = api.get("admin/realms", briefRepresentation="true")
        except _Denied as exc:
            if self.auth_realm == "master":
                raise CollectionError(
                    CollectionError.PERMISSION,
                    f"GET /admin/realms was refused (HTTP {exc.status}): "
                    "the account holds no realm-management view role",
                ) from None
            # an account of another realm administers only its own realm; Keycloak refuses it the realm list
            visible = [{"realm": self.auth_realm}]
            self.metadata["realms_listed"] = (
                f"GET /admin/realms refused (HTTP {exc.status}): scanning the account's realm"
            )
        except httpkit.RequestFailed as exc:
            raise exc.as_collection_error("reading /admin/realms") from None
        names = sorted(str(r.get("realm")) for r in visible if isinstance(r, Mapping) and r.get("realm"))
        realms = wanted if wanted is not None else names
        if not realms:
            raise CollectionError(
                CollectionError.PERMISSION,
                "the account sees no realm (GET /admin/realms is empty): it holds no realm-management view role",
            )
        self.metadata["realms_visible"] = names
        for realm in realms:
            if realm not in names:
                reason = (
                    f"realm '{realm}' does not exist or the account cannot see it "
                    f"(needs {needed_role('realms', realm, self.auth_realm)})"
                )
                for section in shape.PER_REALM_SECTIONS:
                    self.realm_errors[section][realm] = reason
                continue
            self._realm(api, realm)
        account = self.metadata.get("account") or {}
        self.sections["scope"] = {
            "realms": realms,
            "source": "live",
            "auth_realm": self.auth_realm,
            "scanner_client": account.get("client_id") if account.get("grant") == "client_credentials" else None,
        }
        for section in shape.PER_REALM_SECTIONS:
            by_realm, errors = self.data[section], self.realm_errors[section]
            if not by_realm and errors and len(set(errors.values())) == 1 and len(errors) == len(realms):
                self.errors[section] = next(iter(errors.values()))
            else:
                self.sections[section] = shape.per_realm(by_realm, errors)

    # -- one realm ---------------------------------------------------------------------

    def _realm(self, api: _Api, realm: str) -> None:
        base = f"admin/realms/{_q(realm)}"
        rep = self._read("realms", realm, lambda: api.get(base))
        if rep is not None:
            self.data["realms"][realm] = shape.realm_settings(rep)
        self._read("events_config", realm, lambda: shape.events_config(api.get(f"{base}/events/config")))
        clients_raw = self._read("clients", realm, lambda: api.paged(f"{base}/clients", self.page_size)[0])
        if clients_raw is not None:
            self.data["clients"][realm] = sorted(
                (shape.client(c) for c in clients_raw if isinstance(c, Mapping)), key=lambda c: str(c.get("clientId"))
            )
        clients = self.data["clients"].get(realm)
        by_uuid = {str(c.get("id")): str(c.get("clientId")) for c in clients or []}
        self._read("client_scopes", realm, lambda: self._client_scopes(api, base))
        role_data = self._read("roles", realm, lambda: self._roles(api, base, realm, clients, by_uuid))
        self._read("authentication_flows", realm, lambda: self._flows(api, base))
        self._read(
            "required_actions",
            realm,
            lambda: [shape.required_action(a) for a in api.get(f"{base}/authentication/required-actions")],
        )
        self._read("identity_providers", realm, lambda: self._idps(api, base))
        components = self._read(
            "components", realm, lambda: [shape.component(c) for c in api.get(f"{base}/components")]
        )
        self._read("keys", realm, lambda: self._keys(api, base, components))
        self._read("client_policies", realm, lambda: self._client_policies(api, base))
        if clients is None:
            reason = self.realm_errors["clients"].get(realm, "clients not read")
            self.realm_errors["service_accounts"][realm] = f"clients not read: {reason}"
            self.realm_errors["privileged_holders"][realm] = f"clients not read: {reason}"
        else:
            accounts = self._read("service_accounts", realm, lambda: self._service_accounts(api, base, realm, clients))
            # service-account users by identity (the user ids Keycloak gives the clients), never by username:
            # anyone may name a user `service-account-...`; unknown ones count as people
            account_ids = {str(a.get("user_id")) for a in accounts or []}
            if role_data is None:
                self.realm_errors["privileged_holders"][realm] = (
                    f"roles not read: {self.realm_errors['roles'].get(realm, '')}"
                )
            else:
                self._read(
                    "privileged_holders",
                    realm,
                    lambda: self._holders(api, base, realm, role_data, clients, account_ids),
                )
        self._read("users", realm, lambda: self._users(api, base, realm))

    def _client_scopes(self, api: _Api, base: str) -> dict[str, Any]:
        scopes = [shape.client_scope(s) for s in api.get(f"{base}/client-scopes")]
        default = api.get(f"{base}/default-default-client-scopes")
        optional = api.get(f"{base}/default-optional-client-scopes")
        return {
            "scopes": sorted(scopes, key=lambda s: str(s.get("name"))),
            "default": sorted(str(s.get("name")) for s in default),
            "optional": sorted(str(s.get("name")) for s in optional),
        }

    def _role_entry(self, api: _Api, base: str, rep: Mapping[str, Any], by_uuid: Mapping[str, str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": rep.get("name"), "composite": bool(rep.get("composite"))}
        if rep.get("composite"):
            composite_keys: set[roles.RoleKey] = set()
            for child in api.get(f"{base}/roles-by-id/{_q(str(rep.get('id')))}/composites"):
                if child.get("clientRole"):
                    container = str(child.get("containerId"))
                    composite_keys.add((by_uuid.get(container, container), str(child.get("name"))))
                else:
                    composite_keys.add((None, str(child.get("name"))))
            entry["composites"] = roles.as_composites(composite_keys)
        return entry

    def _roles(
        self,
        api: _Api,
        base: str,
        realm: str,
        clients: list[dict[str, Any]] | None,
        by_uuid: Mapping[str, str],
    ) -> dict[str, Any]:
        if clients is None:
            raise httpkit.RequestFailed(
                f"clients not read ({self.realm_errors['clients'].get(realm, '')}): client roles cannot be named"
            )
        realm_roles, _ = api.paged(f"{base}/roles", self.page_size, briefRepresentation="false")
        out: dict[str, Any] = {
            "realm": sorted(
                (self._role_entry(api, base, r, by_uuid) for r in realm_roles), key=lambda r: str(r.get("name"))
            ),
            "client": {},
            "default_role": (self.data["realms"].get(realm) or {}).get("defaultRole", {}).get("name"),
        }
        ids = {str(c.get("clientId")): str(c.get("id")) for c in clients}
        admin = builtins.admin_clients(realm, list(ids))
        for client_id in admin:
            items = api.get(f"{base}/clients/{_q(ids[client_id])}/roles", briefRepresentation="false")
            out["client"][client_id] = sorted(
                (self._role_entry(api, base, r, by_uuid) for r in items), key=lambda r: str(r.get("name"))
            )
        # every other client's composite roles: a custom client role may hold an admin role
        others: dict[str, list[dict[str, Any]]] = {}
        for client_id, uuid in sorted(ids.items()):
            if client_id in admin:
                continue
            items = api.get(f"{base}/clients/{_q(uuid)}/roles", briefRepresentation="false")
            composites = [self._role_entry(api, base, r, by_uuid) for r in items if r.get("composite")]
            if composites:
                others[client_id] = sorted(composites, key=lambda r: str(r.get("name")))
        out["other_composites"] = others
        return out

    def _flows(self, api: _Api, base: str) -> list[dict[str, Any]]:
        flows = []
        for rep in api.get(f"{base}/authentication/flows"):
            if not rep.get("topLevel", True):
                continue
            executions = [
                shape.execution(
                    e.get("requirement"),
                    None if e.get("authenticationFlow") else e.get("providerId"),
                    e.get("displayName") if e.get("authenticationFlow") else None,
                    int(e.get("level", 0)),
                    int(e.get("index", 0)),
                )
                for e in api.get(f"{base}/authentication/flows/{_q(str(rep.get('alias')))}/executions")
            ]
            flows.append(shape.flow(rep, executions))
        return sorted(flows, key=lambda f: str(f.get("alias")))

    def _idps(self, api: _Api, base: str) -> list[dict[str, Any]]:
        out = []
        for rep in api.get(f"{base}/identity-provider/instances"):
            mappers = api.get(f"{base}/identity-provider/instances/{_q(str(rep.get('alias')))}/mappers")
            out.append(shape.identity_provider(rep, mappers))
        return sorted(out, key=lambda i: str(i.get("alias")))

    def _keys(self, api: _Api, base: str, components: list[dict[str, Any]] | None) -> dict[str, Any]:
        body = api.get(f"{base}/keys")
        names = {str(c.get("id")): c for c in components or []}
        keys = [shape.key_from_live(k, names) for k in body.get("keys") or []]
        return {"keys": sorted(keys, key=lambda k: (str(k.get("provider_name")), str(k.get("algorithm"))))}

    def _client_policies(self, api: _Api, base: str) -> dict[str, Any]:
        policies = api.get(f"{base}/client-policies/policies").get("policies") or []
        profiles_body = api.get(f"{base}/client-policies/profiles", **{"include-global-profiles": "true"})
        return shape.client_policies(
            policies, profiles_body.get("profiles") or [], profiles_body.get("globalProfiles") or []
        )

    def _service_accounts(
        self, api: _Api, base: str, realm: str, clients: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        ids = {str(c.get("clientId")): str(c.get("id")) for c in clients}
        admin = builtins.admin_clients(realm, list(ids))
        out = []
        for client in clients:
            if not client.get("serviceAccountsEnabled"):
                continue
            user = api.get(f"{base}/clients/{_q(str(client.get('id')))}/service-account-user")
            user_id = _q(str(user.get("id")))
            effective: set[roles.RoleKey] = {
                (None, str(r.get("name"))) for r in api.get(f"{base}/users/{user_id}/role-mappings/realm/composite")
            }
            for client_id in admin:
                for r in api.get(f"{base}/users/{user_id}/role-mappings/clients/{_q(ids[client_id])}/composite"):
                    effective.add((client_id, str(r.get("name"))))
            out.append(
                {
                    "client_id": client.get("clientId"),
                    "user_id": user.get("id"),
                    "username": user.get("username"),
                    "effective_roles": roles.as_composites(effective),
                }
            )
        return sorted(out, key=lambda s: str(s.get("client_id")))

    def _holders(
        self,
        api: _Api,
        base: str,
        realm: str,
        role_data: Mapping[str, Any],
        clients: list[dict[str, Any]],
        account_ids: set[str],
    ) -> dict[str, Any]:
        edges = roles.graph(role_data)
        privileged = {key for key in edges if builtins.is_privileged(realm, key[0], key[1])}
        ids = {str(c.get("clientId")): str(c.get("id")) for c in clients}
        entries = []
        complete = True
        groups_seen: dict[str, tuple[list[dict[str, Any]], bool]] = {}
        for client, name in sorted(roles.containing(edges, privileged), key=lambda k: (k[0] or "", k[1])):
            if client is not None and client not in ids:
                continue
            path = (
                f"{base}/roles/{_q(name)}" if client is None else f"{base}/clients/{_q(ids[client])}/roles/{_q(name)}"
            )
            users, users_complete = api.paged(
                f"{path}/users", self.page_size, self.max_members, briefRepresentation="true"
            )
            groups, groups_complete = api.paged(
                f"{path}/groups", self.page_size, self.max_members, briefRepresentation="true"
            )
            holders = {str(u.get("id")): _holder(u, None, account_ids) for u in users}
            role_complete = users_complete and groups_complete
            for group in groups:
                members, members_complete = self._group_members(api, base, group, groups_seen, account_ids)
                role_complete = role_complete and members_complete
                for member in members:
                    holders.setdefault(str(member["id"]), member)
            complete = complete and role_complete
            entries.append(
                {
                    "role": {"client": client, "name": name},
                    "holders": sorted(holders.values(), key=lambda h: str(h.get("username"))),
                    "groups": sorted(str(g.get("path") or g.get("name")) for g in groups),
                    "complete": role_complete,
                }
            )
        return {"roles": entries, "complete": complete, "limit": self.max_members}

    def _group_members(
        self,
        api: _Api,
        base: str,
        group: Mapping[str, Any],
        seen: dict[str, tuple[list[dict[str, Any]], bool]],
        account_ids: set[str],
    ) -> tuple[list[dict[str, Any]], bool]:
        """Members of a group and of its subgroups (which inherit the group's roles)."""
        group_id = str(group.get("id"))
        if group_id in seen:
            return seen[group_id]
        seen[group_id] = ([], True)
        path = str(group.get("path") or group.get("name"))
        users, complete = api.paged(
            f"{base}/groups/{_q(group_id)}/members", self.page_size, self.max_members, briefRepresentation="true"
        )
        members = [_holder(u, path, account_ids) for u in users]
        children, children_complete = api.paged(
            f"{base}/groups/{_q(group_id)}/children", self.page_size, self.max_members
        )
        complete = complete and children_complete
        for child in children:
            child_members, child_complete = self._group_members(api, base, child, seen, account_ids)
            members.extend(child_members)
            complete = complete and child_complete
        seen[group_id] = (members, complete)
        return members, complete

    def _users(self, api: _Api, base: str, realm: str) -> dict[str, Any]:
        count = api.get(f"{base}/users/count")
        out: dict[str, Any] = {"count": int(count) if isinstance(count, int) else None}
        if realm == "master":
            found, complete = api.paged(
                f"{base}/users",
                self.page_size,
                self.max_members,
                q="is_temporary_admin:true",
                briefRepresentation="false",
            )
            out["temporary_admins"] = sorted(
                (
                    {"id": u.get("id"), "username": u.get("username"), "enabled": u.get("enabled", True)}
                    for u in found
                    if "true" in [str(v).lower() for v in (u.get("attributes") or {}).get("is_temporary_admin", [])]
                ),
                key=lambda u: str(u.get("username")),
            )
            out["temporary_admins_complete"] = complete
        return out


def _holder(user: Mapping[str, Any], via_group: str | None, account_ids: set[str]) -> dict[str, Any]:
    return {
        "id": user.get("id"),
        "username": user.get("username"),
        "service_account": str(user.get("id")) in account_ids,
        "via_group": via_group,
    }


VERSION_HIDDEN = (
    "Keycloak returns its version (serverinfo systemInfo) only to administrators of the master realm "
    "(realm role admin), which sovscan never asks for: the version is not verified by a view-only scan "
    "(a realm export carries it as keycloakVersion)"
)


def _server_info(info: Any) -> dict[str, Any]:
    if not isinstance(info, Mapping) or not isinstance(info.get("profileInfo") or info.get("systemInfo"), Mapping):
        raise httpkit.RequestFailed("GET /admin/serverinfo did not answer like Keycloak (no profileInfo)")
    features = info.get("features")
    system = info.get("systemInfo")
    out: dict[str, Any] = {
        "version": system.get("version") if isinstance(system, Mapping) else None,
        "features": None
        if not isinstance(features, list)
        else sorted(str(f.get("name")) for f in features if isinstance(f, Mapping) and f.get("enabled")),
    }
    if out["version"] is None:
        out["version_unavailable"] = VERSION_HIDDEN
    return out


def _oauth_error(body: Any) -> str:
    """The OAuth error description of a token response body (it names no secret)."""
    import json

    if isinstance(body, bytes | str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return ""
        texts = httpkit.error_texts(parsed)
        return " ".join("; ".join(texts).split())[:200]
    return ""


def keycloak_uri(host: str, port: int, default_port: int) -> str:
    """`keycloak://host[:port]`: the base URI of every resource of a live target."""
    return f"keycloak://{host}" + ("" if port == default_port else f":{port}")


def collect(target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
    """Collect one Keycloak target (read-only); see the module docstring for what is read."""
    return Collector(target, secrets, timeout).collect()
