"""The evidence contract of the `s3` kind: section name -> JSON Schema (draft 2020-12) of its data.

Strict about what the checks rely on (`required`, types), open to extra properties. A per-bucket
section maps each bucket name to `{"value": ...}` (what the server said; `null` means "none
configured") or `{"error": "..."}` (why it could not be read). A MinIO-only section of another
flavour is `{"not_applicable": reason}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_STR_OR_NULL = {"type": ["string", "null"]}
_NA = {"type": "object", "required": ["not_applicable"], "properties": {"not_applicable": {"type": "string"}}}


def _per_bucket(value: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                {"type": "object", "required": ["value"], "properties": {"value": value}},
                {
                    "type": "object",
                    "required": ["error"],
                    "not": {"required": ["value"]},
                    "properties": {"error": {"type": "string"}},
                },
            ]
        },
    }


def _minio(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"oneOf": [_NA, {**schema, "not": {"required": ["not_applicable"]}}]}


_NULLABLE_OBJECT = {"type": ["object", "null"]}

CONTRACT: Mapping[str, Mapping[str, Any]] = {
    "server": {
        "type": "object",
        "required": ["flavour", "scheme", "tls"],
        "properties": {
            "flavour": {"enum": ["minio", "seaweedfs", "ceph-rgw", "generic"]},
            "scheme": {"enum": ["http", "https"]},
            "tls": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["version"],
                        "properties": {
                            "version": _STR_OR_NULL,
                            "legacy_tls_accepted": {"type": ["boolean", "null"]},
                            "legacy_tls_unverified": {"type": "string"},
                        },
                    },
                ]
            },
        },
    },
    "buckets": {
        "type": "object",
        "required": ["count", "items"],
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string", "minLength": 1}, "created": _STR_OR_NULL},
                },
            },
        },
    },
    "bucket_policy": _per_bucket({"type": ["object", "null"]}),
    "bucket_encryption": _per_bucket(
        {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["algorithm"], "properties": {"algorithm": _STR_OR_NULL}},
            ]
        }
    ),
    "bucket_versioning": _per_bucket(
        {
            "oneOf": [
                {"type": "null"},
                {"type": "object", "required": ["status"], "properties": {"status": _STR_OR_NULL}},
            ]
        }
    ),
    "bucket_object_lock": _per_bucket(
        {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["mode", "duration"],
                    "properties": {"mode": _STR_OR_NULL, "duration": {"type": ["array", "null"]}},
                },
            ]
        }
    ),
    "bucket_lifecycle": _per_bucket(
        {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["rules"],
                    "properties": {
                        "rules": {
                            "type": "array",
                            "items": {"type": "object", "required": ["status"], "properties": {"status": _STR_OR_NULL}},
                        }
                    },
                },
            ]
        }
    ),
    "bucket_replication": _per_bucket(_NULLABLE_OBJECT),
    "bucket_notification": _per_bucket({"type": ["object", "null"]}),
    "bucket_tags": _per_bucket({"type": ["object", "null"], "additionalProperties": {"type": "string"}}),
    "bucket_acl": _per_bucket(
        {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["grants"],
                    "properties": {
                        "grants": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["grantee", "permission"],
                                "properties": {"grantee": {"type": "string"}, "permission": _STR_OR_NULL},
                            },
                        }
                    },
                },
            ]
        }
    ),
    "bucket_public_access_block": _per_bucket(
        {"oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": {"type": "boolean"}}]}
    ),
    "anonymous_probe": {
        "type": "object",
        "required": ["probed"],
        "properties": {
            "probed": {"type": "boolean"},
            "buckets": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["list_allowed", "read_allowed"],
                    "properties": {"list_allowed": {"type": "boolean"}, "read_allowed": {"type": "boolean"}},
                },
            },
        },
    },
    "admin_info": _minio(
        {
            "type": "object",
            "required": ["servers", "kms", "audit", "env_vars"],
            "properties": {
                "servers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["endpoint", "state", "version", "drives"],
                        "properties": {
                            "state": _STR_OR_NULL,
                            "version": _STR_OR_NULL,
                            "drives": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["state"],
                                    "properties": {"state": _STR_OR_NULL},
                                },
                            },
                        },
                    },
                },
                "kms": {"type": "array", "items": {"type": "object"}},
                "audit": {"type": "array", "items": {"type": "object"}},
                "ldap": {"type": "object"},
                "env_vars": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    ),
    "users": _minio(
        {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["status", "policy"],
                "properties": {"status": _STR_OR_NULL, "policy": {"type": "string"}},
            },
        }
    ),
    "groups": _minio(
        {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["status", "members", "policy"],
                "properties": {"members": {"type": "array"}, "policy": {"type": "string"}},
            },
        }
    ),
    "policies": _minio({"type": "object", "additionalProperties": {"type": "object", "required": ["Statement"]}}),
    "policy_entities": _minio(
        {"type": "object", "required": ["policy_mappings"], "properties": {"policy_mappings": {"type": "array"}}}
    ),
    "access_keys": _minio(
        {
            "type": "object",
            "required": ["by_user", "service_accounts"],
            "properties": {
                "by_user": {"type": "object", "additionalProperties": {"type": "array"}},
                "service_accounts": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["parent", "expiration"],
                        "properties": {"parent": _STR_OR_NULL, "expiration": _STR_OR_NULL},
                    },
                },
            },
        }
    ),
    "config": _minio({"type": "object", "additionalProperties": {"type": "object"}}),
    "root_access": _minio(
        {
            "type": "object",
            "required": ["value", "source"],
            "properties": {"value": {"type": "string"}, "source": {"type": "string"}},
        }
    ),
    "identity_providers": _minio(
        {
            "type": "object",
            "required": ["providers", "config_read"],
            "properties": {
                "providers": {"type": "array", "items": {"type": "string"}},
                "config_read": {"type": "boolean"},
            },
        }
    ),
    "metrics_probe": _minio(
        {"type": "object", "required": ["status", "public"], "properties": {"public": {"type": "boolean"}}}
    ),
    "root_identity": _minio(
        {
            "type": "object",
            "required": ["root_user", "caller_is_root", "caller_uses_default_root"],
            "properties": {
                "root_user": _STR_OR_NULL,
                "caller_is_root": {"type": ["boolean", "null"]},
                "caller_uses_default_root": {"type": "boolean"},
                "default_login_probe": {"enum": [None, "accepted", "refused"]},
            },
        }
    ),
}
"""Every section the s3 collector produces, with its schema."""
