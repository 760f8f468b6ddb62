"""The `keycloak` target kind.

`--target keycloak=VALUE`, VALUE one of

  https://sso.example[:port][/prefix][?realms=a,b&auth_realm=master&client_id=sovscan]
                      a live server (the scheme defaults to https); options may ride in the query
  export:PATH         a realm export: `kc.sh export --file` file, `--dir` directory, or the admin
                      console's partial export
  PATH                an existing file or directory, or a path ending in .json: same as export:PATH

Options (inventory `options:` or the query string): see `checks.keycloak.connect`.
Credentials (inventory `credentials:`): `client_secret`, `username`, `password`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from checks.keycloak import access, client_checks, connect, contract, realm_checks
from checks.keycloak.collect import collect, keycloak_uri
from checks.keycloak.offline import read_export
from scanner import httpkit
from scanner.errors import ConfigError
from scanner.interface import CheckSpec, Secret, Target, TargetPlugin
from scanner.model import Evidence

EXPORT_PREFIX = "export:"


def _offline_path(target: Target) -> Path | None:
    return Path(target.url[len(EXPORT_PREFIX) :]) if target.url.startswith(EXPORT_PREFIX) else None


class KeycloakPlugin(TargetPlugin):
    """Keycloak realms, live (python-keycloak, view roles only) or from realm exports."""

    kind = "keycloak"
    description = "Keycloak realms: login security, clients, admin roles, events, keys (python-keycloak; realm exports)"

    def checks(self) -> Sequence[CheckSpec]:
        """All Keycloak checks."""
        return (*realm_checks.CHECKS, *client_checks.CHECKS)

    def baselines(self) -> Sequence[Traversable]:
        """The built-in `keycloak` baseline."""
        return (files("baselines").joinpath("keycloak.yaml"),)

    def target_uri(self, target: Target) -> str:
        """`keycloak://host[:port]` for a live server, `keycloak-export://<file name>` for an export."""
        path = _offline_path(target)
        if path is not None:
            return f"keycloak-export://{path.name}"
        scheme, host, port = httpkit.target_parts(target.url)
        if not host:
            return target.url
        return keycloak_uri(httpkit.url_host(host), port, 443 if scheme == "https" else 80)

    def parse_target(self, value: str) -> Target:
        """Parse a server URL or an export path (see the module docstring)."""
        raw = value.strip()
        if not raw:
            raise ConfigError("a Keycloak target needs a URL such as https://sso.example, or export:PATH")
        if raw.startswith(EXPORT_PREFIX) or (
            "://" not in raw and (Path(raw).expanduser().exists() or raw.endswith(".json"))
        ):
            path = Path(raw.removeprefix(EXPORT_PREFIX)).expanduser()
            return Target(id=path.name or str(path), kind=self.kind, url=f"{EXPORT_PREFIX}{path}")
        url = httpkit.parse_server_url(
            raw,
            kind="a Keycloak",
            example="https://sso.example, or export:PATH",
            known_options=connect.OPTIONS,
            credential_options=connect.CREDENTIALS,
            credentials_hint="use inventory credentials or KEYCLOAK_* variables",
            convert=lambda key, item: httpkit.as_bool(item, f"option {key}") if key == "tls_skip_verify" else item,
        )
        if url.path.startswith(("/admin", "/realms")):
            raise ConfigError(f"give the Keycloak base URL, not an API path (got '{url.path}')")
        connect.check_options(url.options)
        shown = url.host + (f":{url.port}" if url.port else "")
        return Target(id=shown + url.path, kind=self.kind, url=f"{url.scheme}://{shown}{url.path}", options=url.options)

    def validate_target(self, target: Target) -> None:
        """Reject unknown options and credential names."""
        if _offline_path(target) is not None:
            if target.options:
                raise ConfigError("a Keycloak export target takes no options")
            return
        connect.check_options(target.options)
        unknown = sorted(set(target.credentials) - connect.CREDENTIALS)
        if unknown:
            raise ConfigError(
                f"unknown Keycloak credential(s) {', '.join(unknown)} (known: {', '.join(sorted(connect.CREDENTIALS))})"
            )

    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """Read the server (read-only, GET only after the token request) or the export."""
        path = _offline_path(target)
        if path is not None:
            return read_export(target.id, path)
        return collect(target, secrets, timeout)

    def ambient_credentials(self, target: Target) -> Mapping[str, Secret]:
        """KEYCLOAK_CLIENT_SECRET and KEYCLOAK_PASSWORD when set (registered for redaction)."""
        if _offline_path(target) is not None:
            return {}
        return connect.ambient(target.options)

    def evidence_contract(self) -> Mapping[str, Mapping[str, Any]]:
        """Section name -> JSON Schema of its data (`checks.keycloak.contract`)."""
        return contract.CONTRACT

    def least_privilege(self, target: Target, sections: Collection[str]) -> str | None:
        """The view roles (and kcadm commands) that let sovscan read exactly `sections`."""
        if _offline_path(target) is not None:
            return None
        return access.least_privilege(target, sections)


PLUGIN = KeycloakPlugin()
"""The entry point object (`sovscan.checks: keycloak`)."""
