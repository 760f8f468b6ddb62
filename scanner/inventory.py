"""Inventory files (`--inventory targets.yaml`) and one-off `--target KIND=VALUE` options."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scanner.baseline import schema
from scanner.credentials import BUILTIN_SCHEMES, mask_credentials, secrets_in_text
from scanner.errors import ConfigError, PluginError
from scanner.interface import Target
from scanner.plugins import Registry
from scanner.yamlfile import YamlDocument, read_yaml, validate


@dataclass(frozen=True)
class Inventory:
    """The targets of a scan and the settings of credential backends."""

    targets: tuple[Target, ...]
    """Targets in inventory order."""
    environment: str = "default"
    """Name of the scanned environment."""
    credential_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Scheme -> backend settings (e.g. bao address and token reference)."""


def parse_target_option(value: str, registry: Registry) -> Target:
    """Parse `KIND=VALUE` from the command line through the kind's plugin."""
    kind, sep, rest = value.partition("=")
    if not sep or not kind or not rest:
        raise ConfigError(
            "--target expects KIND=VALUE (e.g. postgres=postgresql://scanner@db:5432/postgres), "
            f"got '{mask_credentials(value)}'"
        )
    try:
        plugin = registry.plugin(kind)
    except PluginError as exc:
        raise ConfigError(f"--target {kind}=...: {exc}") from None
    try:
        target = plugin.parse_target(rest)
        refuse_url_password(target)
    except ConfigError as exc:
        raise ConfigError(f"--target {kind}=...: {exc.message}") from None
    return target


def refuse_url_password(target: Target) -> None:
    """Raise ConfigError when a parsed target still carries a password in its URL or id.

    Plugins are asked to refuse them; this check holds for every plugin, so a password typed into
    a target value never reaches resource URIs, reports, evidence or the history store.
    """
    if secrets_in_text(target.url) or secrets_in_text(target.id):
        raise ConfigError(
            "the target contains a password (user:PASSWORD@ or password=): give it as a credential reference "
            "(env:NAME, file:PATH, bao:...) instead; the value is not shown"
        )


def load_inventory(path: Path | str, registry: Registry) -> Inventory:
    """Read and validate an inventory file; every error names `file:line`."""
    doc = read_yaml(path)
    validate(doc, schema("inventory"), "inventory")
    data: dict[str, Any] = doc.data
    defaults = data.get("defaults", {})
    _check_finite(doc, ["defaults", "timeout"], defaults.get("timeout"))
    known_schemes = set(BUILTIN_SCHEMES) | set(registry.resolvers)
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["targets"]):
        at: list[str | int] = ["targets", index]
        _check_finite(doc, [*at, "timeout"], raw.get("timeout"))
        try:
            plugin = registry.plugin(raw["kind"])
        except PluginError as exc:
            raise ConfigError(str(exc), doc.where([*at, "kind"])) from None
        try:
            parsed = plugin.parse_target(raw["url"])
            refuse_url_password(parsed)
        except ConfigError as exc:
            raise ConfigError(exc.message, doc.where([*at, "url"])) from None
        for name, reference in raw.get("credentials", {}).items():
            scheme = reference.split(":", 1)[0]
            if scheme not in known_schemes:  # not echoed: a pasted `word:secret` password looks like a scheme
                known = ", ".join(sorted(known_schemes))
                raise ConfigError(
                    f"credential '{name}': unknown reference scheme (known: {known}; the value is not shown "
                    "in case it is a literal secret)",
                    doc.where([*at, "credentials", name]),
                )
        target = replace(
            parsed,
            id=raw.get("id", parsed.id),
            options={**parsed.options, **raw.get("options", {})},
            credentials={**parsed.credentials, **raw.get("credentials", {})},
            labels={**defaults.get("labels", {}), **raw.get("labels", {})},
            timeout=raw.get("timeout", defaults.get("timeout")),
            baselines=tuple(raw.get("baselines", ())),
        )
        try:
            refuse_url_password(target)  # the `id` of the inventory entry too
        except ConfigError as exc:
            raise ConfigError(exc.message, doc.where([*at, "id"])) from None
        try:
            plugin.validate_target(target)
        except ConfigError as exc:
            raise ConfigError(exc.message, doc.where([*at, "options"] if "options" in raw else at)) from None
        if target.id in seen:
            raise ConfigError(
                f"duplicate target id '{target.id}' (first at line {seen[target.id]})", doc.where([*at, "id"])
            )
        seen[target.id] = doc.line_of(at)
        targets.append(target)
    return Inventory(
        targets=tuple(targets),
        environment=data.get("environment", "default"),
        credential_settings=data.get("credentials", {}),
    )


def _check_finite(doc: YamlDocument, at: list[str | int], value: Any) -> None:
    """YAML's `.nan` and `.inf` pass every numeric schema bound; a timeout must be a real number."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"invalid inventory: {'.'.join(map(str, at))}: must be a finite number", doc.where(at))


def shard(targets: Sequence[Target], index: int, count: int) -> tuple[Target, ...]:
    """Return the targets of shard `index` (0-based) of `count`: a stable split by position."""
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"--shard expects INDEX/COUNT with 0 <= INDEX < COUNT, got {index}/{count}")
    return tuple(t for i, t in enumerate(targets) if i % count == index)
