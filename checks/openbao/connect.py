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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
from hvac.adapters import RawAdapter

from scanner.errors import CollectionError, ConfigError
from scanner.interface import Secret

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


def env_first(*names: str) -> tuple[str, str] | None:
    """Return (name, value) of the first environment variable among `names` that is set and non-empty."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return name, value
    return None


OPTIONS = frozenset(
    {"namespace", "ca_cert", "token_file", "probes", "tls_skip_verify", "client_cert", "client_key", "max_accessors"}
)
"""Target options of the openbao kind (inventory `options:` or the URL's query string)."""


def as_bool(value: Any, what: str) -> bool:
    """Interpret an option or environment value as a boolean; raise ConfigError when it is not one."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{what} must be true or false, got {value!r}")


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


@dataclass(frozen=True)
class TlsSettings:
    """How the server certificate is verified and which client certificate is presented."""

    verify: bool | str
    """True (system CAs), a CA file or directory path, or False (verification disabled)."""
    ca_source: str | None = None
    """Where the CA came from (`option ca_cert`, `BAO_CACERT`, ...), for evidence metadata."""
    skip_verify_source: str | None = None
    """Set when verification is disabled: which option or variable disabled it."""
    client_cert: tuple[str, str] | None = None
    """Client certificate and key paths, when mutual TLS is used."""


def tls_settings(options: Mapping[str, Any]) -> TlsSettings:
    """TLS settings from target options, then the BAO_/VAULT_ environment variables."""
    skip_source: str | None = None
    if "tls_skip_verify" in options:
        if as_bool(options["tls_skip_verify"], "option tls_skip_verify"):
            skip_source = "option tls_skip_verify"
    else:
        found = env_first("BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY")
        if found and as_bool(found[1], found[0]):
            skip_source = found[0]
    client_cert: tuple[str, str] | None = None
    if options.get("client_cert"):
        client_cert = (str(options["client_cert"]), str(options.get("client_key") or options["client_cert"]))
    else:
        cert = env_first("BAO_CLIENT_CERT", "VAULT_CLIENT_CERT")
        key = env_first("BAO_CLIENT_KEY", "VAULT_CLIENT_KEY")
        if cert:
            client_cert = (cert[1], key[1] if key else cert[1])
    if skip_source:
        return TlsSettings(verify=False, skip_verify_source=skip_source, client_cert=client_cert)
    if options.get("ca_cert"):
        return TlsSettings(verify=str(options["ca_cert"]), ca_source="option ca_cert", client_cert=client_cert)
    found = env_first("BAO_CACERT", "VAULT_CACERT", "BAO_CAPATH", "VAULT_CAPATH")
    if found:
        return TlsSettings(verify=found[1], ca_source=found[0], client_cert=client_cert)
    return TlsSettings(verify=True, client_cert=client_cert)


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
