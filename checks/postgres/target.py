"""Naming a PostgreSQL target and building its libpq connection parameters (no I/O).

`--target postgres=VALUE` accepts what libpq accepts, minus secrets:

- a URL: `postgresql://scanner@db.example:5432/postgres?sslmode=verify-full&sslrootcert=/ca.pem`
  (`postgres://` too);
- a key=value conninfo string: `host=db.example port=5432 user=scanner sslmode=verify-full`;
- a bare `host[:port]`.

A password (or `sslpassword`) inside the value is refused with a ConfigError: a URL ends up
in shell history, process lists, CI logs and reports. Give the password the way libpq takes
it (PGPASSWORD, a `.pgpass` file / PGPASSFILE) or as an inventory credential named `password`.

TLS is verified by default: a TCP target without `sslmode` (in its URL or options) connects
with `sslmode=verify-full`, against `sslrootcert` when given, else libpq's
`~/.postgresql/root.crt` when it exists, else the system CA store (`sslrootcert=system`).
libpq's own default, `prefer`, is never used: it accepts any server, and falls back to clear
text. The environment variable PGSSLMODE does not weaken this (sovscan always passes an
sslmode). A weaker mode (`disable`, `allow`, `prefer`, `require`, `verify-ca`) is used only
when written in the target, and `transport_warnings()` then says what it gives up; the
collector puts that text into `Evidence.metadata["insecure_transport"]`. Unix-socket hosts
(a directory path) never use TLS and need no sslmode.

The Target's `url` is the base URI of every resource, `postgres://host:port`; the rest of the
connection (user, dbname, sslmode, sslrootcert, sslcert, sslkey, ...) goes into `options`,
where an inventory may override it. The option `databases` (a list, or a comma-separated
string) restricts the per-database checks to those databases.
"""

from __future__ import annotations

import math
import os
import re
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from scanner.errors import ConfigError
from scanner.interface import Secret, Target

KIND = "postgres"
"""The target kind."""

DEFAULT_PORT = 5432
"""libpq's default port."""

APPLICATION_NAME = "sovscan"
"""application_name of every scanner session (visible in pg_stat_activity and the server log)."""

SECRET_KEYS = frozenset({"password", "sslpassword"})
"""Conninfo keys that carry secrets: refused in target values and options."""

RESERVED_KEYS = frozenset({"options", "application_name", "fallback_application_name", "replication"})
"""Conninfo keys sovscan sets itself (options makes sessions read-only)."""

PLUGIN_OPTIONS = frozenset({"databases"})
"""Target options that are not libpq parameters."""

_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+))(?::(?P<port>\d{1,5}))?$")
_CREDENTIAL_HINT = (
    "do not put passwords in the target value; use PGPASSWORD, a .pgpass file (PGPASSFILE) "
    "or an inventory credential named 'password'"
)


DEFAULT_SSLMODE = "verify-full"
"""sslmode of a TCP target that does not name one."""

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
"""libpq's sslmode values, weakest first."""

_WEAK_SSLMODES: Mapping[str, str] = {
    "disable": "TLS is disabled (sslmode=disable): the password and every answer cross the network in clear text",
    "allow": "sslmode=allow: TLS only if the server insists; otherwise clear text, and no certificate check",
    "prefer": "sslmode=prefer: TLS without certificate check, silently falling back to clear text",
    "require": "sslmode=require: TLS without certificate check: any server (or attacker in the middle) is accepted",
    "verify-ca": "sslmode=verify-ca: the certificate's CA is checked, but not that it names this host",
}


def _libpq_keys() -> frozenset[str]:
    from psycopg.pq import Conninfo  # psycopg is loaded only for PostgreSQL targets (0.2 s of start-up)

    return frozenset(opt.keyword.decode() for opt in Conninfo.get_defaults())


def _parse(value: str) -> dict[str, Any]:
    text = value.strip()
    if not text:
        raise ConfigError("empty PostgreSQL target: give a libpq URL, a key=value conninfo or host[:port]")
    match = _HOST_PORT.match(text)
    if match and "=" not in text:
        params: dict[str, Any] = {"host": match.group("v6") or match.group("host")}
        if match.group("port"):
            params["port"] = match.group("port")
        return params
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        return dict(conninfo_to_dict(text))
    except psycopg.Error as exc:
        # libpq quotes pieces of the input in its message; a piece could be a secret.
        detail = re.sub(r'"[^"]*"', '"..."', str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        raise ConfigError(f"not a valid libpq URL or conninfo string ({detail})") from None


def _host_part(host: str) -> str:
    if host.startswith("/"):
        return quote(host, safe="")
    if ":" in host:
        return f"[{host}]"
    return host.lower()


def base_uri(host: str, port: int | str) -> str:
    """`postgres://host:port`: the target URI (no user, no database, no secrets)."""
    return f"postgres://{_host_part(host)}:{port}"


def _split_databases(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ConfigError("option 'databases' must be a list of database names or a comma-separated string")


def parse_target(value: str) -> Target:
    """Turn `--target postgres=VALUE` into a Target; refuse secrets in VALUE (see the module doc)."""
    params = _parse(value)
    refused = sorted(SECRET_KEYS & params.keys())
    if refused:
        raise ConfigError(f"the PostgreSQL target contains a {refused[0]}: {_CREDENTIAL_HINT}")
    reserved = sorted(RESERVED_KEYS & params.keys())
    if reserved:
        raise ConfigError(f"the PostgreSQL target sets '{reserved[0]}', which sovscan sets itself; remove it")
    host = str(params.pop("host", "") or params.pop("hostaddr", "") or os.environ.get("PGHOST", ""))
    params.pop("hostaddr", None)
    if not host:
        raise ConfigError("the PostgreSQL target has no host (give postgresql://user@HOST:PORT/db or host=...)")
    if "," in host:
        raise ConfigError("one host per PostgreSQL target, please: list several targets instead")
    port_text = str(params.pop("port", "") or os.environ.get("PGPORT", "") or DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"invalid PostgreSQL port '{port_text}'")
    port = int(port_text)
    options: dict[str, Any] = {k: v for k, v in params.items() if v not in (None, "")}
    if "databases" in options:
        options["databases"] = _split_databases(options["databases"])
    target_id = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Target(id=target_id, kind=KIND, url=base_uri(host, port), options=options)


def _url_params(url: str) -> tuple[str, int, dict[str, Any]]:
    params = _parse(url)
    if SECRET_KEYS & params.keys():
        raise ConfigError(f"the target URL contains a password: {_CREDENTIAL_HINT}")
    host = str(params.pop("host", "") or params.pop("hostaddr", ""))
    params.pop("hostaddr", None)
    if not host:
        raise ConfigError("the target URL has no host")
    port_text = str(params.pop("port", "") or DEFAULT_PORT)
    if not port_text.isdigit():
        raise ConfigError("the target URL has an invalid port")
    return host, int(port_text), params


def target_uri(target: Target) -> str:
    """The base URI of a target's resources, `postgres://host:port`, whatever form its url has."""
    host, port, _ = _url_params(target.url)
    return base_uri(host, port)


def session_options(statement_timeout_ms: int) -> str:
    """The `options` startup parameter: read-only transactions and a statement timeout."""
    ms = max(1, int(statement_timeout_ms))
    return f"-c default_transaction_read_only=on -c statement_timeout={ms} -c lock_timeout={ms}"


def connection_params(
    target: Target, secrets: Mapping[str, Secret], timeout: float, dbname: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for `psycopg.connect` for this target (CONTAINS the password: never log it).

    Options override what the URL says; `secrets["password"]` (and `sslpassword`) are the
    inventory credentials; without them libpq's own PGPASSWORD / .pgpass lookup applies.
    Every session is read-only (`default_transaction_read_only=on`), has a statement
    timeout and is named `sovscan`.
    """
    host, port, from_url = _url_params(target.url)
    known = _libpq_keys()
    params: dict[str, Any] = {"host": host, "port": str(port)}
    for key, value in {**from_url, **target.options}.items():
        if key in PLUGIN_OPTIONS:
            continue
        if key in SECRET_KEYS:
            raise ConfigError(f"target {target.id}: option '{key}' holds a secret: {_CREDENTIAL_HINT}")
        if key in RESERVED_KEYS:
            raise ConfigError(f"target {target.id}: option '{key}' is set by sovscan itself; remove it")
        if key not in known or key in ("host", "hostaddr", "port"):
            raise ConfigError(f"target {target.id}: option '{key}' is not a libpq connection parameter")
        if value is not None and value != "":
            params[key] = str(value)
    for name in ("user", "username"):
        if name in secrets:
            params["user"] = secrets[name].reveal()
    if "password" in secrets:
        params["password"] = secrets["password"].reveal()
    if "sslpassword" in secrets:
        params["sslpassword"] = secrets["sslpassword"].reveal()
    if not is_socket_host(host):
        mode = str(params.get("sslmode", DEFAULT_SSLMODE)).strip().lower()
        if mode not in SSLMODES:
            raise ConfigError(f"target {target.id}: sslmode '{mode}' is not one of {', '.join(SSLMODES)}")
        params["sslmode"] = mode
        if mode == "verify-full" and "sslrootcert" not in params and not _default_root_cert():
            params["sslrootcert"] = system_root_cert()
    if dbname is not None:
        params["dbname"] = dbname
    elif "dbname" not in params and "PGDATABASE" not in os.environ:
        params["dbname"] = "postgres"
    budget = max(1.0, float(timeout))
    user_timeout = params.get("connect_timeout")
    connect_timeout = max(2, math.ceil(budget))
    if user_timeout is not None and str(user_timeout).isdigit() and int(user_timeout) > 0:
        connect_timeout = max(2, min(connect_timeout, int(user_timeout)))
    params["connect_timeout"] = str(connect_timeout)
    params["application_name"] = APPLICATION_NAME
    params["options"] = session_options(int(budget * 1000))
    return params


def is_socket_host(host: str) -> bool:
    """True for a Unix-socket directory (libpq: a host starting with `/` or `@`), where TLS does not apply."""
    return host.startswith(("/", "@"))


def _default_root_cert() -> bool:
    """True when libpq would find a root certificate of its own (PGSSLROOTCERT, ~/.postgresql/root.crt)."""
    explicit = os.environ.get("PGSSLROOTCERT")
    if explicit:
        return True
    return os.path.isfile(os.path.join(os.path.expanduser("~"), ".postgresql", "root.crt"))


def system_root_cert() -> str:
    """`system` (libpq 16+: the system CA store), else the system CA bundle's path for an older libpq."""
    from psycopg import pq

    if pq.version() >= 160000:
        return "system"
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.openssl_cafile or "system"


def transport_warnings(params: Mapping[str, Any]) -> list[str]:
    """What the connection's TLS settings give up (empty for verify-full or a Unix socket)."""
    host = str(params.get("host", ""))
    if is_socket_host(host):
        return []
    mode = str(params.get("sslmode", DEFAULT_SSLMODE))
    warning = _WEAK_SSLMODES.get(mode)
    return [f"{warning} (chosen explicitly in the target)"] if warning else []


def databases_option(target: Target) -> list[str] | None:
    """The `databases` option (databases the per-database checks may read), or None for all."""
    if "databases" not in target.options:
        return None
    return _split_databases(target.options["databases"])
