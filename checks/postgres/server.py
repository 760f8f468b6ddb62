"""Checks on where the server listens and logs, debug output and the Unix socket (pure functions).

The remotely observable CIS PostgreSQL / pgdsat settings the other modules do not cover.
Each judged setting is one result on `/settings/NAME`; one the scanning role cannot see is
ERROR with the privilege it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from checks.postgres.common import (
    is_off,
    is_on,
    list_setting,
    setting_resource,
    settings_map,
    unavailable_setting,
)
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

# -- PG-24 --------------------------------------------------------------------------------

DEFAULT_FORBIDDEN_LISTEN = ("*", "0.0.0.0", "::")  # noqa: S104 (addresses judged, not bound)


@check(
    "postgres.listen_addresses",
    needs=("pg_settings", "server"),
    params={"forbidden": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
)
def listen_addresses(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """listen_addresses names the interfaces to serve, not every interface (`*`, 0.0.0.0, ::)."""
    forbidden = [str(v) for v in params.get("forbidden", DEFAULT_FORBIDDEN_LISTEN)]
    row = settings_map(evidence).get("listen_addresses")
    if row is None:
        yield unavailable_setting(evidence, "listen_addresses")
        return
    value = str(row.get("setting") or "")
    resource = setting_resource(evidence, "listen_addresses")
    wild = [a for a in list_setting(value) if a in forbidden]
    expected = f"none of {', '.join(forbidden)}"
    if wild:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"listen_addresses '{value}' serves every interface ({', '.join(wild)}): list only the addresses "
            "clients use (e.g. 'localhost, 10.20.30.5')",
            value,
            expected,
        )
    else:
        yield CheckResult(
            resource, Status.PASS, f"listen_addresses is '{value or '(none: Unix socket only)'}'", value, expected
        )


# -- PG-25 --------------------------------------------------------------------------------

DURABLE_DESTINATIONS = ("syslog", "eventlog")
"""log_destination values that leave the server process without the logging collector."""


@check(
    "postgres.log_destination",
    needs=("pg_settings", "server"),
    params={"accept_stderr_without_collector": {"type": "boolean"}},
)
def log_destination(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The server log goes somewhere durable: logging_collector on, or syslog/eventlog in log_destination."""
    settings = settings_map(evidence)
    accept_stderr = bool(params.get("accept_stderr_without_collector", False))
    destination_row = settings.get("log_destination")
    collector_row = settings.get("logging_collector")
    if destination_row is None:
        yield unavailable_setting(evidence, "log_destination")
        return
    if collector_row is None:
        yield unavailable_setting(evidence, "logging_collector")
        return
    destinations = list_setting(str(destination_row.get("setting") or "").lower())
    collecting = is_on(collector_row.get("setting"))
    observed = {"log_destination": destination_row.get("setting"), "logging_collector": collector_row.get("setting")}
    expected = "logging_collector = on, or log_destination with syslog/eventlog"
    resource = setting_resource(evidence, "log_destination")
    if not destinations:
        yield CheckResult(resource, Status.FAIL, "log_destination is empty: nothing is logged", observed, expected)
    elif collecting or any(d in DURABLE_DESTINATIONS for d in destinations) or accept_stderr:
        yield CheckResult(
            resource,
            Status.PASS,
            f"log_destination '{destination_row.get('setting')}' with logging_collector {collector_row.get('setting')}",
            observed,
            expected,
        )
    else:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"log_destination '{destination_row.get('setting')}' without the logging collector: the log is only "
            "what the process manager keeps of stderr (and csvlog/jsonlog need the collector); set "
            "logging_collector = on or log_destination = 'syslog'",
            observed,
            expected,
        )


# -- PG-26, PG-27 -------------------------------------------------------------------------


def _flag(evidence: Evidence, name: str, want_on: bool, why: str) -> CheckResult:
    row = settings_map(evidence).get(name)
    if row is None:
        return unavailable_setting(evidence, name)
    value = row.get("setting")
    resource = setting_resource(evidence, name)
    expected = "on" if want_on else "off"
    good = is_on(value) if want_on else is_off(value)
    if good:
        return CheckResult(resource, Status.PASS, f"{name} is {value}", value, expected)
    return CheckResult(resource, Status.FAIL, f"{name} is {value}: {why}; set {name} = {expected}", value, expected)


@check("postgres.replication_logging", needs=("pg_settings", "server"))
def replication_logging(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """log_replication_commands is on, so replication connections and their commands leave a trace."""
    yield _flag(evidence, "log_replication_commands", True, "replication commands (base backups, slots) are not logged")


DEBUG_SETTINGS = ("debug_print_parse", "debug_print_rewritten", "debug_print_plan")
"""Settings that write query trees (including constants: data) to the server log."""


@check("postgres.debug_output", needs=("pg_settings", "server"))
def debug_output(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """debug_print_parse, debug_print_rewritten and debug_print_plan are off."""
    for name in DEBUG_SETTINGS:
        yield _flag(evidence, name, False, "every query tree, with its constants, goes to the log")


# -- PG-28 --------------------------------------------------------------------------------


def socket_mode(value: Any) -> int | None:
    """unix_socket_permissions as a number: pg_settings shows `511` or `0777`; None if unreadable."""
    text = str(value or "").strip()
    try:
        return int(text, 8) if text.startswith("0") and len(text) > 1 else int(text)
    except ValueError:
        return None


@check(
    "postgres.unix_socket_permissions",
    needs=("pg_settings", "server"),
    params={"max_mode": {"type": "string", "pattern": "^0?[0-7]{3}$"}},
)
def unix_socket_permissions(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """unix_socket_permissions grants nothing beyond `max_mode` (default 0770: no access for other users)."""
    limit = int(str(params.get("max_mode", "0770")), 8)
    row = settings_map(evidence).get("unix_socket_permissions")
    if row is None:
        yield unavailable_setting(evidence, "unix_socket_permissions")
        return
    mode = socket_mode(row.get("setting"))
    resource = setting_resource(evidence, "unix_socket_permissions")
    expected = f"no bits beyond {limit:04o}"
    if mode is None:
        yield CheckResult(resource, Status.ERROR, "unix_socket_permissions is not a number", row.get("setting"))
    elif mode & ~limit:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"unix_socket_permissions is {mode:04o}: every local OS user may connect through the socket; "
            f"set it to {limit:04o} (with unix_socket_group) or 0700",
            f"{mode:04o}",
            expected,
        )
    else:
        yield CheckResult(resource, Status.PASS, f"unix_socket_permissions is {mode:04o}", f"{mode:04o}", expected)


CHECKS = (listen_addresses, log_destination, replication_logging, debug_output, unix_socket_permissions)
"""The checks of this module."""
