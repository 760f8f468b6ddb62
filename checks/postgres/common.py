"""Helpers shared by the PostgreSQL check modules: settings lookup, units, resources.

Everything here is pure: it reads Evidence and builds CheckResults, nothing else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from scanner.errors import EvidenceUnavailable
from scanner.model import CheckResult, Evidence, Resource, Status
from scanner.operators import parse_bool

_SAFE = "()+,;=:@!$'*"
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def segment(name: str) -> str:
    """Percent-encode one path segment of a resource URI (keeps `public.f(integer)` readable)."""
    return quote(name, safe=_SAFE)


def setting_resource(evidence: Evidence, name: str) -> Resource:
    """`postgres://host:port/settings/NAME`."""
    return evidence.resource("setting", name, f"settings/{segment(name)}")


def role_resource(evidence: Evidence, name: str) -> Resource:
    """`postgres://host:port/roles/NAME`."""
    return evidence.resource("role", name, f"roles/{segment(name)}")


def roles_resource(evidence: Evidence) -> Resource:
    """`postgres://host:port/roles`: the set of roles as a whole."""
    return evidence.resource("roles", "roles", "roles")


def database_resource(
    evidence: Evidence, database: str, collection: str | None = None, item: str | None = None, kind: str = "database"
) -> Resource:
    """`postgres://host:port/databases/DB[/COLLECTION[/ITEM]]`, e.g. `/databases/appdb/schemas/public`."""
    parts = ["databases", segment(database)]
    name = database
    if collection is not None:
        parts.append(segment(collection))
        name = f"{database}/{collection}"
    if item is not None:
        parts.append(segment(item))
        name = f"{database}/{item}"
    return evidence.resource(kind, name, "/".join(parts))


def settings_map(evidence: Evidence) -> dict[str, Mapping[str, Any]]:
    """The `pg_settings` section as name -> row."""
    rows = evidence.section("pg_settings")
    if not isinstance(rows, list):
        raise EvidenceUnavailable("evidence section 'pg_settings' is not a list of settings")
    return {str(row["name"]): row for row in rows if isinstance(row, Mapping) and "name" in row}


def hidden_settings(evidence: Evidence) -> set[str]:
    """Settings the scanning role could not see (recorded by the collector in `server`)."""
    server = evidence.sections.get("server")
    if isinstance(server, Mapping):
        return {str(n) for n in server.get("hidden_settings", []) or []}
    return set()


def unavailable_setting(evidence: Evidence, name: str) -> CheckResult:
    """ERROR for a setting that is absent from pg_settings, with the reason (hidden or unknown)."""
    if name in hidden_settings(evidence):
        reason = (
            f"setting {name} is hidden from the scanning role: reading it needs pg_read_all_settings "
            "(or pg_monitor) or superuser"
        )
    else:
        reason = f"setting {name} is not in pg_settings (not visible to the scanning role, or unknown to this server)"
    return CheckResult(setting_resource(evidence, name), Status.ERROR, reason)


def is_on(value: Any) -> bool:
    """True for what PostgreSQL reads as on (on, true, yes, 1 and their unique prefixes)."""
    return parse_bool(value, "postgres") is True


def is_off(value: Any) -> bool:
    """True for what PostgreSQL reads as off (off, false, no, 0, prefixes), and for an empty list setting."""
    if isinstance(value, str) and not value.strip():
        return True  # PostgreSQL 18's log_connections = '' logs nothing
    return parse_bool(value, "postgres") is False


def to_seconds(setting: Any, unit: Any) -> float | None:
    """Convert a pg_settings value in its base unit (`s`, `ms`, `min`) to seconds; None if not numeric."""
    try:
        number = float(str(setting).strip())
    except ValueError:
        return None
    factor = _UNIT_SECONDS.get(str(unit or "s").strip())
    return None if factor is None else number * factor


def list_setting(value: Any) -> list[str]:
    """Split a comma-separated list setting (shared_preload_libraries, pgaudit.log) into items."""
    return [item.strip().strip('"').strip() for item in str(value or "").split(",") if item.strip().strip('"')]


def databases(evidence: Evidence) -> list[Mapping[str, Any]]:
    """The `databases` section as a list of database items."""
    items = evidence.section("databases")
    if not isinstance(items, list):
        raise EvidenceUnavailable("evidence section 'databases' is not a list of databases")
    return [item for item in items if isinstance(item, Mapping)]


def scanned_databases(evidence: Evidence) -> Iterator[tuple[Mapping[str, Any], CheckResult | None]]:
    """Yield (database, None) for each database read, (database, ERROR result) for each that was not.

    Databases skipped on purpose (datallowconn false, excluded by the `databases` option) are
    not yielded at all.
    """
    for item in databases(evidence):
        name = str(item.get("name", "?"))
        if item.get("skipped"):
            continue
        if item.get("error") or not item.get("scanned"):
            reason = str(item.get("error") or "database was not read")
            yield item, CheckResult(database_resource(evidence, name), Status.ERROR, f"database {name}: {reason}")
            continue
        yield item, None


def part_error(evidence: Evidence, database: Mapping[str, Any], part: str) -> CheckResult | None:
    """ERROR result when one part of a database (public_schema, functions, ...) could not be read."""
    errors = database.get("errors") or {}
    name = str(database.get("name", "?"))
    if part in errors:
        return CheckResult(database_resource(evidence, name), Status.ERROR, f"database {name}: {errors[part]}")
    if part not in database:
        return CheckResult(
            database_resource(evidence, name), Status.ERROR, f"database {name}: '{part}' was not collected"
        )
    return None


def readable_databases(evidence: Evidence, *parts: str) -> Iterator[Mapping[str, Any] | CheckResult]:
    """The per-database controls' fail-closed walk: each database whose `parts` were read, else an ERROR.

    Yields a database mapping when it and every named part were read; an ERROR result for a
    database (or the first of its parts) that was not; and one ERROR when no database was
    judged at all, so a per-database control never passes on nothing.
    """
    seen = False
    for database, error in scanned_databases(evidence):
        seen = True
        if error is not None:
            yield error
            continue
        problem = next((p for p in (part_error(evidence, database, part) for part in parts) if p is not None), None)
        yield database if problem is None else problem
    if not seen:
        yield CheckResult(
            database_resource(evidence, "*"), Status.ERROR, "no database could be read: nothing was verified"
        )


LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
"""Addresses that never leave the host."""


def is_loopback_address(address: str | None) -> bool:
    """True for an IP address inside 127.0.0.0/8 or ::1."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in LOOPBACK_NETWORKS)
