"""One evidence shape for live answers and realm exports: normalisers and secret stripping.

Both the live collector and the export reader pass Keycloak representations (clients, client
scopes, identity providers, components, realm settings, flows) through these functions, so the
checks see the same facts whichever way they were read.

Secrets never pass: a client's `secret` and `registrationAccessToken` (Keycloak 26.4-26.7 return
client secrets to view-clients, Keycloak issue 49220), an identity provider's `clientSecret`, an
LDAP `bindCredential`, key providers' private keys and HMAC/AES secrets, SMTP passwords, rotated
secrets in client attributes, user credentials: dropped here, before anything reaches Evidence.
What is kept is whether a value was set (`secret_set: true`), never the value.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any

PER_REALM_SECTIONS: tuple[str, ...] = (
    "realms",
    "events_config",
    "clients",
    "client_scopes",
    "roles",
    "authentication_flows",
    "required_actions",
    "identity_providers",
    "components",
    "keys",
    "client_policies",
    "service_accounts",
    "privileged_holders",
    "users",
)
"""Sections whose data is `{"by_realm": {realm: data}, "errors": {realm: reason}}`."""

_SECRET_KEY = re.compile(
    r"(secret|password|passwd|credential|private[._]?key|privatekey|keystore|truststore|token$|"
    r"^certificate$|signing\.certificate|encryption\.certificate|^kid$|registrationaccesstoken)",
    re.I,
)
"""Keys whose values never reach evidence (config maps, attributes, representations)."""

_KEEP_KEYS = frozenset(
    {
        # booleans and settings that merely mention a secret-ish word
        "use.refresh.tokens",
        "client_credentials.use_refresh_token",
        "token.response.type.bearer.lower-case",
        "exclude.issuer.from.auth.response",
        "storetoken",
        "addreadtokenroleoncreate",
        "validatesignature",
        "usejwksurl",
        "pkceenabled",
        "pkcemethod",
        "startTls".lower(),
        "usetruststorespi",
        "connectionurl",
        "authtype",
        "clientauthmethod",
        "keysize",
        "algorithm",
        "keyuse",
        "active",
        "enabled",
        "priority",
        "ellipticcurve",
        "ecdsaellipticcurvekey",
        "eddsaellipticcurvekey",
        "tls.client.certificate.bound.access.tokens",
        "require.pushed.authorization.requests",
        "access.token.lifespan",
        "client.offline.session.max.lifespan",
        "client.session.max.lifespan",
        "passwordpolicy",
        "resetpasswordallowed",
        "resetcredentialsflow",
        "requiredcredentials",
        "registrationaccesstokenmaxreuse",
    }
)
"""Keys that match the secret pattern but are plain settings the checks read."""

REDACTED = "[redacted]"


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered not in _KEEP_KEYS and bool(_SECRET_KEY.search(lowered))


def strip_secrets(value: Any) -> Any:
    """Drop every value under a secret-looking key, recursively; a set value becomes `[redacted]`."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if _secret_key(str(key)) and not isinstance(item, bool):
                if item not in (None, "", [], {}, [""]):
                    out[str(key)] = REDACTED
            else:
                out[str(key)] = strip_secrets(item)
        return out
    if isinstance(value, list):
        return [strip_secrets(item) for item in value]
    return value


def per_realm(by_realm: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, Any]:
    """The data of a per-realm section."""
    return {"by_realm": dict(by_realm), "errors": dict(errors)}


# -- realm settings ------------------------------------------------------------------------

_REALM_DROP = frozenset(
    {
        "users",
        "federatedUsers",
        "clients",
        "clientScopes",
        "roles",
        "groups",
        "defaultGroups",
        "components",
        "identityProviders",
        "identityProviderMappers",
        "authenticationFlows",
        "authenticatorConfig",
        "requiredActions",
        "clientPolicies",
        "clientProfiles",
        "scopeMappings",
        "clientScopeMappings",
        "localizationTexts",
        "organizations",
        "applications",
        "oauthClients",
        "protocolMappers",
        "defaultDefaultClientScopes",
        "defaultOptionalClientScopes",
        "eventsEnabled",
        "eventsExpiration",
        "eventsListeners",
        "enabledEventTypes",
        "adminEventsEnabled",
        "adminEventsDetailsEnabled",
        "keycloakVersion",
        "codeSecret",
        "privateKey",
        "publicKey",
        "certificate",
    }
)

EVENT_KEYS = (
    "eventsEnabled",
    "eventsExpiration",
    "eventsListeners",
    "enabledEventTypes",
    "adminEventsEnabled",
    "adminEventsDetailsEnabled",
)
"""Fields of the events configuration (GET .../events/config; top-level fields of an export)."""


def realm_settings(rep: Mapping[str, Any]) -> dict[str, Any]:
    """A realm's own settings (no sub-collections, no secrets; SMTP password dropped)."""
    out = {k: v for k, v in rep.items() if k not in _REALM_DROP}
    return dict(strip_secrets(out))


def events_config(rep: Mapping[str, Any]) -> dict[str, Any]:
    """The events configuration fields of a realm or events-config representation."""
    return {k: rep[k] for k in EVENT_KEYS if k in rep}


# -- clients -------------------------------------------------------------------------------

_CLIENT_KEYS = (
    "id",
    "clientId",
    "name",
    "enabled",
    "protocol",
    "publicClient",
    "bearerOnly",
    "standardFlowEnabled",
    "implicitFlowEnabled",
    "directAccessGrantsEnabled",
    "serviceAccountsEnabled",
    "fullScopeAllowed",
    "consentRequired",
    "frontchannelLogout",
    "clientAuthenticatorType",
    "rootUrl",
    "baseUrl",
    "adminUrl",
    "redirectUris",
    "webOrigins",
    "attributes",
    "authenticationFlowBindingOverrides",
    "defaultClientScopes",
    "optionalClientScopes",
)


def client(rep: Mapping[str, Any]) -> dict[str, Any]:
    """A client without its secret, registration token or secret attributes; mappers kept (redacted)."""
    out: dict[str, Any] = {k: rep[k] for k in _CLIENT_KEYS if k in rep}
    out["attributes"] = strip_secrets(dict(rep.get("attributes") or {}))
    out["redirectUris"] = [str(u) for u in rep.get("redirectUris") or []]
    out["webOrigins"] = [str(u) for u in rep.get("webOrigins") or []]
    out["defaultClientScopes"] = sorted(str(s) for s in rep.get("defaultClientScopes") or [])
    out["optionalClientScopes"] = sorted(str(s) for s in rep.get("optionalClientScopes") or [])
    out["secret_set"] = bool(rep.get("secret")) and rep.get("secret") != "**********"
    out["protocolMappers"] = sorted(
        (protocol_mapper(m) for m in rep.get("protocolMappers") or [] if isinstance(m, Mapping)),
        key=lambda m: str(m.get("name")),
    )
    return out


def protocol_mapper(rep: Mapping[str, Any]) -> dict[str, Any]:
    """A protocol mapper: name, type, protocol and its (redacted) config."""
    return {
        "name": rep.get("name"),
        "protocol": rep.get("protocol"),
        "protocolMapper": rep.get("protocolMapper"),
        "config": strip_secrets(dict(rep.get("config") or {})),
    }


def client_scope(rep: Mapping[str, Any]) -> dict[str, Any]:
    """A client scope: name, protocol, attributes and mappers."""
    return {
        "id": rep.get("id"),
        "name": rep.get("name"),
        "protocol": rep.get("protocol"),
        "attributes": strip_secrets(dict(rep.get("attributes") or {})),
        "protocolMappers": sorted(
            (protocol_mapper(m) for m in rep.get("protocolMappers") or [] if isinstance(m, Mapping)),
            key=lambda m: str(m.get("name")),
        ),
    }


def identity_provider(rep: Mapping[str, Any], mappers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """An identity provider without its client secret; its mappers."""
    keys = (
        "alias",
        "displayName",
        "providerId",
        "enabled",
        "trustEmail",
        "storeToken",
        "linkOnly",
        "hideOnLogin",
        "firstBrokerLoginFlowAlias",
        "postBrokerLoginFlowAlias",
        "updateProfileFirstLoginMode",
        "addReadTokenRoleOnCreate",
        "authenticateByDefault",
    )
    out: dict[str, Any] = {k: rep[k] for k in keys if k in rep}
    out["config"] = strip_secrets(dict(rep.get("config") or {}))
    out["mappers"] = sorted(
        (
            {
                "name": m.get("name"),
                "identityProviderMapper": m.get("identityProviderMapper"),
                "config": strip_secrets(dict(m.get("config") or {})),
            }
            for m in mappers
        ),
        key=lambda m: str(m.get("name")),
    )
    return out


def component(rep: Mapping[str, Any], provider_type: str | None = None) -> dict[str, Any]:
    """A component (user federation, key provider, ...) with secret config values dropped."""
    return {
        "id": rep.get("id"),
        "name": rep.get("name"),
        "providerId": rep.get("providerId"),
        "providerType": rep.get("providerType") or provider_type,
        "parentId": rep.get("parentId"),
        "subType": rep.get("subType"),
        "config": strip_secrets({str(k): v for k, v in (rep.get("config") or {}).items()}),
    }


def required_action(rep: Mapping[str, Any]) -> dict[str, Any]:
    """A required action: alias, name, enabled, default."""
    return {k: rep.get(k) for k in ("alias", "name", "providerId", "enabled", "defaultAction", "priority")}


def execution(requirement: Any, authenticator: Any, subflow: Any, level: int, index: int) -> dict[str, Any]:
    """One step of a flattened authentication flow."""
    return {
        "requirement": requirement,
        "authenticator": authenticator,
        "flow": subflow,
        "level": level,
        "index": index,
    }


def flow(rep: Mapping[str, Any], executions: list[dict[str, Any]]) -> dict[str, Any]:
    """A top-level authentication flow with its executions flattened in order (subflows nested by level)."""
    return {
        "alias": rep.get("alias"),
        "id": rep.get("id"),
        "providerId": rep.get("providerId"),
        "builtIn": bool(rep.get("builtIn")),
        "executions": executions,
    }


def client_policies(
    policies: Iterable[Mapping[str, Any]],
    profiles: Iterable[Mapping[str, Any]],
    global_profiles: Iterable[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """Client policies and profiles (realm ones, and the global ones when they were read)."""

    def _profile(p: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "name": p.get("name"),
            "executors": [str(e.get("executor")) for e in p.get("executors") or [] if isinstance(e, Mapping)],
        }

    return {
        "policies": [
            {
                "name": p.get("name"),
                "enabled": p.get("enabled", True),
                "conditions": [str(c.get("condition")) for c in p.get("conditions") or [] if isinstance(c, Mapping)],
                "profiles": [str(x) for x in p.get("profiles") or []],
            }
            for p in policies
        ],
        "profiles": [_profile(p) for p in profiles],
        "global_profiles": None if global_profiles is None else [_profile(p) for p in global_profiles],
    }


# -- keys ----------------------------------------------------------------------------------

_KEY_PROVIDER_TYPES = {
    "rsa-generated": ("RSA", "RS256", "SIG"),
    "rsa": ("RSA", "RS256", "SIG"),
    "java-keystore": ("RSA", "RS256", "SIG"),
    "rsa-enc-generated": ("RSA", "RSA-OAEP", "ENC"),
    "rsa-enc": ("RSA", "RSA-OAEP", "ENC"),
    "ecdsa-generated": ("EC", "ES256", "SIG"),
    "ecdh-generated": ("EC", "ECDH-ES", "ENC"),
    "eddsa-generated": ("OKP", "EdDSA", "SIG"),
    "hmac-generated": ("OCT", "HS512", "SIG"),
    "aes-generated": ("OCT", "AES", "ENC"),
}


def public_key_bits(der_b64: str) -> int | None:
    """Size in bits of a base64 SubjectPublicKeyInfo (RSA modulus, EC curve); None when unreadable."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(base64.b64decode(der_b64))
    except (ValueError, TypeError):
        return None
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return int(key.key_size)
    return None


def private_key_bits(pem_body: str) -> int | None:
    """Size in bits of a PEM or bare-base64 private key (as realm exports store it); None when unreadable."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key

    text = pem_body.strip()
    try:
        if text.startswith("-----"):
            key = load_pem_private_key(text.encode(), password=None)
        else:
            key = load_der_private_key(base64.b64decode(text), password=None)
    except (ValueError, TypeError):
        return None
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return int(key.key_size)
    return None


def _first(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def key_from_component(rep: Mapping[str, Any]) -> dict[str, Any] | None:
    """Key metadata of a key-provider component of an export (bits from its private key, then keySize)."""
    provider = str(rep.get("providerId") or "")
    if provider not in _KEY_PROVIDER_TYPES:
        return None
    key_type, default_alg, default_use = _KEY_PROVIDER_TYPES[provider]
    config = rep.get("config") or {}
    bits: int | None = None
    if key_type in ("RSA", "EC"):
        private = _first(config, "privateKey")
        bits = private_key_bits(private) if private else None
        if bits is None and _first(config, "keySize"):
            bits = int(str(_first(config, "keySize")))
        if bits is None and key_type == "RSA":
            bits = 2048  # Keycloak's default for generated RSA keys
    active = (_first(config, "active") or "true").lower() == "true"
    enabled = (_first(config, "enabled") or "true").lower() == "true"
    use = (_first(config, "keyUse") or default_use).upper()
    return {
        "providerId": rep.get("id"),
        "provider_name": rep.get("name"),
        "provider": provider,
        "type": key_type,
        "algorithm": _first(config, "algorithm") or default_alg,
        "use": use,
        "status": "ACTIVE" if active and enabled else ("PASSIVE" if enabled else "DISABLED"),
        "priority": int(_first(config, "priority") or 0),
        "bits": bits,
    }


def key_from_live(rep: Mapping[str, Any], provider_names: Mapping[str, Any]) -> dict[str, Any]:
    """Key metadata of one entry of GET /keys (public key reduced to its size)."""
    public = rep.get("publicKey")
    provider_id = rep.get("providerId")
    named = provider_names.get(str(provider_id)) or {}
    return {
        "providerId": provider_id,
        "provider_name": named.get("name"),
        "provider": named.get("providerId"),
        "type": rep.get("type"),
        "algorithm": rep.get("algorithm"),
        "use": str(rep.get("use") or "SIG").upper(),
        "status": rep.get("status"),
        "priority": int(rep.get("providerPriority") or 0),
        "bits": public_key_bits(str(public)) if public else None,
    }
