"""A contract's schemas are checked with each large shared subschema checked once: the same verdicts.

`contract._check_schema` must accept exactly the schemas `Draft202012Validator.check_schema`
accepts and, for an invalid one, raise its very error (the section error quotes it). Compared
here over every built-in contract, and over hostile variants of them: invalid keywords planted
in a shared subschema, in one copy of it only, at every depth, and in places that are not schemas.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import jsonschema
import pytest

from scanner import contract
from scanner.plugins import discover

_BAD = (
    {"type": "strin"},
    {"minLength": -1},
    {"pattern": "("},
    {"required": "name"},
    {"items": [{"type": "string"}]},
    {"$schema": 3},
    {"$id": "a b"},
    {"enum": []},
    {"properties": {"x": 5}},
    {"anyOf": []},
    {"type": "string", "format": 7},
    {"const": {"type": "strin"}},  # data, not a schema: valid
    {"default": {"minLength": -1}},  # data too
)


def _verdict(check: Any, schema: Any) -> str:
    try:
        check(schema)
    except jsonschema.SchemaError as exc:
        return f"invalid: {exc.message} at {list(exc.absolute_path)} by {list(exc.absolute_schema_path)}"
    return "valid"


def _contracts() -> list[dict[str, Any]]:
    found = []
    for plugin in discover().plugins.values():
        method = getattr(plugin, "evidence_contract", None)
        if callable(method):
            found.extend(dict(schema) for schema in method().values())
    return found


def _dicts(node: Any, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            _dicts(value, out)
    elif isinstance(node, list):
        for value in node:
            _dicts(value, out)
    return out


def test_every_built_in_contract_schema_is_judged_alike() -> None:
    schemas = _contracts()
    assert len(schemas) > 30
    for schema in schemas:
        assert _verdict(contract._check_schema, schema) == _verdict(
            jsonschema.Draft202012Validator.check_schema, schema
        )


@pytest.mark.parametrize("seed", range(12))
def test_hostile_variants_are_judged_alike(seed: int) -> None:
    rng = random.Random(seed)
    contract._VALID_SUBSCHEMAS.clear()
    schemas = _contracts()
    for _ in range(6):
        schema = copy.deepcopy(rng.choice(schemas))
        targets = _dicts(schema, [])
        for node in rng.sample(targets, min(len(targets), rng.randint(1, 3))):
            node.update(copy.deepcopy(rng.choice(_BAD)))
        expected = _verdict(jsonschema.Draft202012Validator.check_schema, schema)
        assert _verdict(contract._check_schema, schema) == expected
        assert _verdict(contract._check_schema, schema) == expected  # and again, from what is now known
    # a shared part made invalid in one section only: each section keeps its own verdict
    for schema in schemas[:10]:
        shared = copy.deepcopy(schema)
        broken = copy.deepcopy(schema)
        for node in _dicts(broken, [])[-1:]:
            node["type"] = "strin"
        for one in (shared, broken, shared):
            assert _verdict(contract._check_schema, one) == _verdict(jsonschema.Draft202012Validator.check_schema, one)
