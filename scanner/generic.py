"""Generic checks that let a control be written in YAML alone (kube-bench-style operators).

`generic.field` selects items from an evidence section, then compares fields of each item
with the operators of `scanner.operators` (eq, noteq, gt, gte, lt, lte, in, notin, has, nothave,
subset, regex; their meaning is documented there, once).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scanner.errors import EvidenceUnavailable
from scanner.interface import CheckSpec, check
from scanner.model import CheckResult, Evidence, Status
from scanner.operators import BOOLEAN_SPELLINGS, OPERATORS, BooleanDialect, compare

__all__ = ["CHECKS", "OPERATORS", "compare", "field_check", "get_path"]

_MISSING = object()

_CONDITION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["field", "op"],
    "properties": {
        "field": {"type": "string", "minLength": 1},
        "op": {"enum": list(OPERATORS)},
        "value": {},
    },
    # a pattern that does not compile is a baseline error (file:line), not an ERROR at every scan
    "if": {"properties": {"op": {"const": "regex"}}},
    "then": {"required": ["value"], "properties": {"value": {"type": "string", "format": "regex"}}},
}


def get_path(item: Any, path: str) -> Any:
    """Follow a dotted path (`a.b.0.c`) into dicts and lists; return a sentinel when absent."""
    current = item
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part not in current:
                return _MISSING
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def _describe(condition: Mapping[str, Any]) -> str:
    value = condition.get("value")
    return f"{condition['field']} {condition['op']} {value!r}" if "value" in condition else condition["field"]


def _resource_path(template: str, item: Any, name: str) -> str:
    def fill(match: re.Match[str]) -> str:
        if match.group(1) == "name":
            return name
        value = get_path(item, match.group(1))
        return "" if value is _MISSING else str(value)

    return re.sub(r"\{([^{}]+)\}", fill, template)


def _items(evidence: Evidence, params: Mapping[str, Any]) -> list[Any]:
    data = evidence.section(params["section"])
    if params.get("items"):
        data = get_path(data, params["items"])
        if data is _MISSING:
            raise EvidenceUnavailable(f"path '{params['items']}' not found in evidence section '{params['section']}'")
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        return [data]
    raise EvidenceUnavailable(f"evidence section '{params['section']}' holds {type(data).__name__}, not items")


@check(
    "generic.field",
    params={
        "section": {"type": "string", "minLength": 1},
        "items": {"type": "string"},
        "name": {"type": "string"},
        "resource_kind": {"type": "string"},
        "resource_path": {"type": "string"},
        "where": {"type": "array", "items": _CONDITION},
        "tests": {"type": "array", "items": _CONDITION, "minItems": 1},
        "combine": {"enum": ["and", "or"]},
        "missing": {"enum": ["fail", "pass", "error"]},
        "empty": {"enum": ["pass", "fail", "error", "not_applicable"]},
        "booleans": {
            "enum": list(BOOLEAN_SPELLINGS),
            "description": "Whose boolean spellings observed texts are read with (default generic).",
        },
    },
    description="Compare fields of evidence items with kube-bench-style operators.",
    needs_params=("section",),
)
def field_check(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Compare fields of each selected evidence item with the control's tests."""
    where: Sequence[Mapping[str, Any]] = params.get("where", [])
    tests: Sequence[Mapping[str, Any]] = params["tests"]
    combine_all = params.get("combine", "and") == "and"
    on_missing = params.get("missing", "fail")
    name_field = params.get("name", "name")
    kind = params.get("resource_kind", "item")
    template = params.get("resource_path", f"{kind}s/{{name}}")
    booleans: BooleanDialect = params.get("booleans", "generic")
    expected = [_describe(t) for t in tests]
    if not combine_all and len(expected) > 1:
        expected = [" or ".join(expected)]

    selected = []
    for item in _items(evidence, params):
        values = [get_path(item, str(w["field"])) for w in where]
        pairs = zip(values, where, strict=True)
        if all(v is not _MISSING and compare(v, w["op"], w.get("value"), booleans=booleans) for v, w in pairs):
            selected.append(item)

    if not selected:
        status = {
            "pass": Status.PASS,
            "fail": Status.FAIL,
            "error": Status.ERROR,
            "not_applicable": Status.NOT_APPLICABLE,
        }[params.get("empty", "error")]
        selector = ", ".join(_describe(w) for w in where) or "any"
        message = f"no item of '{params['section']}' matches ({selector})"
        if status is Status.ERROR:
            message += ": the evidence needed to verify this control is missing"
        yield CheckResult(resource=evidence.target_resource(), status=status, message=message, expected=expected)
        return

    for index, item in enumerate(selected):
        raw_name = get_path(item, name_field)
        name = str(index) if raw_name is _MISSING else str(raw_name)
        resource = evidence.resource(kind, name, _resource_path(template, item, name))
        observed: dict[str, Any] = {}
        outcomes: list[bool] = []
        missing_fields: list[str] = []
        for test in tests:
            value = get_path(item, str(test["field"]))
            if value is _MISSING:
                observed[str(test["field"])] = None
                missing_fields.append(str(test["field"]))
                outcomes.append(on_missing == "pass")
            else:
                observed[str(test["field"])] = value
                outcomes.append(compare(value, str(test["op"]), test.get("value"), booleans=booleans))
        if missing_fields and on_missing == "error":
            yield CheckResult(
                resource,
                Status.ERROR,
                f"field(s) {', '.join(missing_fields)} not present in the evidence",
                observed,
                expected,
            )
            continue
        passed = all(outcomes) if combine_all else any(outcomes)
        shown = ", ".join(f"{k}={v!r}" for k, v in observed.items())
        if passed:
            yield CheckResult(
                resource, Status.PASS, f"{name}: {shown} satisfies {'; '.join(expected)}", observed, expected
            )
        else:
            yield CheckResult(
                resource, Status.FAIL, f"{name}: {shown}, expected {'; '.join(expected)}", observed, expected
            )


CHECKS: tuple[CheckSpec, ...] = (field_check,)
"""The generic checks, registered by the scanner itself."""
