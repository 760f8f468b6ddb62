"""Helpers shared by the Keycloak checks: the per-realm walk that fails closed, resources, flags."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from scanner.model import CheckResult, Evidence, Resource, Status

SCOPE = "scope"
"""The section naming the realms scanned; every check needs it."""


def realm_resource(evidence: Evidence, realm: str) -> Resource:
    """The realm itself: `.../realms/<realm>`."""
    return evidence.resource("realm", realm, f"realms/{quote(realm, safe='')}")


def sub_resource(evidence: Evidence, realm: str, kind: str, collection: str, *names: str) -> Resource:
    """A named object of a realm: `.../realms/<realm>/<collection>/<name>[/<name>...]`, each name quoted."""
    quoted = "/".join(quote(str(n), safe="") for n in names)
    return evidence.resource(
        kind, "/".join([realm, *map(str, names)]), f"realms/{quote(realm, safe='')}/{collection}/{quoted}"
    )


def client_resource(evidence: Evidence, realm: str, client: Mapping[str, Any]) -> Resource:
    """A client: `.../realms/<realm>/clients/<clientId>`."""
    return sub_resource(evidence, realm, "client", "clients", str(client.get("clientId")))


def realms(evidence: Evidence) -> list[str]:
    """The realms this evidence covers."""
    return [str(r) for r in evidence.section(SCOPE).get("realms") or []]


def each_realm(evidence: Evidence, section: str) -> Iterator[tuple[str, Any, CheckResult | None]]:
    """(realm, data, None) for each scanned realm, or (realm, None, ERROR result) when that realm's
    part of the section was not read; a realm missing from the section is ERROR too (fail closed)."""
    data = evidence.section(section)
    by_realm = data.get("by_realm") or {}
    errors = data.get("errors") or {}
    for realm in realms(evidence):
        if realm in errors:
            yield realm, None, CheckResult(realm_resource(evidence, realm), Status.ERROR, str(errors[realm]))
        elif realm in by_realm:
            yield realm, by_realm[realm], None
        else:
            yield (
                realm,
                None,
                CheckResult(
                    realm_resource(evidence, realm), Status.ERROR, f"{section} of realm '{realm}' was not collected"
                ),
            )


def truthy(value: Any) -> bool:
    """Keycloak booleans arrive as JSON booleans or as "true"/"false" strings (attributes, config lists)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value is True or str(value).strip().lower() == "true"


def first(value: Any) -> Any:
    """A component config value (a one-element list) as a scalar."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def as_int(value: Any) -> int | None:
    """An integer setting, or None when absent or not a number."""
    try:
        return int(first(value))
    except (TypeError, ValueError):
        return None
