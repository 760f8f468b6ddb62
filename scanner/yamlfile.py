"""Read YAML files with line numbers, so every error can name `file:line`."""

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
        data = yaml.load(text, Loader=_Loader) if node is not None else None  # noqa: S506 - a SafeLoader
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
        _reject_duplicate_keys(node, path)
    return YamlDocument(path=path, data=data, node=node)


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


def _reject_duplicate_keys(root: yaml.Node, path: str) -> None:
    """PyYAML keeps the last of duplicate keys silently; a baseline must not."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raise ConfigError(f"duplicate key '{key_node.value}'", f"{path}:{key_node.start_mark.line + 1}")
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
