"""Checks on roles and password hashes (pure functions).

Predefined roles (names starting with `pg_`, which users cannot create) are not judged.
Offending roles are reported on `/roles/NAME`; a clean result on `/roles`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from checks.postgres.common import role_resource, roles_resource, setting_resource, settings_map, unavailable_setting
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


def granted_roles(name: str, by_name: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Every role `name` is a member of, directly or through other roles (GRANT chains)."""
    found: set[str] = set()
    pending = [str(g) for g in by_name.get(name, {}).get("member_of") or []]
    while pending:
        group = pending.pop()
        if group in found:
            continue
        found.add(group)
        pending.extend(str(g) for g in by_name.get(group, {}).get("member_of") or [])
    return found


# -- PG-05 --------------------------------------------------------------------------------

DEFAULT_PASSWORD_ENCRYPTION = "scram-sha-256"  # noqa: S105 (a hash algorithm, not a password)


@check(
    "postgres.scram_only",
    needs=("pg_settings",),
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
DEFAULT_PRIVILEGED_MEMBERSHIPS = ("pg_execute_server_program", "pg_write_server_files", "pg_read_server_files")
_ATTRIBUTES = {
    "rolcreaterole": ("allowed_createrole", "CREATEROLE"),
    "rolbypassrls": ("allowed_bypassrls", "BYPASSRLS"),
    "rolreplication": ("allowed_replication", "REPLICATION"),
}


@check(
    "postgres.privileged_roles",
    needs=("roles",),
    params={
        "max_superusers": {"type": "integer", "minimum": 0},
        "allowed_superusers": {"type": "array", "items": {"type": "string"}},
        "allowed_createrole": {"type": "array", "items": {"type": "string"}},
        "allowed_bypassrls": {"type": "array", "items": {"type": "string"}},
        "allowed_replication": {"type": "array", "items": {"type": "string"}},
        "privileged_memberships": {"type": "array", "items": {"type": "string"}},
        "allowed_members": {"type": "array", "items": {"type": "string"}},
    },
)
def privileged_roles(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Superusers are few and allow-listed; CREATEROLE, BYPASSRLS, REPLICATION and server-file roles too."""
    roles = _roles(evidence)
    by_name = {str(r.get("rolname")): r for r in _all_roles(evidence)}
    maximum = int(params.get("max_superusers", DEFAULT_MAX_SUPERUSERS))
    allowed_supers = {str(r) for r in params.get("allowed_superusers", DEFAULT_ALLOWED_SUPERUSERS)}
    memberships = {str(r) for r in params.get("privileged_memberships", DEFAULT_PRIVILEGED_MEMBERSHIPS)}
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
    for role in roles:
        name = str(role["rolname"])
        problems: list[str] = []
        if role.get("rolsuper"):
            if name not in allowed_supers:
                problems.append("SUPERUSER")
        else:
            for column, (param, label) in _ATTRIBUTES.items():
                if role.get(column) and name not in {str(r) for r in params.get(param, [])}:
                    problems.append(label)
            # Memberships count through GRANT chains; membership in a superuser role lets a role
            # SET ROLE to it, which is superuser power without the attribute.
            chain = granted_roles(name, by_name)
            granted = sorted((memberships | set(supers)) & chain)
            if granted and name not in allowed_members:
                problems.append("member of " + ", ".join(granted))
        if problems:
            failed += 1
            yield CheckResult(
                role_resource(evidence, name),
                Status.FAIL,
                f"role {name} has {', '.join(problems)} without being allow-listed for it",
                {
                    k: role.get(k)
                    for k in ("rolsuper", "rolcreaterole", "rolbypassrls", "rolreplication", "rolcanlogin", "member_of")
                },
                "no privileged attribute unless allow-listed",
            )
    if not failed:
        yield CheckResult(
            roles_resource(evidence),
            Status.PASS,
            f"superusers: {', '.join(supers) or 'none'}; no other role holds an unlisted privileged attribute",
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
    logins = [r for r in _roles(evidence) if r.get("rolcanlogin") and str(r["rolname"]) not in exempt]
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
            f"all {len(logins)} non-exempt login role(s) are limited",
            len(logins),
            "connection limit set",
        )


CHECKS = (scram_only, privileged_roles, login_roles)
"""The checks of this module."""
