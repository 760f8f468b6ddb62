"""How sovscan reaches a Keycloak server: base URL, realms, credentials and TLS.

Conventions (the ones of the Keycloak Terraform provider and python-keycloak):

* a service-account client (client credentials grant): option `client_id` (else
  `KEYCLOAK_CLIENT_ID`) and the inventory credential `client_secret` (an `env:`, `file:` or
  `bao:` reference; else `KEYCLOAK_CLIENT_SECRET`);
* or a user with a password (password grant) for sites without such a client: option / credential
  `username` (else `KEYCLOAK_USER`) and credential `password` (else `KEYCLOAK_PASSWORD`), through
  the client `client_id` (default `admin-cli`);
* the realm the account lives in: option `auth_realm` (else `KEYCLOAK_REALM`, else `master`);
* the realms scanned: option `realms` (a list, or a comma-separated string), default every realm
  the account can see;
* TLS: certificates are verified; option `ca_cert` (else `KEYCLOAK_CA_CERT`) names a CA file or
  directory; `tls_skip_verify: true` disables verification, which the evidence then says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scanner import httpkit
from scanner.errors import CollectionError, ConfigError
from scanner.interface import Secret

OPTIONS = frozenset(
    {
        "realms",
        "auth_realm",
        "client_id",
        "username",
        "ca_cert",
        "tls_skip_verify",
        "client_cert",
        "client_key",
        "page_size",
        "max_members",
    }
)
"""Target options of the keycloak kind (inventory `options:` or the URL's query string)."""

CREDENTIALS = frozenset({"client_secret", "username", "password"})
"""Inventory credential names of the keycloak kind."""

SECRET_ENV = ("KEYCLOAK_CLIENT_SECRET", "KEYCLOAK_PASSWORD")
"""Environment variables holding a Keycloak credential value this kind picks up."""


def _positive(options: Mapping[str, Any], key: str) -> None:
    if key in options:
        value = options[key]
        if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
            raise ConfigError(f"option {key} must be a positive integer, got {value!r}")


def realm_list(value: Any) -> list[str] | None:
    """The `realms` option as a list of names (None: every visible realm)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(f"option realms must be a list of realm names, got {value!r}")
    names = [str(item).strip() for item in items if str(item).strip()]
    if not names:
        raise ConfigError("option realms is empty: leave it out to scan every realm the account can see")
    return names


def check_options(options: Mapping[str, Any]) -> None:
    """Reject unknown or malformed target options (ConfigError: the engine reports an invalid target)."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ConfigError(f"unknown Keycloak option(s) {', '.join(unknown)} (known: {', '.join(sorted(OPTIONS))})")
    if "tls_skip_verify" in options:
        httpkit.as_bool(options["tls_skip_verify"], "option tls_skip_verify")
    _positive(options, "page_size")
    _positive(options, "max_members")
    realm_list(options.get("realms"))


def tls_settings(options: Mapping[str, Any]) -> httpkit.TlsSettings:
    """TLS settings: option ca_cert / KEYCLOAK_CA_CERT, option tls_skip_verify, client certificate."""
    return httpkit.tls_settings(options, ca_env=("KEYCLOAK_CA_CERT",))


@dataclass(frozen=True)
class Login:
    """How the scanner signs in: grant, realm, client and the secret (kept as a Secret)."""

    grant: str
    """`client_credentials` or `password`."""
    realm: str
    """The realm the account lives in."""
    client_id: str
    """The client the token is requested for."""
    username: str | None
    """The user, for the password grant."""
    secret: Secret
    """The client secret or the user's password."""
    source: str
    """Where the credentials came from (names, never values)."""


def login(secrets: Mapping[str, Secret], options: Mapping[str, Any]) -> Login:
    """Pick the credentials by the conventions in the module docstring; CollectionError when there are none."""
    realm = str(options.get("auth_realm") or os.environ.get("KEYCLOAK_REALM") or "master")
    client_id = options.get("client_id") or os.environ.get("KEYCLOAK_CLIENT_ID")
    username = options.get("username") or (secrets["username"].reveal() if "username" in secrets else None)
    if "client_secret" in secrets and secrets["client_secret"].reveal():
        if not client_id:
            raise CollectionError(
                CollectionError.CREDENTIALS, "a client_secret needs the option client_id (or KEYCLOAK_CLIENT_ID)"
            )
        return Login(
            "client_credentials", realm, str(client_id), None, secrets["client_secret"], "credential 'client_secret'"
        )
    if "password" in secrets and secrets["password"].reveal():
        user = username or os.environ.get("KEYCLOAK_USER")
        if not user:
            raise CollectionError(CollectionError.CREDENTIALS, "a password needs a username (option or credential)")
        return Login(
            "password", realm, str(client_id or "admin-cli"), str(user), secrets["password"], "credential 'password'"
        )
    env_secret = os.environ.get("KEYCLOAK_CLIENT_SECRET")
    if env_secret and client_id:
        return Login("client_credentials", realm, str(client_id), None, Secret(env_secret), "KEYCLOAK_CLIENT_SECRET")
    env_password = os.environ.get("KEYCLOAK_PASSWORD")
    env_user = username or os.environ.get("KEYCLOAK_USER")
    if env_password and env_user:
        return Login(
            "password", realm, str(client_id or "admin-cli"), str(env_user), Secret(env_password), "KEYCLOAK_PASSWORD"
        )
    raise CollectionError(
        CollectionError.CREDENTIALS,
        "no Keycloak credentials: give option client_id with a credential client_secret (or "
        "KEYCLOAK_CLIENT_ID/KEYCLOAK_CLIENT_SECRET), or username and password (or KEYCLOAK_USER/KEYCLOAK_PASSWORD)",
    )


def ambient(options: Mapping[str, Any]) -> dict[str, Secret]:
    """Every credential value this kind would pick up from the environment (for redaction)."""
    del options  # the environment names do not depend on the target
    return {name: Secret(os.environ[name]) for name in SECRET_ENV if os.environ.get(name)}
