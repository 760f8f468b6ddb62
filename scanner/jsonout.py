"""JSON encoding of reports at C speed (orjson), with the standard library where orjson cannot.

One place decides how sovscan writes JSON text: indented (two spaces, like
`json.dumps(indent=2)`) or compact, keys in the order given or sorted, anything JSON cannot
hold written as its `str()`. The standard library's encoder falls back to pure Python as soon
as `indent` is given (measured: 5.8 s for a 20k-finding result against 0.3 s with orjson); orjson
stays in C for both. Values orjson refuses (integers beyond 64 bits, keys of mixed types that
cannot be sorted) are encoded by the standard library instead, with the same layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

import orjson

_INDENT = orjson.OPT_INDENT_2
_BASE = orjson.OPT_NON_STR_KEYS


def dumps(value: Any, *, indent: bool = False, sort_keys: bool = False) -> bytes:
    """`value` as UTF-8 JSON bytes (no trailing newline); non-JSON values become their `str()`."""
    option = _BASE | (_INDENT if indent else 0) | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, default=str, option=option)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits
        separators = (",", ": ") if indent else (",", ":")
        text = json.dumps(
            value,
            indent=2 if indent else None,
            separators=separators,
            sort_keys=sort_keys,
            default=str,
            ensure_ascii=False,
        )
        return text.encode()


def dumps_native(value: Any, *, indent: bool = False) -> bytes | None:
    """`value` as orjson writes it (the layout of `dumps`), or None when orjson cannot encode it.

    For a writer that encodes a document in parts and must encode every part the same way: when
    one part needs the standard library, it re-encodes the whole document with `dumps`.
    """
    try:
        return orjson.dumps(value, default=str, option=_BASE | (_INDENT if indent else 0))
    except (orjson.JSONEncodeError, TypeError):
        return None


def indented_item(value: Any, depth: int) -> bytes:
    """`value` indented as an element nested `depth` levels deep in an indented document (no leading spaces)."""
    text = dumps(value, indent=True)
    return text.replace(b"\n", b"\n" + b"  " * depth) if depth else text


def _list_items(batch: Sequence[Any]) -> bytes:
    """`batch` as the items of a list nested one level deep in an indented document, each after a newline and
    four spaces, separated by commas: `b",".join(b"\\n    " + indented_item(item, 2) for item in batch)`.

    Encoded as one list by one orjson call, then indented one level more (two spaces after each newline:
    JSON text has no newline inside a string) and stripped of its brackets; item by item when orjson
    cannot encode one (each is then encoded as `dumps` does, some by the standard library).
    """
    native = dumps_native(batch, indent=True)
    if native is None:
        return b",".join(b"\n    " + indented_item(item, 2) for item in batch)
    return native.replace(b"\n", b"\n  ")[1:-4]  # b"[\n    a,\n    b\n  ]" without "[" and "\n  ]"


def stream_object(head: dict[str, Any], key: str, items: Iterator[Any], tail: dict[str, Any]) -> Iterator[bytes]:
    """An indented JSON object `head | {key: [items...]} | tail` as chunks, one item encoded at a time.

    The text is the same as `dumps({**head, key: list(items), **tail}, indent=True) + b"\\n"`, but the
    list is never held whole, neither as objects nor as text.
    """
    yield b"{"
    first = True
    for name, value in head.items():
        yield (b"\n  " if first else b",\n  ") + dumps(name) + b": " + indented_item(value, 1)
        first = False
    yield (b"\n  " if first else b",\n  ") + dumps(key) + b": ["
    empty = True
    items = iter(items)
    while batch := list(islice(items, 256)):
        yield _list_items(batch) if empty else b"," + _list_items(batch)
        empty = False
    yield b"]" if empty else b"\n  ]"
    for name, value in tail.items():
        yield b",\n  " + dumps(name) + b": " + indented_item(value, 1)
    yield b"\n}\n"
