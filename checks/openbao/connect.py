"""How sovscan reaches an OpenBao server: address, token, TLS and namespace, by the ecosystem's conventions.

Shared by the collector and the `bao:` credential resolver. The token is kept in a `Secret`
and only revealed to hvac; nothing here logs or returns it in text.

Conventions followed (the `bao` / `vault` CLI ones):

* token: an inventory credential `token`, else option `token_file`, else `BAO_TOKEN`, else
  `VAULT_TOKEN`, else the token-helper file `~/.vault-token`;
* CA: option `ca_cert`, else `BAO_CACERT`, `VAULT_CACERT`, `BAO_CAPATH`, `VAULT_CAPATH`;
  verification is on unless `tls_skip_verify: true` or `BAO_SKIP_VERIFY` / `VAULT_SKIP_VERIFY`
  is explicitly set to a true value;
* client certificate: options `client_cert` / `client_key`, else `BAO_CLIENT_CERT` / `BAO_CLIENT_KEY`
  (or the `VAULT_` names);
* namespace: option `namespace`, else `BAO_NAMESPACE`, else `VAULT_NAMESPACE`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hvac
from hvac.adapters import RawAdapter

from scanner import httpkit
from scanner.errors import CollectionError, ConfigError
from scanner.httpkit import TlsSettings, as_bool, env_first
from scanner.interface import Secret

__all__ = [
    "OPTIONS",
    "TlsSettings",
    "ambient_credentials",
    "as_bool",
    "check_options",
    "env_first",
    "make_client",
    "namespace_setting",
    "read_token_file",
    "tls_settings",
    "token_from_conventions",
]

OPTIONS = frozenset(
    {"namespace", "ca_cert", "token_file", "probes", "tls_skip_verify", "client_cert", "client_key", "max_accessors"}
)
"""Target options of the openbao kind (inventory `options:` or the URL's query string)."""


def check_options(options: Mapping[str, Any]) -> None:
    """Reject unknown or malformed target options (ConfigError: the engine reports an invalid target)."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ConfigError(f"unknown OpenBao option(s) {', '.join(unknown)} (known: {', '.join(sorted(OPTIONS))})")
    for key in ("probes", "tls_skip_verify"):
        if key in options:
            as_bool(options[key], f"option {key}")
    if "max_accessors" in options:
        value = options["max_accessors"]
        if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
            raise ConfigError(f"option max_accessors must be a positive integer, got {value!r}")


def tls_settings(options: Mapping[str, Any]) -> TlsSettings:
    """TLS settings from target options, then the BAO_/VAULT_ environment variables."""
    return httpkit.tls_settings(
        options,
        ca_env=("BAO_CACERT", "VAULT_CACERT", "BAO_CAPATH", "VAULT_CAPATH"),
        skip_verify_env=("BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY"),
        client_cert_env=("BAO_CLIENT_CERT", "VAULT_CLIENT_CERT"),
        client_key_env=("BAO_CLIENT_KEY", "VAULT_CLIENT_KEY"),
    )


def namespace_setting(options: Mapping[str, Any]) -> str | None:
    """The namespace to scan: option `namespace`, else BAO_NAMESPACE / VAULT_NAMESPACE; None for root."""
    raw = options.get("namespace")
    if raw is None:
        found = env_first("BAO_NAMESPACE", "VAULT_NAMESPACE")
        raw = found[1] if found else None
    if raw is None:
        return None
    cleaned = str(raw).strip().strip("/")
    return cleaned or None


def read_token_file(path: str, what: str) -> Secret:
    """Read a token file (whitespace trimmed); raise CollectionError (CREDENTIALS) without the content."""
    try:
        value = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CollectionError(
            CollectionError.CREDENTIALS, f"cannot read {what} {path}: {exc.strerror or exc}"
        ) from None
    if not value:
        raise CollectionError(CollectionError.CREDENTIALS, f"{what} {path} is empty")
    return Secret(value)


def token_from_conventions(secrets: Mapping[str, Secret], options: Mapping[str, Any]) -> tuple[Secret, str]:
    """The scanner's token and where it came from (a description, never the value)."""
    if "token" in secrets and secrets["token"].reveal():
        return secrets["token"], "inventory credential 'token'"
    if options.get("token_file"):
        return read_token_file(str(options["token_file"]), "token_file"), "option token_file"
    found = env_first("BAO_TOKEN", "VAULT_TOKEN")
    if found:
        return Secret(found[1].strip()), found[0]
    helper = Path.home() / ".vault-token"
    if helper.is_file():
        return read_token_file(str(helper), "token helper file"), "~/.vault-token"
    raise CollectionError(
        CollectionError.CREDENTIALS,
        "no OpenBao token: give an inventory credential 'token', option token_file, "
        "BAO_TOKEN or VAULT_TOKEN, or a ~/.vault-token file",
    )


def ambient_credentials(options: Mapping[str, Any]) -> dict[str, Secret]:
    """Every token this target could pick up besides the inventory: token_file, BAO_TOKEN, VAULT_TOKEN,
    ~/.vault-token. Absent or unreadable sources are skipped (never raises)."""
    found: dict[str, Secret] = {}
    for name in ("BAO_TOKEN", "VAULT_TOKEN"):
        value = os.environ.get(name, "").strip()
        if value:
            found[name] = Secret(value)
    files = [("token_file", str(options["token_file"]))] if options.get("token_file") else []
    files.append(("~/.vault-token", str(Path.home() / ".vault-token")))
    for label, path in files:
        try:
            value = Path(path).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if value:
            found[label] = Secret(value)
    return found


def make_client(
    address: str, token: Secret | None, tls: TlsSettings, namespace: str | None, timeout: float
) -> hvac.Client:
    """An hvac client with a raw adapter (we read status codes ourselves) and LIST sent as GET ?list=true.

    `token=None` makes an unauthenticated client (hvac would otherwise pick up VAULT_TOKEN).
    """
    return hvac.Client(
        url=address,
        token=token.reveal() if token is not None else "",
        verify=tls.verify,
        cert=tls.client_cert,
        timeout=timeout,
        namespace=namespace,
        adapter=RawAdapter,
        strict_http=True,
    )
