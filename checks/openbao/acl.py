"""OpenBao's ACL evaluation: the effective capabilities of a set of policies on a path.

This is the algorithm OpenBao's `ACL` applies to a request (and `sys/capabilities` reports),
over the *merged* set of policies a token holds:

* every rule of every policy is filed by its path: exact paths, prefix globs (trailing `*`,
  stored without it) and `+`-segment paths (`+` alone, `/+` inside, or a leading `+/`);
* rules with the same path are merged across policies: capabilities add up, and a `deny`
  on either side leaves only `deny` for that path;
* a request path takes the exact rule first; for a LIST (and for `sys/capabilities`, which
  asks as a LIST) a path with one trailing `/` also takes the exact rule without it;
* otherwise the candidates are the longest matching prefix rule and every matching
  `+`-segment rule, ranked: the later first `+` or glob position wins, then non-prefix over
  prefix, then fewer `+` segments, then the longer pattern, then the lexicographically
  larger one. Only the winner decides: capabilities of different paths never add up;
* a LIST whose path ends in `/` and that no prefix or `+` rule matches tries again without
  the `/` (so `a/+/b` answers a LIST of `a/x/b/`, unless `a/*` already matched it);
* the winner's `deny`, or no capability at all, is "deny"; the `root` policy is "root".

On top of it, `reaches()` answers the question a reviewer asks of a policy: is there *any*
concrete path inside a sensitive path family (`sys/policies/acl/*`, `auth/+/role/*`,
`sys/seal`) on which the policy grants a dangerous capability? It builds witness paths from
every rule that could reach the family (filling wildcards with a segment no rule names, and
trying the lengths at which narrower rules stop applying) and evaluates each with the real
algorithm, so a narrow `deny` shields only what it really shields.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import product

from checks.openbao.policy import (
    DENY,
    KNOWN_CAPABILITIES,
    PolicyBlock,
    has_templates,
)

ROOT = "root"
"""The capability `sys/capabilities` reports for a root token."""
FRESH = "~sovscan"
"""The usual fill of wildcard positions of witness paths (see `Acl.fresh`)."""
_FRESH_STARTS = "~!^`|$" + "".join(chr(c) for c in range(0x4E00, 0x4E00 + 256))
"""First characters tried for the fill, until one appears in no rule of the ACL."""
ANY = "<any>"
"""How a filled wildcard position is shown in findings."""
_TEMPLATE_FILL = "+"


def _segmented(pattern: str) -> bool:
    """OpenBao's test for a `+`-segment rule (kept apart from the exact and prefix rules)."""
    return pattern == "+" or "/+" in pattern or pattern.startswith("+/")


def _merge_into(table: dict[str, frozenset[str]], key: str, capabilities: frozenset[str]) -> None:
    existing = table.get(key)
    if existing is None:
        table[key] = frozenset({DENY}) if DENY in capabilities else capabilities
    elif DENY in existing:
        return
    elif DENY in capabilities:
        table[key] = frozenset({DENY})
    else:
        table[key] = existing | capabilities


@dataclass(frozen=True)
class Decision:
    """Which rule decided a path, and what it grants there."""

    rule: str | None
    """The policy path pattern that applied (None when no rule matches)."""
    capabilities: frozenset[str]
    """Its merged capabilities (may contain `deny`)."""

    @property
    def granted(self) -> frozenset[str]:
        """What is really granted: nothing when `deny` is present."""
        return frozenset() if DENY in self.capabilities else self.capabilities - {DENY}


@dataclass(frozen=True)
class Acl:
    """The merged rules of a set of policies, evaluated the way OpenBao does."""

    exact: dict[str, frozenset[str]] = field(default_factory=dict)
    """Exact path -> merged capabilities."""
    prefix: dict[str, frozenset[str]] = field(default_factory=dict)
    """Prefix (without its trailing `*`) -> merged capabilities."""
    segment: dict[str, frozenset[str]] = field(default_factory=dict)
    """`+`-segment pattern (as written, trailing `*` kept) -> merged capabilities."""
    root: bool = False
    """True when the `root` policy is among them."""

    @classmethod
    def build(cls, policies: Iterable[Sequence[PolicyBlock]], *, root: bool = False) -> Acl:
        """An ACL from the blocks of several policies (blocks already filtered for expiry/templates)."""
        exact: dict[str, frozenset[str]] = {}
        prefix: dict[str, frozenset[str]] = {}
        segment: dict[str, frozenset[str]] = {}
        for blocks in policies:
            for block in blocks:
                path = block.path
                if _segmented(path):
                    _merge_into(segment, path, block.capabilities)
                elif path.endswith("*"):
                    _merge_into(prefix, path[:-1], block.capabilities)
                else:
                    _merge_into(exact, path, block.capabilities)
        return cls(exact=exact, prefix=prefix, segment=segment, root=root)

    def fresh(self) -> str:
        """A path segment no rule can match except through a wildcard.

        Its first character appears in no rule path, so no literal segment equals it and no
        prefix rule's last segment is a prefix of it (nor of a literal followed by it): a policy
        cannot shield the witness paths without shielding the whole family.
        """
        used = {char for rule in self.rules() for char in rule}
        for first in _FRESH_STARTS:
            if first not in used:
                return first + "sovscan"
        # a policy written to use every candidate: it is finite, so some character is left
        return next(chr(c) for c in range(0x5000, 0x110000) if not 0xD800 <= c < 0xE000 and chr(c) not in used)

    def rules(self) -> list[str]:
        """Every rule path as written (prefixes with their `*`)."""
        return [*self.exact, *(p + "*" for p in self.prefix), *self.segment]

    def decide(self, path: str, *, listing: bool = False) -> Decision:
        """The rule that applies to `path` (for a LIST when `listing`) and its capabilities."""
        if path in self.exact:
            return Decision(path, self.exact[path])
        trimmed = path[:-1] if listing and path.endswith("/") else None
        if trimmed is not None and trimmed in self.exact:
            return Decision(trimmed, self.exact[trimmed])
        found = self._non_exact(path)
        if found is None and trimmed is not None:
            found = self._non_exact(trimmed)  # a LIST falls back to the path without its trailing '/'
        return found or Decision(None, frozenset())

    def _non_exact(self, path: str) -> Decision | None:
        """The winning prefix or `+`-segment rule for `path`, ranked as OpenBao ranks them."""
        # key: (first '+' or glob position, non-prefix, -wildcards, length); the max wins, then the larger text
        best: tuple[tuple[int, int, int, int], str, str, frozenset[str]] | None = None
        longest = max((p for p in self.prefix if path.startswith(p)), key=len, default=None)
        if longest is not None:
            best = ((len(longest), 0, 0, len(longest)), longest, longest + "*", self.prefix[longest])
        parts = path.split("/")
        for full, capabilities in self.segment.items():
            is_prefix = full.endswith("*")
            body = full[:-1] if is_prefix else full
            acl_parts = body.split("/")
            if len(parts) < len(acl_parts) or (not is_prefix and len(parts) != len(acl_parts)):
                continue
            wildcards = 0
            for index, part in enumerate(acl_parts):
                if part == "+":
                    wildcards += 1
                elif part == parts[index] or (
                    is_prefix and index == len(acl_parts) - 1 and parts[index].startswith(part)
                ):
                    continue
                else:
                    break
            else:
                key = (full.find("+"), 0 if is_prefix else 1, -wildcards, len(body))
                if best is None or key > best[0] or (key == best[0] and body > best[1]):
                    best = (key, body, full, capabilities)
        return None if best is None else Decision(best[2], best[3])

    def capabilities(self, path: str) -> list[str]:
        """What `sys/capabilities` answers for `path`: `["root"]`, `["deny"]` or the granted capabilities."""
        if self.root:
            return [ROOT]
        granted = self.decide(path, listing=True).granted & KNOWN_CAPABILITIES
        return sorted(granted) if granted else [DENY]

    def allows(self, path: str, capability: str) -> bool:
        """True when a request needing `capability` on `path` is allowed (LIST semantics for `list`)."""
        if self.root:
            return True
        return capability in self.decide(path, listing=capability == "list").granted


def _worst_case(blocks: Sequence[PolicyBlock], risky: Iterable[str]) -> list[tuple[PolicyBlock, PolicyBlock]]:
    """(block as analysed, block as written): the worst case for `risky`, as identity templates may render.

    A templated block that grants a risky capability has its template segments read as `+` (it
    may reach any path of that shape); a templated block that does not is left out (it may
    render to a path that shields nothing).
    """
    wanted = frozenset(risky)
    out: list[tuple[PolicyBlock, PolicyBlock]] = []
    for block in blocks:
        if not has_templates(block.path):
            out.append((block, block))
        elif DENY not in block.capabilities and block.capabilities & wanted:
            star = block.path.endswith("*")
            body = block.path[:-1] if star else block.path
            parts = [_TEMPLATE_FILL if "{{" in part else part for part in body.split("/")]
            out.append((replace(block, path="/".join(parts) + ("*" if star else "")), block))
    return out


def _as_written(rule: str, written: dict[str, str]) -> str:
    """A rule path as the policy wrote it (before identity templates were read as `+`)."""
    return written.get(rule, rule)


# -- witness paths -------------------------------------------------------------------------------

_Pattern = tuple[tuple[str, ...], bool]  # (segments, is_prefix); the last segment of a prefix is a start


def _split(pattern: str) -> _Pattern:
    is_prefix = pattern.endswith("*")
    body = pattern[:-1] if is_prefix else pattern
    return tuple(body.split("/")), is_prefix


def _constraint(pattern: _Pattern, index: int) -> tuple[str, str] | None:
    """("eq"|"starts"|"any", literal) at segment `index`, or None when the pattern has no such segment."""
    parts, is_prefix = pattern
    if index < len(parts):
        part = parts[index]
        if part == "+":
            return ("any", "")
        if is_prefix and index == len(parts) - 1:
            return ("starts", part)
        return ("eq", part)
    return ("any", "") if is_prefix else None


def _combine(a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str] | None:
    if a[0] == "any":
        return b
    if b[0] == "any":
        return a
    if a[0] == "eq" and b[0] == "eq":
        return a if a[1] == b[1] else None
    if a[0] == "eq":
        return a if a[1].startswith(b[1]) else None
    if b[0] == "eq":
        return b if b[1].startswith(a[1]) else None
    longer, shorter = (a, b) if len(a[1]) >= len(b[1]) else (b, a)
    return longer if longer[1].startswith(shorter[1]) else None


def _lengths(patterns: Sequence[_Pattern], depth: int) -> list[int]:
    """Segment counts to try: the one a non-prefix pattern fixes, else every count up to `depth`."""
    lows = [len(p[0]) for p in patterns]
    fixed = {len(p[0]) for p in patterns if not p[1]}
    low = max(lows)
    if fixed:
        only = fixed.pop()
        return [only] if not fixed and only >= low else []
    return list(range(low, max(low + 2, depth) + 1))


def witnesses(*patterns: str, fresh: str = FRESH, depth: int = 0) -> list[str]:
    """Concrete paths matched by every one of `patterns` (a few, chosen to escape narrower rules).

    Wildcard positions are filled with a segment no rule names; a prefix's last segment is tried
    as written and extended; prefix families are also tried one and two segments deeper, and
    down to `depth` segments (one more than the longest rule: below that no non-prefix rule applies).
    """
    split = [_split(p) for p in patterns]
    found: list[str] = []
    for length in _lengths(split, depth):
        choices: list[list[str]] = []
        for index in range(length):
            merged: tuple[str, str] | None = ("any", "")
            for pattern in split:
                here = _constraint(pattern, index)
                merged = _combine(merged, here) if merged is not None and here is not None else None
                if merged is None:
                    break
            if merged is None:
                choices = []
                break
            kind, literal = merged
            if kind == "eq":
                choices.append([literal])
            elif kind == "starts":
                choices.append([literal, literal + fresh] if literal else [fresh])
            else:
                choices.append([fresh])
        if len(choices) == length:
            for combination in product(*choices):
                path = "/".join(combination)
                if path not in found:
                    found.append(path)
    return found


@dataclass(frozen=True)
class Reach:
    """A risky capability a policy grants somewhere inside a sensitive path family."""

    target: str
    """The sensitive path family (`sys/policies/acl/*`, `sys/seal`, `auth/+/role/*`)."""
    rule: str
    """The policy rule that decides the witness path."""
    path: str
    """A concrete path inside the family on which the capabilities are granted."""
    capabilities: tuple[str, ...]
    """The risky capabilities granted there, sorted."""
    after: datetime | None = None
    """Set when the grant takes effect only once rules with an `expiration` have lapsed."""
    shown: str = ""
    """`path` with its filled wildcard positions shown as `<any>`."""


def reaches(acl: Acl, target: str, risky: Iterable[str], *, generic: bool = False) -> list[Reach]:
    """Where `acl` grants one of `risky` inside `target`, one finding per deciding rule.

    With `generic`, only an arbitrary path of the family counts (one that no literal rule names:
    "write on everything under sys/"); otherwise any path of it (some rule reaches it).
    """
    wanted = frozenset(risky)
    fresh = acl.fresh()
    depth = 1 + max((rule.rstrip("*").count("/") + 1 for rule in acl.rules()), default=0)
    candidates = witnesses(target, fresh=fresh, depth=depth)
    if not generic:
        candidates = [w for rule in acl.rules() for w in witnesses(target, rule, fresh=fresh, depth=depth)] + candidates
    found: dict[str, Reach] = {}
    for path in candidates:
        granted = {c for c in wanted if acl.allows(path, c)}
        if not granted:
            continue
        decision = acl.decide(path, listing=granted == {"list"})
        rule = decision.rule or ROOT
        if rule in found:
            merged = tuple(sorted(set(found[rule].capabilities) | granted))
            found[rule] = replace(found[rule], capabilities=merged)
        else:
            found[rule] = Reach(
                target=target,
                rule=rule,
                path=path,
                capabilities=tuple(sorted(granted)),
                shown=path.replace(fresh, ANY),
            )
    return list(found.values())


@dataclass(frozen=True)
class Sensitive:
    """A sensitive path family and the capabilities that must not be granted on it."""

    path: str
    """Literal path, prefix (`sys/raw/*`) or `+`-segment family (`auth/+/role/*`)."""
    capabilities: frozenset[str]
    """Capabilities that are dangerous there."""
    generic: bool = False
    """Judge only an arbitrary path of the family (for broad families such as `*`, `sys/*`)."""
    why: str = ""
    """What the grant lets a token do, for the finding's message."""


def policy_reaches(
    blocks: Sequence[PolicyBlock], sensitive: Iterable[Sensitive], now: datetime | None = None
) -> list[Reach]:
    """Risky reaches of one policy at any time: now, and after each of its blocks' expirations.

    OpenBao drops a block once its `expiration` has passed, so a `deny` (or any narrower rule)
    that expires stops shielding the broader rule behind it; periods that ended before `now`
    (the collection time, when known) are skipped.
    """
    items = list(sensitive)
    moments = sorted({b.expires for b in blocks if b.expires is not None})
    periods: list[tuple[datetime | None, datetime | None, list[PolicyBlock]]] = [
        (None, moments[0] if moments else None, list(blocks))
    ]
    for index, moment in enumerate(moments):
        until = moments[index + 1] if index + 1 < len(moments) else None
        periods.append((moment, until, [b for b in blocks if b.expires is None or b.expires > moment]))
    found: dict[tuple[str, str, tuple[str, ...]], Reach] = {}
    for start, until, active in periods:
        if now is not None and until is not None and until < now:
            continue
        for item in items:
            pairs = _worst_case(active, item.capabilities)
            written = {worst.path: block.path for worst, block in pairs}
            acl = Acl.build([[worst for worst, _block in pairs]])
            for reach in reaches(acl, item.path, item.capabilities, generic=item.generic):
                reach = replace(reach, rule=_as_written(reach.rule, written))
                key = (reach.target, reach.rule, reach.capabilities)
                if key not in found:
                    current = start is None or (now is not None and start <= now)
                    found[key] = reach if current else replace(reach, after=start)
    return list(found.values())
