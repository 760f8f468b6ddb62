"""Read YAML files with line numbers, so every error can name `file:line`.

Hostile input is bounded: a recursive alias (`a: &a [*a]`) and a document that expands through
aliases to more than `MAX_NODES` nodes (billion laughs) are refused before anything walks the
data; nesting deeper than libyaml's limit, NUL bytes and every other parse error name `file:line`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from scanner.errors import ConfigError

try:  # the C loader is much faster; fall back to pure Python where libyaml is missing
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


_FLOAT_TAG = "tag:yaml.org,2002:float"

MAX_NODES = 1_000_000
"""Most nodes a sovscan YAML file (baseline, inventory, waivers) may expand to through aliases."""


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML document and its node tree (for line numbers)."""

    path: str
    """The file path as given (used in messages)."""
    data: Any
    """The plain Python data."""
    node: yaml.Node | None
    """The composed node tree, or None for an empty document."""

    def line_of(self, path: Sequence[str | int]) -> int:
        """Return the 1-based line of the value at `path` (or of its nearest existing parent)."""
        node = self.node
        line = 1 if node is None else node.start_mark.line + 1
        for part in path:
            if node is None:
                break
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                        child = value_node
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                child = node.value[part]
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def where(self, path: Sequence[str | int]) -> str:
        """Return `file:line` for the value at `path`."""
        return f"{self.path}:{self.line_of(path)}"


def load_yaml(text: str, path: str) -> YamlDocument:
    """Parse one YAML document; raise ConfigError naming `path:line` when it is malformed."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is not None:
            check_node_graph(node, path)
        data = yaml.load(text, Loader=_Loader) if node is not None else None  # noqa: S506 - a SafeLoader
    except yaml.reader.ReaderError as exc:  # a NUL byte or another character YAML does not allow
        line = text.count("\n", 0, max(0, exc.position)) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise ConfigError(f"invalid YAML: character U+{code:04X} is not allowed", f"{path}:{line}") from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", f"{path}:{line}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date such as 2025-02-30
        bad_date = _bad_timestamp_line(node)
        if bad_date is not None:
            raise ConfigError(f"invalid date: {exc}", f"{path}:{bad_date}") from None
        raise ConfigError(f"invalid value in YAML: {exc}", path) from None
    if node is not None:
        reject_duplicate_keys(node, path)
    return YamlDocument(path=path, data=data, node=node)


def check_node_graph(root: yaml.Node, path: str, limit: int = MAX_NODES) -> None:
    """Refuse recursive aliases and a document expanding (aliases followed) to more than `limit` nodes.

    Iterative, so neither depth nor a cycle can exhaust the stack; stops at the budget, so an
    alias bomb costs at most `limit` steps.
    """
    left = limit
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        left -= 1
        if left < 0:
            raise ConfigError(
                f"invalid YAML: the document expands to more than {limit:,} nodes (an alias bomb?)",
                f"{path}:{node.start_mark.line + 1}",
            )
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _FLOAT_TAG and node.value.lower().lstrip("+-") in (".inf", ".nan"):
                raise ConfigError(
                    f"invalid YAML: {node.value} is not a number sovscan accepts (NaN and infinities are not JSON)",
                    f"{path}:{node.start_mark.line + 1}",
                )
            continue
        if id(node) in on_path:
            raise ConfigError(
                "invalid YAML: a recursive alias (a node that contains itself)", f"{path}:{node.start_mark.line + 1}"
            )
        on_path.add(id(node))
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            stack.extend((part, False) for pair in node.value for part in pair)
        else:
            stack.extend((child, False) for child in node.value)


def load_bounded(text: str, limit: int = MAX_NODES) -> Any:
    """Parse YAML text read from a target (e.g. a configuration held in a ConfigMap), bounded like a file.

    Raises ValueError with a one-line reason for malformed YAML, a recursive alias or an alias bomb.
    """
    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is None:
            return None
        check_node_graph(node, "<text>", limit)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except ConfigError as exc:
        raise ValueError(exc.message) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ValueError(f"invalid YAML: {type(exc).__name__}") from None


def _bad_timestamp_line(root: yaml.Node | None) -> int | None:
    """The line of the first YAML timestamp scalar that is not a real date (e.g. 2025-02-30), if any."""
    stack: list[yaml.Node] = [root] if root is not None else []
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader("").construct_yaml_timestamp(node)
            except (ValueError, OverflowError):
                return node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            stack[:0] = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack[:0] = node.value
    return None


def reject_duplicate_keys(root: yaml.Node, path: str) -> None:
    """Refuse a mapping that gives a key twice (PyYAML keeps the last one silently; sovscan must not)."""
    stack = [root]
    visited: set[int] = set()  # a node shared through aliases is checked once (and a cycle ends)
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        shown = key_node.value if len(key_node.value) <= 80 else key_node.value[:77] + "..."
                        raise ConfigError(f"duplicate key '{shown}'", f"{path}:{key_node.start_mark.line + 1}")
                    seen.add(key_node.value)
                stack.append(value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def read_yaml(path: Path | str, what: str = "file") -> YamlDocument:
    """Read and parse a YAML file; a missing or unreadable file is a ConfigError (`what` names it)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}", str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} is not UTF-8 text", str(path)) from None
    return load_yaml(text, str(path))


def validate(doc: YamlDocument, schema: dict[str, Any], what: str) -> None:
    """Validate a document against a JSON Schema; raise ConfigError at the first error's line.

    The message says what was expected, never the value found: an inventory may hold a secret
    someone pasted where a reference or a URL belongs, and error messages end up in CI logs.
    """
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors) or errors[0]
    location = list(error.absolute_path)
    field = ".".join(str(p) for p in location) or "(top level)"
    if len(location) == 4 and location[0] == "targets" and location[2] == "credentials":
        detail = "must be a reference such as env:NAME, file:PATH or bao:MOUNT/PATH#FIELD (value not shown)"
    else:
        detail = schema_error_text(error)
    raise ConfigError(f"invalid {what}: {field}: {detail}", doc.where(location))


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
_BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def _json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def schema_error_text(error: jsonschema.ValidationError) -> str:
    """A one-line schema error message that names what was expected, not the value found."""
    rule, wanted = error.validator, error.validator_value
    if rule == "additionalProperties":
        found = re.search(r"\((.*) (?:was|were) unexpected\)", error.message)
        return f"unknown field {found.group(1)}" if found else "unknown field"
    if rule == "required":
        return str(error.message)  # names the missing key, holds no value
    if rule == "type":
        expected = " or ".join(map(str, wanted)) if isinstance(wanted, list) else str(wanted)
        return f"must be of type {expected}, not {_json_type(error.instance)}"
    if rule == "pattern":
        return f"does not match the pattern {wanted!r}"
    if rule in ("enum", "const"):
        options = ", ".join(repr(v) for v in (wanted if rule == "enum" and isinstance(wanted, list) else [wanted]))
        return f"must be one of {options}" if rule == "enum" else f"must be {options}"
    if rule in _BOUNDS:
        return f"must be {_BOUNDS[rule]} {wanted}"
    if rule in ("minLength", "maxLength"):
        return f"must be {'at least' if rule == 'minLength' else 'at most'} {wanted} character(s) long"
    if rule == "format":
        return f"is not a valid {'regular expression' if wanted == 'regex' else wanted}"
    if rule in ("minItems", "maxItems"):
        return f"must have {'at least' if rule == 'minItems' else 'at most'} {wanted} item(s)"
    return f"does not satisfy the schema rule '{rule}'"
