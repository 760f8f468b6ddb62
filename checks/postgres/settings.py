"""Checks on server settings, the archiver and the server version (pure functions).

Each check reports one result per setting it judges (`/settings/NAME`), so a report names
exactly which setting is wrong. A setting the scanning role could not see is ERROR with the
privilege it needs, never PASS.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from checks.postgres.common import (
    database_resource,
    hidden_settings,
    is_off,
    list_setting,
    scanned_databases,
    segment,
    setting_resource,
    settings_map,
    to_seconds,
    unavailable_setting,
)
from scanner import floors
from scanner.errors import EvidenceUnavailable
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

# -- PG-02 --------------------------------------------------------------------------------

TLS_VERSIONS = ("", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
"""ssl_min_protocol_version values, weakest first ('' = any version)."""

DEFAULT_MIN_PROTOCOL = "TLSv1.2"
DEFAULT_FORBIDDEN_CIPHERS = (
    "ALL", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "MEDIUM", "LOW", "EXPORT", "EXP", "NULL", "eNULL", "aNULL",
    "ADH", "AECDH", "RC4", "DES", "3DES", "MD5", "SEED", "IDEA",
)  # fmt: skip
"""OpenSSL cipher-list tokens that must not be enabled: a second line of defence for algorithms the local
OpenSSL no longer knows (OpenSSL 3 has no RC4 or export suites to expand them to, an older server may)."""

FORWARD_SECRET_KEX = frozenset({"kx-ecdhe", "kx-dhe", "kx-ecdhe-psk", "kx-dhe-psk", "kx-any"})
"""OpenSSL key-exchange kinds with ephemeral keys (kx-any: TLS 1.3, always ephemeral)."""

WEAK_TLS13_SUITES = frozenset({"TLS_AES_128_CCM_8_SHA256"})
"""TLS 1.3 suites to refuse (CCM_8: a 64-bit authentication tag)."""


def enabled_cipher_tokens(cipher_list: str) -> list[str]:
    """The tokens of an OpenSSL cipher list that enable ciphers (not `!X`, `-X`, or `@STRENGTH`)."""
    tokens: list[str] = []
    for raw in cipher_list.replace(",", ":").replace(" ", ":").split(":"):
        token = raw.strip()
        if not token or token[0] in "!-@":
            continue
        tokens.extend(part for part in token.lstrip("+").split("+") if part)
    return tokens


def weak_cipher_tokens(cipher_list: str, forbidden: Sequence[str]) -> list[str]:
    """Enabled tokens that are, or name a cipher built from, a forbidden class (`RC4-SHA` -> RC4)."""
    lowered = {t.lower() for t in forbidden}
    weak = []
    for token in enabled_cipher_tokens(cipher_list):
        if token.lower() in lowered or any(part.lower() in lowered for part in token.split("-")):
            weak.append(token)
    return sorted(set(weak))


def suite_weaknesses(suite: Mapping[str, Any], require_forward_secrecy: bool = True) -> list[str]:
    """Why one suite of `ssl.SSLContext.get_ciphers()` is weak (empty when it is not)."""
    name = str(suite.get("name", ""))
    symmetric = str(suite.get("symmetric") or "")
    problems = []
    if suite.get("auth") == "auth-null":
        problems.append("anonymous (aNULL): no server authentication")
    if not symmetric:
        problems.append("no encryption (eNULL)")
    if "EXP" in name.split("-"):
        problems.append("export grade")
    if symmetric.startswith("rc4"):
        problems.append("RC4")
    if "des" in symmetric:
        problems.append("DES/3DES")
    if suite.get("digest") == "md5":
        problems.append("MD5")
    if require_forward_secrecy and suite.get("kea") not in FORWARD_SECRET_KEX:
        problems.append("no forward secrecy")
    return problems


def expand_ciphers(cipher_list: str) -> list[dict[str, Any]] | None:
    """The TLS 1.2-and-older suites a cipher string enables, expanded by the real OpenSSL (Python's `ssl`).

    Expanded at `@SECLEVEL=0` unless the string sets a level itself: what the string asks
    for, whatever the security level of the server's OpenSSL configuration. None when the
    local OpenSSL selects no suite for it.
    """
    text = cipher_list if "@SECLEVEL" in cipher_list.upper() else f"{cipher_list}:@SECLEVEL=0"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.set_ciphers(text)
    except ssl.SSLError:
        return None
    return [dict(s) for s in context.get_ciphers() if s.get("protocol") != "TLSv1.3"]


@check(
    "postgres.tls_strength",
    needs=("pg_settings", "server"),
    params={
        "min_protocol": {"enum": [v for v in TLS_VERSIONS if v]},
        "require_forward_secrecy": {"type": "boolean"},
        "forbidden_cipher_tokens": {"type": "array", "items": {"type": "string"}},
    },
)
def tls_strength(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """ssl_min_protocol_version is at least the minimum; the suites ssl_ciphers expands to are all strong."""
    settings = settings_map(evidence)
    minimum = str(params.get("min_protocol", DEFAULT_MIN_PROTOCOL))
    forward = bool(params.get("require_forward_secrecy", True))
    forbidden = [str(t) for t in params.get("forbidden_cipher_tokens", DEFAULT_FORBIDDEN_CIPHERS)]
    row = settings.get("ssl_min_protocol_version")
    tls13_only = False
    if row is None:
        yield unavailable_setting(evidence, "ssl_min_protocol_version")
    else:
        value = str(row.get("setting") or "")
        tls13_only = value == "TLSv1.3"
        resource = setting_resource(evidence, "ssl_min_protocol_version")
        rank = TLS_VERSIONS.index(value) if value in TLS_VERSIONS else -1
        if rank < 0:
            yield CheckResult(
                resource, Status.ERROR, f"unknown ssl_min_protocol_version '{value}'", value, f">= {minimum}"
            )
        elif rank >= TLS_VERSIONS.index(minimum):
            yield CheckResult(resource, Status.PASS, f"ssl_min_protocol_version is {value}", value, f">= {minimum}")
        else:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"ssl_min_protocol_version is '{value or 'any'}': clients may negotiate a protocol older than "
                f"{minimum}; set ssl_min_protocol_version = '{minimum}'",
                value,
                f">= {minimum}",
            )
    yield from _tls13_suites(evidence, settings)
    row = settings.get("ssl_ciphers")
    if row is None:
        yield unavailable_setting(evidence, "ssl_ciphers")
        return
    ciphers = str(row.get("setting") or "")
    resource = setting_resource(evidence, "ssl_ciphers")
    expected = "every suite authenticated, encrypted, without RC4/DES/3DES/MD5/export" + (
        ", with forward secrecy (ECDHE/DHE)" if forward else ""
    )
    if tls13_only:
        yield CheckResult(
            resource,
            Status.PASS,
            f"ssl_min_protocol_version is TLSv1.3: ssl_ciphers '{ciphers}' (TLS 1.2 and older) is never used",
            ciphers,
            expected,
        )
        return
    tokens = weak_cipher_tokens(ciphers, forbidden)
    suites = expand_ciphers(ciphers)
    if suites is None:
        yield CheckResult(
            resource,
            Status.FAIL if tokens else Status.ERROR,
            f"ssl_ciphers '{ciphers}' selects no suite in the local {ssl.OPENSSL_VERSION}, so what the server's "
            "OpenSSL makes of it cannot be verified"
            + (f"; it enables weak cipher classes: {', '.join(tokens)}" if tokens else ""),
            {"ssl_ciphers": ciphers, "weak_tokens": tokens},
            expected,
        )
        return
    weak = {str(s["name"]): suite_weaknesses(s, forward) for s in suites}
    weak = {name: problems for name, problems in weak.items() if problems}
    observed = {"ssl_ciphers": ciphers, "suites": len(suites), "expanded_by": ssl.OPENSSL_VERSION}
    if weak or tokens:
        reasons = sorted({p for problems in weak.values() for p in problems})
        shown = ", ".join(sorted(weak)[:8]) + (f" and {len(weak) - 8} more" if len(weak) > 8 else "")
        parts = []
        if weak:
            parts.append(f"expands to {len(weak)} weak suite(s) ({'; '.join(reasons)}): {shown}")
        if tokens:
            parts.append(f"enables weak cipher classes {', '.join(tokens)}")
        yield CheckResult(
            resource,
            Status.FAIL,
            f"ssl_ciphers '{ciphers}' " + " and ".join(parts) + f"; use for example '{RECOMMENDED_CIPHERS}'",
            {**observed, "weak_suites": dict(sorted(weak.items())), "weak_tokens": tokens},
            expected,
        )
    else:
        yield CheckResult(
            resource,
            Status.PASS,
            f"ssl_ciphers '{ciphers}' expands to {len(suites)} suite(s), all strong",
            observed,
            expected,
        )


RECOMMENDED_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL"
"""A cipher string with forward secrecy and AEAD only (the `!aNULL` matters: DHE includes anonymous suites)."""


def _tls13_suites(evidence: Evidence, settings: Mapping[str, Mapping[str, Any]]) -> Iterable[CheckResult]:
    """PostgreSQL 18's ssl_tls13_ciphers (absent before 18: nothing to judge; empty: OpenSSL's defaults)."""
    row = settings.get("ssl_tls13_ciphers")
    if row is None:
        return
    value = str(row.get("setting") or "")
    resource = setting_resource(evidence, "ssl_tls13_ciphers")
    names = [n.strip() for n in value.replace(",", ":").split(":") if n.strip()]
    weak = sorted(set(names) & WEAK_TLS13_SUITES)
    expected = f"none of {', '.join(sorted(WEAK_TLS13_SUITES))}"
    if weak:
        yield CheckResult(
            resource, Status.FAIL, f"ssl_tls13_ciphers enables {', '.join(weak)} (64-bit tag)", value, expected
        )
    else:
        yield CheckResult(
            resource, Status.PASS, f"ssl_tls13_ciphers '{value or '(default)'}' is strong", value, expected
        )


# -- PG-13 --------------------------------------------------------------------------------

DEFAULT_PREFIX_ESCAPES: tuple[tuple[str, ...], ...] = (("%m", "%t", "%n"), ("%p", "%c"), ("%d",), ("%u",), ("%h", "%r"))
"""log_line_prefix must contain one escape of each group: time, process, database, user, client host."""


def _on_result(evidence: Evidence, settings: Mapping[str, Mapping[str, Any]], name: str) -> CheckResult:
    row = settings.get(name)
    if row is None:
        return unavailable_setting(evidence, name)
    value = row.get("setting")
    resource = setting_resource(evidence, name)
    if not isinstance(value, str | bool):
        return CheckResult(resource, Status.ERROR, f"{name} has no readable value", value, "on")
    # PostgreSQL 18 makes log_connections a list ('receipt,authentication,...'); any non-off value logs.
    if is_off(value):
        return CheckResult(resource, Status.FAIL, f"{name} is off; set {name} = on", value, "on")
    return CheckResult(resource, Status.PASS, f"{name} is {value}", value, "on")


@check(
    "postgres.connection_logging",
    needs=("pg_settings", "server"),
    params={
        "required_prefix_escapes": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "string", "pattern": "^%"}, "minItems": 1},
        }
    },
)
def connection_logging(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """log_connections and log_disconnections are on; log_line_prefix identifies time, process, db, user, host."""
    settings = settings_map(evidence)
    yield _on_result(evidence, settings, "log_connections")
    yield _on_result(evidence, settings, "log_disconnections")
    groups: Sequence[Sequence[str]] = params.get("required_prefix_escapes", DEFAULT_PREFIX_ESCAPES)
    row = settings.get("log_line_prefix")
    if row is None:
        yield unavailable_setting(evidence, "log_line_prefix")
        return
    prefix = str(row.get("setting") or "")
    resource = setting_resource(evidence, "log_line_prefix")
    expected = " and ".join("/".join(group) for group in groups)
    missing = ["/".join(group) for group in groups if not any(escape in prefix for escape in group)]
    if missing:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"log_line_prefix '{prefix}' lacks {', '.join(missing)}: log lines cannot be attributed",
            prefix,
            expected,
        )
    else:
        yield CheckResult(
            resource, Status.PASS, f"log_line_prefix '{prefix}' identifies every session", prefix, expected
        )


# -- PG-14 --------------------------------------------------------------------------------

LOG_LEVELS = (
    "debug5",
    "debug4",
    "debug3",
    "debug2",
    "debug1",
    "info",
    "notice",
    "warning",
    "error",
    "log",
    "fatal",
    "panic",
)
"""Server message levels from most to least verbose (the order log_min_messages uses)."""

DEFAULT_LOG_STATEMENT = ("ddl", "mod", "all")
DEFAULT_MIN_ERROR_STATEMENT = "error"
DEFAULT_MIN_MESSAGES = "warning"


def _level_result(evidence: Evidence, settings: Mapping[str, Mapping[str, Any]], name: str, most: str) -> CheckResult:
    row = settings.get(name)
    if row is None:
        return unavailable_setting(evidence, name)
    value = str(row.get("setting") or "").lower()
    resource = setting_resource(evidence, name)
    expected = f"{most} or more verbose"
    if value not in LOG_LEVELS:
        return CheckResult(resource, Status.ERROR, f"unknown {name} level '{value}'", value, expected)
    if LOG_LEVELS.index(value) <= LOG_LEVELS.index(most):
        return CheckResult(resource, Status.PASS, f"{name} is {value}", value, expected)
    return CheckResult(
        resource,
        Status.FAIL,
        f"{name} is {value}: {most} messages are not logged; set {name} = {most}",
        value,
        expected,
    )


@check(
    "postgres.statement_logging",
    needs=("pg_settings", "server"),
    params={
        "log_statement": {"type": "array", "items": {"enum": ["none", "ddl", "mod", "all"]}, "minItems": 1},
        "log_min_error_statement": {"enum": list(LOG_LEVELS)},
        "log_min_messages": {"enum": list(LOG_LEVELS)},
    },
)
def statement_logging(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """log_statement logs DDL at least; log_min_error_statement and log_min_messages are verbose enough."""
    settings = settings_map(evidence)
    allowed = [str(v) for v in params.get("log_statement", DEFAULT_LOG_STATEMENT)]
    row = settings.get("log_statement")
    if row is None:
        yield unavailable_setting(evidence, "log_statement")
    else:
        value = str(row.get("setting") or "")
        resource = setting_resource(evidence, "log_statement")
        if value in allowed:
            yield CheckResult(resource, Status.PASS, f"log_statement is {value}", value, allowed)
        else:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"log_statement is '{value}': schema changes are not logged; set log_statement = '{allowed[0]}'",
                value,
                allowed,
            )
    most = str(params.get("log_min_error_statement", DEFAULT_MIN_ERROR_STATEMENT))
    yield _level_result(evidence, settings, "log_min_error_statement", most)
    most = str(params.get("log_min_messages", DEFAULT_MIN_MESSAGES))
    yield _level_result(evidence, settings, "log_min_messages", most)


# -- PG-15 --------------------------------------------------------------------------------

DEFAULT_PGAUDIT_CLASSES = ("ddl", "write")


def pgaudit_classes(value: str) -> set[str]:
    """The statement classes a pgaudit.log value logs (`all` expands; `-class` removes)."""
    every = {"read", "write", "function", "role", "ddl", "misc", "misc_set"}
    logged: set[str] = set()
    for item in list_setting(value.lower()):
        name = item.lstrip("-")
        group = every if name == "all" else ({"misc", "misc_set"} if name == "misc" else {name})
        if item.startswith("-"):
            logged -= group
        elif name != "none":
            logged |= group
    return logged


@check(
    "postgres.pgaudit",
    needs=("pg_settings", "server", "databases"),
    params={
        "required_classes": {"type": "array", "items": {"type": "string"}},
        "require_extension": {"type": "boolean"},
    },
)
def pgaudit(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """pgaudit is preloaded, pgaudit.log covers the required classes, and the extension exists per database."""
    settings = settings_map(evidence)
    required = [str(c).lower() for c in params.get("required_classes", DEFAULT_PGAUDIT_CLASSES)]
    row = settings.get("shared_preload_libraries")
    if row is None:
        yield unavailable_setting(evidence, "shared_preload_libraries")
        return
    libraries = list_setting(row.get("setting"))
    resource = setting_resource(evidence, "shared_preload_libraries")
    if "pgaudit" not in libraries:
        yield CheckResult(
            resource,
            Status.FAIL,
            "pgaudit is not in shared_preload_libraries: no audit log of statements",
            row.get("setting"),
            "contains pgaudit",
        )
        return
    yield CheckResult(resource, Status.PASS, "pgaudit is preloaded", row.get("setting"), "contains pgaudit")
    log_row = settings.get("pgaudit.log")
    if log_row is None:
        yield unavailable_setting(evidence, "pgaudit.log")
    else:
        value = str(log_row.get("setting") or "")
        missing = sorted(set(required) - pgaudit_classes(value))
        log_resource = setting_resource(evidence, "pgaudit.log")
        if missing:
            yield CheckResult(
                log_resource,
                Status.FAIL,
                f"pgaudit.log '{value}' does not log {', '.join(missing)}",
                value,
                f"includes {', '.join(required)}",
            )
        else:
            yield CheckResult(
                log_resource, Status.PASS, f"pgaudit.log '{value}' logs {', '.join(required)}", value, required
            )
    if not params.get("require_extension", True):
        return
    try:
        scanned = list(scanned_databases(evidence))
    except EvidenceUnavailable as exc:
        yield CheckResult(database_resource(evidence, "*"), Status.ERROR, f"databases not read: {exc.reason}")
        return
    for database, error in scanned:
        if error is not None:
            yield error
            continue
        name = str(database["name"])
        if "extensions" not in database:
            reason = (database.get("errors") or {}).get("extensions", "extensions were not read")
            yield CheckResult(database_resource(evidence, name), Status.ERROR, f"database {name}: {reason}")
            continue
        names = {str(e.get("name")) for e in database["extensions"]}
        resource = database_resource(evidence, name, "extensions", "pgaudit", kind="extension")
        if "pgaudit" in names:
            yield CheckResult(resource, Status.PASS, f"extension pgaudit exists in {name}", True, True)
        else:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"extension pgaudit is not created in database {name}: run CREATE EXTENSION pgaudit there",
                False,
                True,
            )


# -- PG-17 --------------------------------------------------------------------------------

DEFAULT_MAX_AUTH_TIMEOUT = 60
DEFAULT_DELAY_LIBRARIES = ("auth_delay", "credcheck")


@check(
    "postgres.brute_force",
    needs=("pg_settings", "server"),
    params={
        "max_authentication_timeout": {"type": "number", "exclusiveMinimum": 0},
        "require_delay_library": {"type": "boolean"},
        "delay_libraries": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
)
def brute_force(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """authentication_timeout is short and a login-delay library (auth_delay/credcheck) is preloaded."""
    settings = settings_map(evidence)
    limit = float(params.get("max_authentication_timeout", DEFAULT_MAX_AUTH_TIMEOUT))
    row = settings.get("authentication_timeout")
    if row is None:
        yield unavailable_setting(evidence, "authentication_timeout")
    else:
        seconds = to_seconds(row.get("setting"), row.get("unit"))
        resource = setting_resource(evidence, "authentication_timeout")
        expected = f"<= {limit:g}s"
        if seconds is None:
            yield CheckResult(resource, Status.ERROR, "authentication_timeout is not a number", row.get("setting"))
        elif seconds <= limit:
            yield CheckResult(resource, Status.PASS, f"authentication_timeout is {seconds:g}s", seconds, expected)
        else:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"authentication_timeout is {seconds:g}s: a client may hold a connection slot that long "
                f"before authenticating; set it to {limit:g}s or less",
                seconds,
                expected,
            )
    if not params.get("require_delay_library", True):
        return
    wanted = [str(lib) for lib in params.get("delay_libraries", DEFAULT_DELAY_LIBRARIES)]
    row = settings.get("shared_preload_libraries")
    if row is None:
        yield unavailable_setting(evidence, "shared_preload_libraries")
        return
    loaded = [lib for lib in list_setting(row.get("setting")) if lib in wanted]
    resource = setting_resource(evidence, "shared_preload_libraries")
    expected = f"one of {', '.join(wanted)}"
    if not loaded:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"none of {', '.join(wanted)} is preloaded: failed logins are not slowed down",
            row.get("setting"),
            expected,
        )
        return
    verdicts: dict[str, bool | None] = {}
    shortfalls: list[CheckResult] = []
    for lib in loaded:
        verdict, result = _library_effective(evidence, settings, lib)
        verdicts[lib] = verdict
        if result is not None:
            shortfalls.append(result)
    effective = [lib for lib, verdict in verdicts.items() if verdict]
    if effective:
        # One working mitigation is enough; a second, idle library is not a finding.
        yield from (r for r in shortfalls if r.status is Status.PASS)
        yield CheckResult(
            resource, Status.PASS, f"{', '.join(effective)} preloaded and active", row.get("setting"), expected
        )
    else:
        yield from shortfalls


DELAY_SETTINGS: Mapping[str, tuple[tuple[str, ...], str]] = {
    "auth_delay": (("auth_delay.milliseconds",), "auth_delay.milliseconds > 0"),
    "credcheck": (
        ("credcheck.max_auth_failure", "credcheck.auth_delay_ms"),
        "credcheck.max_auth_failure > 0 or credcheck.auth_delay_ms > 0",
    ),
}
"""Library -> (settings that make it act, the condition): loaded with their defaults, both do nothing."""


def _library_effective(
    evidence: Evidence, settings: Mapping[str, Mapping[str, Any]], lib: str
) -> tuple[bool | None, CheckResult | None]:
    """Whether a preloaded library really slows down or locks out failed logins (None: cannot tell)."""
    if lib not in DELAY_SETTINGS:
        return True, None  # a library named by the baseline's parameters, without settings we know
    names, condition = DELAY_SETTINGS[lib]
    rows = {name: settings.get(name) for name in names}
    values = {name: to_seconds(row.get("setting"), "s") if row is not None else None for name, row in rows.items()}
    shown = {name: (row.get("setting") if row is not None else None) for name, row in rows.items()}
    resource = setting_resource(evidence, names[0])
    if any(value is not None and value > 0 for value in values.values()):
        return True, CheckResult(resource, Status.PASS, f"{lib} is active ({condition})", shown, condition)
    missing = [name for name, row in rows.items() if row is None]
    if missing:
        return None, unavailable_setting(evidence, missing[0])
    return False, CheckResult(
        resource,
        Status.FAIL,
        f"{lib} is preloaded but inactive: {condition} does not hold, so failed logins are neither delayed nor "
        "locked out",
        shown,
        condition,
    )


# -- PG-20 --------------------------------------------------------------------------------

DEFAULT_ARCHIVE_MAX_AGE_HOURS = 24


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


@check(
    "postgres.wal_archiving",
    needs=("pg_settings", "archiver", "server"),
    params={"max_age_hours": {"type": "number", "minimum": 0}},
)
def wal_archiving(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """archive_mode is on, an archive command/library is set, and pg_stat_archiver shows recent success."""
    settings = settings_map(evidence)
    row = settings.get("archive_mode")
    if row is None:
        yield unavailable_setting(evidence, "archive_mode")
    else:
        mode = str(row.get("setting") or "")
        resource = setting_resource(evidence, "archive_mode")
        if mode in ("on", "always"):
            yield CheckResult(resource, Status.PASS, f"archive_mode is {mode}", mode, ["on", "always"])
        else:
            yield CheckResult(
                resource, Status.FAIL, f"archive_mode is {mode}: WAL is not archived", mode, ["on", "always"]
            )
    command = settings.get("archive_command")
    library = settings.get("archive_library")
    resource = setting_resource(evidence, "archive_command")
    configured = [
        f"{name} = '{row['setting']}'"
        for name, row in (("archive_command", command), ("archive_library", library))
        if row is not None and str(row.get("setting") or "").strip() not in ("", "(disabled)")
    ]
    if configured:
        yield CheckResult(resource, Status.PASS, f"{configured[0]} is set", configured[0], "set")
    elif command is None:
        yield unavailable_setting(evidence, "archive_command")
    elif library is None and "archive_library" in hidden_settings(evidence):
        yield unavailable_setting(evidence, "archive_library")
    else:
        yield CheckResult(
            resource, Status.FAIL, "neither archive_command nor archive_library is set", None, "one of them set"
        )
    archiver = evidence.section("archiver")
    resource = evidence.resource("archiver", "pg_stat_archiver", "archiver")
    last_ok = _parse_time(archiver.get("last_archived_time"))
    last_failed = _parse_time(archiver.get("last_failed_time"))
    now = _parse_time(archiver.get("now"))
    max_age = float(params.get("max_age_hours", DEFAULT_ARCHIVE_MAX_AGE_HOURS))
    observed = {
        k: archiver.get(k) for k in ("archived_count", "last_archived_time", "failed_count", "last_failed_time")
    }
    expected = "a successful archive" + (f" within {max_age:g}h" if max_age else "") + ", no newer failure"
    if last_ok is None:
        yield CheckResult(
            resource, Status.FAIL, "no WAL segment has been archived (pg_stat_archiver)", observed, expected
        )
    elif last_failed is not None and last_failed > last_ok:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"WAL archiving is failing: last failure {archiver.get('last_failed_time')} is newer than the last "
            f"success {archiver.get('last_archived_time')}",
            observed,
            expected,
        )
    elif max_age and now is None:
        yield CheckResult(
            resource, Status.ERROR, "pg_stat_archiver was read without the server's clock: age unknown", observed
        )
    elif max_age and now is not None and (now - last_ok).total_seconds() > max_age * 3600:
        hours = (now - last_ok).total_seconds() / 3600
        yield CheckResult(
            resource,
            Status.FAIL,
            f"the last WAL segment was archived {hours:.1f}h ago (more than {max_age:g}h)",
            observed,
            expected,
        )
    else:
        yield CheckResult(
            resource, Status.PASS, f"WAL archived at {archiver.get('last_archived_time')}", observed, expected
        )


# -- PG-22 --------------------------------------------------------------------------------

DEFAULT_VERSION_FLOOR: Mapping[str, Any] = {
    "reviewed": "2026-05-14",
    "review_interval_days": 120,
    "minimum": "15",
    "floors": {"15": "15.18", "16": "16.14", "17": "17.10", "18": "18.4"},
}
"""The minor-release floors: the 14 May 2026 security releases (eleven CVEs), the newest this baseline's
authors could confirm; 14 reached end of life on 12 November 2026. Reviewed on the date given: after
`review_interval_days` the floor itself is reported as out of date (see `scanner.floors`)."""


def version_text(num: int) -> str:
    """`150018` -> `15.18` (10 and later)."""
    return f"{num // 10000}.{num % 10000}" if num >= 100000 else f"{num // 10000}.{num // 100 % 100}.{num % 100}"


def version_tuple(num: int) -> tuple[int, ...]:
    """`150018` -> (15, 18); `90624` -> (9, 6, 24)."""
    return (num // 10000, num % 10000) if num >= 100000 else (num // 10000, num // 100 % 100, num % 100)


@check(
    "postgres.server_version",
    needs=("server",),
    params={"version_floor": dict(floors.FLOOR_SCHEMA)},
)
def server_version(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """server_version_num is a supported major version at or above its minor-release floor (a dated floor)."""
    server = evidence.section("server")
    floor = floors.floor_from_params(params.get("version_floor", DEFAULT_VERSION_FLOOR))
    raw = server.get("server_version_num") if isinstance(server, Mapping) else None
    num = raw if isinstance(raw, int) and not isinstance(raw, bool) else 0
    shown = server.get("server_version", "?") if isinstance(server, Mapping) else "?"
    resource = evidence.resource("server", f"PostgreSQL {shown}", "server")
    expected = floor.describe()
    if num <= 0:
        yield CheckResult(resource, Status.ERROR, "server_version_num was not reported", raw, expected)
    else:
        judgement = floors.judge(version_tuple(num), floor)
        message = judgement.message("PostgreSQL")
        if judgement.verdict in (floors.Verdict.BELOW_MINIMUM, floors.Verdict.UNKNOWN_OLD_TRACK):
            message += ": it gets no security fixes any more; plan a major upgrade (pg_upgrade)"
        observed = {"server_version_num": num, "version": version_text(num), "verdict": judgement.verdict.value}
        yield CheckResult(resource, Status.PASS if judgement.passes else Status.FAIL, message, observed, expected)
    stale = floors.stale_floor_result(
        floor,
        evidence.collected_at,
        evidence.resource("version_floor", "PostgreSQL version floor", "server/version-floor"),
        what="PostgreSQL minor-release floor of this control",
    )
    if stale is not None:
        yield stale


# -- PG-23 --------------------------------------------------------------------------------


def _override_resource(evidence: Evidence, role: str, database: str, name: str) -> Any:

    if role and database:
        path, shown = (
            f"databases/{segment(database)}/roles/{segment(role)}/settings/{segment(name)}",
            f"{role}@{database}",
        )
    elif role:
        path, shown = f"roles/{segment(role)}/settings/{segment(name)}", role
    else:
        path, shown = f"databases/{segment(database)}/settings/{segment(name)}", database
    return evidence.resource("setting_override", f"{name} for {shown}", path)


def override_problem(name: str, value: str, params: Mapping[str, Any]) -> str | None:
    """Why a per-role/per-database value of a security setting weakens it, or None (also for unjudged names)."""
    lowered = value.strip().lower()
    if name == "pgaudit.log":
        required = [str(c).lower() for c in params.get("required_pgaudit_classes", DEFAULT_PGAUDIT_CLASSES)]
        missing = sorted(set(required) - pgaudit_classes(value))
        return f"pgaudit.log = '{value}' stops auditing {', '.join(missing)}" if missing else None
    if name == "log_statement":
        allowed = [str(v) for v in params.get("log_statement", DEFAULT_LOG_STATEMENT)]
        return None if lowered in allowed else f"log_statement = '{value}' stops logging schema changes"
    if name in ("log_min_error_statement", "log_min_messages"):
        default = DEFAULT_MIN_ERROR_STATEMENT if name == "log_min_error_statement" else DEFAULT_MIN_MESSAGES
        most = str(params.get(name, default))
        if lowered not in LOG_LEVELS:
            return f"{name} = '{value}' is not a level this check knows"
        return None if LOG_LEVELS.index(lowered) <= LOG_LEVELS.index(most) else f"{name} = '{value}' logs less"
    if name in ("log_connections", "log_disconnections", "log_replication_commands"):
        return f"{name} = '{value}' turns it off" if is_off(value) else None
    if name == "password_encryption":
        wanted = str(params.get("password_encryption", "scram-sha-256"))
        return None if lowered == wanted else f"password_encryption = '{value}' stores new passwords as {value}"
    if name in ("debug_print_parse", "debug_print_rewritten", "debug_print_plan"):
        return None if is_off(value) else f"{name} = '{value}' writes query trees (with data) to the log"
    return None


JUDGED_OVERRIDES = (
    "pgaudit.log", "log_statement", "log_min_error_statement", "log_min_messages", "log_connections",
    "log_disconnections", "log_replication_commands", "password_encryption", "debug_print_parse",
    "debug_print_rewritten", "debug_print_plan",
)  # fmt: skip
"""Security settings a role or database override can weaken (the others are not judged here)."""


@check(
    "postgres.setting_overrides",
    needs=("role_settings",),
    params={
        "required_pgaudit_classes": {"type": "array", "items": {"type": "string"}},
        "log_statement": {"type": "array", "items": {"enum": ["none", "ddl", "mod", "all"]}, "minItems": 1},
        "log_min_error_statement": {"enum": list(LOG_LEVELS)},
        "log_min_messages": {"enum": list(LOG_LEVELS)},
        "password_encryption": {"type": "string", "minLength": 1},
    },
)
def setting_overrides(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No ALTER ROLE/DATABASE ... SET override (pg_db_role_setting) weakens a security setting."""
    rows = evidence.section("role_settings")
    if not isinstance(rows, list):
        raise EvidenceUnavailable("evidence section 'role_settings' is not a list")
    failed = 0
    judged = 0
    for row in rows:
        role, database = str(row.get("role") or ""), str(row.get("database") or "")
        for name, value in dict(row.get("settings") or {}).items():
            if name not in JUDGED_OVERRIDES:
                continue
            judged += 1
            problem = override_problem(name, str(value), params)
            if problem is None:
                continue
            failed += 1
            scope = (
                f"ALTER ROLE {role} IN DATABASE {database}"
                if role and database
                else (f"ALTER ROLE {role}" if role else f"ALTER DATABASE {database}")
            )
            who = f"role {role}" if role else "every role"
            where = f" in database {database}" if database else ""
            yield CheckResult(
                _override_resource(evidence, role, database, name),
                Status.FAIL,
                f"{scope} SET {name}: for {who}{where}, {problem} (the server-wide value does not apply to those "
                f"sessions); {scope} RESET {name}",
                {"role": role or None, "database": database or None, "setting": name, "value": value},
                "no override weakens the server-wide setting",
            )
    if not failed:
        yield CheckResult(
            evidence.resource("setting_overrides", "pg_db_role_setting", "role-settings"),
            Status.PASS,
            f"{len(rows)} override row(s), {judged} security setting(s) overridden, none weakened",
            judged,
            "no override weakens the server-wide setting",
        )


CHECKS = (
    tls_strength,
    connection_logging,
    statement_logging,
    pgaudit,
    brute_force,
    wal_archiving,
    server_version,
    setting_overrides,
)
"""The checks of this module."""
