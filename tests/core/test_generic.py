"""The generic field check: operators, selection, missing fields, empty selections."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.generic import compare, field_check, get_path
from scanner.model import Evidence, Status


@pytest.mark.parametrize(
    ("observed", "op", "expected", "result"),
    [
        ("on", "eq", "on", True),
        ("on", "eq", True, True),
        ("off", "eq", True, False),
        ("off", "noteq", "on", True),
        ("300", "lte", 300, True),
        ("301", "lte", 300, False),
        ("60s", "lte", 300, False),  # not a number: a comparison cannot pass
        (5, "gt", 3, True),
        (5, "gte", 5, True),
        (2, "lt", 3, True),
        ("TLSv1.2", "in", ["TLSv1.2", "TLSv1.3"], True),
        ("TLSv1", "in", ["TLSv1.2", "TLSv1.3"], False),
        ("md5", "notin", ["md5", "trust"], False),
        (["Node", "RBAC"], "has", "RBAC", True),
        (["Node", "RBAC"], "has", ["Node", "RBAC"], True),
        (["AlwaysAllow", "RBAC"], "nothave", "AlwaysAllow", False),
        ("%m [%p] %u@%d %h", "regex", "%h", True),  # a substring is a regex, not `has`
        ("%m [%p] %u@%d %h", "has", "%h", False),  # `has` sees comma-separated elements
        ("pgaudit, pg_stat_statements", "has", "pgaudit", True),
        ("%m [%p]", "nothave", "%u", True),
        ("SCRAM-SHA-256", "regex", "^SCRAM", True),
        (None, "regex", "x", False),
        (None, "eq", None, True),
    ],
)
def test_operators(observed: Any, op: str, expected: Any, result: bool) -> None:
    assert compare(observed, op, expected) is result


def test_get_path_follows_dicts_and_lists() -> None:
    item = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    assert get_path(item, "spec.containers.1.name") == "b"
    missing = get_path(item, "spec.containers.5.name")
    assert missing is get_path(item, "spec.nope") is get_path(item, "spec.containers.name")  # one sentinel
    assert missing is not None and missing != "b"  # distinct from every JSON value


def _evidence(settings: list[dict[str, Any]]) -> Evidence:
    return Evidence(target="t1", kind="demo", uri="demo://t1", sections={"settings": settings})


def test_field_check_pass_fail_and_resources() -> None:
    params = {
        "section": "settings",
        "where": [{"field": "name", "op": "in", "value": ["ssl", "log_connections"]}],
        "tests": [{"field": "setting", "op": "eq", "value": "on"}],
        "resource_kind": "setting",
        "resource_path": "settings/{name}",
    }
    results = list(
        field_check.function(
            _evidence([{"name": "ssl", "setting": "off"}, {"name": "log_connections", "setting": "on"}]), params
        )
    )
    by_name = {r.resource.name: r for r in results}
    assert by_name["ssl"].status is Status.FAIL
    assert by_name["ssl"].observed == {"setting": "off"}
    assert by_name["ssl"].resource.uri == "demo://t1/settings/ssl"
    assert by_name["log_connections"].status is Status.PASS


def test_field_check_empty_selection_is_error_by_default() -> None:
    params = {
        "section": "settings",
        "where": [{"field": "name", "op": "eq", "value": "ssl"}],
        "tests": [{"field": "setting", "op": "eq", "value": "on"}],
    }
    [result] = list(field_check.function(_evidence([{"name": "other", "setting": "on"}]), params))
    assert result.status is Status.ERROR
    assert "missing" in result.message


def test_field_check_missing_field_policies() -> None:
    base = {"section": "settings", "tests": [{"field": "setting", "op": "eq", "value": "on"}]}
    evidence = _evidence([{"name": "ssl"}])
    assert next(iter(field_check.function(evidence, base))).status is Status.FAIL
    assert next(iter(field_check.function(evidence, {**base, "missing": "pass"}))).status is Status.PASS
    assert next(iter(field_check.function(evidence, {**base, "missing": "error"}))).status is Status.ERROR


def test_field_check_or_combination() -> None:
    params = {
        "section": "settings",
        "tests": [{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "eq", "value": 1}],
        "combine": "or",
    }
    assert next(iter(field_check.function(_evidence([{"name": "x", "a": 0, "b": 1}]), params))).status is Status.PASS
    assert next(iter(field_check.function(_evidence([{"name": "x", "a": 0, "b": 0}]), params))).status is Status.FAIL
