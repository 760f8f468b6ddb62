"""One rule, one place: a finding whose control the result does not describe has one severity everywhere."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from reporters.console import ConsoleReporter
from reporters.junit import JunitReporter
from reporters.sarif import SarifReporter
from reporters.wazuh import WazuhReporter
from scanner.gate import ExitCode, evaluate_gate
from scanner.interface import ReportOptions
from scanner.model import UNKNOWN_CONTROL_SEVERITY, Finding, Resource, Severity, Status
from tests.reporters.reporter_fixtures import build_scan_result, scan_with


def test_gate_and_every_report_agree_on_an_unknown_controls_severity() -> None:
    stray = Finding("X-99", Resource("pg-prod", "thing", "t", "postgres://db.example:5432/t"), Status.FAIL, "m")
    result = scan_with(build_scan_result(compared=False), stray)
    assert result.severity_of("X-99") is UNKNOWN_CONTROL_SEVERITY is Severity.CRITICAL

    # the gate: a FAIL at or above critical
    gate = evaluate_gate(result, Severity.CRITICAL, new_only=False, allow_new_errors=False, min_coverage=None)
    assert gate.exit_code is ExitCode.GATE_FAILED and stray in gate.failing

    console = ConsoleReporter().render(result, ReportOptions())
    critical = console.split("  CRITICAL\n", 1)[1].split("\n  HIGH", 1)[0]
    assert "X-99" in critical

    sarif = json.loads(SarifReporter().render(result, ReportOptions()))
    [entry] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "X-99"]
    assert entry["level"] == "error"
    [rule] = [r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "X-99"]
    assert rule["defaultConfiguration"]["level"] == "error"

    junit = ET.fromstring(JunitReporter().render(result, ReportOptions()).split("\n", 1)[1])  # noqa: S314
    types = [f.get("type") for case in junit.iter("testcase") if "X-99" in (case.get("name") or "")
             for f in case.iter("failure")]  # fmt: skip
    assert types == ["critical"]

    events = [json.loads(line)["sovscan"] for line in WazuhReporter().render(result, ReportOptions()).splitlines()]
    [finding] = [e for e in events if e.get("event") == "finding" and e["control"]["id"] == "X-99"]
    assert finding["severity"] == "critical"
    [summary] = [e for e in events if e.get("event") == "summary" and e["target"]["id"] == "pg-prod"]
    assert summary["failing"]["critical"] >= 1
