"""The realms the Keycloak test server imports at start (`--import-realm`), and the secrets planted in them.

- `hardened`: every control passes (MFA browser flow, events, strict clients, a secure-redirect
  client policy, no privileged service account); it also holds `sovscan-noevents`, a
  service-account client with every realm-management view role except view-events.
- `weak`: every control fails on a named resource (wildcard redirects, implicit flow, a public
  client without PKCE, an impostor `account-console` (made by the fixture after import), a service
  account holding realm-admin, one holding manage-users through a composite realm role, a 1024-bit
  RSA key, HS256, an IdP trusting email without signature validation, plain-LDAP federation,
  manage-users in the default roles, and - set by the fixture after import - `offline_access` as a
  default client scope of the realm and of client `http-app`).

Every secret below is planted so the tests can grep every artifact for it.
"""

from __future__ import annotations

from typing import Any

PLANTED = {
    "hardened_backend_secret": "kc-planted-backend-Secret-7f3a9",
    "noevents_secret": "kc-planted-noevents-Secret-11b2",
    "hardened_idp_secret": "kc-planted-idp-Secret-hardened-55e",
    "hardened_ldap_bind": "kc-planted-ldap-Bind-hardened-9c1",
    "weak_robot_secret": "kc-planted-robot-Secret-d41",
    "weak_cibot_secret": "kc-planted-cibot-Secret-a07",
    "weak_legacy_secret": "kc-planted-legacy-Secret-3e8",
    "weak_idp_secret": "kc-planted-idp-Secret-weak-c90",
    "weak_ldap_bind": "kc-planted-ldap-Bind-weak-777",
    "weak_smtp_password": "kc-planted-smtp-Password-5d5",
    "alice_password": "kc-planted-alice-Password-8a8",
    "bob_password": "kc-planted-bob-Password-0f0",
}
"""Secret values planted in the realms; none may appear in any artifact of a scan."""

VIEW_ROLES = [
    "view-realm",
    "view-clients",
    "view-users",
    "view-events",
    "view-identity-providers",
]


def _events(enabled: bool) -> dict[str, Any]:
    if not enabled:
        return {"eventsEnabled": False, "adminEventsEnabled": False, "adminEventsDetailsEnabled": False}
    return {
        "eventsEnabled": True,
        "eventsExpiration": 7776000,
        "eventsListeners": ["jboss-logging"],
        "enabledEventTypes": ["LOGIN", "LOGIN_ERROR", "LOGOUT", "CODE_TO_TOKEN_ERROR", "CLIENT_LOGIN_ERROR",
                              "UPDATE_PASSWORD", "UPDATE_TOTP", "REMOVE_TOTP", "RESET_PASSWORD"],
        "adminEventsEnabled": True,
        "adminEventsDetailsEnabled": True,
    }  # fmt: skip


def _ldap(name: str, url: str, start_tls: bool, bind: str) -> dict[str, Any]:
    # Disabled: the test server must not try to reach it (no traffic beyond 127.0.0.1).
    return {
        "name": name,
        "providerId": "ldap",
        "subComponents": {},
        "config": {
            "enabled": ["false"],
            "vendor": ["other"],
            "connectionUrl": [url],
            "startTls": ["true" if start_tls else "false"],
            "bindDn": ["cn=sovscan,dc=example,dc=com"],
            "bindCredential": [bind],
            "usersDn": ["ou=people,dc=example,dc=com"],
            "authType": ["simple"],
            "editMode": ["READ_ONLY"],
            "usernameLDAPAttribute": ["uid"],
            "rdnLDAPAttribute": ["uid"],
            "uuidLDAPAttribute": ["entryUUID"],
            "userObjectClasses": ["inetOrgPerson"],
            "priority": ["0"],
        },
    }


def _mfa_flow() -> list[dict[str, Any]]:
    return [
        {
            "alias": "browser-mfa",
            "description": "browser login with a required second factor",
            "providerId": "basic-flow",
            "topLevel": True,
            "builtIn": False,
            "authenticationExecutions": [
                {"authenticator": "auth-cookie", "authenticatorFlow": False, "requirement": "ALTERNATIVE",
                 "priority": 10, "userSetupAllowed": False},
                {"authenticatorFlow": True, "requirement": "ALTERNATIVE", "priority": 20,
                 "flowAlias": "browser-mfa forms", "userSetupAllowed": False},
            ],
        },
        {
            "alias": "browser-mfa forms",
            "description": "password, then OTP",
            "providerId": "basic-flow",
            "topLevel": False,
            "builtIn": False,
            "authenticationExecutions": [
                {"authenticator": "auth-username-password-form", "authenticatorFlow": False,
                 "requirement": "REQUIRED", "priority": 10, "userSetupAllowed": False},
                {"authenticator": "auth-otp-form", "authenticatorFlow": False, "requirement": "REQUIRED",
                 "priority": 20, "userSetupAllowed": False},
            ],
        },
    ]  # fmt: skip


def hardened() -> dict[str, Any]:
    """A realm where every control passes."""
    return {
        "realm": "hardened",
        "enabled": True,
        "sslRequired": "external",
        "bruteForceProtected": True,
        "permanentLockout": False,
        "failureFactor": 5,
        "maxFailureWaitSeconds": 900,
        "waitIncrementSeconds": 60,
        "passwordPolicy": "length(14) and notUsername and passwordHistory(5) and hashAlgorithm(argon2)",
        "otpPolicyType": "totp",
        "otpPolicyAlgorithm": "HmacSHA256",
        "otpPolicyDigits": 6,
        "otpPolicyPeriod": 30,
        "otpPolicyLookAheadWindow": 1,
        "otpPolicyCodeReusable": False,
        "registrationAllowed": False,
        "verifyEmail": True,
        "duplicateEmailsAllowed": False,
        "accessTokenLifespan": 300,
        "ssoSessionIdleTimeout": 1800,
        "ssoSessionMaxLifespan": 36000,
        "offlineSessionIdleTimeout": 2592000,
        "offlineSessionMaxLifespanEnabled": True,
        "offlineSessionMaxLifespan": 5184000,
        "revokeRefreshToken": True,
        "refreshTokenMaxReuse": 0,
        "defaultSignatureAlgorithm": "RS256",
        "browserFlow": "browser-mfa",
        "browserSecurityHeaders": {
            "xFrameOptions": "DENY",
            "contentSecurityPolicy": "frame-src 'self'; frame-ancestors 'self'; object-src 'none';",
            "strictTransportSecurity": "max-age=31536000; includeSubDomains",
            "xContentTypeOptions": "nosniff",
            "referrerPolicy": "no-referrer",
        },
        **_events(True),
        "authenticationFlows": _mfa_flow(),
        "clientPolicies": {
            "policies": [
                {
                    "name": "secure-redirects",
                    "description": "",
                    "enabled": True,
                    "conditions": [{"condition": "any-client", "configuration": {}}],
                    "profiles": ["sovscan-secure-redirects"],
                },
            ]
        },
        "clientProfiles": {
            "profiles": [
                {
                    "name": "sovscan-secure-redirects",
                    "description": "",
                    "executors": [{"executor": "secure-redirect-uris-enforcer", "configuration": {}}],
                },
            ]
        },
        "roles": {
            "realm": [
                {"name": "app-user", "composite": False},
                {"name": "offline_access"},
                {"name": "uma_authorization"},
            ]
        },
        "clients": [
            {
                "clientId": "portal",
                "name": "Portal",
                "enabled": True,
                "publicClient": False,
                "clientAuthenticatorType": "client-jwt",
                "standardFlowEnabled": True,
                "implicitFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "serviceAccountsEnabled": False,
                "fullScopeAllowed": False,
                "redirectUris": ["https://portal.example.com/callback"],
                "webOrigins": ["https://portal.example.com"],
                "attributes": {
                    "pkce.code.challenge.method": "S256",
                    "post.logout.redirect.uris": "https://portal.example.com/",
                },
            },
            {
                "clientId": "spa",
                "name": "Single-page app",
                "enabled": True,
                "publicClient": True,
                "standardFlowEnabled": True,
                "implicitFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "fullScopeAllowed": False,
                "redirectUris": ["https://spa.example.com/callback"],
                "webOrigins": ["https://spa.example.com"],
                "attributes": {"pkce.code.challenge.method": "S256"},
            },
            {
                "clientId": "backend",
                "enabled": True,
                "publicClient": False,
                "clientAuthenticatorType": "client-secret",
                "secret": PLANTED["hardened_backend_secret"],
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "serviceAccountsEnabled": True,
                "fullScopeAllowed": False,
                "attributes": {},
            },
            {
                "clientId": "sovscan-noevents",
                "enabled": True,
                "publicClient": False,
                "clientAuthenticatorType": "client-secret",
                "secret": PLANTED["noevents_secret"],
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "serviceAccountsEnabled": True,
                "fullScopeAllowed": True,  # the admin API reads roles from the token
                "attributes": {},
            },
        ],
        "users": [
            {
                "username": "service-account-backend",
                "enabled": True,
                "serviceAccountClientId": "backend",
                "realmRoles": ["app-user"],
            },
            {
                "username": "service-account-sovscan-noevents",
                "enabled": True,
                "serviceAccountClientId": "sovscan-noevents",
                "clientRoles": {"realm-management": [r for r in VIEW_ROLES if r != "view-events"]},
            },
            {
                "username": "alice-admin",
                "enabled": True,
                "email": "alice@example.com",
                "emailVerified": True,
                "firstName": "Alice",
                "lastName": "Admin",
                "credentials": [{"type": "password", "value": PLANTED["alice_password"], "temporary": False}],
                "clientRoles": {"realm-management": ["realm-admin"]},
            },
        ],
        "identityProviders": [
            {
                "alias": "corp-oidc",
                "providerId": "oidc",
                "enabled": True,
                "trustEmail": False,
                "config": {
                    "clientId": "keycloak-hardened",
                    "clientSecret": PLANTED["hardened_idp_secret"],
                    "clientAuthMethod": "client_secret_post",
                    "authorizationUrl": "https://idp.example.com/authorize",
                    "tokenUrl": "https://idp.example.com/token",
                    "issuer": "https://idp.example.com",
                    "validateSignature": "true",
                    "useJwksUrl": "true",
                    "jwksUrl": "https://idp.example.com/jwks",
                    "pkceEnabled": "true",
                    "pkceMethod": "S256",
                    "syncMode": "IMPORT",
                },
            }
        ],
        "components": {
            "org.keycloak.storage.UserStorageProvider": [
                _ldap("corp-ldap", "ldaps://127.0.0.1:1", False, PLANTED["hardened_ldap_bind"])
            ]
        },
    }


def weak() -> dict[str, Any]:
    """A realm where every control fails on a named resource."""
    return {
        "realm": "weak",
        "enabled": True,
        "sslRequired": "none",
        "bruteForceProtected": False,
        "passwordPolicy": "length(6) and hashAlgorithm(pbkdf2-sha256) and hashIterations(1000)",
        "otpPolicyType": "totp",
        "otpPolicyAlgorithm": "HmacSHA1",
        "otpPolicyDigits": 6,
        "otpPolicyPeriod": 30,
        "otpPolicyLookAheadWindow": 5,
        "otpPolicyCodeReusable": True,
        "registrationAllowed": True,
        "verifyEmail": False,
        "duplicateEmailsAllowed": True,
        "accessTokenLifespan": 3600,
        "ssoSessionIdleTimeout": 86400,
        "ssoSessionMaxLifespan": 864000,
        "offlineSessionIdleTimeout": 31536000,
        "offlineSessionMaxLifespanEnabled": False,
        "revokeRefreshToken": False,
        "defaultSignatureAlgorithm": "HS256",
        "browserSecurityHeaders": {"xFrameOptions": "", "contentSecurityPolicy": "", "strictTransportSecurity": ""},
        "smtpServer": {"host": "127.0.0.1", "port": "2525", "from": "sso@example.com", "auth": "true",
                       "user": "mailer", "password": PLANTED["weak_smtp_password"]},
        **_events(False),
        "roles": {
            "realm": [
                {"name": "offline_access"},
                {"name": "uma_authorization"},
                {"name": "ops", "composite": True, "composites": {"client": {"realm-management": ["manage-users"]}}},
                {"name": "default-roles-weak", "composite": True,
                 "composites": {"realm": ["offline_access", "uma_authorization"],
                                "client": {"realm-management": ["manage-users"]}}},
            ]
        },
        "defaultRole": {"name": "default-roles-weak"},
        "clients": [
            {
                "clientId": "wild",
                "enabled": True,
                "publicClient": True,
                "standardFlowEnabled": True,
                "implicitFlowEnabled": True,
                "directAccessGrantsEnabled": True,
                "fullScopeAllowed": True,
                "redirectUris": ["*"],
                "webOrigins": ["*"],
                "attributes": {},
            },
            {
                "clientId": "http-app",
                "enabled": True,
                "publicClient": False,
                "clientAuthenticatorType": "client-secret",
                "secret": PLANTED["weak_legacy_secret"],
                "standardFlowEnabled": True,
                "directAccessGrantsEnabled": False,
                "fullScopeAllowed": False,
                "redirectUris": ["http://app.example.com/callback", "http://localhost:8080/callback",
                                 "https://app.example.com/*"],
                "webOrigins": ["https://app.example.com"],
                "attributes": {
                    "pkce.code.challenge.method": "plain",
                    "client.secret.rotated": PLANTED["weak_legacy_secret"],
                    "access.token.lifespan": "7200",
                },
            },
            {
                "clientId": "robot",
                "enabled": True,
                "publicClient": False,
                "clientAuthenticatorType": "client-secret",
                "secret": PLANTED["weak_robot_secret"],
                "standardFlowEnabled": False,
                "serviceAccountsEnabled": True,
                "fullScopeAllowed": True,
                "attributes": {},
            },
            {
                "clientId": "ci-bot",
                "enabled": True,
                "publicClient": False,
                "clientAuthenticatorType": "client-secret",
                "secret": PLANTED["weak_cibot_secret"],
                "standardFlowEnabled": False,
                "serviceAccountsEnabled": True,
                "fullScopeAllowed": False,
                "attributes": {},
            },
        ],
        "users": [
            {"username": "service-account-robot", "enabled": True, "serviceAccountClientId": "robot",
             "clientRoles": {"realm-management": ["realm-admin"]}},
            {"username": "service-account-ci-bot", "enabled": True, "serviceAccountClientId": "ci-bot",
             "realmRoles": ["ops"]},
            {"username": "bob", "enabled": True, "email": "bob@example.com",
             "credentials": [{"type": "password", "value": PLANTED["bob_password"], "temporary": False}],
             "groups": ["/admins"]},
        ],
        "groups": [{"name": "admins", "path": "/admins", "clientRoles": {"realm-management": ["realm-admin"]},
                    "subGroups": []}],
        "identityProviders": [
            {
                "alias": "sloppy",
                "providerId": "oidc",
                "enabled": True,
                "trustEmail": True,
                "config": {
                    "clientId": "keycloak-weak",
                    "clientSecret": PLANTED["weak_idp_secret"],
                    "authorizationUrl": "https://idp.example.com/authorize",
                    "tokenUrl": "https://idp.example.com/token",
                    "validateSignature": "false",
                    "pkceEnabled": "false",
                },
            }
        ],
        "components": {
            "org.keycloak.storage.UserStorageProvider": [
                _ldap("plain-ldap", "ldap://127.0.0.1:1", False, PLANTED["weak_ldap_bind"])
            ],
            "org.keycloak.keys.KeyProvider": [
                {"name": "rsa-1024", "providerId": "rsa-generated", "subComponents": {},
                 "config": {"priority": ["200"], "keySize": ["1024"], "active": ["true"], "enabled": ["true"]}},
            ],
        },
    }  # fmt: skip


IMPOSTOR_ACCOUNT_CONSOLE = {
    "clientId": "account-console",
    "name": "${client_account-console}",
    "rootUrl": "${authBaseUrl}",
    "baseUrl": "/realms/weak/account/",
    "enabled": True,
    "publicClient": True,
    "standardFlowEnabled": True,
    "directAccessGrantsEnabled": False,
    "fullScopeAllowed": False,
    "redirectUris": ["/realms/weak/account/*", "*"],
    "webOrigins": [],
    "attributes": {"post.logout.redirect.uris": "+", "pkce.code.challenge.method": "S256"},
}
"""Created in realm weak after the built-in `account-console` is deleted (the fixture does it after
import, since an import always creates the built-in): same clientId, name and root URL, plus `*`."""

REALMS = {"hardened": hardened, "weak": weak}
"""Realm name -> builder of its import JSON."""
