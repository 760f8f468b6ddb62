"""Role graphs: composite expansion the way Keycloak computes effective roles (pure functions).

A role is `(client, name)`; `client` is None for a realm role, else the clientId. Role sets in
evidence use Keycloak's composites shape `{"realm": [names], "client": {clientId: [names]}}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

RoleKey = tuple[str | None, str]


def keys_of(composites: Mapping[str, Any] | None) -> set[RoleKey]:
    """The role keys of a `{"realm": [...], "client": {clientId: [...]}}` mapping."""
    found: set[RoleKey] = set()
    if not composites:
        return found
    found.update((None, str(n)) for n in composites.get("realm") or [])
    for client, names in (composites.get("client") or {}).items():
        found.update((str(client), str(n)) for n in names or [])
    return found


def as_composites(keys: Iterable[RoleKey]) -> dict[str, Any]:
    """Role keys back in Keycloak's composites shape, sorted."""
    realm = sorted({name for client, name in keys if client is None})
    clients: dict[str, list[str]] = {}
    for client, name in keys:
        if client is not None:
            clients.setdefault(client, []).append(name)
    return {"realm": realm, "client": {c: sorted(set(n)) for c, n in sorted(clients.items())}}


def graph(roles: Mapping[str, Any]) -> dict[RoleKey, set[RoleKey]]:
    """Composite edges of a `roles` section entry.

    Realm roles, the admin clients' roles (`client`) and the composite roles of every other client
    (`other_composites`: a custom client role may hold an admin role); the other clients' plain
    roles are leaves and need no edges.
    """
    edges: dict[RoleKey, set[RoleKey]] = {}
    for role in roles.get("realm") or []:
        edges[(None, str(role.get("name")))] = keys_of(role.get("composites"))
    for field in ("other_composites", "client"):
        for client, items in (roles.get(field) or {}).items():
            for role in items or []:
                edges[(str(client), str(role.get("name")))] = keys_of(role.get("composites"))
    return edges


def expand(edges: Mapping[RoleKey, set[RoleKey]], start: Iterable[RoleKey]) -> set[RoleKey]:
    """Every role reachable from `start` through composites (cycles are fine)."""
    seen: set[RoleKey] = set()
    todo = list(start)
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        todo.extend(edges.get(key, ()))
    return seen


def containing(edges: Mapping[RoleKey, set[RoleKey]], targets: set[RoleKey]) -> set[RoleKey]:
    """Every role whose expansion includes one of `targets` (the targets themselves included).

    Walks the composite edges backwards from the targets, so nesting of any depth, realm and client
    roles mixed, and cycles are followed; each role is visited once.
    """
    parents: dict[RoleKey, set[RoleKey]] = {}
    for parent, children in edges.items():
        for child in children:
            parents.setdefault(child, set()).add(parent)
    seen: set[RoleKey] = set(targets)
    todo = list(targets)
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen
