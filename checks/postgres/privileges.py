"""PostgreSQL's permission model, read from collected catalog facts (pure; no I/O).

What a role may do in PostgreSQL is not what `pg_roles` says about it alone:

- **Role membership** (`pg_auth_members`) forms chains. PostgreSQL answers three questions
  about them (`pg_has_role` modes): MEMBER (any chain), USAGE (the member *has the
  privileges* of the role: every grant on the chain is inheriting) and SET (the member may
  `SET ROLE` to it: every grant on the chain allows SET). From PostgreSQL 16 on, inherit and
  set are options of each grant (`inherit_option`, `set_option`); up to 15, a chain inherits
  through a role only when that role has `rolinherit`, and every member may SET ROLE.
  Superusers are members of every role, with every option. The owner of the current
  database is implicitly a member of `pg_database_owner`.
- **Attributes** (SUPERUSER, CREATEROLE, CREATEDB, BYPASSRLS, REPLICATION) are never
  inherited, but a member that may SET ROLE to a role uses them: reachability through SET
  is what counts.
- **Predefined roles** (`pg_read_all_data`, `pg_write_all_data`, `pg_execute_server_program`,
  `pg_read_server_files`, `pg_write_server_files`, `pg_signal_backend`, ...) confer their
  powers to whoever has their privileges (USAGE).
- **Object ACLs** (`relacl`, `nspacl`, `datacl`, `proacl`) grant privileges to roles and to
  PUBLIC; a NULL ACL means the built-in default (`acldefault`); a role has a privilege when
  an entry grants it to PUBLIC, to the role, or to a role whose privileges it has.
  `pg_read_all_data` adds SELECT on every table and USAGE on every schema;
  `pg_write_all_data` adds INSERT, UPDATE, DELETE and USAGE on schemas; superusers have
  everything.

`tests/postgres/test_privileges_differential.py` checks this module against the real
server's own answers (`pg_has_role`, `has_*_privilege`) on generated role graphs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PUBLIC = ""
"""The grantee of an ACL entry granted to PUBLIC (empty in aclitem text)."""

DATABASE_OWNER_ROLE = "pg_database_owner"
"""The predefined role whose only (implicit) member is the owner of the current database."""

PRIVILEGE_LETTERS: Mapping[str, str] = {
    "r": "SELECT",
    "a": "INSERT",
    "w": "UPDATE",
    "d": "DELETE",
    "D": "TRUNCATE",
    "x": "REFERENCES",
    "t": "TRIGGER",
    "m": "MAINTAIN",
    "X": "EXECUTE",
    "U": "USAGE",
    "C": "CREATE",
    "c": "CONNECT",
    "T": "TEMPORARY",
    "s": "SET",
    "A": "ALTER SYSTEM",
}
"""aclitem privilege letters -> privilege names."""

PRIVILEGE_NAMES: Mapping[str, str] = {name: letter for letter, name in PRIVILEGE_LETTERS.items()}
"""Privilege names -> letters (TEMP is an alias of TEMPORARY)."""


class Mode(enum.Enum):
    """The `pg_has_role` questions."""

    MEMBER = "MEMBER"
    """Direct or indirect membership, whatever the options."""
    USAGE = "USAGE"
    """Has the privileges of the role (every grant on the chain inherits)."""
    SET = "SET"
    """May SET ROLE to the role (every grant on the chain allows SET)."""


class ObjectKind(enum.Enum):
    """Kinds of objects whose ACLs the model evaluates."""

    TABLE = "table"
    SEQUENCE = "sequence"
    SCHEMA = "schema"
    DATABASE = "database"
    FUNCTION = "function"


@dataclass(frozen=True)
class Grant:
    """One row of pg_auth_members: `member` was granted `role`."""

    role: str
    """The role granted (the group)."""
    member: str
    """The role it was granted to."""
    admin: bool = False
    """WITH ADMIN OPTION."""
    inherit: bool | None = None
    """WITH INHERIT (PostgreSQL 16+); None before 16, where the member's rolinherit decides."""
    set: bool | None = None
    """WITH SET (PostgreSQL 16+); None before 16, where every member may SET ROLE."""


@dataclass(frozen=True)
class AclItem:
    """One aclitem: `grantee=privileges/grantor`; grantee PUBLIC is ''."""

    grantee: str
    """Role name, or '' for PUBLIC."""
    privileges: frozenset[str]
    """Privilege letters granted."""
    grant_options: frozenset[str]
    """Privilege letters granted WITH GRANT OPTION."""
    grantor: str
    """The role that granted them."""


def _name(text: str, start: int) -> tuple[str, int]:
    """Read a role name of aclitem text at `start` (quoted with "" doubled, or bare); return it and the end."""
    if start < len(text) and text[start] == '"':
        out: list[str] = []
        i = start + 1
        while i < len(text):
            if text[i] == '"':
                if i + 1 < len(text) and text[i + 1] == '"':
                    out.append('"')
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(text[i])
            i += 1
        raise ValueError(f"unterminated quoted name in aclitem {text!r}")
    i = start
    while i < len(text) and text[i] not in "=/":
        i += 1
    return text[start:i], i


def parse_aclitem(text: str) -> AclItem:
    """Parse aclitem text such as `"my role"=r*w/postgres` or `=X/owner` (PUBLIC)."""
    grantee, i = _name(text, 0)
    if i >= len(text) or text[i] != "=":
        raise ValueError(f"not an aclitem: {text!r}")
    i += 1
    privileges: set[str] = set()
    options: set[str] = set()
    while i < len(text) and text[i] != "/":
        letter = text[i]
        if letter not in PRIVILEGE_LETTERS:
            raise ValueError(f"unknown privilege letter {letter!r} in aclitem {text!r}")
        privileges.add(letter)
        if i + 1 < len(text) and text[i + 1] == "*":
            options.add(letter)
            i += 1
        i += 1
    grantor = ""
    if i < len(text) and text[i] == "/":
        grantor, _ = _name(text, i + 1)
    return AclItem(grantee, frozenset(privileges), frozenset(options), grantor)


def table_owner_default(version_num: int) -> str:
    """The privileges a table owner has by default (MAINTAIN from PostgreSQL 17 on)."""
    return "arwdDxtm" if version_num >= 170000 else "arwdDxt"


def acldefault(kind: ObjectKind, owner: str, version_num: int) -> list[AclItem]:
    """The built-in ACL of an object whose ACL column is NULL (PostgreSQL's acldefault())."""
    owner_privs = {
        ObjectKind.TABLE: table_owner_default(version_num),
        ObjectKind.SEQUENCE: "rwU",
        ObjectKind.SCHEMA: "UC",
        ObjectKind.DATABASE: "CTc",
        ObjectKind.FUNCTION: "X",
    }[kind]
    public_privs = {ObjectKind.DATABASE: "Tc", ObjectKind.FUNCTION: "X"}.get(kind, "")
    items = [AclItem(owner, frozenset(owner_privs), frozenset(), owner)]
    if public_privs:
        items.append(AclItem(PUBLIC, frozenset(public_privs), frozenset(), owner))
    return items


def parse_acl(acl: Sequence[str] | None, kind: ObjectKind, owner: str, version_num: int) -> list[AclItem]:
    """An ACL column as items; NULL (None) is the default ACL of `kind`."""
    if acl is None:
        return acldefault(kind, owner, version_num)
    return [parse_aclitem(str(item)) for item in acl]


class RoleGraph:
    """Roles and memberships of one server, answering PostgreSQL's membership questions."""

    def __init__(
        self,
        roles: Iterable[Mapping[str, Any]],
        grants: Iterable[Grant],
        version_num: int,
        database_owner: str | None = None,
    ) -> None:
        """Build the graph; `database_owner` is the owner of the database the answers are for."""
        self.version_num = version_num
        self.roles: dict[str, Mapping[str, Any]] = {str(r["rolname"]): r for r in roles}
        self.grants = tuple(grants)
        self.database_owner = database_owner
        self._up: dict[str, list[Grant]] = {}
        self._down: dict[str, list[Grant]] = {}
        implicit = [Grant(DATABASE_OWNER_ROLE, database_owner, inherit=True, set=True)] if database_owner else []
        for grant in (*self.grants, *implicit):
            self._up.setdefault(grant.member, []).append(grant)
            self._down.setdefault(grant.role, []).append(grant)
        self._cache: dict[tuple[str, Mode], dict[str, tuple[str, ...]]] = {}
        self._holders: dict[tuple[str, Mode], frozenset[str]] = {}

    @property
    def modern(self) -> bool:
        """True from PostgreSQL 16 on (per-grant inherit and set options)."""
        return self.version_num >= 160000

    def is_superuser(self, name: str) -> bool:
        """The role has the SUPERUSER attribute itself."""
        return bool(self.roles.get(name, {}).get("rolsuper"))

    def _follows(self, grant: Grant, mode: Mode) -> bool:
        if mode is Mode.MEMBER:
            return True
        if grant.role == DATABASE_OWNER_ROLE and grant.member == self.database_owner:
            if mode is Mode.USAGE and not self.modern:
                return bool(self.roles.get(grant.member, {}).get("rolinherit", True))
            return True
        if self.modern:
            return bool(grant.inherit) if mode is Mode.USAGE else bool(grant.set)
        if mode is Mode.USAGE:
            return bool(self.roles.get(grant.member, {}).get("rolinherit", True))
        return True  # before 16, every member may SET ROLE

    def reachable(self, member: str, mode: Mode) -> dict[str, tuple[str, ...]]:
        """Roles `member` reaches in `mode` (itself included), each with one chain from member to it."""
        key = (member, mode)
        if key in self._cache:
            return self._cache[key]
        found: dict[str, tuple[str, ...]] = {member: (member,)}
        pending = [member]
        while pending:
            current = pending.pop(0)
            for grant in self._up.get(current, []):
                if grant.role in found or not self._follows(grant, mode):
                    continue
                found[grant.role] = (*found[current], grant.role)
                pending.append(grant.role)
        self._cache[key] = found
        return found

    def holders(self, role: str, mode: Mode) -> frozenset[str]:
        """Every role that reaches `role` in `mode` (itself included; superusers only if they do by grants)."""
        key = (role, mode)
        if key not in self._holders:
            found = {role}
            pending = [role]
            while pending:
                for grant in self._down.get(pending.pop(), []):
                    if grant.member not in found and self._follows(grant, mode):
                        found.add(grant.member)
                        pending.append(grant.member)
            self._holders[key] = frozenset(found)
        return self._holders[key]

    def has_role(self, member: str, role: str, mode: Mode) -> bool:
        """`pg_has_role(member, role, mode)` as PostgreSQL answers it."""
        if member == role or self.is_superuser(member):
            return True
        return role in self.reachable(member, mode)

    def chain(self, member: str, role: str, mode: Mode) -> tuple[str, ...] | None:
        """One membership chain from `member` to `role` in `mode`, or None."""
        return self.reachable(member, mode).get(role)

    def privilege_roles(self, member: str) -> set[str]:
        """Every role whose privileges `member` has (USAGE), itself included."""
        return set(self.reachable(member, Mode.USAGE))


def object_privileges(
    graph: RoleGraph, role: str, kind: ObjectKind, owner: str, acl: Sequence[str] | None
) -> frozenset[str]:
    """The privilege letters `role` effectively holds on one object (as has_*_privilege answers).

    `role` may be `public` (the PUBLIC pseudo-role, as has_*_privilege spells it; no role can
    be named so): then only the entries granted to PUBLIC count.
    """
    items = parse_acl(acl, kind, owner, graph.version_num)
    if graph.is_superuser(role):
        every = {item for entry in acldefault(kind, owner, graph.version_num) for item in entry.privileges}
        return frozenset(every)
    mine = graph.privilege_roles(role)
    granted: set[str] = set()
    for item in items:
        if item.grantee == PUBLIC or item.grantee in mine:
            granted |= item.privileges
    if kind is ObjectKind.TABLE:
        if "pg_read_all_data" in mine:
            granted.add("r")
        if "pg_write_all_data" in mine:
            granted |= {"a", "w", "d"}
        if graph.version_num >= 170000 and "pg_maintain" in mine:
            granted.add("m")
    if kind is ObjectKind.SCHEMA and ({"pg_read_all_data", "pg_write_all_data"} & mine):
        granted.add("U")
    return frozenset(granted)


def grants_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Grant]:
    """Grants from the collector's `memberships.grants` rows."""
    return [
        Grant(
            role=str(row["role"]),
            member=str(row["member"]),
            admin=bool(row.get("admin_option")),
            inherit=row.get("inherit_option"),
            set=row.get("set_option"),
        )
        for row in rows
    ]
