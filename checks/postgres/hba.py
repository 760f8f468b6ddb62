"""Checks on client authentication rules (pg_hba_file_rules) and live sessions (pure functions).

`pg_hba_file_rules` shows pg_hba.conf as it is on disk (what the next reload will load).
Each offending rule is reported on its own resource, `/hba/line/N`; when no rule offends,
one PASS is reported on `/hba`. A rule the server could not parse (`error` set) is ERROR.

The rules on disk are not judged as the rules in force when they cannot be: an empty rule
list (the server refuses to load an empty file and keeps its previous rules), or a file
modified after the server last loaded its configuration (`server.hba_file_modified_at` newer
than `server.config_loaded_at`, known when the scanning role may stat the file) -- both ERROR.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from checks.postgres.common import LOOPBACK_NETWORKS, is_loopback_address, segment
from checks.postgres.privileges import Mode
from checks.postgres.roles import role_graph
from scanner.errors import EvidenceUnavailable
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Resource, Status

HOST_TYPES = frozenset({"host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"})
"""Rule types that admit TCP/IP connections."""

PLAIN_TYPES = frozenset({"host", "hostnossl", "hostnogssenc"})
"""TCP/IP rule types that admit connections without TLS."""

DEFAULT_FORBIDDEN_METHODS = ("trust", "password", "md5", "ident")


def hba_resource(evidence: Evidence) -> Resource:
    """`/hba`: the rule set as a whole."""
    return evidence.resource("hba", "pg_hba.conf", "hba")


def rule_resource(evidence: Evidence, rule: Mapping[str, Any], several_files: bool) -> Resource:
    """`/hba/line/N` (or `/hba/FILE/line/N` when the rules come from several files)."""
    line = rule.get("line_number")
    if several_files and rule.get("file_name"):
        path = f"hba/{segment(str(rule['file_name']))}/line/{line}"
        name = f"{rule['file_name']}:{line}"
    else:
        path, name = f"hba/line/{line}", f"pg_hba.conf line {line}"
    return evidence.resource("hba_rule", name, path)


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _rules(evidence: Evidence) -> tuple[list[Mapping[str, Any]], bool]:
    """The rules, when they can stand for the rules in force; EvidenceUnavailable otherwise."""
    rules = evidence.section("hba_rules")
    if not isinstance(rules, list):
        raise EvidenceUnavailable("evidence section 'hba_rules' is not a list of rules")
    items = [r for r in rules if isinstance(r, Mapping)]
    if not items:
        raise EvidenceUnavailable(
            "pg_hba_file_rules returned no rule: pg_hba.conf on disk is empty, and the server refuses to load "
            "an empty file, so the rules in force are unknown"
        )
    server = evidence.sections.get("server")
    if isinstance(server, Mapping):
        loaded = _moment(server.get("config_loaded_at"))
        modified = _moment(server.get("hba_file_modified_at"))
        if loaded is not None and modified is not None and modified > loaded:
            raise EvidenceUnavailable(
                f"pg_hba.conf was modified ({server.get('hba_file_modified_at')}) after the server last loaded its "
                f"configuration ({server.get('config_loaded_at')}): the rules on disk are not the rules in force; "
                "reload (SELECT pg_reload_conf()) and scan again"
            )
    several = len({r.get("file_name") for r in items if r.get("file_name")}) > 1
    return items, several


def rule_summary(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a rule shown as `observed`."""
    keys = ("type", "database", "user_name", "address", "netmask", "auth_method")
    return {key: rule.get(key) for key in keys}


def _error_result(evidence: Evidence, rule: Mapping[str, Any], several: bool) -> CheckResult:
    return CheckResult(
        rule_resource(evidence, rule, several),
        Status.ERROR,
        f"pg_hba.conf line {rule.get('line_number')} is invalid ({rule.get('error')}); the server keeps its "
        "previous rules until the file is fixed",
        rule_summary(rule),
    )


def rule_network(rule: Mapping[str, Any]) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The rule's address range as a network, or None for keywords and host names."""
    address = rule.get("address")
    if not address:
        return None
    netmask = rule.get("netmask")
    try:
        if not netmask:
            return ipaddress.ip_network(str(address), strict=False)
        mask = ipaddress.ip_address(str(netmask))
        prefix = bin(int(mask)).count("1")
        return ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    except ValueError:
        return None


def is_loopback_rule(rule: Mapping[str, Any]) -> bool:
    """True when a TCP rule only admits clients on this host (loopback range, samehost, localhost)."""
    address = str(rule.get("address") or "")
    if address in ("samehost", "localhost"):
        return True
    network = rule_network(rule)
    if network is None:
        return False
    return any(network.version == loop.version and network.subnet_of(loop) for loop in LOOPBACK_NETWORKS)  # type: ignore[arg-type]


def _remote_rules(
    rules: Sequence[Mapping[str, Any]], types: frozenset[str], exempt_loopback: bool
) -> Iterable[Mapping[str, Any]]:
    for rule in rules:
        if rule.get("error") or rule.get("type") not in types or rule.get("auth_method") == "reject":
            continue
        if exempt_loopback and is_loopback_rule(rule):
            continue
        yield rule


# -- PG-04 --------------------------------------------------------------------------------


@check(
    "postgres.hba_methods",
    needs=("hba_rules", "server"),
    params={
        "forbidden": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "include_local": {"type": "boolean"},
    },
)
def hba_methods(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No pg_hba rule uses a forbidden authentication method (trust, password, md5, ident)."""
    rules, several = _rules(evidence)
    forbidden = [str(m) for m in params.get("forbidden", DEFAULT_FORBIDDEN_METHODS)]
    include_local = bool(params.get("include_local", True))
    bad = 0
    for rule in rules:
        if rule.get("error"):
            bad += 1
            yield _error_result(evidence, rule, several)
            continue
        if rule.get("type") == "local" and not include_local:
            continue
        method = str(rule.get("auth_method") or "")
        if method in forbidden:
            bad += 1
            yield CheckResult(
                rule_resource(evidence, rule, several),
                Status.FAIL,
                f"pg_hba.conf line {rule.get('line_number')} ({rule.get('type')}) uses '{method}' authentication; "
                "use scram-sha-256 (or peer/cert/gss)",
                rule_summary(rule),
                f"auth_method not in {forbidden}",
            )
    if not bad:
        yield CheckResult(
            hba_resource(evidence),
            Status.PASS,
            f"none of {len(rules)} pg_hba rules uses {', '.join(forbidden)}",
            len(rules),
            f"auth_method not in {forbidden}",
        )


# -- PG-03 --------------------------------------------------------------------------------


def _session_resource(evidence: Evidence, session: Mapping[str, Any]) -> Resource:
    name = f"{session.get('usename')}@{session.get('client_addr')}"
    return evidence.resource("session", name, f"connections/{segment(name)}")


@check(
    "postgres.remote_tls",
    needs=("hba_rules", "connections", "server"),
    params={"exempt_loopback": {"type": "boolean"}},
)
def remote_tls(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No rule admits remote clients without TLS, and no live remote session is unencrypted."""
    exempt = bool(params.get("exempt_loopback", True))
    # Part 1: the rules (needs superuser or a grant on pg_hba_file_rules).
    try:
        rules, several = _rules(evidence)
    except EvidenceUnavailable as exc:
        yield CheckResult(hba_resource(evidence), Status.ERROR, f"pg_hba rules not read: {exc.reason}")
    else:
        bad = 0
        for rule in rules:
            if rule.get("error"):
                bad += 1
                yield _error_result(evidence, rule, several)
        for rule in _remote_rules(rules, PLAIN_TYPES, exempt):
            bad += 1
            yield CheckResult(
                rule_resource(evidence, rule, several),
                Status.FAIL,
                f"pg_hba.conf line {rule.get('line_number')} is '{rule.get('type')}' with "
                f"{rule.get('auth_method')}: clients may connect without TLS; use hostssl (or reject)",
                rule_summary(rule),
                "hostssl, or reject for host/hostnossl",
            )
        if not bad:
            yield CheckResult(
                hba_resource(evidence),
                Status.PASS,
                "every pg_hba rule that admits remote clients requires TLS",
                len(rules),
                "hostssl, or reject for host/hostnossl",
            )
    # Part 2: the sessions open right now (other roles' sessions need pg_read_all_stats).
    resource = evidence.resource("connections", "client sessions", "connections")
    try:
        connections = evidence.section("connections")
    except EvidenceUnavailable as exc:
        yield CheckResult(resource, Status.ERROR, f"sessions not read: {exc.reason}")
        return
    raw_sessions = connections.get("sessions") if isinstance(connections, Mapping) else None
    sessions = [s for s in raw_sessions or [] if isinstance(s, Mapping)]
    if not sessions:
        # The scanner's own session is always listed: an empty list means the sessions were not seen.
        yield CheckResult(resource, Status.ERROR, "no client session was listed, not even the scanner's own")
        return
    invisible = [s for s in sessions if not s.get("visible")]
    plain = [
        s
        for s in sessions
        if s.get("visible")
        and s.get("client_addr")
        and not s.get("ssl")
        and not (exempt and is_loopback_address(str(s.get("client_addr"))))
    ]
    for session in plain:
        yield CheckResult(
            _session_resource(evidence, session),
            Status.FAIL,
            f"session of {session.get('usename')} from {session.get('client_addr')} to "
            f"{session.get('datname')} is not encrypted",
            {k: session.get(k) for k in ("usename", "datname", "client_addr", "ssl")},
            "ssl = true",
        )
    if invisible:
        yield CheckResult(
            resource,
            Status.ERROR,
            f"{len(invisible)} session(s) of other roles could not be inspected: seeing them needs "
            "pg_read_all_stats (or pg_monitor)",
            len(invisible),
        )
    elif not plain:
        remote = sum(1 for s in sessions if s.get("client_addr"))
        yield CheckResult(
            resource, Status.PASS, f"all {remote} TCP session(s) are encrypted or local", remote, "ssl = true"
        )


# -- PG-06 --------------------------------------------------------------------------------


def _superusers(evidence: Evidence) -> tuple[set[str], dict[str, set[str]]]:
    """Roles that are, or can SET ROLE to, a superuser (as PostgreSQL grants it), and group -> members."""
    roles = evidence.section("roles")
    if not isinstance(roles, list) or not roles:  # there is always at least the bootstrap superuser
        raise EvidenceUnavailable("pg_roles returned no role: the superusers were not seen")
    graph = role_graph(evidence)
    supers: set[str] = set()
    for name in (str(r["rolname"]) for r in roles if r.get("rolsuper")):
        supers |= graph.holders(name, Mode.SET)
    members: dict[str, set[str]] = {}
    for role in roles:
        for group in role.get("member_of") or []:
            members.setdefault(str(group), set()).add(str(role["rolname"]))
    return supers, members


def _regex_matches(pattern: str, names: Iterable[str]) -> set[str] | None:
    """Names a pg_hba regular expression (`/^adm`, PostgreSQL 16+) matches; None when it cannot be read."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    return {name for name in names if compiled.search(name)}


def _group_members(group: str, members: Mapping[str, set[str]]) -> set[str]:
    found: set[str] = set()
    pending = [group]
    while pending:
        for member in members.get(pending.pop(), set()):
            if member not in found:
                found.add(member)
                pending.append(member)
    return found


@check(
    "postgres.hba_superuser",
    needs=("hba_rules", "roles", "memberships", "server"),
    params={
        "exempt_loopback": {"type": "boolean"},
        "allowed_roles": {"type": "array", "items": {"type": "string"}},
    },
)
def hba_superuser(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No TCP rule (except loopback) admits a superuser (or a role that can SET ROLE to one): `all`, a name, a group."""
    rules, several = _rules(evidence)
    supers, members = _superusers(evidence)
    allowed = {str(r) for r in params.get("allowed_roles", [])}
    exempt = bool(params.get("exempt_loopback", True))
    bad = 0
    for rule in rules:
        if rule.get("error"):
            bad += 1
            yield _error_result(evidence, rule, several)
    for rule in _remote_rules(rules, HOST_TYPES, exempt):
        admitted: set[str] = set()
        for user in [str(u) for u in rule.get("user_name") or []]:
            if user == "all":
                admitted |= supers
                admitted.add("all")
            elif user.startswith("+"):
                admitted |= _group_members(user[1:], members) & supers
            elif user.startswith("/"):  # a regular expression (PostgreSQL 16+)
                matched = _regex_matches(user[1:], supers)
                admitted |= supers if matched is None else matched
            elif user in ("samerole", "samegroup"):
                # members of the role named like the database: a superuser who is a member of any role
                admitted |= {name for name in supers if any(name in m for m in members.values())}
            elif user in supers:
                admitted.add(user)
        admitted -= allowed
        if "all" in admitted and not (supers - allowed):
            admitted.discard("all")
        if admitted:
            bad += 1
            who = "every role (user 'all')" if "all" in admitted else ", ".join(sorted(admitted))
            yield CheckResult(
                rule_resource(evidence, rule, several),
                Status.FAIL,
                f"pg_hba.conf line {rule.get('line_number')} lets {who} log in as superuser from "
                f"{rule.get('address')}; name the non-superuser roles explicitly",
                rule_summary(rule),
                "no superuser on remote TCP rules",
            )
    if not bad:
        yield CheckResult(
            hba_resource(evidence),
            Status.PASS,
            "no remote pg_hba rule admits a superuser",
            sorted(supers),
            "no superuser on remote TCP rules",
        )


# -- PG-07 --------------------------------------------------------------------------------

DEFAULT_MIN_IPV4_PREFIX = 17
DEFAULT_MIN_IPV6_PREFIX = 48


@check(
    "postgres.hba_ranges",
    needs=("hba_rules", "server"),
    params={
        "min_ipv4_prefix": {"type": "integer", "minimum": 0, "maximum": 32},
        "min_ipv6_prefix": {"type": "integer", "minimum": 0, "maximum": 128},
        "allow_samenet": {"type": "boolean"},
    },
)
def hba_ranges(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """TCP rules that are not `reject` name narrow source ranges (no all, 0.0.0.0/0, ::/0, wide prefixes)."""
    rules, several = _rules(evidence)
    v4 = int(params.get("min_ipv4_prefix", DEFAULT_MIN_IPV4_PREFIX))
    v6 = int(params.get("min_ipv6_prefix", DEFAULT_MIN_IPV6_PREFIX))
    allow_samenet = bool(params.get("allow_samenet", False))
    expected = f"IPv4 prefix >= /{v4}, IPv6 prefix >= /{v6}, no 'all'"
    bad = 0
    for rule in rules:
        if rule.get("error"):
            bad += 1
            yield _error_result(evidence, rule, several)
    for rule in _remote_rules(rules, HOST_TYPES, exempt_loopback=True):
        address = str(rule.get("address") or "")
        network = rule_network(rule)
        problem = None
        if address == "all":
            problem = "admits every address ('all')"
        elif address == "samenet":
            problem = None if allow_samenet else "admits every network the server is attached to ('samenet')"
        elif address.startswith("."):
            problem = f"admits every host of the domain '{address}'"
        elif network is not None:
            minimum = v4 if network.version == 4 else v6
            if network.prefixlen < minimum:
                problem = f"admits {network} (prefix /{network.prefixlen} is wider than /{minimum})"
        if problem:
            bad += 1
            yield CheckResult(
                rule_resource(evidence, rule, several),
                Status.FAIL,
                f"pg_hba.conf line {rule.get('line_number')} {problem}",
                rule_summary(rule),
                expected,
            )
    if not bad:
        yield CheckResult(
            hba_resource(evidence), Status.PASS, "every remote pg_hba rule names a narrow source range", None, expected
        )


# -- PG-29 --------------------------------------------------------------------------------

BROAD_DATABASES = frozenset({"all", "sameuser", "samerole", "samegroup"})
"""pg_hba database keywords that do not name databases."""


@check(
    "postgres.hba_broad_rules",
    needs=("hba_rules", "server"),
    params={"include_local": {"type": "boolean"}, "exempt_loopback": {"type": "boolean"}},
)
def hba_broad_rules(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No admitting pg_hba rule is for every database and every user at once (`all all`)."""
    rules, several = _rules(evidence)
    include_local = bool(params.get("include_local", False))
    exempt = bool(params.get("exempt_loopback", False))
    expected = "each admitting rule names its databases or its users"
    bad = 0
    for rule in rules:
        if rule.get("error"):
            bad += 1
            yield _error_result(evidence, rule, several)
            continue
        if rule.get("auth_method") == "reject" or (rule.get("type") == "local" and not include_local):
            continue
        if exempt and rule.get("type") in HOST_TYPES and is_loopback_rule(rule):
            continue
        databases = {str(d) for d in rule.get("database") or []}
        users = {str(u) for u in rule.get("user_name") or []}
        if "replication" in databases and len(databases) == 1:
            databases = set()  # the replication pseudo-database is judged by its users only
        if databases & BROAD_DATABASES and "all" in users:
            bad += 1
            yield CheckResult(
                rule_resource(evidence, rule, several),
                Status.FAIL,
                f"pg_hba.conf line {rule.get('line_number')} admits every user to every database "
                f"({', '.join(sorted(databases))} / all) from {rule.get('address') or 'the local socket'}: name the "
                "databases and roles each client needs",
                rule_summary(rule),
                expected,
            )
    if not bad:
        yield CheckResult(
            hba_resource(evidence),
            Status.PASS,
            "no admitting pg_hba rule is for all databases and all users",
            len(rules),
            expected,
        )


CHECKS = (hba_methods, remote_tls, hba_superuser, hba_ranges, hba_broad_rules)
"""The checks of this module."""
