"""The one operator vocabulary and the one boolean parser (scanner/operators.py)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from checks.kubernetes.controlplane import evaluate_flag_test
from scanner.generic import compare as generic_compare
from scanner.operators import OPERATORS, as_number, compare, elements, parse_bool


@pytest.mark.parametrize(
    ("observed", "op", "expected", "result"),
    [
        ("on", "eq", True, True),
        ("Yes", "eq", True, True),
        ("maybe", "eq", True, False),  # not a boolean: never equal to one
        ("maybe", "eq", False, False),
        (True, "eq", "true", True),  # a JSON boolean's text is true/false
        ("300", "eq", 300, True),
        ("300.0", "eq", 300, True),
        ("3e2", "eq", "300", False),  # text compares as text
        (None, "eq", None, True),
        ("", "eq", None, False),
        ({"a": 1}, "eq", {"a": 1}, True),
        ("NaN", "gt", 0, False),  # NaN and infinities are not numbers
        ("inf", "gte", 0, False),
        (True, "gt", 0, False),  # a boolean is not a number
        ("RBAC,Node", "has", "Node", True),
        ("RBAC,NodeRestriction", "has", "Node", False),  # elements, not substrings
        ("RBAC, Node", "has", ["Node", "RBAC"], True),
        ("RBAC,Node", "nothave", ["AlwaysAllow", "Node"], False),  # none of the values may be present
        (["AlwaysAllow"], "nothave", ["Node", "RBAC"], True),
        ({"ssl": 1}, "has", "ssl", True),  # a mapping's keys
        ("a,b", "subset", ["a", "b", "c"], True),
        ("a,d", "subset", ["a", "b", "c"], False),
        ("", "subset", ["a"], False),  # an empty collection is no subset
        ("x", "in", "x", True),
        ("x", "notin", ["y"], True),
        ("SCRAM-SHA-256", "regex", "^SCRAM", True),
        (False, "regex", "^false$", True),
    ],
)
def test_one_meaning_per_operator(observed: Any, op: str, expected: Any, result: bool) -> None:
    assert compare(observed, op, expected) is result
    assert generic_compare is compare  # generic.field uses the same function


@pytest.mark.parametrize("op", sorted(set(OPERATORS) - {"regex"}))
def test_flag_tests_and_generic_field_agree(op: str) -> None:
    """A control-plane flag test and a generic.field test give every operator the same meaning."""
    for value, expected in [("RBAC,Node", "Node"), ("30", 30), ("false", False), ("a,b", ["a", "b"]), ("x", "x")]:
        flags = {"--f": value}
        ok, _ = evaluate_flag_test({"flag": "--f", "op": op, "value": expected}, flags)
        assert ok is compare(value, op, expected, booleans="go"), (op, value, expected)


def test_flag_booleans_are_read_as_go_parses_them() -> None:
    assert evaluate_flag_test({"flag": "--anonymous-auth", "op": "eq", "value": False}, {"--anonymous-auth": "F"})[0]
    # `no` is not a Go boolean: the kube-apiserver would refuse it, the test cannot pass
    assert not evaluate_flag_test({"flag": "--anonymous-auth", "op": "eq", "value": False}, {"--anonymous-auth": "no"})[
        0
    ]
    ok, shown = evaluate_flag_test({"flag": "--x", "op": "gte", "value": 3}, {"--x": "3s"})
    assert not ok and shown.endswith("(not a number)")


@pytest.mark.parametrize(
    ("text", "dialect", "value"),
    [
        ("on", "generic", True),
        ("Disabled", "generic", False),
        ("maybe", "generic", None),
        ("T", "go", True),
        ("yes", "go", None),
        ("tRuE", "go", None),
        ("of", "postgres", False),
        ("o", "postgres", None),  # ambiguous prefix
        (" TRU ", "postgres", True),
        ("y", "yaml11", True),
        ("Off", "yaml11", False),
        ("oFF", "yaml11", None),
        ("true", "json", None),  # a string is never a JSON boolean
        (True, "json", True),
        (1, "generic", True),
        (1.0, "generic", None),
        (None, "generic", None),
    ],
)
def test_boolean_dialects(text: Any, dialect: Any, value: bool | None) -> None:
    assert parse_bool(text, dialect) is value


def test_numbers_and_elements() -> None:
    assert as_number(" 5 ") == 5.0
    assert as_number(float("nan")) is None and as_number(math.inf) is None
    assert elements("a, ,b") == ["a", "b"]
    assert elements(None) == []
    with pytest.raises(ValueError, match="unknown operator"):
        compare(1, "like", 1)
