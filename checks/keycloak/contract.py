"""The evidence contract of the keycloak kind: section name -> JSON Schema (draft 2020-12) of its data.

Strict about what the checks rely on (required keys and their types), open to extra properties.
Live collection and the export reader produce the same shapes (`checks.keycloak.shape`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_STR = {"type": "string"}
_STRS = {"type": "array", "items": {"type": "string"}}
_BOOL = {"type": "boolean"}
_INT = {"type": "integer"}
_OBJ = {"type": "object"}
_COMPOSITES = {
    "type": "object",
    "required": ["realm", "client"],
    "properties": {"realm": _STRS, "client": {"type": "object", "additionalProperties": _STRS}},
}


def _per_realm(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["by_realm", "errors"],
        "properties": {
            "by_realm": {"type": "object", "additionalProperties": dict(item)},
            "errors": {"type": "object", "additionalProperties": _STR},
        },
    }


def _array(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": dict(item)}


_REALM = {
    "type": "object",
    "required": ["realm"],
    "properties": {
        "realm": _STR,
        "sslRequired": _STR,
        "bruteForceProtected": _BOOL,
        "permanentLockout": _BOOL,
        "failureFactor": _INT,
        "maxFailureWaitSeconds": _INT,
        "passwordPolicy": _STR,
        "otpPolicyCodeReusable": _BOOL,
        "otpPolicyDigits": _INT,
        "otpPolicyLookAheadWindow": _INT,
        "otpPolicyPeriod": _INT,
        "otpPolicyAlgorithm": _STR,
        "registrationAllowed": _BOOL,
        "verifyEmail": _BOOL,
        "duplicateEmailsAllowed": _BOOL,
        "accessTokenLifespan": _INT,
        "ssoSessionIdleTimeout": _INT,
        "ssoSessionMaxLifespan": _INT,
        "offlineSessionIdleTimeout": _INT,
        "offlineSessionMaxLifespanEnabled": _BOOL,
        "offlineSessionMaxLifespan": _INT,
        "revokeRefreshToken": _BOOL,
        "refreshTokenMaxReuse": _INT,
        "defaultSignatureAlgorithm": _STR,
        "browserFlow": _STR,
        "browserSecurityHeaders": {"type": "object", "additionalProperties": _STR},
    },
}

_EVENTS = {
    "type": "object",
    "required": ["eventsEnabled", "adminEventsEnabled"],
    "properties": {
        "eventsEnabled": _BOOL,
        "eventsExpiration": _INT,
        "enabledEventTypes": _STRS,
        "eventsListeners": _STRS,
        "adminEventsEnabled": _BOOL,
        "adminEventsDetailsEnabled": _BOOL,
    },
}

_CLIENT = {
    "type": "object",
    "required": ["clientId", "redirectUris", "webOrigins", "attributes", "defaultClientScopes"],
    "properties": {
        "clientId": _STR,
        "redirectUris": _STRS,
        "webOrigins": _STRS,
        "attributes": _OBJ,
        "defaultClientScopes": _STRS,
        "publicClient": _BOOL,
        "bearerOnly": _BOOL,
        "standardFlowEnabled": _BOOL,
        "implicitFlowEnabled": _BOOL,
        "directAccessGrantsEnabled": _BOOL,
        "serviceAccountsEnabled": _BOOL,
        "fullScopeAllowed": _BOOL,
        "clientAuthenticatorType": _STR,
        "secret_set": _BOOL,
    },
    "not": {"anyOf": [{"required": ["secret"]}, {"required": ["registrationAccessToken"]}]},
}

_ROLE = {
    "type": "object",
    "required": ["name", "composite"],
    "properties": {"name": _STR, "composite": _BOOL, "composites": _COMPOSITES},
}

_FLOW = {
    "type": "object",
    "required": ["alias", "executions"],
    "properties": {
        "alias": _STR,
        "executions": _array(
            {
                "type": "object",
                "required": ["requirement", "level", "index"],
                "properties": {
                    "requirement": {"type": ["string", "null"]},
                    "authenticator": {"type": ["string", "null"]},
                    "flow": {"type": ["string", "null"]},
                    "level": _INT,
                    "index": _INT,
                },
            }
        ),
    },
}

_PROFILE = {"type": "object", "required": ["name", "executors"], "properties": {"name": _STR, "executors": _STRS}}

CONTRACT: Mapping[str, Mapping[str, Any]] = {
    "scope": {
        "type": "object",
        "required": ["realms", "source"],
        "properties": {
            "realms": _STRS,
            "source": {"enum": ["live", "export"]},
            "auth_realm": {"type": ["string", "null"]},
        },
    },
    "server_info": {
        "type": "object",
        "required": ["version"],
        "properties": {
            "version": {"type": ["string", "null"]},
            "version_unavailable": _STR,
            "features": {"type": ["array", "null"], "items": _STR},
        },
    },
    "realms": _per_realm(_REALM),
    "events_config": _per_realm(_EVENTS),
    "clients": _per_realm(_array(_CLIENT)),
    "client_scopes": _per_realm(
        {
            "type": "object",
            "required": ["scopes", "default", "optional"],
            "properties": {
                "scopes": _array({"type": "object", "required": ["name"]}),
                "default": _STRS,
                "optional": _STRS,
            },
        }
    ),
    "roles": _per_realm(
        {
            "type": "object",
            "required": ["realm", "client", "default_role"],
            "properties": {
                "realm": _array(_ROLE),
                "client": {"type": "object", "additionalProperties": _array(_ROLE)},
                "other_composites": {"type": "object", "additionalProperties": _array(_ROLE)},
                "default_role": {"type": ["string", "null"]},
            },
        }
    ),
    "authentication_flows": _per_realm(_array(_FLOW)),
    "required_actions": _per_realm(_array({"type": "object", "required": ["alias"]})),
    "identity_providers": _per_realm(
        _array(
            {
                "type": "object",
                "required": ["alias", "providerId", "config"],
                "properties": {"alias": _STR, "providerId": _STR, "trustEmail": _BOOL, "config": _OBJ},
            }
        )
    ),
    "components": _per_realm(
        _array(
            {
                "type": "object",
                "required": ["providerType", "providerId", "config"],
                "properties": {"providerType": {"type": ["string", "null"]}, "providerId": _STR, "config": _OBJ},
            }
        )
    ),
    "keys": _per_realm(
        {
            "type": "object",
            "required": ["keys"],
            "properties": {
                "keys": _array(
                    {
                        "type": "object",
                        "required": ["type", "status", "bits"],
                        "properties": {
                            "type": {"type": ["string", "null"]},
                            "status": {"type": ["string", "null"]},
                            "bits": {"type": ["integer", "null"]},
                        },
                    }
                )
            },
        }
    ),
    "client_policies": _per_realm(
        {
            "type": "object",
            "required": ["policies", "profiles", "global_profiles"],
            "properties": {
                "policies": _array(
                    {"type": "object", "required": ["name", "profiles"], "properties": {"profiles": _STRS}}
                ),
                "profiles": _array(_PROFILE),
                "global_profiles": {"type": ["array", "null"], "items": _PROFILE},
            },
        }
    ),
    "service_accounts": _per_realm(
        _array(
            {
                "type": "object",
                "required": ["client_id", "effective_roles"],
                "properties": {"client_id": _STR, "effective_roles": _COMPOSITES},
            }
        )
    ),
    "privileged_holders": _per_realm(
        {
            "type": "object",
            "required": ["roles", "complete"],
            "properties": {
                "complete": _BOOL,
                "roles": _array(
                    {
                        "type": "object",
                        "required": ["role", "holders"],
                        "properties": {
                            "role": {"type": "object", "required": ["name"]},
                            "holders": _array(
                                {
                                    "type": "object",
                                    "required": ["username", "service_account"],
                                    "properties": {"service_account": _BOOL},
                                }
                            ),
                        },
                    }
                ),
            },
        }
    ),
    "users": _per_realm(
        {
            "type": "object",
            "required": ["count"],
            "properties": {
                "count": {"type": ["integer", "null"]},
                "temporary_admins": _array({"type": "object", "required": ["username"]}),
            },
        }
    ),
}
"""Section name -> JSON Schema of its data."""
