"""The Keycloak Wazuh rules (100200-100229): each identity-takeover control, failing for the first
time, reaches its own rule; a regression of the same control still goes to the generic regression rule."""

from __future__ import annotations

import dataclasses

import pytest

from scanner.baseline import BaselineLibrary
from scanner.model import BaselineState, Finding, Resource, Status
from scanner.plugins import discover
from tests.reporters.reporter_fixtures import build_scan_result, scan_with
from tests.reporters.test_reporter_wazuh import classify, load_rules, render

KEYCLOAK_RULES = {"KC-06": 100200, "KC-15": 100201, "KC-21": 100202, "KC-22": 100203, "KC-29": 100204}


def _event(control_id: str, state: BaselineState, previous: Status | None) -> dict[str, object]:
    controls = {c.id: c for c in BaselineLibrary(discover()).load("keycloak").controls}
    result = build_scan_result()
    resource = Resource("sso", "client", "weak/wild", "keycloak://sso.example/realms/weak/clients/wild")
    finding = Finding(control_id, resource, Status.FAIL, "failed", baseline_state=state, previous_status=previous)
    result = dataclasses.replace(result, controls={**result.controls, control_id: controls[control_id]})
    events = render(scan_with(result, finding))
    return next(e for e in events if e["sovscan"]["event"] == "finding")  # type: ignore[index]


def test_keycloak_rules_are_in_range_and_critical() -> None:
    rules = {r.id: r for r in load_rules()}
    ids = [i for i in rules if 100200 <= i <= 100229]
    assert sorted(ids) == sorted(KEYCLOAK_RULES.values())
    assert all(rules[i].level > rules[100120].level for i in ids)
    assert all("sovscan_keycloak" in rules[i].groups for i in ids)


@pytest.mark.parametrize(("control_id", "rule_id"), sorted(KEYCLOAK_RULES.items()))
def test_new_keycloak_failure_selects_its_rule(control_id: str, rule_id: int) -> None:
    event = _event(control_id, BaselineState.NEW, None)
    assert classify(load_rules(), event).id == rule_id


def test_regressed_keycloak_failure_keeps_the_regression_rule() -> None:
    event = _event("KC-21", BaselineState.UPDATED, Status.PASS)
    assert event["sovscan"]["change"] == "regressed"  # type: ignore[index]
    assert classify(load_rules(), event).id == 100130
