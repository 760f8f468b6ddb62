"""The `bao:` credential scheme: other targets' credentials read from OpenBao KV at scan start.

A reference `bao:MOUNT/PATH#FIELD` names field FIELD of the KV secret at PATH on the KV
mount MOUNT (v2, or v1 when the mount says so). It is read with the scanner's own OpenBao
token, configured in the inventory:

    credentials:
      bao: {address: https://bao.example:8200, ca_cert: /etc/ssl/bao-ca.pem,
            token: env:SOVSCAN_BAO_TOKEN, namespace: team-a}

(`token` is an `env:` or `file:` reference; `address`, `token`, `ca_cert`, `namespace` fall
back to BAO_ADDR/VAULT_ADDR, BAO_TOKEN/VAULT_TOKEN, BAO_CACERT/VAULT_CACERT, BAO_NAMESPACE).
The value is returned to the engine in memory only; failures raise CollectionError with the
reason and never the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from checks.openbao.connect import as_bool, env_first, make_client, read_token_file, tls_settings
from scanner.credentials import resolve_simple
from scanner.errors import CollectionError, ConfigError
from scanner.interface import CredentialResolver, Secret

DEFAULT_TIMEOUT = 15.0


def parse_reference(reference: str) -> tuple[str, str]:
    """Split `MOUNT/PATH#FIELD` into (`MOUNT/PATH`, `FIELD`); raise CollectionError when malformed."""
    location, sep, field = reference.partition("#")
    location = location.strip().strip("/")
    if not sep or not field or "/" not in location or not all(location.split("/")):
        raise CollectionError(
            CollectionError.CREDENTIALS, f"a bao: reference must look like bao:MOUNT/PATH#FIELD, got 'bao:{reference}'"
        )
    return location, field


def _setting_reference(settings: Mapping[str, Any], key: str) -> str | None:
    """A settings value that may itself be an `env:` / `file:` reference (resolved here)."""
    raw = settings.get(key)
    if raw is None or raw == "":
        return None
    text = str(raw)
    if text.startswith(("env:", "file:")):
        return resolve_simple(text)
    return text


class BaoResolver(CredentialResolver):
    """Resolves `bao:MOUNT/PATH#FIELD` from OpenBao KV with the scanner's own token."""

    scheme = "bao"

    def resolve(self, reference: str, settings: Mapping[str, Any]) -> str:
        """Return the field's value (in memory only); raise CollectionError (CREDENTIALS) on failure."""
        location, field = parse_reference(reference)
        address = _setting_reference(settings, "address")
        if address is None:
            found = env_first("BAO_ADDR", "VAULT_ADDR")
            address = found[1] if found else None
        if not address:
            raise CollectionError(
                CollectionError.CREDENTIALS,
                "no OpenBao address for bao: references (inventory credentials.bao.address, BAO_ADDR or VAULT_ADDR)",
            )
        token = self._token(settings)
        options: dict[str, Any] = {}
        if settings.get("ca_cert"):
            options["ca_cert"] = _setting_reference(settings, "ca_cert")
        if "tls_skip_verify" in settings:
            options["tls_skip_verify"] = as_bool(settings["tls_skip_verify"], "credentials.bao.tls_skip_verify")
        namespace = _setting_reference(settings, "namespace")
        if namespace is None:
            found = env_first("BAO_NAMESPACE", "VAULT_NAMESPACE")
            namespace = found[1] if found else None
        try:
            timeout = float(settings.get("timeout", DEFAULT_TIMEOUT))
        except (TypeError, ValueError):
            raise ConfigError(f"credentials.bao.timeout must be a number, got {settings.get('timeout')!r}") from None
        client = make_client(address.rstrip("/"), token, tls_settings(options), namespace or None, timeout)
        try:
            return self._read(client, location, field)
        except requests.exceptions.SSLError:
            raise CollectionError(
                CollectionError.CREDENTIALS, f"TLS error talking to OpenBao at {address} (check ca_cert)"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise CollectionError(
                CollectionError.CREDENTIALS, f"OpenBao at {address} unreachable ({type(exc).__name__})"
            ) from None
        finally:
            client.adapter.close()

    def _token(self, settings: Mapping[str, Any]) -> Secret:
        raw = settings.get("token")
        if raw:
            text = str(raw)
            if not text.startswith(("env:", "file:")):
                raise CollectionError(
                    CollectionError.CREDENTIALS,
                    "credentials.bao.token must be a reference (env:NAME or file:PATH), not a literal token",
                )
            try:
                value = resolve_simple(text).strip()
            except ConfigError as exc:
                raise CollectionError(CollectionError.CREDENTIALS, f"credentials.bao.token: {exc.message}") from None
            if not value:
                raise CollectionError(CollectionError.CREDENTIALS, f"credentials.bao.token ({text}) is empty")
            return Secret(value)
        found = env_first("BAO_TOKEN", "VAULT_TOKEN")
        if found:
            return Secret(found[1].strip())
        helper = Path.home() / ".vault-token"
        if helper.is_file():
            return read_token_file(str(helper), "token helper file")
        raise CollectionError(
            CollectionError.CREDENTIALS,
            "no OpenBao token for bao: references (inventory credentials.bao.token, BAO_TOKEN or VAULT_TOKEN)",
        )

    def _read(self, client: Any, location: str, field: str) -> str:
        mount, version = self._mount(client, location)
        rest = location[len(mount) :].strip("/") if location.startswith(mount) else location.split("/", 1)[1]
        if not rest:
            raise CollectionError(CollectionError.CREDENTIALS, f"'{location}' names the mount, not a secret")
        api_path = f"{mount}/data/{rest}" if version == "2" else f"{mount}/{rest}"
        response = client.adapter.request("GET", f"/v1/{quote(api_path)}", raise_exception=False)
        status = response.status_code
        if status == 403:
            raise CollectionError(
                CollectionError.CREDENTIALS, f"permission denied reading {api_path}: the token needs read on it"
            )
        if status == 404:
            raise CollectionError(CollectionError.CREDENTIALS, f"no secret at {api_path}")
        if status == 503:
            raise CollectionError(CollectionError.CREDENTIALS, "OpenBao is sealed or unavailable (HTTP 503)")
        if status != 200:
            raise CollectionError(CollectionError.CREDENTIALS, f"reading {api_path} returned HTTP {status}")
        try:
            body = response.json()
        except ValueError:
            raise CollectionError(CollectionError.CREDENTIALS, f"{api_path} did not return JSON") from None
        data = (body.get("data") or {}) if isinstance(body, dict) else {}
        if version == "2":
            data = data.get("data") or {}
        if not isinstance(data, dict) or field not in data:
            raise CollectionError(CollectionError.CREDENTIALS, f"the secret at {api_path} has no field '{field}'")
        value = data[field]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise CollectionError(
                CollectionError.CREDENTIALS, f"field '{field}' of {api_path} is not a string ({type(value).__name__})"
            )
        return str(value)

    def _mount(self, client: Any, location: str) -> tuple[str, str]:
        """(mount path, KV version) of a location, asked from OpenBao; first segment and v2 when it will not say."""
        response = client.adapter.request("GET", f"/v1/sys/internal/ui/mounts/{quote(location)}", raise_exception=False)
        if response.status_code == 200:
            try:
                data = response.json().get("data") or {}
            except ValueError:
                data = {}
            mount = str(data.get("path") or "").strip("/")
            version = str((data.get("options") or {}).get("version") or "1")  # kv without a version is v1
            if mount and location.startswith(mount + "/"):
                return mount, version
        return location.split("/", 1)[0], "2"
