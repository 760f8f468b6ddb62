"""The evidence contract of the `openbao` kind: JSON Schemas (draft 2020-12) of what is read.

Two layers, both strict about what the checks rely on and open to extra properties:

* `ANSWERS`: the API answers the collector reads, checked as they arrive. An answer of
  `{"data": {}}` where OpenBao always sends fields (a token lookup without `policies` and
  `ttl`, a CORS answer without `enabled`, an auth-mount table without the `token/` mount) is a
  section error, never "nothing there": without it, "no standing root tokens" or "CORS
  disabled" would PASS on a server that said nothing;
* `SECTIONS`: the evidence sections the collector writes (and `--evidence` re-reads);
  `OpenBaoPlugin.evidence_contract()` returns them for the engine, and the collector checks
  its own output against them before returning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

_STR = {"type": "string"}
_STRS = {"type": "array", "items": {"type": "string"}}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object"}
_NULLABLE_STR = {"type": ["string", "null"]}


def _object(required: Mapping[str, Any], optional: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An object with these required properties (typed) and optional ones; extra properties allowed."""
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**dict(optional or {}), **dict(required)},
    }


def _data(inner: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenBao answer `{"data": inner}`."""
    return _object({"data": inner})


_MOUNT = _object({"type": _STR}, {"config": _OBJ, "options": {"type": ["object", "null"]}, "local": _BOOL})

ANSWERS: dict[str, dict[str, Any]] = {
    "sys/health": _object({"initialized": _BOOL, "sealed": _BOOL}, {"standby": _BOOL, "version": _STR}),
    "sys/seal-status": _object(
        {"type": _STR, "initialized": _BOOL, "sealed": _BOOL, "t": _INT, "n": _INT},
        {"recovery_seal": _BOOL, "storage_type": _STR, "version": _STR},
    ),
    "auth/token/lookup-self": _data(_object({"policies": _STRS})),
    "sys/auth": _data({"type": "object", "required": ["token/"], "additionalProperties": _MOUNT, "minProperties": 1}),
    "sys/mounts": _data({"type": "object", "additionalProperties": _MOUNT, "minProperties": 1}),
    "list": _data(_object({"keys": _STRS})),
    "sys/policies/acl/<name>": _data(_object({"policy": _STR})),
    "sys/audit": _data({"type": "object", "additionalProperties": _object({"type": _STR}, {"options": _OBJ})}),
    "sys/config/state/sanitized": _data(_object({"listeners": {"type": "array"}, "storage": _OBJ})),
    "sys/config/cors": _data(_object({"enabled": _BOOL}, {"allowed_origins": {"type": ["array", "null"]}})),
    "sys/quotas/rate-limit/<name>": _data(_object({"name": _STR, "path": _STR, "rate": {"type": "number"}})),
    "auth/token/lookup-accessor": _data(
        _object(
            {"policies": _STRS, "ttl": _INT},
            {"period": {"type": ["integer", "null"]}, "explicit_max_ttl": _INT, "display_name": _STR},
        )
    ),
    "sys/storage/raft/configuration": _data(
        _object({"config": _object({"servers": {"type": "array", "items": _object({"node_id": _STR})}})})
    ),
}
"""Endpoint -> schema of its answer body (`list` is any LIST answer with keys)."""

_TOKEN = _object(
    {
        "accessor_sha256": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
        "policies": _STRS,
        "ttl": _INT,
        "period": _INT,
        "explicit_max_ttl": _INT,
    },
    {"display_name": _NULLABLE_STR, "entity_id": _STR},
)
_LISTENER = _object({"type": _STR}, {"config": _OBJ})

SECTIONS: dict[str, dict[str, Any]] = {
    "connection": _object(
        {"scheme": {"enum": ["http", "https"]}, "address": _STR},
        {"namespace": _NULLABLE_STR, "tls": {"type": ["object", "null"]}},
    ),
    "health": _object({"initialized": _BOOL, "sealed": _BOOL}, {"version": _STR}),
    "seal_status": _object({"type": _STR, "t": _INT, "n": _INT}, {"recovery_seal": _BOOL, "storage_type": _STR}),
    "probes": _object({"enabled": _BOOL}, {"results": _OBJ}),
    "auth_methods": {
        "type": "array",
        "minItems": 1,
        "items": _object({"path": _STR, "type": _STR}, {"tune": {"type": ["object", "null"]}}),
    },
    "secrets_engines": {"type": "array", "items": _object({"path": _STR, "type": _STR}, {"options": _OBJ})},
    "policies": {
        "type": "array",
        "items": _object({"name": _STR}, {"policy": _STR, "error": _STR}),
    },
    "audit_devices": {"type": "array", "items": _object({"path": _STR, "type": _STR, "options": _OBJ})},
    "sanitized_config": _object(
        {"listeners": {"type": "array", "items": _LISTENER}, "storage": _OBJ},
        {"raw_storage_endpoint": _BOOL, "enable_ui": _BOOL},
    ),
    "cors": _object({"enabled": _BOOL, "allowed_origins": _STRS}),
    "rate_limit_quotas": {"type": "array", "items": _object({"name": _STR, "path": _STR})},
    "token_accessors": _object(
        {"total": _INT, "looked_up": _INT, "tokens": {"type": "array", "items": _TOKEN}},
        {"incomplete": _NULLABLE_STR, "vanished": _INT},
    ),
    "raft": _object(
        {"present": {"type": ["boolean", "null"]}},
        {"servers": {"type": "array", "items": _object({"node_id": _STR})}, "unreadable": _STR},
    ),
}
"""Section name -> JSON Schema of its data (the plugin's `evidence_contract()`)."""

_VALIDATORS: dict[int, tuple[Mapping[str, Any], Draft202012Validator]] = {}


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A validator per schema object (the schemas are module constants; the cache keeps them alive)."""
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, Draft202012Validator(dict(schema)))
        _VALIDATORS[id(schema)] = cached
    return cached[1]


def problem(schema: Mapping[str, Any], value: Any) -> str | None:
    """The first way `value` breaks `schema`, in words (None when it matches)."""
    errors = sorted(_validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    where = "/".join(str(p) for p in error.absolute_path) or "the answer"
    if error.validator == "required":
        return f"{where} lacks {error.message.split(' is a required property')[0]}"
    if error.validator == "type":
        return f"{where} is not of type {error.validator_value}"
    return f"{where}: {error.validator} {error.validator_value!r} not met"


def answer_problem(endpoint: str, body: Any) -> str | None:
    """How an API answer of `endpoint` (a key of ANSWERS) breaks its schema, or None."""
    return problem(ANSWERS[endpoint], body)


def section_problems(sections: Mapping[str, Any]) -> dict[str, str]:
    """Section -> "malformed evidence ..." for every present section that breaks SECTIONS."""
    found: dict[str, str] = {}
    for name, schema in SECTIONS.items():
        if name in sections:
            issue = problem(schema, sections[name])
            if issue:
                found[name] = f"malformed evidence in section '{name}': {issue}"
    return found
