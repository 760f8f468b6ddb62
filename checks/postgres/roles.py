"""Checks on roles and password hashes (pure functions).

Predefined roles (names starting with `pg_`, which users cannot create) are not judged.
Offending roles are reported on `/roles/NAME`; a clean result on `/roles`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from checks.postgres.common import role_resource, roles_resource, setting_resource, settings_map, unavailable_setting
from checks.postgres.privileges import Mode, RoleGraph, grants_from_rows
from scanner.errors import EvidenceUnavailable
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status


def _all_roles(evidence: Evidence) -> list[Mapping[str, Any]]:
    roles = evidence.section("roles")
    if not isinstance(roles, list):
        raise EvidenceUnavailable("evidence section 'roles' is not a list of roles")
    items = [r for r in roles if isinstance(r, Mapping)]
    if not items:  # there is always at least the bootstrap superuser
        raise EvidenceUnavailable("pg_roles returned no role: the roles were not seen")
    return items


def _roles(evidence: Evidence) -> list[Mapping[str, Any]]:
    return [r for r in _all_roles(evidence) if not str(r.get("rolname", "")).startswith("pg_")]


# -- PG-05 --------------------------------------------------------------------------------

DEFAULT_PASSWORD_ENCRYPTION = "scram-sha-256"  # noqa: S105 (a hash algorithm, not a password)


@check(
    "postgres.scram_only",
    needs=("pg_settings", "password_hashes", "server"),
    params={"password_encryption": {"type": "string", "minLength": 1}},
)
def scram_only(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """password_encryption is scram-sha-256 and no role has an md5 (or unrecognised) password hash."""
    wanted = str(params.get("password_encryption", DEFAULT_PASSWORD_ENCRYPTION))
    row = settings_map(evidence).get("password_encryption")
    if row is None:
        yield unavailable_setting(evidence, "password_encryption")
    else:
        value = str(row.get("setting") or "")
        resource = setting_resource(evidence, "password_encryption")
        if value == wanted:
            yield CheckResult(resource, Status.PASS, f"password_encryption is {value}", value, wanted)
        else:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"password_encryption is {value}: new passwords are stored as {value} hashes; set it to {wanted}",
                value,
                wanted,
            )
    try:
        hashes = evidence.section("password_hashes")
    except EvidenceUnavailable as exc:
        yield CheckResult(roles_resource(evidence), Status.ERROR, f"password hash types not read: {exc.reason}")
        return
    if not isinstance(hashes, list) or not hashes:  # pg_authid always holds the bootstrap superuser
        yield CheckResult(roles_resource(evidence), Status.ERROR, "pg_authid returned no role: hashes not seen")
        return
    weak = 0
    with_password = 0
    for item in hashes:
        kind = str(item.get("hash_type"))
        name = str(item.get("rolname"))
        if kind == "none":
            continue
        with_password += 1
        if kind != "scram-sha-256":
            weak += 1
            yield CheckResult(
                role_resource(evidence, name),
                Status.FAIL,
                f"role {name} has a{'n' if kind[0] in 'aeiou' else ''} {kind} password hash: "
                f"reset its password while password_encryption = {wanted}",
                kind,
                "scram-sha-256",
            )
    if not weak:
        yield CheckResult(
            roles_resource(evidence),
            Status.PASS,
            f"all {with_password} password(s) are stored as SCRAM-SHA-256",
            with_password,
            "scram-sha-256",
        )


# -- PG-09 --------------------------------------------------------------------------------

DEFAULT_MAX_SUPERUSERS = 1
DEFAULT_ALLOWED_SUPERUSERS = ("postgres",)
DEFAULT_PRIVILEGED_MEMBERSHIPS = (
    "pg_execute_server_program",
    "pg_write_server_files",
    "pg_read_server_files",
    "pg_read_all_data",
    "pg_write_all_data",
    "pg_signal_backend",
)
"""Predefined roles whose powers (run programs, read/write server files, read/write every table,
signal other sessions) need an allow-listed holder."""

ATTRIBUTES: Mapping[str, tuple[str, str]] = {
    "rolcreaterole": ("allowed_createrole", "CREATEROLE"),
    "rolcreatedb": ("allowed_createdb", "CREATEDB"),
    "rolbypassrls": ("allowed_bypassrls", "BYPASSRLS"),
    "rolreplication": ("allowed_replication", "REPLICATION"),
}
"""pg_roles column -> (its allow-list parameter, the attribute's name)."""


def role_graph(evidence: Evidence) -> RoleGraph:
    """The server's roles and memberships (sections `roles` and `memberships`) as a RoleGraph."""
    memberships = evidence.section("memberships")
    if not isinstance(memberships, Mapping) or not isinstance(memberships.get("grants"), list):
        raise EvidenceUnavailable("evidence section 'memberships' is not a list of grants")
    version = memberships.get("server_version_num")
    if not isinstance(version, int) or version <= 0:
        raise EvidenceUnavailable("evidence section 'memberships' does not say which server version it describes")
    return RoleGraph(_all_roles(evidence), grants_from_rows(memberships["grants"]), version)


def _how(chain: Sequence[str] | None, mode: Mode) -> str:
    if chain is None or len(chain) <= 1:
        return "itself"
    verb = "SET ROLE" if mode is Mode.SET else "inherits"
    return f"{verb} through {' -> '.join(chain)}"


def capabilities(graph: RoleGraph, name: str, predefined: Iterable[str]) -> dict[str, str]:
    """What `name` can do, capability -> how: attributes reachable by SET ROLE, predefined roles it has or can SET.

    Attributes are not inherited; a member uses them by `SET ROLE` to the role that has them.
    A predefined role's powers come with its privileges (USAGE) or with SET ROLE to it.
    """
    found: dict[str, str] = {}
    settable = graph.reachable(name, Mode.SET)
    for column, label in [("rolsuper", "SUPERUSER"), *((c, lab) for c, (_p, lab) in ATTRIBUTES.items())]:
        holders = sorted(
            (len(chain), role) for role, chain in settable.items() if graph.roles.get(role, {}).get(column)
        )
        if holders:
            _, role = holders[0]
            found[label] = _how(settable[role], Mode.SET)
    usage = graph.reachable(name, Mode.USAGE)
    for role in predefined:
        if role in usage:
            found[role] = _how(usage[role], Mode.USAGE)
        elif role in settable:
            found[role] = _how(settable[role], Mode.SET)
    return found


@check(
    "postgres.privileged_roles",
    needs=("roles", "memberships"),
    params={
        "max_superusers": {"type": "integer", "minimum": 0},
        "allowed_superusers": {"type": "array", "items": {"type": "string"}},
        "allowed_createrole": {"type": "array", "items": {"type": "string"}},
        "allowed_createdb": {"type": "array", "items": {"type": "string"}},
        "allowed_bypassrls": {"type": "array", "items": {"type": "string"}},
        "allowed_replication": {"type": "array", "items": {"type": "string"}},
        "privileged_memberships": {"type": "array", "items": {"type": "string"}},
        "allowed_members": {"type": "array", "items": {"type": "string"}},
    },
)
def privileged_roles(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Superuser, CREATEROLE/CREATEDB/BYPASSRLS/REPLICATION and powerful predefined roles only where allow-listed.

    Judged as PostgreSQL grants them: through membership chains, with inheritance (USAGE)
    and SET ROLE told apart per grant (16+) or per role (15), so a role that can become a
    superuser or use pg_read_all_data through a chain counts like one that has it itself.
    """
    roles = _roles(evidence)
    graph = role_graph(evidence)
    maximum = int(params.get("max_superusers", DEFAULT_MAX_SUPERUSERS))
    allowed: dict[str, set[str]] = {
        "SUPERUSER": {str(r) for r in params.get("allowed_superusers", DEFAULT_ALLOWED_SUPERUSERS)}
    }
    for _column, (param, label) in ATTRIBUTES.items():
        allowed[label] = {str(r) for r in params.get(param, [])}
    predefined = [str(r) for r in params.get("privileged_memberships", DEFAULT_PRIVILEGED_MEMBERSHIPS)]
    allowed_members = {str(r) for r in params.get("allowed_members", [])}
    supers = sorted(str(r["rolname"]) for r in roles if r.get("rolsuper"))
    failed = 0
    if len(supers) > maximum:
        failed += 1
        yield CheckResult(
            roles_resource(evidence),
            Status.FAIL,
            f"{len(supers)} superusers ({', '.join(supers)}), at most {maximum} allowed",
            supers,
            f"<= {maximum} superuser(s)",
        )
    # only roles that reach a powerful role need their chains computed (holders: a reverse walk)
    powerful = [n for n, r in graph.roles.items() if r.get("rolsuper") or any(r.get(c) for c in ATTRIBUTES)]
    candidates: set[str] = set()
    for target in powerful:
        candidates |= graph.holders(target, Mode.SET)
    for target in predefined:
        candidates |= graph.holders(target, Mode.SET) | graph.holders(target, Mode.USAGE)
    for role in roles:
        name = str(role["rolname"])
        if name not in candidates:
            continue
        found = capabilities(graph, name, predefined)
        if "SUPERUSER" in found:  # a superuser can do everything else: judge that alone
            found = {"SUPERUSER": found["SUPERUSER"]}
        problems = {cap: how for cap, how in found.items() if name not in allowed.get(cap, allowed_members)}
        if problems:
            failed += 1
            text = ", ".join(cap if how == "itself" else f"{cap} ({how})" for cap, how in problems.items())
            yield CheckResult(
                role_resource(evidence, name),
                Status.FAIL,
                f"role {name} has {text} without being allow-listed for it",
                {"capabilities": problems, "member_of": role.get("member_of")},
                "no privileged attribute or predefined role, directly or through membership, unless allow-listed",
            )
    if not failed:
        yield CheckResult(
            roles_resource(evidence),
            Status.PASS,
            f"superusers: {', '.join(supers) or 'none'}; no other role holds or reaches an unlisted privilege",
            supers,
            f"<= {maximum} superuser(s), the rest allow-listed",
        )


# -- PG-10 --------------------------------------------------------------------------------

DEFAULT_EXEMPT_LOGIN_ROLES = ("postgres",)


@check(
    "postgres.login_roles",
    needs=("roles",),
    params={
        "require_connection_limit": {"type": "boolean"},
        "require_valid_until": {"type": "boolean"},
        "exempt_roles": {"type": "array", "items": {"type": "string"}},
    },
)
def login_roles(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Login roles have a connection limit (and, if required, an expiry), except exempted ones."""
    exempt = {str(r) for r in params.get("exempt_roles", DEFAULT_EXEMPT_LOGIN_ROLES)}
    need_limit = bool(params.get("require_connection_limit", True))
    need_expiry = bool(params.get("require_valid_until", False))
    all_logins = [r for r in _roles(evidence) if r.get("rolcanlogin")]
    logins = [r for r in all_logins if str(r["rolname"]) not in exempt]
    exempted = {str(r["rolname"]) for r in all_logins} & exempt
    failed = 0
    for role in logins:
        name = str(role["rolname"])
        problems = []
        if need_limit and int(role.get("rolconnlimit", -1)) < 0:
            problems.append("no connection limit (CONNECTION LIMIT -1)")
        valid_until = role.get("rolvaliduntil")
        if need_expiry and (valid_until is None or str(valid_until) == "infinity"):
            problems.append("no password expiry (VALID UNTIL)")
        if problems:
            failed += 1
            yield CheckResult(
                role_resource(evidence, name),
                Status.FAIL,
                f"login role {name} has {' and '.join(problems)}",
                {"rolconnlimit": role.get("rolconnlimit"), "rolvaliduntil": valid_until},
                {"rolconnlimit": ">= 0"} | ({"rolvaliduntil": "set"} if need_expiry else {}),
            )
    if not failed:
        yield CheckResult(
            roles_resource(evidence),
            Status.PASS,
            f"all {len(logins)} non-exempt login role(s) are limited"
            + (f" ({skipped} exempt: {', '.join(sorted(exempted))})" if (skipped := len(exempted)) else ""),
            {"judged": len(logins), "exempt": sorted(exempted)},
            "connection limit set",
        )


CHECKS = (scram_only, privileged_roles, login_roles)
"""The checks of this module."""
