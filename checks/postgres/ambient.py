"""Credentials libpq would pick up for a target by itself, so the engine can redact them.

libpq does not only use the password sovscan passes: it reads `PGPASSWORD`, the password
file (`PGPASSFILE`, default `~/.pgpass`) and the connection service file (`PGSERVICEFILE`,
default `~/.pg_service.conf`, and `PGSYSCONFDIR/pg_service.conf`) on its own. A server that
echoes what it receives would otherwise put those values into reports unredacted.
`ambient_credentials()` returns each such value that could be sent for a target; it reads
files only, never raises for an absent or unreadable one, and returns nothing else.

An encrypted client key's passphrase (`sslpassword`) has no environment variable in libpq;
it comes from the inventory credential `sslpassword`, which the engine already redacts.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from checks.postgres.target import DEFAULT_PORT, connection_params
from scanner.errors import ConfigError
from scanner.interface import Secret, Target

_MAX_FILE_BYTES = 1 << 20
"""Credential files larger than this are not read (a password file is a few lines)."""


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def pgpass_fields(line: str) -> list[str]:
    """Split one `.pgpass` line into its fields (`:` separates, `\\` escapes `:` and `\\`)."""
    fields: list[str] = []
    current: list[str] = []
    escaped = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":" and len(fields) < 4:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def _matches(pattern: str, value: str) -> bool:
    return pattern == "*" or pattern == value


def pgpass_passwords(text: str, host: str, port: str) -> list[str]:
    """Passwords of the `.pgpass` entries that match host and port (any database, any user).

    libpq picks one entry by host, port, database and user; sovscan connects to several
    databases, possibly as a user from PGUSER, so every entry for the host and port counts.
    A Unix-socket host matches the `localhost` entries, as in libpq.
    """
    wanted_host = "localhost" if host.startswith("/") else host
    found = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = pgpass_fields(line)
        if len(fields) != 5 or not fields[4]:
            continue
        if _matches(fields[0], wanted_host) and _matches(fields[1], port):
            found.append(fields[4])
    return found


def _service_files() -> list[Path]:
    files = [Path(os.environ.get("PGSERVICEFILE") or Path.home() / ".pg_service.conf")]
    sysconf = os.environ.get("PGSYSCONFDIR")
    if sysconf:
        files.append(Path(sysconf) / "pg_service.conf")
    return files


def service_passwords(service: str) -> list[str]:
    """`password` entries of the named service in the service files libpq reads."""
    found = []
    for path in _service_files():
        text = _read(path)
        if text is None:
            continue
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text)
        except configparser.Error:
            continue
        if parser.has_section(service):
            for key in ("password", "sslpassword"):
                value = parser.get(service, key, fallback="")
                if value:
                    found.append(value)
    return found


def ambient_credentials(target: Target) -> dict[str, Secret]:
    """Every credential libpq could send for `target` from the environment or its files."""
    found: dict[str, Secret] = {}
    password = os.environ.get("PGPASSWORD")
    if password:
        found["env:PGPASSWORD"] = Secret(password)
    try:
        params: Mapping[str, Any] = connection_params(target, {}, 1.0)
    except ConfigError:
        params = {}
    host = str(params.get("host", ""))
    port = str(params.get("port", DEFAULT_PORT))
    passfile = Path(os.environ.get("PGPASSFILE") or params.get("passfile") or Path.home() / ".pgpass")
    text = _read(passfile.expanduser())
    if text is not None:
        for index, value in enumerate(pgpass_passwords(text, host, port)):
            found[f"pgpass:{index}"] = Secret(value)
    service = str(params.get("service") or os.environ.get("PGSERVICE") or "")
    if service:
        for index, value in enumerate(service_passwords(service)):
            found[f"service:{service}:{index}"] = Secret(value)
    return found
