"""The evidence contract of the `postgres` kind: one JSON Schema (draft 2020-12) per section.

The schemas are strict about what the checks rely on (required keys and their types) and
allow extra properties, so a newer collector may add facts. A section that does not match
is a malformed answer: the engine turns it into a section error, and the controls that
need it are ERROR, never PASS on what was not understood. `validate_sections()` applies the
contract without the engine (used by the tests and by `evidence_contract()` users).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_BOOL = {"type": "boolean"}
_BOOL_OR_NULL = {"type": ["boolean", "null"]}
_INT = {"type": "integer"}
_ACL = {"type": ["array", "null"], "items": {"type": "string"}}
_STRINGS = {"type": "array", "items": {"type": "string"}}


def _object(required: Mapping[str, Any], optional: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **(optional or {})},
    }


def _list(item: Mapping[str, Any], min_items: int = 0) -> dict[str, Any]:
    return {"type": "array", "items": dict(item), "minItems": min_items}


SERVER = _object(
    {
        "server_version_num": _INT,
        "server_version": _STR,
        "current_user": _STR,
        "is_superuser": _BOOL,
        "hidden_settings": _STRINGS,
        "config_loaded_at": _STR_OR_NULL,
        "hba_file_modified_at": _STR_OR_NULL,
    },
    {"memberships": {"type": "object"}, "connection": {"type": "object"}},
)

SETTING = _object(
    {"name": _STR, "setting": {"type": ["string", "null"]}},
    {"unit": _STR_OR_NULL, "source": _STR_OR_NULL},
)

ROLE = _object(
    {
        "rolname": _STR,
        "rolsuper": _BOOL,
        "rolinherit": _BOOL,
        "rolcreaterole": _BOOL,
        "rolcreatedb": _BOOL,
        "rolcanlogin": _BOOL,
        "rolreplication": _BOOL,
        "rolbypassrls": _BOOL,
        "rolconnlimit": _INT,
        "rolvaliduntil": _STR_OR_NULL,
        "member_of": _STRINGS,
    }
)

MEMBERSHIPS = _object(
    {
        "server_version_num": {"type": "integer", "minimum": 1},
        "grants": _list(
            _object(
                {
                    "role": _STR,
                    "member": _STR,
                    "admin_option": _BOOL,
                    "inherit_option": _BOOL_OR_NULL,
                    "set_option": _BOOL_OR_NULL,
                },
                {"grantor": _STR_OR_NULL},
            )
        ),
    }
)

ROLE_SETTING = _object({"role": _STR, "database": _STR, "settings": {"type": "object", "additionalProperties": _STR}})

PASSWORD_HASH = _object({"rolname": _STR, "hash_type": {"enum": ["md5", "scram-sha-256", "none", "unknown"]}})

HBA_RULE = _object(
    {
        "line_number": _INT,
        "type": _STR_OR_NULL,
        "database": {"type": ["array", "null"], "items": _STR},
        "user_name": {"type": ["array", "null"], "items": _STR},
        "auth_method": _STR_OR_NULL,
        "error": _STR_OR_NULL,
    },
    {"address": _STR_OR_NULL, "netmask": _STR_OR_NULL, "options": {"type": ["array", "null"]}},
)

CONNECTIONS = _object(
    {
        "can_see_all": _BOOL,
        "sessions": _list(
            _object(
                {"visible": _BOOL_OR_NULL, "own": _BOOL_OR_NULL, "ssl": _BOOL_OR_NULL},
                {"usename": _STR_OR_NULL, "client_addr": _STR_OR_NULL, "backend_type": _STR_OR_NULL},
            )
        ),
    }
)

ARCHIVER = _object(
    {
        "archived_count": _INT,
        "failed_count": _INT,
        "last_archived_time": _STR_OR_NULL,
        "last_failed_time": _STR_OR_NULL,
        "now": _STR,
    }
)

_SCHEMA = _object({"name": _STR, "owner": _STR, "acl": _ACL})
_FUNCTION = _object(
    {
        "schema": _STR,
        "name": _STR,
        "signature": _STR,
        "owner": _STR,
        "search_path": _STR_OR_NULL,
        "config_keys": _STRINGS,
        "extension": _STR_OR_NULL,
    }
)
DATABASE = _object(
    {"name": _STR, "scanned": _BOOL},
    {
        "owner": _STR,
        "datallowconn": _BOOL,
        "skipped": _STR_OR_NULL,
        "error": _STR_OR_NULL,
        "errors": {"type": "object", "additionalProperties": _STR},
        "acl": _ACL,
        "public_schema": {"oneOf": [{"type": "null"}, _object({"owner": _STR, "acl": _ACL})]},
        "schemas": _list(_SCHEMA),
        "secdef_functions": _list(_FUNCTION),
        "extensions": _list(_object({"name": _STR})),
        "languages": _list(_object({"name": _STR, "trusted": _BOOL})),
    },
)

SECTIONS: Mapping[str, Mapping[str, Any]] = {
    "server": SERVER,
    "pg_settings": _list(SETTING, min_items=1),
    "roles": _list(ROLE, min_items=1),
    "memberships": MEMBERSHIPS,
    "role_settings": _list(ROLE_SETTING),
    "password_hashes": _list(PASSWORD_HASH, min_items=1),
    "hba_rules": _list(HBA_RULE),
    "connections": CONNECTIONS,
    "archiver": ARCHIVER,
    "databases": _list(DATABASE, min_items=1),
}
"""Section name -> JSON Schema of its data. pg_settings, roles, pg_authid and pg_database are never
empty on a real server (the bootstrap superuser, the template databases): empty is malformed."""

CONTRACT: Mapping[str, Mapping[str, Any]] = {
    name: {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema} for name, schema in SECTIONS.items()
}
"""What `evidence_contract()` returns."""


def section_problem(name: str, data: Any) -> str | None:
    """Why a section's data does not match the contract (one line), or None when it matches."""
    schema = CONTRACT.get(name)
    if schema is None:
        return None
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    return f"malformed evidence in section {name} at {where}: {error.message[:200]}"


def validate_sections(sections: Mapping[str, Any]) -> dict[str, str]:
    """Section name -> problem for every present section that does not match the contract."""
    problems = {}
    for name, data in sections.items():
        problem = section_problem(name, data)
        if problem is not None:
            problems[name] = problem
    return problems
