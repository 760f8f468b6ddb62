"""The engine's evidence normalisation through orjson gives exactly the standard library's answer."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import engine


@dataclass(frozen=True)
class _Point:
    x: int


class _Text(str):
    """A str subclass (orjson would encode it natively; the standard library as its content)."""


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["null", "NaN", "\ud800", "", "a\u2028b"]),
    st.builds(_Text, st.text(max_size=4)),
    st.just(datetime.date(2026, 12, 2)),
    st.just(_Point(1)),
    st.frozensets(st.integers(0, 3), max_size=2),
)
_KEYS = st.one_of(st.text(max_size=5), st.sampled_from(["a", "b", "null"]), st.integers(-3, 3), st.booleans())
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
        st.dictionaries(_KEYS, inner, max_size=4),
    ),
    max_leaves=25,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types and key order all the way down (NaN cannot appear: it became text)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


@settings(max_examples=600, deadline=None)
@given(_VALUES)
def test_plain_json_is_the_standard_librarys_round_trip(value: Any) -> None:
    expected = engine._stdlib_plain({"section": value, "other": [value]})
    assert _same(engine._plain_json({"section": value, "other": [value]}), expected)
    assert _same(engine._plain_json(value), engine._stdlib_plain(value))


def test_non_finite_floats_become_text_deep_inside_a_section() -> None:
    deep: Any = {"v": float("nan")}
    for _ in range(8):
        deep = {"k": [deep, None]}
    plain = engine._plain_json({"s": deep, "t": {"x": float("-inf"), "y": None}})
    assert plain == engine._stdlib_plain({"s": deep, "t": {"x": float("-inf"), "y": None}})
    assert plain["t"] == {"x": "-Infinity", "y": None}


def test_circular_evidence_is_still_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    try:
        engine._plain_json({"s": loop})
    except (ValueError, RecursionError):
        return
    raise AssertionError("circular evidence was accepted")
