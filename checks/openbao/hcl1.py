"""A small parser for HCL version 1, the language OpenBao reads ACL policies in (pure, no I/O).

OpenBao parses policies with HashiCorp's HCL *v1* library, whose semantics differ from HCL 2
(python-hcl2) in ways that change what a policy grants:

* an attribute repeated in a block is kept, not overwritten: `capabilities = ["read"]` followed
  by `capabilities = ["sudo"]` grants both;
* a block may carry several labels, `path "sys/*" "x" { ... }`, and OpenBao uses the first;
* a document that starts with `{` is JSON, read by the same library (duplicate keys kept).

This module keeps every item in order, duplicates included, as `Item(keys, value)`; the policy
module gives them OpenBao's meaning. Values are `Node` (an object: a list of items), lists,
strings, numbers and booleans. Anything outside the grammar raises `HclError` with a line number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class HclError(ValueError):
    """The text is not valid HCL v1 (or JSON)."""


@dataclass(frozen=True)
class Item:
    """One object item: `keys` are the key and its labels (`path "sys/*"` -> ["path", "sys/*"])."""

    keys: tuple[str, ...]
    """The key followed by its labels, unquoted."""
    value: Any
    """A `Node`, a list, a string, a number or a boolean."""
    line: int = 0
    """1-based line of the first key (0 for JSON input)."""


@dataclass(frozen=True)
class Node:
    """An object: its items in document order, duplicates kept."""

    items: tuple[Item, ...]
    """The items."""

    def filter(self, key: str) -> list[Item]:
        """Items whose first key is `key`."""
        return [item for item in self.items if item.keys and item.keys[0] == key]


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<heredoc><<-?(?P<marker>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?))
  | (?P<ident>[^\W\d][\w.-]*)
  | (?P<punct>[{}\[\]=,])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _unescape(raw: str, line: int) -> str:
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        nxt = raw[index + 1] if index + 1 < len(raw) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            index += 2
        elif nxt in ("u", "U"):
            width = 4 if nxt == "u" else 8
            digits = raw[index + 2 : index + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise HclError(f"line {line}: bad unicode escape in string")
            out.append(chr(int(digits, 16)))
            index += 2 + width
        else:
            raise HclError(f"line {line}: unknown escape '\\{nxt}' in string")
    return "".join(out)


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    """(kind, value, line) tokens; comments and whitespace dropped."""
    tokens: list[tuple[str, Any, int]] = []
    position = 0
    line = 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise HclError(f"line {line}: unexpected character {text[position]!r}")
        kind = match.lastgroup
        chunk = match.group(0)
        if kind == "heredoc":
            marker = match.group("marker")
            body_start = match.end()
            end = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.MULTILINE).search(text, body_start)
            if end is None:
                raise HclError(f"line {line}: heredoc <<{marker} is not terminated")
            body = text[body_start : end.start()]
            tokens.append(("string", body, line))
            line += text.count("\n", position, end.end())
            position = end.end()
            continue
        if kind == "string":
            tokens.append(("string", _unescape(chunk[1:-1], line), line))
        elif kind == "number":
            tokens.append(("number", float(chunk) if "." in chunk or "e" in chunk.lower() else chunk, line))
        elif kind == "ident":
            if chunk in ("true", "false"):
                tokens.append(("bool", chunk == "true", line))
            else:
                tokens.append(("ident", chunk, line))
        elif kind == "punct":
            tokens.append((chunk, chunk, line))
        line += chunk.count("\n")
        position = match.end()
    tokens.append(("eof", None, line))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, Any, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str) -> tuple[str, Any, int]:
        token = self.take()
        if token[0] != kind:
            raise HclError(f"line {token[2]}: expected '{kind}', found {token[1]!r}")
        return token

    def object_items(self, closing: str) -> Node:
        items: list[Item] = []
        while True:
            kind = self.peek()[0]
            if kind == closing:
                return Node(tuple(items))
            if kind == ",":  # items may be comma-separated
                self.take()
                continue
            items.append(self.item())

    def item(self) -> Item:
        keys: list[str] = []
        first_line = self.peek()[2]
        while self.peek()[0] in ("ident", "string"):
            keys.append(str(self.take()[1]))
        kind, value, line = self.peek()
        if not keys:
            raise HclError(f"line {line}: expected a key, found {value!r}")
        if kind == "=":
            if len(keys) > 1:
                raise HclError(f"line {line}: nested object expected: '{{' after the labels, found '='")
            self.take()
            return Item(tuple(keys), self.value(), first_line)
        if kind == "{":
            return Item(tuple(keys), self.value(), first_line)
        raise HclError(f"line {line}: expected '=' or '{{' after {keys[-1]!r}, found {value!r}")

    def value(self) -> Any:
        kind, value, line = self.take()
        if kind == "{":
            node = self.object_items("}")
            self.expect("}")
            return node
        if kind == "[":
            elements: list[Any] = []
            while True:
                if self.peek()[0] == "]":
                    self.take()
                    return elements
                elements.append(self.value())
                if self.peek()[0] == ",":
                    self.take()
                elif self.peek()[0] != "]":
                    found = self.peek()
                    raise HclError(f"line {found[2]}: expected ',' or ']' in a list, found {found[1]!r}")
        if kind in ("string", "number", "bool"):
            return value
        raise HclError(f"line {line}: expected a value, found {value!r}")


def _json_pairs(pairs: list[tuple[str, Any]]) -> Node:
    return Node(tuple(Item((key,), value) for key, value in pairs))


def parse(text: str) -> Node:
    """Parse HCL v1 (or, when the text starts with `{`, JSON) into a `Node`; raise HclError."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped, object_pairs_hook=_json_pairs)
        except ValueError as exc:
            raise HclError(f"not valid JSON: {exc}") from None
        if not isinstance(document, Node):
            raise HclError("a JSON policy must be an object")
        return document
    return _Parser(text).object_items("eof")
