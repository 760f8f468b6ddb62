"""OpenBao ACL policies: parsing (HCL v1 or JSON) into path blocks, as OpenBao reads them.

* one leading `/` of a rule's path is dropped (`path "/sys/*"` is `sys/*`);
* `+*` in a path is refused, as OpenBao refuses it;
* a repeated `capabilities` attribute adds up and a block's first label is its path
  (OpenBao's language is HCL v1, `checks.openbao.hcl1`), the legacy `policy = "..."`
  shorthand expands to its capabilities;
* a block's `expiration` is kept: OpenBao ignores the block once it has passed.

How the blocks of several policies are evaluated on a path is `checks.openbao.acl`.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
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


def has_templates(pattern: str) -> bool:
    """True when a path segment of `pattern` is an identity template."""
    return any(_is_template(part) for part in pattern.rstrip("*").split("/"))


def unknown_capabilities(rules: Sequence[PathRule]) -> dict[str, list[str]]:
    """Path -> capabilities OpenBao does not know (a typo grants nothing, but deserves a look)."""
    return {
        rule.path: sorted(rule.capabilities - KNOWN_CAPABILITIES)
        for rule in rules
        if rule.capabilities - KNOWN_CAPABILITIES
    }
