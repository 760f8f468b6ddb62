"""Per-database checks: public schema, SECURITY DEFINER functions, languages and extensions.

Every database the scanner read is judged; a database it could not read (no CONNECT
privilege, connection refused) is ERROR on `/databases/NAME`, never PASS. Databases skipped
on purpose (datallowconn false, not in the target's `databases` option) are not judged.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from checks.postgres.common import database_resource, databases, readable_databases
from checks.postgres.privileges import PUBLIC, Mode, ObjectKind, RoleGraph, parse_acl
from checks.postgres.roles import role_graph
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status


def parse_acl_item(item: str) -> tuple[str, str, str]:
    """Split an aclitem `grantee=privileges/grantor`; an empty grantee is PUBLIC."""
    grantee, _, rest = item.partition("=")
    privileges, _, grantor = rest.partition("/")
    return grantee.strip('"'), privileges, grantor.strip('"')


# -- PG-11 --------------------------------------------------------------------------------


@check(
    "postgres.public_schema",
    needs=("databases",),
    params={"forbid_public_usage": {"type": "boolean"}},
)
def public_schema(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """In every database, PUBLIC has no CREATE on schema public (and, if required, no USAGE)."""
    forbid_usage = bool(params.get("forbid_public_usage", False))
    forbidden = "UC" if forbid_usage else "C"
    expected = "PUBLIC has no " + (" or ".join("USAGE" if p == "U" else "CREATE" for p in forbidden))
    for database in readable_databases(evidence, "public_schema"):
        if isinstance(database, CheckResult):
            yield database
            continue
        name = str(database["name"])
        resource = database_resource(evidence, name, "schemas", "public", kind="schema")
        schema = database["public_schema"]
        if schema is None:
            yield CheckResult(resource, Status.PASS, f"database {name} has no public schema", None, expected)
            continue
        acl = schema.get("acl")
        if acl is None:
            yield CheckResult(
                resource, Status.PASS, f"public schema of {name} has default (owner-only) privileges", acl, expected
            )
            continue
        public_privs = "".join(parse_acl_item(str(i))[1] for i in acl if parse_acl_item(str(i))[0] == "")
        granted = sorted({p for p in public_privs.replace("*", "") if p in forbidden})
        if granted:
            words = " and ".join("USAGE" if p == "U" else "CREATE" for p in granted)
            yield CheckResult(
                resource,
                Status.FAIL,
                f"PUBLIC has {words} on schema public in database {name}: any role can plant objects there; "
                f"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                acl,
                expected,
            )
        else:
            yield CheckResult(resource, Status.PASS, f"PUBLIC cannot create in public of {name}", acl, expected)


# -- PG-12 --------------------------------------------------------------------------------


def search_path_entries(value: str) -> list[str]:
    """The schemas of a `search_path` value, unquoted (`"$user", public` -> ['$user', 'public'])."""
    entries = []
    for raw in value.split(","):
        item = raw.strip()
        if len(item) >= 2 and item[0] == '"' and item[-1] == '"':
            item = item[1:-1].replace('""', '"')
        if item:
            entries.append(item)
    return entries


def schema_writers(graph: RoleGraph, schema: Mapping[str, Any], owner: str) -> list[str]:
    """Who, besides `owner` and superusers, can CREATE in `schema` (PUBLIC, or roles through their memberships)."""
    items = parse_acl(schema.get("acl"), ObjectKind.SCHEMA, str(schema.get("owner")), graph.version_num)
    creators = {item.grantee for item in items if "C" in item.privileges}
    writers = ["PUBLIC"] if PUBLIC in creators else []
    reach: set[str] = set()
    for grantee in creators - {PUBLIC}:
        reach |= graph.holders(grantee, Mode.USAGE)
    writers += sorted(
        name
        for name in reach
        if name != owner and name in graph.roles and not graph.is_superuser(name) and not name.startswith("pg_")
    )
    return writers


def search_path_problems(
    function: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]], graph: RoleGraph
) -> list[str]:
    """Why a SECURITY DEFINER function's pinned search_path does not protect it (empty when it does)."""
    value = function.get("search_path")
    if value is None:
        return ["it does not set search_path: the caller's search_path resolves its unqualified names"]
    entries = search_path_entries(str(value))
    owner = str(function.get("owner"))
    problems = []
    if "pg_temp" not in entries:
        problems.append("pg_temp is not listed, so the caller's temporary schema is searched first")
    elif entries[-1] != "pg_temp":
        problems.append("pg_temp is not last, so the caller's temporary objects come before later schemas")
    for entry in entries:
        if entry == "pg_temp":
            continue
        if entry == "$user":
            problems.append("'$user' resolves to a schema named like the caller, which the caller may own")
            continue
        schema = schemas.get(entry)
        if schema is None:
            problems.append(f"schema {entry} does not exist: whoever may create schemas can create it")
            continue
        writers = schema_writers(graph, schema, owner)
        if writers:
            problems.append(
                f"schema {entry} is writable by {', '.join(writers[:5])}" + ("..." if len(writers) > 5 else "")
            )
    return problems


@check(
    "postgres.secdef_functions",
    needs=("databases", "roles", "memberships"),
    params={
        "ignore_extension_functions": {"type": "boolean"},
        "allowed_functions": {"type": "array", "items": {"type": "string"}},
    },
)
def secdef_functions(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every SECURITY DEFINER function pins a search_path of owner-only schemas with pg_temp last."""
    ignore_ext = bool(params.get("ignore_extension_functions", True))
    allowed = [str(p) for p in params.get("allowed_functions", [])]
    base = role_graph(evidence)
    for database in readable_databases(evidence, "secdef_functions", "schemas"):
        if isinstance(database, CheckResult):
            yield database
            continue
        name = str(database["name"])
        graph = RoleGraph(base.roles.values(), base.grants, base.version_num, database_owner=database.get("owner"))
        schemas = {str(s.get("name")): s for s in database["schemas"]}
        functions = [f for f in database["secdef_functions"] if not (ignore_ext and f.get("extension"))]
        skipped_extension = len(database["secdef_functions"]) - len(functions)
        skipped_allowed = 0
        failed = 0
        for function in functions:
            signature = str(function.get("signature"))
            if any(fnmatch.fnmatchcase(f"{name}/{signature}", pattern) for pattern in allowed):
                skipped_allowed += 1
                continue
            problems = search_path_problems(function, schemas, graph)
            if not problems:
                continue
            failed += 1
            yield CheckResult(
                database_resource(evidence, name, "functions", signature, kind="function"),
                Status.FAIL,
                f"SECURITY DEFINER function {signature} in {name} (owner {function.get('owner')}) can be hijacked "
                f"by a caller: {'; '.join(problems)}; ALTER FUNCTION {signature} SET search_path = pg_catalog, pg_temp",
                {"owner": function.get("owner"), "search_path": function.get("search_path")},
                "SET search_path to schemas only the owner can write, with pg_temp last",
            )
        if not failed:
            judged = len(functions) - skipped_allowed
            skipped = f" (not judged: {skipped_extension} of extensions, {skipped_allowed} allow-listed)"
            yield CheckResult(
                database_resource(evidence, name, "functions", kind="functions"),
                Status.PASS,
                f"all {judged} SECURITY DEFINER function(s) of {name} pin a safe search_path"
                + (skipped if skipped_extension or skipped_allowed else ""),
                {"judged": judged, "skipped_extension": skipped_extension, "skipped_allowed": skipped_allowed},
                "SET search_path to schemas only the owner can write, with pg_temp last",
            )


# -- PG-19 --------------------------------------------------------------------------------

DEFAULT_ALLOWED_UNTRUSTED = ("c", "internal")
DEFAULT_RISKY_EXTENSIONS = ("adminpack", "dblink", "file_fdw", "postgres_fdw")


@check(
    "postgres.languages_extensions",
    needs=("databases",),
    params={
        "allowed_untrusted_languages": {"type": "array", "items": {"type": "string"}},
        "risky_extensions": {"type": "array", "items": {"type": "string"}},
        "approved_extensions": {"type": "array", "items": {"type": "string"}},
    },
)
def languages_extensions(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No untrusted procedural language and no risky extension unless approved, in every database."""
    allowed_langs = {str(v) for v in params.get("allowed_untrusted_languages", DEFAULT_ALLOWED_UNTRUSTED)}
    risky = {str(v) for v in params.get("risky_extensions", DEFAULT_RISKY_EXTENSIONS)}
    approved = {str(v) for v in params.get("approved_extensions", [])}
    for database in readable_databases(evidence, "languages", "extensions"):
        if isinstance(database, CheckResult):
            yield database
            continue
        name = str(database["name"])
        failed = 0
        for language in database["languages"]:
            lang = str(language.get("name"))
            if language.get("trusted") or lang in allowed_langs:
                continue
            failed += 1
            yield CheckResult(
                database_resource(evidence, name, "languages", lang, kind="language"),
                Status.FAIL,
                f"untrusted language {lang} is installed in {name}: functions in it run with the server's OS "
                f"privileges; DROP EXTENSION/LANGUAGE {lang} unless it is approved",
                {"trusted": False},
                "trusted, or allow-listed",
            )
        for extension in database["extensions"]:
            ext = str(extension.get("name"))
            if ext not in risky or ext in approved:
                continue
            failed += 1
            yield CheckResult(
                database_resource(evidence, name, "extensions", ext, kind="extension"),
                Status.FAIL,
                f"extension {ext} is installed in {name} without approval: it reaches files or other servers; "
                f"DROP EXTENSION {ext} or list it in approved_extensions",
                {"version": extension.get("version"), "schema": extension.get("schema")},
                "not installed, or approved",
            )
        if not failed:
            yield CheckResult(
                database_resource(evidence, name),
                Status.PASS,
                f"{name} has no untrusted language and no unapproved risky extension",
                None,
                "trusted languages, approved extensions",
            )


# -- PG-30 --------------------------------------------------------------------------------

DATABASE_PRIVILEGES = {"C": "CREATE", "T": "TEMPORARY"}


@check(
    "postgres.database_privileges",
    needs=("databases", "roles", "memberships"),
    params={
        "forbid_public_temporary": {"type": "boolean"},
        "allowed_creators": {"type": "array", "items": {"type": "string"}},
    },
)
def database_privileges(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Only a database's owner (and allow-listed roles) may CREATE schemas in it; PUBLIC holds no CREATE."""
    forbid_temp = bool(params.get("forbid_public_temporary", False))
    allowed = {str(r) for r in params.get("allowed_creators", [])}
    base = role_graph(evidence)
    expected = "CREATE only for the owner" + (", no TEMPORARY for PUBLIC" if forbid_temp else "")
    seen = False
    for item in databases(evidence):
        if item.get("skipped") or "acl" not in item or "owner" not in item:
            if not item.get("skipped"):
                seen = True
                name = str(item.get("name", "?"))
                reason = "its ACL (datacl) was not collected"
                yield CheckResult(database_resource(evidence, name), Status.ERROR, f"database {name}: {reason}")
            continue
        seen = True
        name, owner, acl = str(item["name"]), str(item["owner"]), item.get("acl")
        graph = RoleGraph(base.roles.values(), base.grants, base.version_num, database_owner=owner)
        items = parse_acl(acl, ObjectKind.DATABASE, owner, graph.version_num)
        problems = []
        public = "".join(sorted({p for i in items if i.grantee == PUBLIC for p in i.privileges}))
        if "C" in public:
            problems.append("PUBLIC has CREATE: every role may create schemas in it")
        if forbid_temp and "T" in public:
            problems.append("PUBLIC has TEMPORARY")
        creators: set[str] = set()
        for entry in items:
            if "C" in entry.privileges and entry.grantee not in (PUBLIC, owner):
                creators |= graph.holders(entry.grantee, Mode.USAGE)
        others = sorted(
            r
            for r in creators
            if r != owner and r in graph.roles and not graph.is_superuser(r) and not r.startswith("pg_")
            and r not in allowed
        )  # fmt: skip
        if others:
            problems.append(f"{', '.join(others[:5])}{'...' if len(others) > 5 else ''} may CREATE schemas in it")
        resource = database_resource(evidence, name)
        if problems:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"database {name} (owner {owner}): {'; '.join(problems)}: a created schema can shadow objects on a "
                f"search_path; REVOKE CREATE ON DATABASE {name} FROM PUBLIC (and from the roles named)",
                {"owner": owner, "acl": acl},
                expected,
            )
        else:
            yield CheckResult(resource, Status.PASS, f"only {owner} may create schemas in {name}", acl, expected)
    if not seen:
        yield CheckResult(
            database_resource(evidence, "*"), Status.ERROR, "no database was listed: nothing was verified"
        )


CHECKS = (public_schema, secdef_functions, languages_extensions, database_privileges)
"""The checks of this module."""
