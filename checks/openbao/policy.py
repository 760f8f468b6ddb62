"""OpenBao ACL policies: parsing (HCL or JSON) and path-glob semantics.

OpenBao (like Vault) evaluates a request path against the rules of a token's policies:

* an exact rule (`path "sys/audit"`) wins over every glob;
* a trailing `*` makes a prefix glob (`sys/*`, `s*`, `+/*`), a `*` elsewhere is literal;
* a `+` path segment matches exactly one segment (`secret/+/config`);
* among several matching globs the most specific one applies (first glob or `+` later in
  the path wins, then non-prefix over prefix, then fewer `+` segments, then the longer
  pattern) -- capabilities of *different* matching rules are not added up;
* rules with the same path are merged, and `deny` on a rule makes it grant nothing.

This module is pure: it parses policy text and answers "what does this policy grant on
every path under `sys/`?" without any I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import hcl2

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


def _unquote(value: Any) -> Any:
    """Strip the surrounding quotes python-hcl2 keeps on strings (newer versions)."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value[1:-1]
        return decoded if isinstance(decoded, str) else value[1:-1]
    return value


def _load_hcl(text: str) -> Mapping[str, Any]:
    """Parse HCL with python-hcl2, asking for plain strings where the version supports it."""
    try:
        from hcl2.utils import SerializationOptions
    except ImportError:  # python-hcl2 < 7 has no serialization options and returns plain strings
        return hcl2.loads(text)
    options = SerializationOptions(
        with_comments=False, explicit_blocks=False, strip_string_quotes=True, preserve_heredocs=False
    )
    return hcl2.loads(text, serialization_options=options)


def _path_blocks(document: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Yield (path, body) pairs from a parsed policy, for both the HCL and the JSON shape."""
    blocks = document.get("path", [])
    if isinstance(blocks, Mapping):
        blocks = [blocks]
    if not isinstance(blocks, list):
        raise PolicyParseError("'path' must be a block")
    for block in blocks:
        if not isinstance(block, Mapping):
            raise PolicyParseError("'path' must be a block")
        for raw_path, body in block.items():
            path = _unquote(raw_path)
            if not isinstance(path, str) or path.startswith("__"):
                continue
            if isinstance(body, list):  # older python-hcl2 wraps block bodies in a list
                for item in body:
                    if not isinstance(item, Mapping):
                        raise PolicyParseError(f"path {path!r}: body is not a block")
                    yield path, item
            elif isinstance(body, Mapping):
                yield path, body
            else:
                raise PolicyParseError(f"path {path!r}: body is not a block")


def _capabilities(path: str, body: Mapping[str, Any]) -> set[str]:
    """The capabilities of one path block (`capabilities` list and/or legacy `policy`)."""
    found: set[str] = set()
    raw = body.get("capabilities", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise PolicyParseError(f"path {path!r}: capabilities must be a list")
    for item in raw:
        value = _unquote(item)
        if not isinstance(value, str):
            raise PolicyParseError(f"path {path!r}: capability {value!r} is not a string")
        found.add(value.strip().lower())
    legacy = _unquote(body.get("policy"))
    if legacy is not None:
        if not isinstance(legacy, str) or legacy.lower() not in _LEGACY_POLICY:
            raise PolicyParseError(f"path {path!r}: unknown policy value {legacy!r}")
        found.update(_LEGACY_POLICY[legacy.lower()])
    return found


def parse_policy(text: str) -> tuple[PathRule, ...]:
    """Parse an ACL policy (HCL, or the JSON form OpenBao also accepts) into merged path rules.

    Raises PolicyParseError when the text cannot be parsed.
    """
    stripped = text.strip()
    if not stripped:
        return ()
    try:
        document: Any = json.loads(stripped) if stripped.startswith("{") else _load_hcl(text)
    except Exception as exc:  # python-hcl2/lark raise many exception types for bad input
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PolicyParseError(f"not valid HCL: {first_line}") from None
    if not isinstance(document, Mapping):
        raise PolicyParseError("a policy must be a set of path blocks")
    merged: dict[str, set[str]] = {}
    for path, body in _path_blocks(document):
        merged.setdefault(path, set()).update(_capabilities(path, body))
    return tuple(PathRule(path=p, capabilities=frozenset(c)) for p, c in merged.items())


def _is_wildcard_segment(segment: str) -> bool:
    """A `+` segment, or a segment that is a single identity template (it may expand to anything)."""
    return segment == "+" or (segment.startswith("{{") and segment.endswith("}}"))


def is_prefix(pattern: str) -> bool:
    """True for a prefix glob (trailing `*`)."""
    return pattern.endswith("*")


def matches(pattern: str, path: str) -> bool:
    """True when the policy path `pattern` applies to the request path `path`."""
    prefix = is_prefix(pattern)
    body = pattern[:-1] if prefix else pattern
    acl_parts = body.split("/")
    path_parts = path.split("/")
    if len(path_parts) < len(acl_parts) or (not prefix and len(path_parts) != len(acl_parts)):
        return False
    last = len(acl_parts) - 1
    for index, part in enumerate(acl_parts):
        if _is_wildcard_segment(part) or part == path_parts[index]:
            continue
        if prefix and index == last and path_parts[index].startswith(part):
            continue
        return False
    return True


def covers(pattern: str, target: str) -> bool:
    """True when `pattern` applies to every path `target` stands for.

    `target` is a literal path (`sys/raw`) or a literal prefix ending in `*` (`sys/*`, `*`).
    A pattern covers `L*` exactly when it is itself a prefix glob and matches `L`: what lies
    beyond `L` can then only extend the segment or add segments, which a prefix glob absorbs.
    """
    if is_prefix(target):
        return is_prefix(pattern) and matches(pattern, target[:-1])
    return matches(pattern, target)


def priority(pattern: str) -> tuple[int, int, int, int, str]:
    """Sort key: a higher key is the more specific rule, as OpenBao orders matching globs."""
    prefix = is_prefix(pattern)
    body = pattern[:-1] if prefix else pattern
    parts = body.split("/")
    wildcard_positions = []
    offset = 0
    for part in parts:
        if _is_wildcard_segment(part):
            wildcard_positions.append(offset)
        offset += len(part) + 1
    first = min(wildcard_positions) if wildcard_positions else len(body)
    if not prefix and not wildcard_positions:
        first = len(body) + 1  # an exact path beats every glob
    return (first, 0 if prefix else 1, -len(wildcard_positions), len(body), body)


def effective_rule(rules: Sequence[PathRule], target: str) -> PathRule | None:
    """The rule OpenBao would apply to the generic path of `target` (the most specific covering rule)."""
    covering = [rule for rule in rules if covers(rule.path, target)]
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


def risky_grants(
    rules: Sequence[PathRule], targets: Iterable[str], risky: Iterable[str] = (*WRITE_CAPABILITIES, SUDO)
) -> list[RiskyGrant]:
    """For each sensitive target path, the rule that applies to it when it grants a risky capability."""
    wanted = frozenset(risky)
    found: list[RiskyGrant] = []
    for target in targets:
        rule = effective_rule(rules, target)
        if rule is None:
            continue
        bad = rule.granted & wanted
        if bad:
            found.append(RiskyGrant(target=target, rule=rule.path, capabilities=tuple(sorted(bad))))
    return found


def unknown_capabilities(rules: Sequence[PathRule]) -> dict[str, list[str]]:
    """Path -> capabilities OpenBao does not know (a typo grants nothing, but deserves a look)."""
    return {
        rule.path: sorted(rule.capabilities - KNOWN_CAPABILITIES)
        for rule in rules
        if rule.capabilities - KNOWN_CAPABILITIES
    }
