"""The privilege model's pieces, from the PostgreSQL documentation (the differential test checks the whole)."""

from __future__ import annotations

from typing import Any

import pytest

from checks.postgres.privileges import (
    PUBLIC,
    Grant,
    Mode,
    ObjectKind,
    RoleGraph,
    acldefault,
    object_privileges,
    parse_aclitem,
)


def role(name: str, **attrs: Any) -> dict[str, Any]:
    return {"rolname": name, "rolsuper": False, "rolinherit": True, **attrs}


def test_aclitem_text_with_quoted_names_and_grant_options() -> None:
    item = parse_aclitem('"we""ird=x/y"=r*w/"the owner"')
    assert (item.grantee, item.privileges, item.grant_options, item.grantor) == (
        'we"ird=x/y',
        frozenset("rw"),
        frozenset("r"),
        "the owner",
    )
    public = parse_aclitem("=Tc/postgres")
    assert public.grantee == PUBLIC and public.privileges == frozenset("Tc")
    with pytest.raises(ValueError, match="unknown privilege letter"):
        parse_aclitem("alice=rQ/postgres")
    with pytest.raises(ValueError, match="not an aclitem"):
        parse_aclitem("alice")


def test_default_acls_follow_acldefault() -> None:
    assert {i.grantee: "".join(sorted(i.privileges)) for i in acldefault(ObjectKind.DATABASE, "o", 150000)} == {
        "o": "CTc",
        "": "Tc",
    }
    assert {i.grantee for i in acldefault(ObjectKind.TABLE, "o", 150000)} == {"o"}
    assert "m" not in next(iter(acldefault(ObjectKind.TABLE, "o", 160000))).privileges
    assert "m" in next(iter(acldefault(ObjectKind.TABLE, "o", 170000))).privileges
    assert {i.grantee for i in acldefault(ObjectKind.FUNCTION, "o", 150000)} == {"o", ""}


def test_postgres_15_inheritance_is_the_members_attribute_and_set_is_always_allowed() -> None:
    graph = RoleGraph([role("a", rolinherit=False), role("b"), role("c")], [Grant("b", "a"), Grant("c", "b")], 150000)
    assert graph.has_role("a", "c", Mode.MEMBER)
    assert not graph.has_role("a", "b", Mode.USAGE)  # a does not inherit
    assert graph.has_role("b", "c", Mode.USAGE)
    assert graph.chain("a", "c", Mode.SET) == ("a", "b", "c")
    assert graph.holders("c", Mode.USAGE) == {"c", "b"}


def test_postgres_16_options_are_per_grant() -> None:
    grants = [Grant("b", "a", inherit=True, set=False), Grant("c", "b", inherit=False, set=True)]
    graph = RoleGraph([role("a", rolinherit=False), role("b"), role("c")], grants, 160000)
    assert graph.has_role("a", "b", Mode.USAGE)  # the grant's option, not a's attribute
    assert not graph.has_role("a", "b", Mode.SET)
    assert not graph.has_role("a", "c", Mode.USAGE)
    assert not graph.has_role("a", "c", Mode.SET)
    assert graph.has_role("b", "c", Mode.SET)


def test_superusers_and_database_owners() -> None:
    graph = RoleGraph([role("root", rolsuper=True), role("owner"), role("x")], [], 150000, database_owner="owner")
    assert graph.has_role("root", "x", Mode.SET)
    assert graph.has_role("owner", "pg_database_owner", Mode.USAGE)
    assert object_privileges(graph, "root", ObjectKind.SCHEMA, "x", ["x=U/x"]) == frozenset("UC")
    assert object_privileges(graph, "owner", ObjectKind.SCHEMA, "pg_database_owner", None) == frozenset("UC")
    assert object_privileges(graph, "x", ObjectKind.SCHEMA, "pg_database_owner", None) == frozenset()


def test_predefined_data_roles_and_public() -> None:
    graph = RoleGraph(
        [role("r"), role("w"), role("pg_read_all_data"), role("pg_write_all_data")],
        [Grant("pg_read_all_data", "r"), Grant("pg_write_all_data", "w")],
        150000,
    )
    assert object_privileges(graph, "r", ObjectKind.TABLE, "o", ["o=arwdDxt/o"]) == frozenset("r")
    assert object_privileges(graph, "w", ObjectKind.TABLE, "o", ["o=arwdDxt/o"]) == frozenset("awd")
    assert object_privileges(graph, "r", ObjectKind.SCHEMA, "o", None) == frozenset("U")
    assert object_privileges(graph, "w", ObjectKind.FUNCTION, "o", None) == frozenset("X")  # PUBLIC's default
    assert object_privileges(graph, "w", ObjectKind.FUNCTION, "o", ["o=X/o"]) == frozenset()


def test_a_cycle_in_hand_made_evidence_terminates() -> None:
    graph = RoleGraph([role("a"), role("b")], [Grant("b", "a"), Grant("a", "b")], 150000)
    assert graph.reachable("a", Mode.USAGE) == {"a": ("a",), "b": ("a", "b")}
    assert graph.holders("a", Mode.USAGE) == {"a", "b"}
