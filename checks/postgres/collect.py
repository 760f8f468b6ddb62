"""The PostgreSQL collector: the only module of this package that does I/O.

It opens read-only sessions with psycopg 3 (`default_transaction_read_only=on`, a statement
timeout, `application_name=sovscan`), runs SELECTs only, and returns Evidence with these
sections (plain JSON):

- `server`: server_version_num, server_version, version, current_user, session_user,
  database, is_superuser, in_recovery, memberships {pg_monitor, pg_read_all_settings,
  pg_read_all_stats, pg_stat_scan_tables}, connection {ssl, version, cipher} of the
  scanner's own session, hidden_settings (settings the checks use that the role may not see),
  config_loaded_at (pg_conf_load_time()) and hba_file_modified_at (the modification time of
  pg_hba.conf, null when the role may not stat it: superuser or EXECUTE on pg_stat_file).
- `pg_settings`: list of {name, setting, unit, source}. Values that may hold credentials are
  never stored: `primary_conninfo` and other conninfo strings lose their password, and the
  shell commands (`archive_command`, `restore_command`, `ssl_passphrase_command`, ...) and
  settings whose names say they hold a secret are replaced by `[REDACTED]` (an empty value or
  `(disabled)` is kept, so "is it set?" can still be answered).
- `roles`: list of pg_roles rows {rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb,
  rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil, member_of}.
- `memberships`: {server_version_num, grants: [{role, member, grantor, admin_option,
  inherit_option, set_option}]} from pg_auth_members (inherit/set are null before 16).
- `role_settings`: list of {role, database, settings {name: value}} from pg_db_role_setting
  ('' = every role / every database), values redacted like pg_settings.
- `password_hashes`: list of {rolname, hash_type} with hash_type md5 / scram-sha-256 / none /
  unknown, computed in SQL: the hash itself never leaves the server (superuser only).
- `hba_rules`: list of pg_hba_file_rules rows {line_number, type, database, user_name,
  address, netmask, auth_method, options, error[, file_name, rule_number]}; secrets in
  options (ldapbindpasswd, radiussecrets) are redacted.
- `connections`: {can_see_all, sessions: [{pid, usename, datname, client_addr, backend_type,
  ssl, version, cipher, visible, own}]} from pg_stat_activity joined with pg_stat_ssl.
- `archiver`: pg_stat_archiver plus the server's `now`.
- `databases`: list of {name, owner, datallowconn, is_template, can_connect, scanned,
  skipped, error, errors, acl, public_schema {owner, acl} | null, schemas [{name, owner,
  acl}], secdef_functions [...], extensions [...], languages [...]}; every database the role
  may connect to is read over its own read-only session.

Every section is validated against `checks.postgres.contract` before it is returned: one that
does not match (or whose answer had an unexpected shape) is an error, never data.

A section that cannot be read is absent and `Evidence.errors[section]` says why, naming the
privilege it needs. A target that cannot be read at all raises CollectionError with a
reason (unreachable, authentication failed, credentials unavailable, timed out, tls error).
No password is ever put in evidence or messages (they are scrubbed defensively as well).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row

from checks.postgres.ambient import ambient_credentials
from checks.postgres.contract import validate_sections
from checks.postgres.target import KIND, connection_params, databases_option, target_uri, transport_warnings
from scanner.errors import CollectionError
from scanner.interface import Secret, Target
from scanner.model import Evidence

WATCHED_SETTINGS = (
    "archive_command",
    "archive_library",
    "archive_mode",
    "auth_delay.milliseconds",
    "authentication_timeout",
    "credcheck.auth_delay_ms",
    "credcheck.max_auth_failure",
    "data_checksums",
    "debug_print_parse",
    "debug_print_plan",
    "debug_print_rewritten",
    "listen_addresses",
    "log_destination",
    "log_replication_commands",
    "logging_collector",
    "log_connections",
    "log_disconnections",
    "log_line_prefix",
    "log_min_error_statement",
    "log_min_messages",
    "log_statement",
    "password_encryption",
    "pgaudit.log",
    "shared_preload_libraries",
    "ssl",
    "ssl_ciphers",
    "ssl_min_protocol_version",
    "unix_socket_permissions",
)
"""Settings the checks read: when one is missing from pg_settings, the collector finds out whether
it is hidden from the scanning role (then `server.hidden_settings` names it) or does not exist."""

PREDEFINED_ROLES = ("pg_monitor", "pg_read_all_settings", "pg_read_all_stats", "pg_stat_scan_tables")
"""Predefined roles whose privileges change what the collector can see."""

PRIVILEGES = {
    "server": "LOGIN and the default catalog access",
    "pg_settings": "SELECT on pg_settings (all rows need pg_read_all_settings or pg_monitor)",
    "roles": "SELECT on pg_roles",
    "password_hashes": "superuser (pg_authid is readable only by superusers)",
    "hba_rules": "superuser, or SELECT on pg_hba_file_rules and EXECUTE on function pg_hba_file_rules()",
    "connections": "SELECT on pg_stat_activity and pg_stat_ssl (other roles' sessions need pg_read_all_stats)",
    "archiver": "SELECT on pg_stat_archiver",
    "databases": "SELECT on pg_database",
    "memberships": "SELECT on pg_auth_members",
    "role_settings": "SELECT on pg_db_role_setting",
}
"""Section -> the privilege that reading it needs (quoted in permission-denied reasons)."""

_SECRET_HBA_OPTIONS = re.compile(r"^(ldapbindpasswd|radiussecrets|radiussecret)=", re.IGNORECASE)
REDACTED = "[REDACTED]"
"""What a secret-bearing value is replaced with in evidence."""
SECRET_COMMANDS = frozenset(
    {"archive_command", "archive_cleanup_command", "recovery_end_command", "restore_command", "ssl_passphrase_command"}
)
"""Shell commands among the settings: they often carry credentials (or print the TLS key passphrase)."""
_SECRET_CUSTOM = re.compile(r"password|passwd|passphrase|secret|token|credential|api_?key|private_?key|salt|key$", re.I)
"""Extension settings (`ext.name`) whose name says they hold a secret."""
_PLAIN_VALUE = re.compile(r"^(-?\d+(\.\d+)?|on|off|true|false|yes|no)$", re.IGNORECASE)
"""Numbers and booleans: never a secret, kept even under a secret-sounding name (`x.password_min_length`)."""
_CONNINFO_SETTING = re.compile(r"conninfo$", re.IGNORECASE)
"""Settings holding a libpq connection string: kept, with any password removed."""
_KEPT_VALUES = ("", "(disabled)")
_AUTH_MARKERS = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "pg_hba.conf rejects",
    "authentication failed",
    "is not permitted to log in",
    "certificate authentication failed",
)
_ROLE_MISSING = re.compile(r'role "[^"]*" does not exist')
_CREDENTIAL_MARKERS = ("no password supplied", "password is required", "password not supplied")
_TIMEOUT_MARKERS = ("timeout expired", "timed out", "connection timeout")
_TLS_MARKERS = ("ssl", "tls", "certificate", "x509", "handshake")


def scrub(message: str, secrets: Iterable[str]) -> str:
    """Remove secret values (and anything that looks like `password=...`) from a message.

    Values shorter than 4 characters are left alone: replacing them would garble every message
    (libpq does not echo passwords; this is a second line of defence).
    """
    text = message
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = re.sub(r"(?i)\b(password|sslpassword)\s*=\s*('[^']*'|\S+)", r"\1=***", text)
    return re.sub(r"(?i)(postgres(?:ql)?://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)


def _first_lines(message: str, limit: int = 3) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return " ".join(lines[:limit])


def classify_connect_error(exc: BaseException) -> str:
    """The CollectionError reason for a failed connection attempt."""
    if isinstance(exc, pg_errors.ConnectionTimeout):
        return CollectionError.TIMEOUT
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return CollectionError.PERMISSION
    text = str(exc).lower()
    if any(marker in text for marker in _CREDENTIAL_MARKERS):
        return CollectionError.CREDENTIALS
    if "permission denied for database" in text or "connect privilege" in text:
        return CollectionError.PERMISSION
    if any(marker in text for marker in _AUTH_MARKERS) or _ROLE_MISSING.search(text):
        return CollectionError.AUTHENTICATION
    if any(marker in text for marker in _TIMEOUT_MARKERS):
        return CollectionError.TIMEOUT
    if any(marker in text for marker in _TLS_MARKERS):
        return CollectionError.TLS
    return CollectionError.UNREACHABLE


def _connect(params: Mapping[str, Any], secrets: Sequence[str]) -> psycopg.Connection[dict[str, Any]]:
    try:
        return psycopg.connect(**params, autocommit=True, row_factory=dict_row)
    except psycopg.Error as exc:
        reason = classify_connect_error(exc)
        where = f"{params.get('host')}:{params.get('port')}"
        detail = scrub(_first_lines(str(exc)), secrets)
        user = params.get("user", "(default user)")
        raise CollectionError(reason, f"cannot connect to {where} as {user}: {detail}") from None


def _ensure_read_only(conn: psycopg.Connection[dict[str, Any]], statement_timeout_ms: int) -> None:
    """Make sure the session is read-only even if a pooler dropped the `options` parameter."""
    row = conn.execute("SHOW default_transaction_read_only").fetchone()
    if row is None or row["default_transaction_read_only"] != "on":
        conn.execute("SET default_transaction_read_only = on")
        conn.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
        row = conn.execute("SHOW default_transaction_read_only").fetchone()
    if row is None or row["default_transaction_read_only"] != "on":
        raise CollectionError(CollectionError.PROTOCOL, "the server did not accept a read-only session; not scanning")


class SectionReader:
    """Runs section readers within the time budget, recording data or the reason each one failed."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]], deadline: float, secrets: Sequence[str]) -> None:
        self.conn = conn
        self.deadline = deadline
        self.data: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.secrets = secrets

    def read(self, name: str, reader: Callable[[], Any]) -> None:
        """Run `reader` for section `name`; store its data, or the reason it failed."""
        remaining_ms = int((self.deadline - time.monotonic()) * 1000)
        if remaining_ms < 100:
            self.errors[name] = f"{CollectionError.TIMEOUT}: the collection time budget ran out before this section"
            return
        try:
            # Each section may use what is left of the budget, not the whole budget again.
            self.conn.execute("SELECT set_config('statement_timeout', %s, false)", (str(remaining_ms),))
            self.data[name] = reader()
        except CollectionError:
            raise
        except psycopg.Error as exc:
            self.errors[name] = section_error(name, exc, self.secrets)
        except SHAPE_ERRORS as exc:
            self.errors[name] = shape_error(name, exc)


SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)
"""What reading an answer of an unexpected shape raises (a column missing, a value of another type)."""


def shape_error(name: str, exc: BaseException) -> str:
    """The reason for a section whose answer did not have the shape the collector expects."""
    what = name.replace("_", " ")
    return f"{CollectionError.PROTOCOL}: the answer for {what} has an unexpected shape ({type(exc).__name__})"


def section_error(name: str, exc: BaseException, secrets: Sequence[str]) -> str:
    """The reason string for a section (or database part) that could not be read."""
    what = name.replace("_", " ")
    detail = scrub(_first_lines(str(exc), 1), secrets)
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        need = PRIVILEGES.get(name, "more privileges")
        return f"{CollectionError.PERMISSION}: reading {what} needs {need} ({detail})"
    if isinstance(exc, pg_errors.QueryCanceled):
        return f"{CollectionError.TIMEOUT}: reading {what} was cancelled by the statement timeout"
    if isinstance(exc, psycopg.OperationalError):
        return f"{CollectionError.UNREACHABLE}: connection lost while reading {what}: {detail}"
    return f"{CollectionError.PROTOCOL}: reading {what} failed: {detail}"


def _rows(conn: psycopg.Connection[dict[str, Any]], sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    return list(conn.execute(sql.encode(), params or None).fetchall())


# -- section readers ---------------------------------------------------------------------

_SERVER_SQL = """
SELECT current_setting('server_version_num')::int AS server_version_num,
       current_setting('server_version') AS server_version,
       version() AS version,
       current_user::text AS current_user,
       session_user::text AS session_user,
       current_database()::text AS database,
       current_setting('is_superuser') = 'on' AS is_superuser,
       pg_is_in_recovery() AS in_recovery
"""


def read_server(conn: psycopg.Connection[dict[str, Any]]) -> dict[str, Any]:
    """Server version, the scanning role and what it may see."""
    server = dict(_rows(conn, _SERVER_SQL)[0])
    memberships = {}
    for role in PREDEFINED_ROLES:
        row = _rows(
            conn,
            "SELECT CASE WHEN to_regrole(%s) IS NULL THEN NULL ELSE pg_has_role(%s, 'USAGE') END AS has",
            (role, role),
        )[0]
        memberships[role] = row["has"]
    server["memberships"] = memberships
    own = _rows(conn, "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    server["connection"] = own[0] if own else {"ssl": None, "version": None, "cipher": None}
    server["hidden_settings"] = []
    server["config_loaded_at"] = _rows(conn, "SELECT to_json(pg_conf_load_time()) #>> '{}' AS t")[0]["t"]
    server["hba_file_modified_at"] = hba_file_modified_at(conn)
    return server


def hba_file_modified_at(conn: psycopg.Connection[dict[str, Any]]) -> str | None:
    """Modification time of pg_hba.conf, or None when the role may not stat it (not an error)."""
    try:
        row = _rows(
            conn,
            "SELECT to_json((pg_stat_file(current_setting('hba_file'))).modification) #>> '{}' AS t",
        )[0]
    except (pg_errors.InsufficientPrivilege, pg_errors.UndefinedFile):
        return None
    return str(row["t"]) if row["t"] else None


def redact_setting(name: str, value: Any) -> Any:
    """A pg_settings value fit for evidence: credentials removed (see the module docstring)."""
    if not isinstance(value, str) or value.strip() in _KEPT_VALUES:
        return value
    if _CONNINFO_SETTING.search(name):
        text = re.sub(r"(?i)\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", rf"\1={REDACTED}", value)
        return re.sub(r"(?i)(postgres(?:ql)?://[^:/@\s]*):[^@\s]*@", rf"\1:{REDACTED}@", text)
    if name in SECRET_COMMANDS:
        return REDACTED
    if "." in name and _SECRET_CUSTOM.search(name.split(".", 1)[1]) and not _PLAIN_VALUE.match(value.strip()):
        return REDACTED
    return value


def read_settings(conn: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pg_settings row the role can see: name, setting, unit, source (credentials redacted)."""
    rows = _rows(conn, "SELECT name, setting, unit, source FROM pg_settings ORDER BY name")
    return [{**row, "setting": redact_setting(str(row["name"]), row["setting"])} for row in rows]


def hidden_settings(conn: psycopg.Connection[dict[str, Any]], seen: set[str]) -> list[str]:
    """Watched settings missing from pg_settings because the role may not read them."""
    hidden = []
    for name in WATCHED_SETTINGS:
        if name in seen:
            continue
        try:
            conn.execute("SELECT current_setting(%s, true)", (name,))
        except pg_errors.InsufficientPrivilege:
            hidden.append(name)
    return hidden


_ROLES_SQL = """
SELECT r.rolname::text AS rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
       r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
       to_json(r.rolvaliduntil) #>> '{}' AS rolvaliduntil,
       ARRAY(SELECT b.rolname::text FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1) AS member_of
FROM pg_roles r ORDER BY r.rolname
"""


def read_roles(conn: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
    """pg_roles with the attributes the checks judge, and direct memberships."""
    return _rows(conn, _ROLES_SQL)


_MEMBERSHIPS_SQL = """
SELECT r.rolname::text AS role, m.rolname::text AS member, g.rolname::text AS grantor, a.admin_option,
       {options}
FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
LEFT JOIN pg_roles g ON g.oid = a.grantor
ORDER BY 1, 2, 3
"""
_OPTIONS_16 = "a.inherit_option, a.set_option"
_OPTIONS_15 = "NULL::boolean AS inherit_option, NULL::boolean AS set_option"


def read_memberships(conn: psycopg.Connection[dict[str, Any]]) -> dict[str, Any]:
    """pg_auth_members with each grant's options (inherit/set from PostgreSQL 16 on; null before)."""
    version = int(_rows(conn, "SELECT current_setting('server_version_num')::int AS v")[0]["v"])
    sql = _MEMBERSHIPS_SQL.format(options=_OPTIONS_16 if version >= 160000 else _OPTIONS_15)
    return {"server_version_num": version, "grants": _rows(conn, sql)}


_ROLE_SETTINGS_SQL = """
SELECT COALESCE(r.rolname::text, '') AS role, COALESCE(d.datname::text, '') AS database, s.setconfig AS config
FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
ORDER BY 2, 1
"""


def read_role_settings(conn: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
    """pg_db_role_setting: per-role, per-database and per-role-in-database overrides (values redacted like settings)."""
    items = []
    for row in _rows(conn, _ROLE_SETTINGS_SQL):
        settings = {}
        for entry in row["config"] or []:
            name, _, value = str(entry).partition("=")
            settings[name] = redact_setting(name, value)
        items.append({"role": row["role"], "database": row["database"], "settings": settings})
    return items


TABLE_ACLS_SQL = """
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
       pg_get_userbyid(c.relowner)::text AS owner, c.relacl::text[] AS acl
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
ORDER BY 1, 2
"""
"""Tables, views and sequences with their owners and ACLs (read by the differential test; not in a scan)."""

FUNCTION_ACLS_SQL = """
SELECT p.oid::regprocedure::text AS signature, pg_get_userbyid(p.proowner)::text AS owner, p.proacl::text[] AS acl
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""
"""Functions with owners and ACLs (read by the differential test; not in a scan)."""

_HASHES_SQL = r"""
SELECT rolname::text AS rolname,
       CASE WHEN rolpassword IS NULL THEN 'none'
            WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256'
            WHEN rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5'
            ELSE 'unknown' END AS hash_type
FROM pg_authid ORDER BY rolname
"""


def read_password_hashes(conn: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
    """The TYPE of each role's password hash (computed in SQL; the hash never leaves the server)."""
    return _rows(conn, _HASHES_SQL)


_HBA_KEYS = (
    "rule_number",
    "file_name",
    "line_number",
    "type",
    "database",
    "user_name",
    "address",
    "netmask",
    "auth_method",
    "options",
    "error",
)


def read_hba_rules(conn: psycopg.Connection[dict[str, Any]]) -> list[dict[str, Any]]:
    """pg_hba_file_rules (as on disk), with secret options redacted; rows with `error` kept."""
    rules = []
    for row in _rows(conn, "SELECT to_jsonb(r) AS rule FROM pg_hba_file_rules r"):
        raw = row["rule"]
        rule = {key: raw.get(key) for key in _HBA_KEYS if key in raw}
        if isinstance(rule.get("options"), list):
            rule["options"] = [
                (opt.split("=", 1)[0] + "=[REDACTED]") if _SECRET_HBA_OPTIONS.match(str(opt)) else opt
                for opt in rule["options"]
            ]
        rules.append(rule)
    rules.sort(key=lambda r: (str(r.get("file_name") or ""), int(r.get("line_number") or 0)))
    return rules


_CONNECTIONS_SQL = """
SELECT a.pid, a.usename::text AS usename, a.datname::text AS datname, host(a.client_addr) AS client_addr,
       a.backend_type, s.ssl, s.version, s.cipher,
       (pg_has_role('pg_read_all_stats', 'USAGE')
        OR (a.usesysid IS NOT NULL AND pg_has_role(a.usesysid, 'USAGE'))) AS visible,
       a.pid = pg_backend_pid() AS own
FROM pg_stat_activity a LEFT JOIN pg_stat_ssl s ON s.pid = a.pid
ORDER BY a.pid
"""


def read_connections(conn: psycopg.Connection[dict[str, Any]]) -> dict[str, Any]:
    """Client sessions with their TLS state; sessions the role may not inspect are marked invisible."""
    sessions = []
    for row in _rows(conn, _CONNECTIONS_SQL):
        if row["visible"] and row["backend_type"] not in ("client backend", "walsender"):
            continue
        sessions.append(dict(row))
    can_see_all = _rows(conn, "SELECT pg_has_role('pg_read_all_stats', 'USAGE') AS can")[0]["can"]
    return {"can_see_all": bool(can_see_all), "sessions": sessions}


_ARCHIVER_SQL = """
SELECT archived_count, last_archived_wal, to_json(last_archived_time) #>> '{}' AS last_archived_time,
       failed_count, last_failed_wal, to_json(last_failed_time) #>> '{}' AS last_failed_time,
       to_json(stats_reset) #>> '{}' AS stats_reset, to_json(now()) #>> '{}' AS now
FROM pg_stat_archiver
"""


def read_archiver(conn: psycopg.Connection[dict[str, Any]]) -> dict[str, Any]:
    """pg_stat_archiver, with the server's clock for judging how recent the last success is."""
    return dict(_rows(conn, _ARCHIVER_SQL)[0])


_DATABASES_SQL = """
SELECT d.datname::text AS name, pg_get_userbyid(d.datdba)::text AS owner, d.datallowconn,
       d.datistemplate AS is_template, has_database_privilege(d.oid, 'CONNECT') AS can_connect,
       d.datacl::text[] AS acl
FROM pg_database d ORDER BY d.datname
"""

_SCHEMAS_SQL = """
SELECT n.nspname::text AS name, pg_get_userbyid(n.nspowner)::text AS owner, n.nspacl::text[] AS acl
FROM pg_namespace n WHERE n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
ORDER BY 1
"""

_PUBLIC_SCHEMA_SQL = """
SELECT pg_get_userbyid(n.nspowner)::text AS owner, n.nspacl::text[] AS acl
FROM pg_namespace n WHERE n.nspname = 'public'
"""

_SECDEF_SQL = """
SELECT n.nspname::text AS schema, p.proname::text AS name, pg_catalog.oidvectortypes(p.proargtypes) AS args,
       pg_get_userbyid(p.proowner)::text AS owner, l.lanname::text AS language, p.proconfig AS config,
       (SELECT e.extname::text FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
         WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
           AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' LIMIT 1) AS extension
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 3
"""

_EXTENSIONS_SQL = """
SELECT e.extname::text AS name, e.extversion AS version, n.nspname::text AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1
"""

_LANGUAGES_SQL = """
SELECT lanname::text AS name, lanpltrusted AS trusted, lanispl AS is_pl, pg_get_userbyid(lanowner)::text AS owner
FROM pg_language ORDER BY 1
"""


def _function_item(row: Mapping[str, Any]) -> dict[str, Any]:
    config = [str(c) for c in row.get("config") or []]
    search_path = next((c.split("=", 1)[1] for c in config if c.lower().startswith("search_path=")), None)
    args = str(row.get("args") or "").replace(", ", ",")
    return {
        "schema": row["schema"],
        "name": row["name"],
        "args": args,
        "signature": f"{row['schema']}.{row['name']}({args})",
        "owner": row["owner"],
        "language": row["language"],
        "search_path": search_path,
        "config_keys": [c.split("=", 1)[0] for c in config],
        "extension": row["extension"],
    }


def read_database_parts(conn: psycopg.Connection[dict[str, Any]], item: dict[str, Any], secrets: Sequence[str]) -> None:
    """Read the per-database facts into `item`; a part that fails is recorded in item['errors']."""

    def public_schema() -> Any:
        rows = _rows(conn, _PUBLIC_SCHEMA_SQL)
        return rows[0] if rows else None

    parts: dict[str, Callable[[], Any]] = {
        "public_schema": public_schema,
        "schemas": lambda: _rows(conn, _SCHEMAS_SQL),
        "secdef_functions": lambda: [_function_item(r) for r in _rows(conn, _SECDEF_SQL)],
        "extensions": lambda: _rows(conn, _EXTENSIONS_SQL),
        "languages": lambda: _rows(conn, _LANGUAGES_SQL),
    }
    for part, reader in parts.items():
        try:
            item[part] = reader()
        except psycopg.Error as exc:
            item["errors"][part] = section_error(part, exc, secrets)
            if isinstance(exc, psycopg.OperationalError):
                break
        except SHAPE_ERRORS as exc:
            item["errors"][part] = shape_error(part, exc)


def read_databases(
    conn: psycopg.Connection[dict[str, Any]],
    target: Target,
    secrets: Mapping[str, Secret],
    deadline: float,
    secret_values: Sequence[str],
) -> list[dict[str, Any]]:
    """Every database; those the role may connect to are read, each over its own read-only session."""
    wanted = databases_option(target)
    current = _rows(conn, "SELECT current_database()::text AS db")[0]["db"]
    items: list[dict[str, Any]] = []
    for row in _rows(conn, _DATABASES_SQL):
        item: dict[str, Any] = {**row, "scanned": False, "skipped": None, "error": None, "errors": {}}
        items.append(item)
        name = item["name"]
        if not item["datallowconn"]:
            item["skipped"] = "datallowconn is false: no one can connect to it"
            continue
        if wanted is not None and name not in wanted:
            item["skipped"] = "not selected by the target's 'databases' option"
            continue
        if not item["can_connect"]:
            item["error"] = (
                f"{CollectionError.PERMISSION}: the scanning role has no CONNECT privilege on database {name}"
            )
            continue
        remaining = deadline - time.monotonic()
        if remaining < 1.0:
            item["error"] = f"{CollectionError.TIMEOUT}: the collection time budget ran out before this database"
            continue
        if name == current:
            read_database_parts(conn, item, secret_values)
            item["scanned"] = True
            continue
        try:
            params = connection_params(target, secrets, remaining, dbname=name)
            with _connect(params, secret_values) as db_conn:
                _ensure_read_only(db_conn, int(remaining * 1000))
                read_database_parts(db_conn, item, secret_values)
            item["scanned"] = True
        except CollectionError as exc:
            item["error"] = f"{exc.reason}: {exc.message}"
        except psycopg.Error as exc:
            item["error"] = section_error("database " + name, exc, secret_values)
        except SHAPE_ERRORS as exc:
            item["error"] = shape_error("database " + name, exc)
    known = {item["name"] for item in items}
    for name in wanted or []:
        if name not in known:
            items.append(
                {
                    "name": name,
                    "scanned": False,
                    "skipped": None,
                    "error": f"database {name} (named in the 'databases' option) does not exist",
                    "errors": {},
                }
            )
    return items


def collect(target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
    """Read one PostgreSQL server (read-only) into Evidence; see the module docstring."""
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    deadline = started + max(1.0, timeout)
    # what libpq may send by itself (PGPASSWORD, .pgpass, service file) is scrubbed like the rest
    ambient = ambient_credentials(target)
    secret_values = [s.reveal() for s in (*secrets.values(), *ambient.values())]
    params = connection_params(target, secrets, timeout)
    statement_ms = max(1000, int(timeout * 1000))
    metadata: dict[str, Any] = {}
    with _connect(params, secret_values) as conn:
        try:
            _ensure_read_only(conn, statement_ms)
        except psycopg.Error as exc:
            reason = classify_connect_error(exc)
            raise CollectionError(reason, scrub(_first_lines(str(exc)), secret_values)) from None
        except SHAPE_ERRORS:
            raise CollectionError(
                CollectionError.PROTOCOL,
                "the server's answer to SHOW default_transaction_read_only has an unexpected shape",
            ) from None
        sections = SectionReader(conn, deadline, secret_values)
        sections.read("server", lambda: read_server(conn))
        sections.read("pg_settings", lambda: read_settings(conn))
        if "server" in sections.data:
            seen = {str(r["name"]) for r in sections.data.get("pg_settings", [])}
            try:
                sections.data["server"]["hidden_settings"] = hidden_settings(conn, seen)
            except psycopg.Error as exc:
                sections.errors["server"] = section_error("server", exc, secret_values)
                del sections.data["server"]
        sections.read("roles", lambda: read_roles(conn))
        sections.read("memberships", lambda: read_memberships(conn))
        sections.read("role_settings", lambda: read_role_settings(conn))
        sections.read("password_hashes", lambda: read_password_hashes(conn))
        sections.read("hba_rules", lambda: read_hba_rules(conn))
        sections.read("connections", lambda: read_connections(conn))
        sections.read("archiver", lambda: read_archiver(conn))
        sections.read("databases", lambda: read_databases(conn, target, secrets, deadline, secret_values))
        server = sections.data.get("server") or {}
        metadata = {
            "server_version": server.get("server_version"),
            "user": server.get("current_user"),
            "database": server.get("database"),
            "is_superuser": server.get("is_superuser"),
            "ssl": (server.get("connection") or {}).get("ssl"),
            "read_only": True,
        }
    # a section that does not match the contract is an error with the reason, never data
    for name, problem in validate_sections(sections.data).items():
        del sections.data[name]
        sections.errors[name] = f"{CollectionError.PROTOCOL}: {problem}"
    warnings = transport_warnings(params)
    if warnings:
        metadata["insecure_transport"] = warnings
    return Evidence(
        target=target.id,
        kind=KIND,
        uri=target_uri(target),
        sections=sections.data,
        errors=sections.errors,
        collected_at=started_at,
        duration=time.monotonic() - started,
        metadata=metadata,
    )
