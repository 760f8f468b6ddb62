"""Checks on who can do what in OpenBao: root tokens, auth methods, TTLs, lockout, ACL policies, rate limits.

Pure functions over collected evidence (see `checks.openbao.collect` for the sections).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from checks.openbao.acl import Sensitive, policy_reaches
from checks.openbao.policy import SUDO, WRITE_CAPABILITIES, PolicyParseError, parse_blocks
from checks.openbao.server_checks import server
from checks.openbao.units import format_duration, parse_duration
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Resource, Status

_DURATION = {"type": ["string", "integer"], "description": "A duration: seconds, or text such as 24h, 90m."}
_STRINGS = {"type": "array", "items": {"type": "string"}}


def _namespace(evidence: Evidence) -> str | None:
    connection = evidence.section("connection")
    namespace = connection.get("namespace")
    return str(namespace) if namespace else None


def _mount_resource(evidence: Evidence, mount: Mapping[str, Any]) -> Resource:
    path = str(mount.get("path", "")).strip("/")
    return evidence.resource("auth_method", path, str(mount.get("uri_path") or f"sys/auth/{path}"))


ALLOW_LIST_ENTRY = r"^([0-9a-f]{16}|entity:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
"""An allow-list entry: an accessor digest (`accessor_sha256`) or `entity:<entity id>` - never a name."""


def _standing(token: Mapping[str, Any], max_ttl: float) -> str | None:
    """Why a root token is standing (None when it expires soon enough for good)."""
    ttl = int(token.get("ttl") or 0)
    period = int(token.get("period") or 0)
    explicit_max = int(token.get("explicit_max_ttl") or 0)
    if ttl == 0:
        return "never expires (a standing root token)"
    if period > 0 and explicit_max == 0:
        return (
            f"is periodic ({format_duration(period)}) with no explicit max TTL: renewed forever, it is a standing "
            "root token"
        )
    if ttl > max_ttl:
        return f"lives {format_duration(ttl)} more (longer than {format_duration(max_ttl)})"
    if token.get("renewable") is True and (explicit_max == 0 or explicit_max > max_ttl):
        return (
            "is renewable without an explicit max TTL within "
            f"{format_duration(max_ttl)}: it can be renewed up to the token store's max TTL"
        )
    return None


@check(
    "openbao.root_tokens",
    needs=("token_accessors",),
    params={
        "allowed": {"type": "array", "items": {"type": "string", "pattern": ALLOW_LIST_ENTRY}},
        "max_ttl": _DURATION,
    },
)
def root_tokens(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No token carries the root policy, except short-lived ones or allow-listed break-glass tokens.

    `allowed` names tokens by identities their creator cannot choose: the accessor digest
    (`accessor_sha256` of the evidence) or `entity:<entity id>`; display names are not accepted.
    `max_ttl` tolerates root tokens that expire within that time (default 1h); a periodic root
    token without an explicit max TTL is standing whatever its current TTL.
    """
    data = evidence.section("token_accessors")
    allowed = {str(a) for a in params.get("allowed", [])}
    max_ttl = parse_duration(params.get("max_ttl", "1h"))
    found_root = False
    skipped: list[str] = []
    for token in data.get("tokens", []):
        if "root" not in (token.get("policies") or []):
            continue
        found_root = True
        name = str(token.get("display_name") or "token")
        digest = str(token.get("accessor_sha256", ""))
        entity = str(token.get("entity_id") or "")
        resource = evidence.resource(
            "token", f"{name} ({digest})", str(token.get("uri_path") or f"auth/token/accessors/{digest}")
        )
        observed = {
            k: token.get(k)
            for k in ("display_name", "policies", "ttl", "period", "explicit_max_ttl", "expire_time", "path")
        }
        why = _standing(token, max_ttl)
        expected = f"no root token living longer than {format_duration(max_ttl)}"
        if digest in allowed or (entity and f"entity:{entity}" in allowed):
            skipped.append(digest)
            yield CheckResult(
                resource,
                Status.PASS,
                f"root token '{name}' (accessor digest {digest}) is an allow-listed break-glass token"
                + (f"; it {why}" if why else ""),
                observed,
            )
        elif why:
            yield CheckResult(resource, Status.FAIL, f"root token '{name}' {why}", observed, expected)
        else:
            yield CheckResult(
                resource, Status.PASS, f"root token '{name}' expires within {format_duration(max_ttl)}", observed
            )
    summary = {"total": data.get("total"), "looked_up": data.get("looked_up"), "allow_listed": len(skipped)}
    incomplete = data.get("incomplete")
    if incomplete:
        yield CheckResult(
            server(evidence), Status.ERROR, f"not every token was looked up: {incomplete}", summary, "no root token"
        )
    elif not found_root:
        yield CheckResult(
            server(evidence),
            Status.PASS,
            f"none of {data.get('looked_up', 0)} token(s) carries the root policy",
            summary,
            "no root token",
        )
    elif skipped:
        yield CheckResult(
            evidence.resource("allow_list", "root-token allow-list", "auth/token/accessors/allow-list"),
            Status.PASS,
            f"the allow-list exempted {len(skipped)} root token(s) by accessor digest or entity: " + ", ".join(skipped),
            summary,
        )


@check(
    "openbao.auth_ttl",
    needs=("auth_methods",),
    params={"max_default_ttl": _DURATION, "max_max_ttl": _DURATION},
)
def auth_ttl(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every auth method issues tokens with bounded default and maximum TTLs (effective tune values)."""
    max_default = parse_duration(params.get("max_default_ttl", "24h"))
    max_max = parse_duration(params.get("max_max_ttl", "24h"))
    expected = {
        "default_lease_ttl": f"<= {format_duration(max_default)}",
        "max_lease_ttl": f"<= {format_duration(max_max)}",
    }
    for mount in evidence.section("auth_methods"):
        resource = _mount_resource(evidence, mount)
        tune = mount.get("tune")
        if tune is None:
            yield CheckResult(
                resource, Status.ERROR, str(mount.get("tune_error", "tuning not read")), expected=expected
            )
            continue
        default_ttl = int(tune.get("default_lease_ttl") or 0)
        max_ttl = int(tune.get("max_lease_ttl") or 0)
        observed = {"default_lease_ttl": format_duration(default_ttl), "max_lease_ttl": format_duration(max_ttl)}
        problems = []
        if default_ttl <= 0 or default_ttl > max_default:
            problems.append(f"default TTL {format_duration(default_ttl)}")
        if max_ttl <= 0 or max_ttl > max_max:
            problems.append(f"max TTL {format_duration(max_ttl)}")
        path = mount.get("path")
        if problems:
            yield CheckResult(
                resource, Status.FAIL, f"auth/{path}: {' and '.join(problems)} too long", observed, expected
            )
        else:
            yield CheckResult(resource, Status.PASS, f"auth/{path}: token TTLs are bounded", observed, expected)


@check("openbao.auth_methods", needs=("auth_methods",), params={"forbidden_types": _STRINGS})
def auth_methods(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No auth method of a forbidden type (default: userpass) is enabled."""
    forbidden = [str(t) for t in params.get("forbidden_types", ["userpass"])]
    for mount in evidence.section("auth_methods"):
        resource = _mount_resource(evidence, mount)
        kind = str(mount.get("type"))
        if kind in forbidden:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"auth/{mount.get('path')} is a '{kind}' auth method",
                kind,
                f"not in {forbidden}",
            )
        else:
            yield CheckResult(resource, Status.PASS, f"auth/{mount.get('path')} is a '{kind}' auth method", kind)


@check(
    "openbao.lockout",
    needs=("auth_methods",),
    params={
        "types": _STRINGS,
        "max_threshold": {"type": "integer", "minimum": 1},
        "accept_defaults": {"type": "boolean"},
    },
)
def lockout(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Password-style auth methods lock users out after at most `max_threshold` failed logins.

    A mount without an explicit lockout setting FAILs unless `accept_defaults` (the server-wide
    `user_lockout` stanza, invisible through the API, then decides).
    """
    types = [str(t) for t in params.get("types", ["userpass", "ldap", "approle"])]
    threshold_max = int(params.get("max_threshold", 5))
    accept_defaults = bool(params.get("accept_defaults", False))
    expected = f"lockout enabled, threshold <= {threshold_max}"
    in_scope = False
    for mount in evidence.section("auth_methods"):
        if mount.get("type") not in types:
            continue
        in_scope = True
        resource = _mount_resource(evidence, mount)
        tune = mount.get("tune")
        path = mount.get("path")
        if tune is None:
            yield CheckResult(
                resource, Status.ERROR, str(mount.get("tune_error", "tuning not read")), expected=expected
            )
            continue
        observed = {k: v for k, v in tune.items() if k.startswith("user_lockout")}
        if tune.get("user_lockout_disable") is True:
            yield CheckResult(resource, Status.FAIL, f"auth/{path}: user lockout is disabled", observed, expected)
        elif not int(tune.get("user_lockout_threshold") or 0):
            # No threshold on the mount (or 0, which OpenBao reads as "not set on the mount"):
            # the server-wide `user_lockout` stanza applies, and the API does not show it.
            status = Status.PASS if accept_defaults else Status.FAIL
            yield CheckResult(
                resource,
                status,
                f"auth/{path}: no lockout configured on the mount; the server-wide default applies, which the API "
                "does not show",
                observed,
                expected,
            )
        elif int(tune.get("user_lockout_threshold")) > threshold_max:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"auth/{path}: lockout after {tune.get('user_lockout_threshold')} failures",
                observed,
                expected,
            )
        else:
            yield CheckResult(
                resource,
                Status.PASS,
                f"auth/{path}: lockout after {tune.get('user_lockout_threshold')} failures",
                observed,
                expected,
            )
    if not in_scope:
        yield CheckResult(
            server(evidence), Status.NOT_APPLICABLE, f"no auth method of type {', '.join(types)} is enabled"
        )


def _collected_at(evidence: Evidence) -> datetime | None:
    """When the evidence was collected (aware), if it says so."""
    try:
        moment = datetime.fromisoformat(str(evidence.collected_at))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_SENSITIVE_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "capabilities"],
    "properties": {
        "path": {"type": "string", "minLength": 1},
        "capabilities": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "generic": {"type": "boolean"},
        "why": {"type": "string"},
    },
}


@check(
    "openbao.acl_policies",
    needs=("policies",),
    params={
        "allowed_policies": _STRINGS,
        "paths": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Broad families judged on an arbitrary path (literal paths, prefixes ending in '*').",
        },
        "capabilities": _STRINGS,
        "sensitive": {"type": "array", "items": _SENSITIVE_ITEM},
    },
)
def acl_policies(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No ACL policy outside the allow-list grants a dangerous capability anywhere on a sensitive path.

    Each policy is evaluated with OpenBao's own ACL algorithm (`checks.openbao.acl`). `sensitive`
    families are judged on every path any rule reaches inside them (a narrow `deny` shields
    only what it really shields); `paths` (default `*`, `sys/*`) with `capabilities` are judged on
    an arbitrary path of the family. Rules with an `expiration` are judged at every moment: a
    `deny` that lapses stops shielding what lies behind it (reported with the date).
    """
    allowed = {str(p) for p in params.get("allowed_policies", ["root"])}
    broad = [str(p) for p in params.get("paths", ["*", "sys/*"])]
    risky = frozenset(str(c) for c in params.get("capabilities", [*sorted(WRITE_CAPABILITIES), SUDO]))
    items = [Sensitive(path=p, capabilities=risky, generic=True, why="everything under it") for p in broad]
    for entry in params.get("sensitive", []):
        items.append(
            Sensitive(
                path=str(entry["path"]),
                capabilities=frozenset(str(c) for c in entry["capabilities"]),
                generic=bool(entry.get("generic", False)),
                why=str(entry.get("why", "")),
            )
        )
    expected = "; ".join(f"no {'/'.join(sorted(i.capabilities))} on {i.path}" for i in items)
    now = _collected_at(evidence)
    policies = evidence.section("policies")
    if not policies:
        # OpenBao always has the `default` policy (and `root` in the root namespace): an empty list
        # means the listing did not show what exists.
        yield CheckResult(
            evidence.resource("policies", "ACL policies", "sys/policies/acl"),
            Status.ERROR,
            "no ACL policy was listed (OpenBao always has at least the default policy): nothing was verified",
            expected=expected,
        )
        return
    why = {i.path: i.why for i in items}
    skipped: list[str] = []
    for item in policies:
        name = str(item.get("name"))
        resource = evidence.resource("policy", name, str(item.get("uri_path") or f"sys/policies/acl/{name}"))
        if "error" in item:
            yield CheckResult(resource, Status.ERROR, str(item["error"]), expected=expected)
            continue
        text = item.get("policy")
        if not isinstance(text, str):
            yield CheckResult(resource, Status.ERROR, f"the text of policy '{name}' was not read", expected=expected)
            continue
        try:
            blocks = parse_blocks(text)
        except PolicyParseError as exc:
            yield CheckResult(resource, Status.ERROR, f"policy '{name}' could not be parsed: {exc}", expected=expected)
            continue
        found = policy_reaches(blocks, items, now)
        observed = [
            {
                "sensitive": r.target,
                "rule": r.rule,
                "path": r.shown or r.path,
                "witness": r.path,
                "capabilities": list(r.capabilities),
                **({"from": r.after.isoformat()} if r.after else {}),
            }
            for r in found
        ]
        if not found:
            yield CheckResult(resource, Status.PASS, f"policy '{name}' reaches no sensitive path", [], expected)
        elif name in allowed:
            skipped.append(name)
            yield CheckResult(
                resource,
                Status.PASS,
                f"policy '{name}' is allow-listed as an admin policy ({len(found)} sensitive grant(s) exempted)",
                observed,
            )
        else:
            shown = "; ".join(
                f'path "{r.rule}" grants {",".join(r.capabilities)} on {r.shown or r.path} (in {r.target}'
                + (f": {why[r.target]}" if why.get(r.target) else "")
                + ")"
                + (f" from {r.after.isoformat()} (when a rule with an expiration lapses)" if r.after else "")
                for r in found
            )
            yield CheckResult(resource, Status.FAIL, f"policy '{name}': {shown}", observed, expected)
    if skipped:
        yield CheckResult(
            evidence.resource("allow_list", "admin-policy allow-list", "sys/policies/acl-allow-list"),
            Status.PASS,
            f"the allow-list exempted {len(skipped)} policy(ies) that reach sensitive paths: {', '.join(skipped)}",
            skipped,
        )


def _quota_covers(quota_path: str, mount_full_path: str) -> bool:
    """True when a rate-limit quota (by its path) applies to logins on the given auth mount.

    A blank path is global; `ns/` covers a namespace; `auth/userpass/` a mount; a longer path
    (`auth/userpass/login`) a part of the mount, which counts as covering its logins.
    """
    quota = quota_path.strip("/")
    mount = mount_full_path.strip("/")
    if not quota:
        return True
    return mount == quota or mount.startswith(quota + "/") or quota.startswith(mount + "/")


@check(
    "openbao.login_rate_limits",
    needs=("rate_limit_quotas", "auth_methods", "connection"),
    params={"exclude_types": _STRINGS},
)
def login_rate_limits(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every login auth method (not the token method) is covered by a rate-limit quota."""
    excluded = [str(t) for t in params.get("exclude_types", ["token"])]
    quotas = evidence.section("rate_limit_quotas")
    namespace = _namespace(evidence)
    in_scope = False
    for mount in evidence.section("auth_methods"):
        if mount.get("type") in excluded:
            continue
        in_scope = True
        path = str(mount.get("path", "")).strip("/")
        full = f"{namespace}/auth/{path}" if namespace else f"auth/{path}"
        covering = [q.get("name") for q in quotas if isinstance(q.get("path"), str) and _quota_covers(q["path"], full)]
        resource = _mount_resource(evidence, mount)
        if covering:
            yield CheckResult(
                resource,
                Status.PASS,
                f"auth/{path} is rate-limited by quota(s) {', '.join(map(str, covering))}",
                covering,
            )
        else:
            yield CheckResult(
                resource, Status.FAIL, f"no rate-limit quota covers logins on auth/{path}", [], "a rate-limit quota"
            )
    if not in_scope:
        yield CheckResult(
            server(evidence), Status.NOT_APPLICABLE, "no login auth method besides the excluded types is enabled"
        )


CHECKS = (root_tokens, auth_ttl, auth_methods, lockout, acl_policies, login_rate_limits)
"""The access-control checks, in baseline order."""
