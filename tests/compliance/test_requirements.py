"""Per-requirement results: the six statuses, coverage, the native JSON view, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from scanner import frameworks, resultio
from scanner.baseline import schema
from scanner.frameworks import RequirementStatus as RS
from scanner.model import Control, Finding, Resource, ScanResult, Severity, Status, TargetSummary, Waiver

from .conftest import DEMO_EVIDENCE, Invoke


def control(cid: str, disabled: str | None = None) -> Control:
    return Control(id=cid, title=cid, severity=Severity.HIGH, target="demo", check="demo.check", disabled=disabled)


def finding(cid: str, status: Status, name: str = "r") -> Finding:
    waiver = Waiver(cid, "*", "accepted", "owner@example", "2099-01-01") if status is Status.WAIVED else None
    return Finding(cid, Resource("t", "item", name, f"demo://t/{name}"), status, "m", waiver=waiver)


def scan(*findings: Finding, controls: dict[str, Control]) -> ScanResult:
    return ScanResult(
        "0",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:01Z",
        controls,
        tuple(findings),
        (TargetSummary("t", "demo", "demo://t"),),
    )


CATALOGUE = """apiVersion: sovscan/v1
kind: Framework
name: demo
edition: "1"
title: Demo
families: [{id: F, title: Family}]
requirements:
  - {id: R-MET, family: F, title: met, controls: [C-PASS, C-NA, C-ABSENT]}
  - {id: R-VIOL, family: F, title: violated, controls: [C-PASS, C-FAIL, C-ERR]}
  - {id: R-NV, family: F, title: not verified, controls: [C-PASS, C-ERR]}
  - {id: R-W, family: F, title: waived, controls: [C-PASS, C-WAIVED]}
  - {id: R-MAN, family: F, title: manual, manual: Look at it.}
  - {id: R-NC, family: F, title: not covered, controls: [C-NA, C-ABSENT, C-OFF]}
"""


def test_each_status_follows_its_rule(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(CATALOGUE, encoding="utf-8")
    fw = frameworks.load_framework(str(path))
    controls = {c: control(c) for c in ("C-PASS", "C-FAIL", "C-ERR", "C-WAIVED", "C-NA")}
    controls["C-OFF"] = control("C-OFF", disabled="tailored out")
    result = scan(
        finding("C-PASS", Status.PASS),
        finding("C-PASS", Status.PASS, "r2"),
        finding("C-FAIL", Status.FAIL),
        finding("C-FAIL", Status.PASS, "r2"),
        finding("C-ERR", Status.ERROR),
        finding("C-WAIVED", Status.WAIVED),
        finding("C-NA", Status.NOT_APPLICABLE),
        finding("C-OFF", Status.NOT_APPLICABLE),
        controls=controls,
    )
    view = frameworks.evaluate(fw, result)
    got = {r.id: r.status for r in view.requirements}
    assert got == {
        "R-MET": RS.MET,
        "R-VIOL": RS.VIOLATED,
        "R-NV": RS.NOT_VERIFIED,
        "R-W": RS.WAIVED,
        "R-MAN": RS.MANUAL,
        "R-NC": RS.NOT_COVERED,
    }
    met = next(r for r in view.requirements if r.id == "R-MET")
    assert met.controls == ("C-PASS",) and met.not_evaluated == ("C-NA", "C-ABSENT")
    viol = next(r for r in view.requirements if r.id == "R-VIOL")
    assert (
        viol.failed == ("C-FAIL",) and viol.errors == ("C-ERR",) and viol.counts == {"PASS": 3, "FAIL": 1, "ERROR": 1}
    )
    assert view.coverage == 4 / 6
    # a failure turned into WAIVED by a waiver no longer violates; an ERROR still means not verified
    assert (
        frameworks.evaluate(fw, scan(finding("C-PASS", Status.PASS), controls=controls)).requirements[0].status
        is RS.MET
    )


def test_demo_scan_json_carries_the_view_and_round_trips(tmp_path: Path, sovscan: Invoke) -> None:
    out = tmp_path / "r.json"
    run = sovscan(
        "scan",
        "--evidence",
        DEMO_EVIDENCE,
        "-f",
        f"json={out}",
        "--framework",
        "bsi-grundschutz",
        "--framework",
        "nis2",
        "--fail-on",
        "none",
    )
    assert run.exit_code in (0, 3), run.output  # 3: the demo evidence has ERRORs (S3 config not read)
    document = json.loads(out.read_text())
    jsonschema.Draft202012Validator(schema("result")).validate(document)
    names = [f["name"] for f in document["frameworks"]]
    assert names == ["bsi-grundschutz", "nis2"]
    bsi = document["frameworks"][0]
    statuses = {r["status"] for r in bsi["requirements"]}
    assert {"violated", "manual"} <= statuses
    assert 0 < bsi["coverage"] < 1
    assert bsi["by_status"]["manual"] == sum(1 for r in bsi["requirements"] if r["status"] == "manual")
    loaded = resultio.load(out)
    assert resultio.to_dict(loaded) == document
    # the evaluated controls of a violated requirement really failed in the findings
    failing = {f["control_id"] for f in document["findings"] if f["status"] == "FAIL"}
    for requirement in bsi["requirements"]:
        if requirement["status"] == "violated":
            assert set(requirement["failed"]) <= failing and requirement["failed"]
        if requirement["status"] == "met":
            assert not set(requirement["controls"]) & failing


def test_report_from_recomputes_and_keeps_the_frameworks(tmp_path: Path, sovscan: Invoke) -> None:
    first = tmp_path / "r.json"
    assert sovscan("scan", "--evidence", DEMO_EVIDENCE, "-f", f"json={first}", "--fail-on", "none").exit_code in (0, 3)
    assert "frameworks" not in json.loads(first.read_text())  # additive: absent unless asked for
    second = tmp_path / "r2.json"
    run = sovscan("report", "--from", first, "-f", f"json={second}", "--framework", "iso27001", "--fail-on", "none")
    assert run.exit_code in (0, 3), run.output  # 3: the demo evidence has ERRORs (S3 config not read)
    third = tmp_path / "r3.json"
    assert sovscan("report", "--from", second, "-f", f"json={third}", "--fail-on", "none").exit_code in (0, 3)
    assert [f["name"] for f in json.loads(third.read_text())["frameworks"]] == ["iso27001"]


def test_unknown_framework_is_one_line_and_exit_2(tmp_path: Path, sovscan: Invoke) -> None:
    run = sovscan("scan", "--evidence", DEMO_EVIDENCE, "--framework", "bsi-grundschtuz")
    assert run.exit_code == 2
    assert run.stderr.strip().startswith("sovscan: error: unknown framework 'bsi-grundschtuz'")
    assert "Traceback" not in run.stderr


def test_frameworks_list_and_show(tmp_path: Path, sovscan: Invoke) -> None:
    listed = sovscan("frameworks", "list")
    assert listed.exit_code == 0
    for name in ("bsi-grundschutz", "nis2", "bsi-c5", "iso27001"):
        assert name in listed.output
    out = tmp_path / "r.json"
    sovscan("scan", "--evidence", DEMO_EVIDENCE, "-f", f"json={out}", "--fail-on", "none")
    shown = sovscan("frameworks", "show", "bsi-grundschutz", "--from", out)
    assert shown.exit_code == 0
    assert "APP.4.3.A3" in shown.output and "[violated]" in shown.output and "coverage" in shown.output
