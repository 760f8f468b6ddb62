"""The one operator vocabulary of field comparisons, and the one parser of boolean spellings.

Every check that compares an observed value with an expected one in a baseline (`generic.field`,
the Kubernetes control-plane flag tests, any third-party check) uses `compare()`, so an operator
means the same thing wherever a baseline author writes it (kube-bench vocabulary):

=========  ==================================================================================
operator   holds when
=========  ==================================================================================
eq         the observed value equals the expected one, compared as the expected value's type:
           a boolean compares boolean spellings (see `parse_bool`), a number compares
           numerically (`"300"` eq `300`), `null` only equals a missing/null value, a list or
           mapping compares structurally, anything else compares as text (`true`/`false` for
           booleans)
noteq      not eq
gt gte     both values are finite numbers (`"5"` is a number, `"60s"`, `true`, NaN and
lt lte     infinities are not) and the comparison holds; a value that is not a number fails
in         the observed value eq one of the expected values (a scalar expected is a one-item list)
notin      not in
has        the observed collection contains every expected value (a scalar expected is a one-item
           list). A collection is a list (its elements, compared with eq), a mapping (its keys)
           or a string (its comma-separated elements, trimmed: `RBAC,Node` has `Node`, but
           `NodeRestriction` does not have `Node`). Substrings are matched with `regex`.
nothave    the observed collection contains none of the expected values
subset     the observed collection is not empty and each of its elements is one of the expected
           values (kube-bench `valid_elements`)
regex      the expected pattern is found (`re.search`) in the observed value's text (an absent
           value is the empty text)
=========  ==================================================================================

Boolean spellings differ between systems, so `parse_bool` takes the dialect of the system that
produced the value (`generic`, `go`, `postgres`, `yaml11`, `json`); the spellings of each are
defined in `BOOLEAN_SPELLINGS` and nowhere else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

OPERATORS: tuple[str, ...] = (
    "eq",
    "noteq",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "notin",
    "has",
    "nothave",
    "subset",
    "regex",
)
"""Every operator name, in documentation order."""

NUMERIC_OPERATORS: frozenset[str] = frozenset({"gt", "gte", "lt", "lte"})
"""The operators that compare numbers (a value that is not a finite number fails them)."""

BooleanDialect = Literal["generic", "go", "postgres", "yaml11", "json"]
"""Whose boolean spellings a text is read with."""


@dataclass(frozen=True)
class BooleanSpelling:
    """The texts one system reads as true and as false."""

    true: frozenset[str]
    """Texts read as true (compared exactly, after `fold`)."""
    false: frozenset[str]
    """Texts read as false (compared exactly, after `fold`)."""
    fold: bool
    """Whether the text is stripped and lower-cased before comparing."""


def _postgres_spellings() -> tuple[frozenset[str], frozenset[str]]:
    # PostgreSQL's parse_bool: any unique prefix of true/false/yes/no, "on"/"of[f]", "1"/"0"
    true = {"true"[:n] for n in range(1, 5)} | {"yes"[:n] for n in range(1, 4)} | {"on", "1"}
    false = {"false"[:n] for n in range(1, 6)} | {"no"[:n] for n in range(1, 3)} | {"of", "off", "0"}
    return frozenset(true), frozenset(false)


_PG_TRUE, _PG_FALSE = _postgres_spellings()

BOOLEAN_SPELLINGS: Mapping[BooleanDialect, BooleanSpelling] = {
    # what sovscan accepts in its own inputs (options, environment) and generic evidence
    "generic": BooleanSpelling(
        frozenset({"true", "on", "yes", "y", "t", "1", "enabled"}),
        frozenset({"false", "off", "no", "n", "f", "0", "disabled"}),
        fold=True,
    ),
    # Go's strconv.ParseBool (Kubernetes component flags, OpenBao/Vault environment variables)
    "go": BooleanSpelling(
        frozenset({"1", "t", "T", "TRUE", "true", "True"}),
        frozenset({"0", "f", "F", "FALSE", "false", "False"}),
        fold=False,
    ),
    # PostgreSQL's boolean input (settings, reloptions)
    "postgres": BooleanSpelling(_PG_TRUE, _PG_FALSE, fold=True),
    # YAML 1.1 plain scalars as go-yaml v2 (sigs.k8s.io/yaml, kubectl) resolves them
    "yaml11": BooleanSpelling(
        frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}),
        frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}),
        fold=False,
    ),
    # JSON (and the Kubernetes API server's strict decoding): only real booleans, never a string
    "json": BooleanSpelling(frozenset(), frozenset(), fold=False),
}
"""The boolean spellings of each dialect: the one place they are defined."""


def parse_bool(value: Any, dialect: BooleanDialect = "generic") -> bool | None:
    """Read `value` as a boolean the way `dialect`'s system does; None when it is not a boolean there."""
    if isinstance(value, bool):
        return value
    if dialect == "json" or not isinstance(value, str | int):
        return None
    spelling = BOOLEAN_SPELLINGS[dialect]
    text = str(value)
    if spelling.fold:
        text = text.strip().lower()
    if text in spelling.true:
        return True
    if text in spelling.false:
        return False
    return None


def as_number(value: Any) -> float | None:
    """A finite number from a number or a numeric text; None for booleans, NaN, infinities and other text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = float(value)
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_text(value: Any) -> str:
    """The text of a scalar as a baseline author writes it (`true`/`false`, `` for null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def elements(value: Any) -> list[Any]:
    """The elements of a collection: a list's items, a mapping's keys, a string's comma-separated parts."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, Mapping):
        return list(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def equal(observed: Any, expected: Any, booleans: BooleanDialect = "generic") -> bool:
    """The `eq` operator: compare `observed` as the type of `expected` (see the module docstring)."""
    if isinstance(expected, bool):
        return parse_bool(observed, booleans) is expected
    if isinstance(expected, int | float):
        number, bound = as_number(observed), as_number(expected)
        return number is not None and bound is not None and number == bound
    if expected is None:
        return observed is None
    if isinstance(expected, list | tuple | Mapping) or isinstance(observed, list | tuple | Mapping):
        return bool(observed == expected)
    return as_text(observed) == as_text(expected)


def compare(observed: Any, op: str, expected: Any, *, booleans: BooleanDialect = "generic") -> bool:
    """Apply one operator of `OPERATORS` to an observed and an expected value (ValueError for others)."""
    if op == "eq":
        return equal(observed, expected, booleans)
    if op == "noteq":
        return not equal(observed, expected, booleans)
    if op in NUMERIC_OPERATORS:
        left, right = as_number(observed), as_number(expected)
        if left is None or right is None:
            return False
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
    if op in ("in", "notin"):
        found = any(equal(observed, option, booleans) for option in _as_list(expected))
        return found if op == "in" else not found
    if op in ("has", "nothave"):
        present = elements(observed)
        wanted = _as_list(expected)
        hits = [any(equal(item, want, booleans) for item in present) for want in wanted]
        return all(hits) if op == "has" else not any(hits)
    if op == "subset":
        allowed = _as_list(expected)
        present = elements(observed)
        return bool(present) and all(any(equal(item, a, booleans) for a in allowed) for item in present)
    if op == "regex":
        return re.search(str(expected), as_text(observed)) is not None
    raise ValueError(f"unknown operator {op!r}")


def describe(field: str, op: str, expected: Any = None, *, has_value: bool = True) -> str:
    """One line naming a test, for messages (`--authorization-mode has 'Node'`)."""
    return f"{field} {op} {expected!r}" if has_value else f"{field} {op}"
