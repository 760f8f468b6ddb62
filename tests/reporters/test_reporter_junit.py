"""Tests of the JUnit reporter: validity against junit-10.xsd, mapping, counts, uniqueness."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from reporters.junit import JunitReporter
from scanner.interface import ReportOptions
from scanner.model import Finding, Resource, ScanResult, Status, TargetSummary
from tests.reporters.reporter_fixtures import HOSTILE_TEXT, PG, UNREACHABLE_ERROR, build_scan_result, scan_with

XSD = Path(__file__).parent / "data" / "junit-10.xsd"
XSD_SHA256 = "a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """The Jenkins xunit-plugin junit-10.xsd (copied from the pytest sdist, see data/README.md)."""
    return etree.XMLSchema(etree.parse(str(XSD)))


def render(result: ScanResult) -> str:
    return JunitReporter().render(result, ReportOptions())


def parse(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"))


def test_schema_copy_is_unmodified() -> None:
    assert hashlib.sha256(XSD.read_bytes()).hexdigest() == XSD_SHA256


@pytest.mark.parametrize("compared", [True, False])
def test_validates_against_junit_10_xsd(schema: etree.XMLSchema, compared: bool) -> None:
    document = parse(render(build_scan_result(compared=compared)))
    assert schema.validate(document), schema.error_log


def test_schema_rejects_what_the_xsd_forbids(schema: etree.XMLSchema) -> None:
    # The validation above must be able to fail: an attribute outside the XSD is rejected.
    document = parse(render(build_scan_result()))
    document.find("testsuite/testcase").set("file", "x.yaml")
    assert not schema.validate(document)


def test_one_testcase_per_control_and_resource() -> None:
    result = build_scan_result()
    cases = parse(render(result)).findall("testsuite/testcase")
    assert len(cases) == len(result.findings)
    assert Counter(c.get("classname") for c in cases) == Counter(
        f"{f.resource.target}.{f.resource.kind}" for f in result.findings
    )


def test_classname_and_name_pairs_are_unique() -> None:
    cases = parse(render(build_scan_result())).findall("testsuite/testcase")
    pairs = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(pairs) == len(set(pairs))
    # Two Deployments named web in different namespaces: the URI disambiguates.
    names = {c.get("name") for c in cases if c.get("classname") == "k8s-manifests.Deployment"}
    assert names == {
        "K8S-13 k8s://manifests/ns/team-a/Deployment/web",
        "K8S-13 k8s://manifests/ns/team-b/Deployment/web",
        "K8S-18 web",
    }
    assert ("pg-prod.role", "PG-09 app_owner") in pairs


def test_same_control_and_uri_twice_is_still_unique() -> None:
    result = build_scan_result()
    twice = scan_with(result, result.findings[4], result.findings[4])
    cases = parse(render(twice)).findall("testsuite[@name='pg-prod']/testcase")
    pairs = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(pairs) == len(set(pairs)) == 2


def test_status_mapping() -> None:
    result = build_scan_result()
    document = parse(render(result))
    cases = document.findall("testsuite/testcase")
    children = {(c.get("classname"), c.get("name")): [e.tag for e in c if e.tag not in {"system-out"}] for c in cases}
    assert children[("pg-prod.setting", "PG-05 password_encryption")] == ["failure"]
    assert children[("pg-prod.hba", "PG-04 pg_hba.conf")] == ["error"]
    assert children[("pg-prod.role", "PG-10 reporting")] == ["skipped"]
    assert children[("pg-prod.server", "PG-20 db.example:5432")] == ["skipped"]
    assert children[("pg-prod.setting", "PG-01 ssl")] == []
    expected = Counter(
        {Status.FAIL: "failure", Status.ERROR: "error", Status.WAIVED: "skipped", Status.NOT_APPLICABLE: "skipped"}.get(
            f.status, "pass"
        )
        for f in result.findings
    )
    actual = Counter(next((e.tag for e in c if e.tag != "system-out"), "pass") for c in cases)
    assert actual == expected


def test_failure_text_has_observed_expected_and_remediation() -> None:
    document = parse(render(build_scan_result()))
    failure = document.find("testsuite/testcase[@name='PG-05 password_encryption']/failure")
    assert failure is not None
    assert failure.get("type") == "high"
    assert failure.get("message") == "password_encryption is md5; passwords are stored as MD5 hashes."
    text = failure.text or ""
    assert 'Observed: "md5"' in text
    assert 'Expected: "scram-sha-256"' in text
    assert "Remediation: Fix PG-05" in text
    assert "cis-postgresql-17 5.12" in text


def test_skipped_carries_the_reason() -> None:
    document = parse(render(build_scan_result()))
    waived = document.find("testsuite/testcase[@name='PG-10 reporting']/skipped")
    assert waived is not None
    assert "waived until 2031-12-31 by data-platform@example.org" in (waived.get("message") or "")
    assert "BI gateway" in (waived.get("message") or "")
    tailored = document.find("testsuite/testcase[@name='PG-20 db.example:5432']/skipped")
    assert tailored is not None
    assert "archiving is verified on the primary" in (tailored.get("message") or "")


def test_error_text_has_the_reason() -> None:
    document = parse(render(build_scan_result()))
    error = document.find("testsuite[@name='pg-replica']/testcase[@name='PG-01 replica.example:5432']/error")
    assert error is not None
    assert UNREACHABLE_ERROR in (error.text or "")


def test_suite_per_target_with_counts_and_time() -> None:
    result = build_scan_result()
    document = parse(render(result))
    suites = {s.get("name"): s for s in document.findall("testsuite")}
    assert list(suites) == [t.id for t in result.targets]
    for target in result.targets:
        suite = suites[target.id]
        mine = [f for f in result.findings if f.resource.target == target.id]
        assert int(suite.get("tests")) == len(mine) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == sum(f.status is Status.FAIL for f in mine)
        assert int(suite.get("errors")) == sum(f.status is Status.ERROR for f in mine)
        assert int(suite.get("skipped")) == sum(f.status in {Status.WAIVED, Status.NOT_APPLICABLE} for f in mine)
    assert suites["pg-prod"].get("time") == "1.234"
    assert suites["pg-replica"].get("time") == "5.000"
    assert document.get("tests") == str(len(result.findings))
    assert document.get("failures") == str(result.count(Status.FAIL))
    assert document.get("errors") == str(result.count(Status.ERROR))
    assert document.get("time") == "7.500"


def test_suite_properties_describe_the_target() -> None:
    document = parse(render(build_scan_result()))
    props = {
        p.get("name"): p.get("value") for p in document.findall("testsuite[@name='pg-replica']/properties/property")
    }
    assert props["reachable"] == "false"
    assert props["error"] == UNREACHABLE_ERROR
    prod = {p.get("name"): p.get("value") for p in document.findall("testsuite[@name='pg-prod']/properties/property")}
    assert prod["section_error.pg_hba_file_rules"].startswith("permission denied")
    assert prod["label.owner"] == "data-platform"


def test_unreachable_target_without_findings_is_an_error(schema: etree.XMLSchema) -> None:
    result = build_scan_result()
    kept = tuple(f for f in result.findings if f.resource.target != "pg-replica")
    document = parse(render(dataclasses.replace(result, findings=kept)))
    assert schema.validate(document), schema.error_log
    suite = document.find("testsuite[@name='pg-replica']")
    assert suite is not None
    assert (suite.get("tests"), suite.get("errors")) == ("1", "1")
    error = suite.find("testcase[@classname='pg-replica.target']/error")
    assert error is not None
    assert UNREACHABLE_ERROR in (error.text or "")


def test_finding_of_an_unlisted_target_gets_its_own_suite(schema: etree.XMLSchema) -> None:
    stray = Finding("PG-01", Resource("pg-other", "setting", "ssl", f"{PG}/x"), Status.PASS, "ok")
    result = ScanResult(
        tool_version="0.1.0",
        started_at="not a time",
        finished_at="",
        controls={},
        findings=(stray,),
        targets=(TargetSummary(id="pg-prod", kind="postgres", uri=PG, duration=0.5),),
    )
    document = parse(render(result))
    assert schema.validate(document), schema.error_log
    assert [s.get("name") for s in document.findall("testsuite")] == ["pg-prod", "pg-other"]
    assert document.get("time") == "0.500"


def test_hostile_text_survives_as_valid_xml(schema: etree.XMLSchema) -> None:
    result = build_scan_result()
    raw = dataclasses.replace(result.findings[0], status=Status.FAIL, message=f"bad {HOSTILE_TEXT}")
    text = render(scan_with(result, raw, *result.findings[1:]))
    document = parse(text)  # would raise on a control character
    assert schema.validate(document), schema.error_log
    observed = document.find("testsuite/testcase[@name='BAO-14 secret/']/failure")
    assert observed is not None
    assert 'Zürich <team> & \\"ops\\" \\u0007bell' in (observed.text or "")  # JSON-escaped observed value
    failure = document.find("testsuite/testcase[@name='PG-01 ssl']/failure")
    assert failure is not None
    assert failure.get("message") == 'bad Zürich <team> & "ops" \\x07bell \u2028sep'
    assert "\x07" not in text  # the raw BEL character is not in the output
