"""OpenBao ACL policies: parsing (HCL v1 or JSON) and path-glob semantics.

OpenBao (like Vault) evaluates a request path against the rules of a token's policies:

* an exact rule (`path "sys/audit"`) wins over every glob;
* a trailing `*` makes a prefix glob (`sys/*`, `s*`, `+/*`), a `*` elsewhere is literal;
* a `+` path segment matches exactly one segment (`secret/+/config`);
* among several matching globs the most specific one applies (first glob or `+` later in
  the path wins, then non-prefix over prefix, then fewer `+` segments, then the longer
  pattern) -- capabilities of *different* matching rules are not added up;
* rules with the same path are merged, and `deny` on a rule makes it grant nothing;
* one leading `/` of a rule's path is dropped (`path "/sys/*"` is `sys/*`);
* a rule whose `expiration` has passed is ignored, so a `deny` that expires stops shielding.

Policies are read with OpenBao's own language, HCL v1 (`checks.openbao.hcl1`): a repeated
`capabilities` attribute adds up, and a block's first label is its path.

This module is pure: it parses policy text and answers "what does this policy grant on
every path under `sys/`?" -- now, and after each of its rules' expirations -- without I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from checks.openbao.hcl1 import HclError, Item, Node, parse

WRITE_CAPABILITIES = frozenset({"create", "update", "delete", "patch"})
"""Capabilities that change state."""
SUDO = "sudo"
"""Capability that unlocks root-protected endpoints."""
DENY = "deny"
"""Capability that makes a rule grant nothing."""
KNOWN_CAPABILITIES = frozenset({"create", "read", "update", "patch", "delete", "list", "sudo", "deny", "scan"})
"""Capabilities OpenBao knows; anything else is reported, not guessed."""

_LEGACY_POLICY = {
    "deny": ("deny",),
    "read": ("read", "list"),
    "write": ("create", "read", "update", "delete", "list"),
    "sudo": ("create", "read", "update", "delete", "list", "sudo"),
}
"""The deprecated `policy = "..."` shorthand and the capabilities it stands for."""


class PolicyParseError(ValueError):
    """The policy text is not valid HCL/JSON or not shaped like an ACL policy."""


@dataclass(frozen=True)
class PolicyBlock:
    """One `path "..." { ... }` block as written (before same-path blocks are merged)."""

    path: str
    """The path pattern as OpenBao stores it (one leading `/` removed, trailing `*` kept)."""
    capabilities: frozenset[str]
    """Capabilities of this block (`capabilities` lists added up, plus the legacy `policy`)."""
    expires: datetime | None = None
    """The block's `expiration`, after which OpenBao ignores it."""
    line: int = 0
    """Line of the block in the policy text (0 for JSON)."""


@dataclass(frozen=True)
class PathRule:
    """One `path "..." { capabilities = [...] }` rule (merged with same-path rules)."""

    path: str
    """The path pattern as written (with its trailing `*` if any)."""
    capabilities: frozenset[str]
    """Capabilities listed for the path, `deny` included."""

    @property
    def granted(self) -> frozenset[str]:
        """What the rule really grants: nothing when it carries `deny`."""
        return frozenset() if DENY in self.capabilities else self.capabilities


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyParseError(f"{what} must be a list of strings")
    return [str(v) for v in value]


def _one(body: Node, key: str, path: str) -> Any:
    found = body.filter(key)
    if len(found) > 1:
        raise PolicyParseError(f"path {path!r}: '{key}' is given {len(found)} times")
    return found[0].value if found else None


def parse_expiration(value: Any, path: str) -> datetime:
    """An `expiration` value (RFC 3339, a date, or Unix seconds) as an aware datetime."""
    text = str(value).strip()
    try:
        if isinstance(value, int | float) or text.isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise PolicyParseError(f"path {path!r}: invalid expiration {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _block(path: str, body: Any, line: int) -> Iterator[PolicyBlock]:
    if isinstance(body, list):  # JSON: "path": {"x": [{...}, {...}]} is several blocks
        for element in body:
            yield from _block(path, element, line)
        return
    if not isinstance(body, Node):
        raise PolicyParseError(f"path {path!r}: body is not a block")
    found: set[str] = set()
    for item in body.filter("capabilities"):
        found.update(c.strip().lower() for c in _strings(item.value, f"path {path!r}: capabilities"))
    legacy = _one(body, "policy", path)
    if legacy is not None:
        if not isinstance(legacy, str) or legacy.lower() not in _LEGACY_POLICY:
            raise PolicyParseError(f"path {path!r}: unknown policy value {legacy!r}")
        found.update(_LEGACY_POLICY[legacy.lower()])
    expiration = _one(body, "expiration", path)
    expires = parse_expiration(expiration, path) if expiration not in (None, "") else None
    clean = path[1:] if path.startswith("/") else path  # OpenBao strips one leading '/'
    if "+*" in clean:
        raise PolicyParseError(f"path {path!r}: invalid use of wildcards ('+*' is forbidden)")
    yield PolicyBlock(path=clean, capabilities=frozenset(found), expires=expires, line=line)


def _path_items(item: Item) -> Iterator[tuple[str, Any, int]]:
    """(path, body, line) of a top-level `path` item, in its HCL (labelled) or JSON (nested) form."""
    if len(item.keys) >= 2:  # path "sys/*" ["extra label" ...] { ... }: OpenBao uses the first label
        yield item.keys[1], item.value, item.line
        return
    values = item.value if isinstance(item.value, list) else [item.value]
    for value in values:
        if not isinstance(value, Node):
            raise PolicyParseError("'path' must be a block")
        for inner in value.items:
            yield inner.keys[0], inner.value, inner.line or item.line


def parse_blocks(text: str) -> tuple[PolicyBlock, ...]:
    """Parse an ACL policy (HCL v1, or JSON) into its path blocks, in order.

    Raises PolicyParseError when the text cannot be parsed.
    """
    if not text.strip():
        return ()
    try:
        document = parse(text)
    except HclError as exc:
        raise PolicyParseError(f"not valid HCL: {exc}") from None
    blocks: list[PolicyBlock] = []
    for item in document.filter("path"):
        for path, body, line in _path_items(item):
            blocks.extend(_block(path, body, line))
    return tuple(blocks)


def merge(blocks: Iterable[PolicyBlock]) -> tuple[PathRule, ...]:
    """Same-path blocks merged into one rule each (capabilities added up; `deny` then wins)."""
    merged: dict[str, set[str]] = {}
    for block in blocks:
        merged.setdefault(block.path, set()).update(block.capabilities)
    return tuple(PathRule(path=p, capabilities=frozenset(c)) for p, c in merged.items())


def parse_policy(text: str) -> tuple[PathRule, ...]:
    """Parse an ACL policy into merged path rules (every block counted, expired or not).

    Raises PolicyParseError when the text cannot be parsed.
    """
    return merge(parse_blocks(text))


def _is_template(segment: str) -> bool:
    """A segment that is an identity template (`{{identity.entity.id}}`): it may render to anything."""
    return segment.startswith("{{") and segment.endswith("}}")


def _is_wildcard_segment(segment: str, templates: bool = True) -> bool:
    """A `+` segment, or (with `templates`) a segment that is a single identity template."""
    return segment == "+" or (templates and _is_template(segment))


def has_templates(pattern: str) -> bool:
    """True when a path segment of `pattern` is an identity template."""
    return any(_is_template(part) for part in pattern.rstrip("*").split("/"))


def has_segment_wildcards(pattern: str) -> bool:
    """OpenBao's test for a `+` rule (kept apart from the exact and prefix rules); templates count too."""
    return pattern == "+" or "/+" in pattern or pattern.startswith("+/") or has_templates(pattern)


def is_prefix(pattern: str) -> bool:
    """True for a prefix glob (trailing `*`)."""
    return pattern.endswith("*")


def matches(pattern: str, path: str, templates: bool = True) -> bool:
    """True when the policy path `pattern` applies to the request path `path`.

    With `templates` false an identity-template segment matches nothing but itself.
    """
    prefix = is_prefix(pattern)
    body = pattern[:-1] if prefix else pattern
    acl_parts = body.split("/")
    path_parts = path.split("/")
    if len(path_parts) < len(acl_parts) or (not prefix and len(path_parts) != len(acl_parts)):
        return False
    last = len(acl_parts) - 1
    for index, part in enumerate(acl_parts):
        if _is_wildcard_segment(part, templates) or part == path_parts[index]:
            continue
        if prefix and index == last and path_parts[index].startswith(part):
            continue
        return False
    return True


def covers(pattern: str, target: str, templates: bool = True) -> bool:
    """True when `pattern` applies to every path `target` stands for.

    `target` is a literal path (`sys/raw`) or a literal prefix ending in `*` (`sys/*`, `*`).
    A pattern covers `L*` exactly when it is itself a prefix glob and matches `L`: what lies
    beyond `L` can then only extend the segment or add segments, which a prefix glob absorbs.
    """
    if is_prefix(target):
        return is_prefix(pattern) and matches(pattern, target[:-1], templates)
    return matches(pattern, target, templates)


_EXACT = 1 << 30


def priority(pattern: str) -> tuple[int, int, int, int, str]:
    """Sort key: a higher key is the more specific rule, as OpenBao orders matching rules.

    An exact rule beats every glob. A plain prefix glob `L*` ranks by the length of `L`. A rule
    with `+` segments ranks by the position of its first `+` (OpenBao's `firstWCOrGlob`), then
    non-prefix over prefix, then fewer `+` segments, then the longer pattern.
    """
    prefix = is_prefix(pattern)
    segmented = has_segment_wildcards(pattern)
    body = pattern[:-1] if prefix else pattern
    if not segmented:
        if not prefix:
            return (_EXACT, 2, 0, len(body), body)
        return (len(body), 0, 0, len(body), body)
    parts = body.split("/")
    wildcards = sum(1 for part in parts if _is_wildcard_segment(part))
    positions = [pattern.find("+")] if "+" in pattern else []
    offset = 0
    for part in parts:
        if _is_template(part):
            positions.append(offset)
        offset += len(part) + 1
    first = min(p for p in positions if p >= 0) if positions else len(body)
    return (first, 0 if prefix else 1, -wildcards, len(body), body)


def effective_rule(rules: Sequence[PathRule], target: str, risky: Iterable[str] = ()) -> PathRule | None:
    """The rule OpenBao would apply to the generic path of `target` (the most specific covering rule).

    A rule with an identity template may render to any path. It is assumed to cover the target
    when it grants one of `risky` (the worst case), and not to cover it otherwise, so that it
    never shields a broader grant it would not shield for most identities.
    """
    wanted = frozenset(risky)
    covering = [
        rule
        for rule in rules
        if covers(rule.path, target, templates=not has_templates(rule.path) or bool(rule.granted & wanted))
    ]
    if not covering:
        return None
    return max(covering, key=lambda rule: priority(rule.path))


@dataclass(frozen=True)
class RiskyGrant:
    """A broad path on which a policy grants write or sudo."""

    target: str
    """The sensitive path (`sys/*`, `*`) that is covered."""
    rule: str
    """The policy path pattern that applies to it."""
    capabilities: tuple[str, ...]
    """The risky capabilities it grants there, sorted."""
    after: datetime | None = None
    """Set when the grant takes effect only once rules with an `expiration` have lapsed (from then on)."""


def risky_grants(
    rules: Sequence[PathRule], targets: Iterable[str], risky: Iterable[str] = (*WRITE_CAPABILITIES, SUDO)
) -> list[RiskyGrant]:
    """For each sensitive target path, the rule that applies to it when it grants a risky capability."""
    wanted = frozenset(risky)
    found: list[RiskyGrant] = []
    for target in targets:
        rule = effective_rule(rules, target, wanted)
        if rule is None:
            continue
        bad = rule.granted & wanted
        if bad:
            found.append(RiskyGrant(target=target, rule=rule.path, capabilities=tuple(sorted(bad))))
    return found


def policy_risky_grants(
    blocks: Sequence[PolicyBlock],
    targets: Iterable[str],
    risky: Iterable[str] = (*WRITE_CAPABILITIES, SUDO),
    now: datetime | None = None,
) -> list[RiskyGrant]:
    """Risky grants of a policy at any time: now, and after each of its blocks' expirations.

    OpenBao drops a block once its `expiration` has passed, so a `deny` (or any narrower rule)
    that expires stops shielding the broader rule behind it. Every period between expirations
    is evaluated; periods that ended before `now` (the collection time, when known) are skipped.
    """
    targets = list(targets)
    wanted = frozenset(risky)
    moments = sorted({b.expires for b in blocks if b.expires is not None})
    periods: list[tuple[datetime | None, datetime | None, list[PolicyBlock]]] = [
        (None, moments[0] if moments else None, list(blocks))
    ]
    for index, moment in enumerate(moments):
        until = moments[index + 1] if index + 1 < len(moments) else None
        periods.append((moment, until, [b for b in blocks if b.expires is None or b.expires > moment]))
    found: dict[tuple[str, str, tuple[str, ...]], RiskyGrant] = {}
    for start, until, active in periods:
        if now is not None and until is not None and until < now:
            continue  # this period is over
        for grant in risky_grants(merge(active), targets, wanted):
            key = (grant.target, grant.rule, grant.capabilities)
            if key not in found:
                current = start is None or (now is not None and start <= now)
                found[key] = grant if current else replace(grant, after=start)
    return list(found.values())


def unknown_capabilities(rules: Sequence[PathRule]) -> dict[str, list[str]]:
    """Path -> capabilities OpenBao does not know (a typo grants nothing, but deserves a look)."""
    return {
        rule.path: sorted(rule.capabilities - KNOWN_CAPABILITIES)
        for rule in rules
        if rule.capabilities - KNOWN_CAPABILITIES
    }
