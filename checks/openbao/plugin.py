"""The `openbao` target kind: `--target openbao=https://bao.example:8200[?namespace=team-a&probes=true]`."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from checks.openbao import access_checks, contract, server_checks
from checks.openbao.collect import _target_parts, collect
from checks.openbao.connect import OPTIONS, ambient_credentials, as_bool
from checks.openbao.resolver import BaoResolver
from scanner.errors import ConfigError
from scanner.httpkit import parse_server_url
from scanner.interface import CheckSpec, CredentialResolver, Secret, Target, TargetPlugin
from scanner.model import Evidence

GRANTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "auth_methods": (("sys/auth", ("read",)), ("sys/mounts/auth/*", ("read",))),
    "secrets_engines": (("sys/mounts", ("read",)),),
    "policies": (("sys/policies/acl", ("list",)), ("sys/policies/acl/*", ("read",))),
    "sanitized_config": (("sys/config/state/sanitized", ("read",)),),
    "rate_limit_quotas": (("sys/quotas/rate-limit", ("list",)), ("sys/quotas/rate-limit/*", ("read",))),
    "raft": (("sys/storage/raft/configuration", ("read",)),),
    "audit_devices": (("sys/audit", ("read", "sudo")),),
    "cors": (("sys/config/cors", ("read", "sudo")),),
    "token_accessors": (("auth/token/accessors", ("list", "sudo")), ("auth/token/lookup-accessor", ("update",))),
}
"""Section -> the ACL rules that read it (health, seal status, connection and probes need no token)."""


def _query_value(key: str, value: str) -> Any:
    if key in ("probes", "tls_skip_verify"):
        return as_bool(value, f"option {key}")
    if key == "max_accessors":
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(f"option max_accessors must be a positive integer, got '{value}'")
        return int(value)
    return value


class OpenBaoPlugin(TargetPlugin):
    """OpenBao (and Vault-API-compatible) secrets managers, read through hvac."""

    kind = "openbao"
    description = "OpenBao secrets manager: seal, TLS, audit, auth methods, ACL policies, tokens (hvac)"

    def checks(self) -> Sequence[CheckSpec]:
        """All OpenBao checks."""
        return (*server_checks.CHECKS, *access_checks.CHECKS)

    def baselines(self) -> Sequence[Traversable]:
        """The built-in `openbao` baseline."""
        return (files("baselines").joinpath("openbao.yaml"),)

    def target_uri(self, target: Target) -> str:
        """`openbao://host:port`, the base URI of every resource of this target."""
        _scheme, host, port = _target_parts(target.url)
        shown = f"[{host}]" if host and ":" in host else host
        return f"openbao://{shown}:{port}" if host else target.url

    def parse_target(self, value: str) -> Target:
        """`https://host:port` (scheme defaults to https, port to 8200); options may ride in the query string."""
        url = parse_server_url(
            value,
            kind="an OpenBao",
            example="https://bao.example:8200",
            known_options=OPTIONS,
            credential_options=("token",),
            credentials_hint="use BAO_TOKEN, token_file or an inventory credential",
            convert=_query_value,
        )
        if url.path.strip("/") not in ("", "v1"):
            raise ConfigError(f"an OpenBao target URL has no path (got '{url.path}'); give the server address only")
        port = url.port or 8200
        target_id = f"{url.host}:{port}"
        if url.options.get("namespace"):
            target_id += "/" + str(url.options["namespace"]).strip("/")
        return Target(id=target_id, kind=self.kind, url=f"{url.scheme}://{url.host}:{port}", options=url.options)

    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """Read the OpenBao server (read-only); see `checks.openbao.collect`."""
        return collect(target, secrets, timeout)

    def evidence_contract(self) -> Mapping[str, Mapping[str, Any]]:
        """Section name -> JSON Schema (draft 2020-12) of its data; see `checks.openbao.contract`."""
        return contract.SECTIONS

    def ambient_credentials(self, target: Target) -> Mapping[str, Secret]:
        """Tokens this target would pick up from the environment or files (token_file, BAO_TOKEN,
        VAULT_TOKEN, ~/.vault-token), for redaction; absent ones are skipped."""
        return ambient_credentials(target.options)

    def least_privilege(self, target: Target, sections: Collection[str]) -> str | None:
        """The ACL policy (HCL) that lets sovscan read exactly `sections` (see examples/openbao/scanner-policy.hcl)."""
        blocks = ['path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}']
        for section in sorted(set(sections) & set(GRANTS)):
            for path, capabilities in GRANTS[section]:
                shown = ", ".join(f'"{c}"' for c in capabilities)
                blocks.append(f'path "{path}" {{\n  capabilities = [{shown}]\n}}')
        header = f"# sovscan scanner policy for {target.id}: {', '.join(sorted(sections)) or 'no section'}\n"
        return header + "\n".join(blocks) + "\n"

    def credential_resolvers(self) -> Sequence[CredentialResolver]:
        """The `bao:` credential scheme."""
        return (BaoResolver(),)


PLUGIN = OpenBaoPlugin()
"""The entry point object (`sovscan.checks: openbao`)."""
