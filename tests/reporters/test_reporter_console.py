"""Tests of the console summary: readable and bounded for large scans, nothing important lost."""

from __future__ import annotations

import dataclasses

from reporters.console import ConsoleReporter
from scanner.interface import ReportOptions
from scanner.model import Finding, Resource, ScanResult, Status
from tests.reporters.reporter_fixtures import K8S, build_scan_result, scan_with


def render(result: ScanResult) -> str:
    return ConsoleReporter().render(result, ReportOptions())


def _pods(count: int, status: Status, control_id: str, message: str = "") -> list[Finding]:
    return [
        Finding(
            control_id=control_id,
            resource=Resource(
                target="k8s-manifests", kind="Pod", name=f"ns{i % 7}/pod-{i}", uri=f"{K8S}/ns/ns{i % 7}/Pod/pod-{i}"
            ),
            status=status,
            message=message or f"pod-{i}: could not read the pod spec (field {i})",
        )
        for i in range(count)
    ]


def test_hundreds_of_distinct_errors_stay_bounded_and_counted() -> None:
    base = build_scan_result(compared=False)
    findings = [*_pods(300, Status.ERROR, "PG-13"), *_pods(50, Status.ERROR, "PG-05", "permission denied: list pods")]
    text = render(scan_with(base, *findings))
    section = [
        line for line in text.split("Not verified (ERROR)")[1].split("\n\n")[0].splitlines() if line.startswith("  ")
    ]
    assert len(section) == 11
    # the biggest group comes first, with its size
    assert "PG-05 (50 results): permission denied: list pods" in section[0]
    assert section[-1].strip() == "... and 291 more reasons (291 results; see the JSON or JUnit report)"


def test_hundreds_of_failures_are_grouped_by_control_and_truncated() -> None:
    base = build_scan_result(compared=False)
    text = render(scan_with(base, *_pods(400, Status.FAIL, "PG-04"), *_pods(3, Status.FAIL, "BAO-14")))
    assert len(text.splitlines()) < 40
    assert "PG-04  No weak auth methods  (400)" in text
    assert "(+395 more)" in text
    assert "BAO-14  KV v2 everywhere  (3)" in text


def test_waived_list_says_how_many_are_not_shown() -> None:
    base = build_scan_result(compared=False)
    waived = [dataclasses.replace(f, status=Status.WAIVED) for f in _pods(25, Status.FAIL, "PG-10")]
    text = render(scan_with(base, *waived))
    assert "Waived: 25" in text
    assert "... and 15 more" in text


def test_resources_sharing_a_name_are_told_apart() -> None:
    base = build_scan_result(compared=False)
    first, second = _pods(2, Status.FAIL, "PG-04")
    second = dataclasses.replace(second, resource=dataclasses.replace(second.resource, name=first.resource.name))
    text = render(scan_with(base, first, second))
    assert first.resource.uri in text
    assert second.resource.uri in text


def test_finding_of_an_undescribed_control_does_not_crash() -> None:
    base = build_scan_result(compared=False)
    text = render(scan_with(base, *_pods(1, Status.FAIL, "XX-99")))
    assert "XX-99" in text
