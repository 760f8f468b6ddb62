"""Credential references: `env:NAME`, `file:PATH`, and schemes provided by plugins (`bao:`).

Values are resolved at scan start, held in memory as `Secret`, and never written anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from scanner.errors import CollectionError, ConfigError
from scanner.interface import CredentialResolver, Secret, Target

BUILTIN_SCHEMES = ("env", "file")

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*):(?P<password>\S*)@")
"""`scheme://user:PASSWORD@`: greedy up to the last `@` of the word, since a password may hold one."""
_KEYWORD_SECRET = re.compile(
    r"(?i)(?P<head>(?<![A-Za-z0-9])[A-Za-z_]*(?:password|passwd|pwd|token|secret)=)(?P<password>[^\s&'\"]+)"
)
"""`password=VALUE` (also `sslpassword=`, `client_secret=`, `access_token=`) in a conninfo string or a URL query."""


def secrets_in_text(text: str) -> list[str]:
    """Password-like parts of a URL or conninfo string (raw and percent-decoded), for redaction."""
    found = [m.group("password") for pattern in (_URL_PASSWORD, _KEYWORD_SECRET) for m in pattern.finditer(text)]
    return [variant for value in found if value for variant in {value, unquote(value)}]


def mask_credentials(text: str) -> str:
    """`text` with URL passwords and `password=` values replaced by `***` (safe to echo in a message)."""
    masked = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:***@", text)
    return _KEYWORD_SECRET.sub(lambda m: f"{m.group('head')}***", masked)


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
            else:  # not echoed: what looks like a scheme may be the first half of a pasted password
                raise ConfigError(
                    f"unknown reference scheme (known: {', '.join(sorted({*BUILTIN_SCHEMES, *resolvers}))}; "
                    "the value is not shown in case it is a literal secret)"
                )
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
