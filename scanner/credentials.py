"""Credential references: `env:NAME`, `file:PATH`, and schemes provided by plugins (`bao:`).

Values are resolved at scan start, held in memory as `Secret`, and never written anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scanner.errors import CollectionError, ConfigError
from scanner.interface import CredentialResolver, Secret, Target

BUILTIN_SCHEMES = ("env", "file")


def split_reference(reference: str) -> tuple[str, str]:
    """Split `scheme:rest`; raise ConfigError for a value that is not a reference."""
    scheme, sep, rest = reference.partition(":")
    if not sep or not rest or not scheme.isascii() or not scheme[:1].isalpha():
        raise ConfigError("a credential must be a reference such as env:NAME or file:PATH, not a literal value")
    return scheme, rest


def resolve_simple(reference: str) -> str:
    """Resolve an `env:` or `file:` reference; raise CollectionError (CREDENTIALS) on failure."""
    scheme, rest = split_reference(reference)
    if scheme == "env":
        value = os.environ.get(rest)
        if value is None:
            raise CollectionError(CollectionError.CREDENTIALS, f"environment variable {rest} is not set")
        return value
    if scheme == "file":
        try:
            return Path(rest).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CollectionError(CollectionError.CREDENTIALS, f"cannot read {rest}: {exc.strerror or exc}") from None
    raise CollectionError(CollectionError.CREDENTIALS, f"'{scheme}:' is not a built-in reference scheme")


def resolve_target_credentials(
    target: Target,
    resolvers: Mapping[str, CredentialResolver],
    settings: Mapping[str, Mapping[str, Any]],
) -> dict[str, Secret]:
    """Resolve every credential of a target; raise CollectionError naming the credential that failed."""
    secrets: dict[str, Secret] = {}
    for name, reference in target.credentials.items():
        try:
            scheme, rest = split_reference(reference)
            if scheme in BUILTIN_SCHEMES:
                value = resolve_simple(reference)
            elif scheme in resolvers:
                value = resolvers[scheme].resolve(rest, settings.get(scheme, {}))
            else:
                raise CollectionError(CollectionError.CREDENTIALS, f"unknown reference scheme '{scheme}:'")
        except CollectionError as exc:
            raise CollectionError(
                CollectionError.CREDENTIALS, f"credential '{name}' ({_safe(reference)}): {exc.message}"
            ) from None
        except ConfigError as exc:
            raise CollectionError(CollectionError.CREDENTIALS, f"credential '{name}': {exc.message}") from None
        secrets[name] = Secret(value)
    return secrets


def _safe(reference: str) -> str:
    """A reference is a pointer, not a value: safe to show (it names where the secret lives)."""
    return reference if len(reference) < 200 else reference[:197] + "..."
