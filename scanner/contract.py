"""Evidence contracts: each target kind declares the JSON Schema of its evidence sections.

The engine validates every present section after collection and after `--evidence` re-reads
it. A section that does not match is moved to `Evidence.errors` ("malformed evidence section
'X': <path>: <what was expected>"), so the controls that need it are ERROR: a malformed answer
(a LIST without `items`, `{"data": {}}`) is never read as "nothing there". Messages name the
place and the expectation, never the value found (it may be a secret), and are bounded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import jsonschema

from scanner.model import Evidence
from scanner.text import bounded, visible
from scanner.yamlfile import schema_error_text

MAX_MESSAGE = 400
"""Longest section error produced by a contract violation, in characters."""

_fast: Any
try:  # a compiled validator (Rust) decides quickly; jsonschema explains a failure and is the fallback
    import jsonschema_rs as _fast
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _fast = None


@dataclass(frozen=True)
class _Compiled:
    """The validators of one section schema."""

    reference: jsonschema.protocols.Validator
    """jsonschema's validator: the reference implementation, and the one that explains errors."""
    fast: Any = None
    """jsonschema-rs's validator of the same schema (draft 2020-12), when available."""

    def is_valid(self, data: Any) -> bool:
        """Whether `data` satisfies the schema (the fast validator's answer, confirmed by jsonschema on a no)."""
        if self.fast is not None:
            try:
                if self.fast.is_valid(data):
                    return True
            except (ValueError, TypeError, OverflowError):  # data it cannot take (e.g. a huge integer)
                pass
        return bool(self.reference.is_valid(data))


_VALIDATORS: dict[str, _Compiled | str] = {}
"""Canonical JSON of a schema -> its compiled validators, or why the schema itself is invalid."""


_SCHEMA_OF: tuple[str, ...] = ("items", "contains", "additionalProperties", "propertyNames", "if", "then", "else")
_SCHEMA_OF += ("not", "unevaluatedItems", "unevaluatedProperties", "contentSchema")
_SCHEMAS_IN = ("prefixItems", "allOf", "anyOf", "oneOf")
_SCHEMAS_BY_NAME = ("properties", "patternProperties", "dependentSchemas", "$defs")
"""The draft 2020-12 keywords whose value is a schema, an array of schemas, an object of schemas: in
the meta-schema, each of these places is `{"$dynamicRef": "#meta"}`, the whole meta-schema again."""

_SHARED_MIN = 400
"""Characters of JSON from which a subschema is checked once for every schema it appears in."""

_VALID_SUBSCHEMAS: set[str] = set()
"""Canonical JSON of subschemas that passed `check_schema` on their own."""


def _check_schema(schema: Any) -> None:
    """`Draft202012Validator.check_schema(schema)`, each large subschema checked once for every schema.

    A section's schema repeats large parts of the others (a pod spec in seven of them). Because
    the meta-schema checks a subschema in the places `_SCHEMA_OF`, `_SCHEMAS_IN`, `_SCHEMAS_BY_NAME`
    name exactly as it checks a schema on its own, the schema is valid exactly when it is valid with
    each subschema there that is valid on its own replaced by `{}` (valid too). An invalid schema is
    checked again whole, so that the error (the first one jsonschema finds) is the one it always gave.
    """
    reduced = _reduced(schema, 0)
    try:
        jsonschema.Draft202012Validator.check_schema(reduced)
    except jsonschema.SchemaError:
        if reduced is schema:
            raise
        jsonschema.Draft202012Validator.check_schema(schema)  # raises the error of the schema as written


def _reduced(node: Any, depth: int) -> Any:
    """`node` with every large subschema that is valid on its own replaced by `{}` (a copy; `node` when none)."""
    if type(node) is not dict:
        return node
    if depth:
        text = json.dumps(node, sort_keys=True, default=str)
        if text in _VALID_SUBSCHEMAS:
            return {}
        if len(text) >= _SHARED_MIN:
            valid = True
            try:
                _check_schema(node)
            except Exception:  # left in place: the check of the whole schema meets it again
                valid = False
            if valid:
                _VALID_SUBSCHEMAS.add(text)
                return {}
    out: dict[str, Any] | None = None
    for key, value in node.items():
        new = value
        if key in _SCHEMA_OF:
            new = _reduced(value, depth + 1)
        elif key in _SCHEMAS_IN and type(value) is list:
            items = [_reduced(item, depth + 1) for item in value]
            new = value if all(a is b for a, b in zip(items, value, strict=True)) else items
        elif key in _SCHEMAS_BY_NAME and type(value) is dict:
            named = {name: _reduced(item, depth + 1) for name, item in value.items()}
            new = value if all(named[name] is item for name, item in value.items()) else named
        if new is not value:
            if out is None:
                out = dict(node)
            out[key] = new
    return node if out is None else out


def _validator(schema: Mapping[str, Any]) -> _Compiled | str:
    try:
        key = json.dumps(schema, sort_keys=True, default=str)
    except (ValueError, TypeError, RecursionError):
        return "the plugin's contract for it cannot be read as JSON"
    found = _VALIDATORS.get(key)
    if found is None:
        try:
            _check_schema(schema)
            fast = None
            if _fast is not None:
                try:
                    fast = _fast.Draft202012Validator(dict(schema), validate_formats=False)
                except Exception:  # a schema only the reference implementation takes: use that alone
                    fast = None
            found = _Compiled(jsonschema.Draft202012Validator(schema), fast)
        except jsonschema.SchemaError as exc:
            found = f"the plugin's contract for it is not a valid JSON Schema ({bounded(exc.message, 120)})"
        except RecursionError:
            found = "the plugin's contract for it is nested too deeply"
        _VALIDATORS[key] = found
    return found


def _path_text(path: Any) -> str:
    parts = [str(p) for p in path]
    return visible(bounded(".".join(parts), 160)) if parts else "(top level)"


def section_problem(name: str, data: Any, schema: Mapping[str, Any]) -> str | None:
    """Why `data` does not satisfy the section's schema (one bounded, secret-safe line), or None."""
    validator = _validator(schema)
    if isinstance(validator, str):
        return bounded(f"malformed evidence section '{visible(name)}': {validator}", MAX_MESSAGE)
    try:
        if validator.is_valid(data):
            return None
        error = jsonschema.exceptions.best_match(validator.reference.iter_errors(data))
    except RecursionError:
        return f"malformed evidence section '{visible(bounded(name, 80))}': nested too deeply to validate"
    if error is None:  # pragma: no cover - is_valid said no, so there is an error
        return f"malformed evidence section '{visible(bounded(name, 80))}'"
    text = f"malformed evidence section '{visible(bounded(name, 80))}': {_path_text(error.absolute_path)}: "
    return bounded(text + schema_error_text(error), MAX_MESSAGE)


def apply_contract(evidence: Evidence, contract: Mapping[str, Mapping[str, Any]]) -> Evidence:
    """`evidence` with every section that violates `contract` moved to `errors` with the reason."""
    if not contract or not evidence.sections:
        return evidence
    sections = dict(evidence.sections)
    errors = dict(evidence.errors)
    for name, schema in contract.items():
        if name not in sections:
            continue
        problem = section_problem(name, sections[name], schema)
        if problem is not None:
            del sections[name]
            errors[name] = problem
    if len(sections) == len(evidence.sections):
        return evidence
    return replace(evidence, sections=sections, errors=errors)
