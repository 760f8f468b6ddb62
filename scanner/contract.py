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


def _validator(schema: Mapping[str, Any]) -> _Compiled | str:
    try:
        key = json.dumps(schema, sort_keys=True, default=str)
    except (ValueError, TypeError, RecursionError):
        return "the plugin's contract for it cannot be read as JSON"
    found = _VALIDATORS.get(key)
    if found is None:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
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
