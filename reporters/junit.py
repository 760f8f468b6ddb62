"""JUnit XML reporter: one testcase per control and resource, one testsuite per target.

Shaped for GitLab (`artifacts:reports:junit`), Jenkins and other CI test reporters, and valid
against the Jenkins xunit-plugin `junit-10.xsd` (tests/reporters/data/junit-10.xsd):

- `testcase@classname` is `<target id>.<resource kind>` (GitLab shows it as the suite) and
  `testcase@name` is `<control id> <resource name>`; when two resources of one kind share a name
  (a Deployment `web` in two namespaces) the name uses the resource URI instead, so every
  (classname, name) pair is unique (GitLab keeps only the first of duplicates).
- FAIL → `<failure type="<severity>">`, ERROR → `<error>`, NOT_APPLICABLE and WAIVED →
  `<skipped>` with the reason. The element *text* (what GitLab shows) holds the message,
  observed vs expected, the remediation and the references; `message` holds the short sentence.
- Each testsuite carries tests/failures/errors/skipped counts, `time` (the target's collection
  duration) and the target facts as properties; an unreachable target with no findings gets one
  `error` testcase so it cannot pass silently.
- With `--framework`, one more testsuite per requirement family (`bsi-grundschutz APP.4.3 ...`)
  holds one testcase per requirement: violated → failure, not verified → error, waived, manual
  and not covered → skipped with the reason.

Built with the standard library (`xml.etree.ElementTree`): no runtime dependency, and only the
attributes the XSD allows are written. Characters XML 1.0 cannot carry are replaced by `\\xNN`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from scanner.frameworks import Family, FrameworkResult, RequirementResult, RequirementStatus
from scanner.interface import Reporter, ReportOptions
from scanner.model import UNKNOWN_CONTROL_SEVERITY, Control, Finding, ScanResult, Status, TargetSummary

SUITES_NAME = "sovscan"
"""`testsuites@name`."""

_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SKIPPED = frozenset({Status.NOT_APPLICABLE, Status.WAIVED})


class JunitReporter(Reporter):
    """Render a scan as JUnit XML for CI test reporters (GitLab, Jenkins)."""

    name = "junit"
    description = "JUnit XML: one testcase per control and resource, one testsuite per target"
    extension = ".xml"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Return the JUnit XML document (every status is a testcase; options are not used)."""
        root = build_tree(result)
        ET.indent(root, space="  ")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def build_tree(result: ScanResult) -> ET.Element:
    """Build the `<testsuites>` element for `result`."""
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_target[finding.resource.target].append(finding)
    summaries = {t.id: t for t in result.targets}
    order = [t.id for t in result.targets] + sorted(set(by_target) - set(summaries))

    root = ET.Element("testsuites", {"name": SUITES_NAME})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for target_id in order:
        target = summaries.get(target_id) or TargetSummary(id=target_id, kind="unknown", uri="")
        suite = _suite(target, by_target.get(target_id, []), result.controls, result.run_id)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for framework in result.frameworks:
        for family in framework.families:
            members = [r for r in framework.requirements if r.family == family.id]
            if members:
                suite = _requirement_suite(framework, family, members)
                root.append(suite)
                for key in totals:
                    totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(_scan_seconds(result)))
    return root


def _requirement_suite(framework: FrameworkResult, family: Family, members: Sequence[RequirementResult]) -> ET.Element:
    """With `--framework`: one testsuite per requirement family (a BSI module, a NIS2 article point),
    one testcase per requirement. Violated is a failure, not verified an error; waived, manual and
    not covered are skipped with the reason, so a CI dashboard shows the auditor's view beside the
    per-target suites."""
    suite = ET.Element("testsuite", {"name": _clean(f"{framework.name} {family.id} {family.title}")})
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for requirement in members:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "name": _clean(f"{requirement.id} {requirement.title}"),
                "classname": _clean(f"{framework.name}.{family.id}"),
                "time": "0",
            },
        )
        counts["tests"] += 1
        evaluated = ", ".join(requirement.controls) or "none"
        text = _clean(f"status: {requirement.status.value}\ncontrols evaluated: {evaluated}")
        if requirement.status is RequirementStatus.VIOLATED:
            counts["failures"] += 1
            message = f"violated: {', '.join(requirement.failed)} failed"
            ET.SubElement(case, "failure", {"message": _clean(message), "type": "violated"}).text = text
        elif requirement.status is RequirementStatus.NOT_VERIFIED:
            counts["errors"] += 1
            message = f"not verified: {', '.join(requirement.errors)} could not be evaluated"
            ET.SubElement(case, "error", {"message": _clean(message), "type": "not verified"}).text = text
        elif requirement.status is not RequirementStatus.MET:
            counts["skipped"] += 1
            reason = requirement.manual if requirement.status is RequirementStatus.MANUAL else requirement.status.value
            ET.SubElement(
                case,
                "skipped",
                {"message": _clean(reason or requirement.status.value), "type": requirement.status.value},
            ).text = text
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", "0")
    return suite


def _suite(
    target: TargetSummary, findings: Sequence[Finding], controls: Mapping[str, Control], run_id: str = ""
) -> ET.Element:
    """One testsuite: the target's properties and one testcase per finding."""
    suite = ET.Element("testsuite", {"name": _clean(target.id)})
    suite.append(_properties(target, run_id))
    names = _case_names(findings)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for finding, name in zip(findings, names, strict=True):
        suite.append(_case(finding, name, controls.get(finding.control_id)))
        counts["tests"] += 1
        if finding.status is Status.FAIL:
            counts["failures"] += 1
        elif finding.status is Status.ERROR:
            counts["errors"] += 1
        elif finding.status in _SKIPPED:
            counts["skipped"] += 1
    if target.error is not None and not findings:
        suite.append(_unreachable_case(target))
        counts["tests"] += 1
        counts["errors"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", _seconds(target.duration))
    if target.collected_at:
        suite.set("timestamp", _clean(target.collected_at))
    return suite


def _properties(target: TargetSummary, run_id: str = "") -> ET.Element:
    """The target facts: kind, URI, collection time, errors, labels, and the scan's run id."""
    properties = ET.Element("properties")
    entries: list[tuple[str, str]] = [("kind", target.kind), ("uri", target.uri)]
    if run_id:
        entries.append(("run_id", run_id))
    if target.collected_at:
        entries.append(("collected_at", target.collected_at))
    entries.append(("reachable", "false" if target.error is not None else "true"))
    if target.error is not None:
        entries.append(("error", target.error))
    entries.extend((f"section_error.{section}", reason) for section, reason in sorted(target.section_errors.items()))
    entries.extend((f"label.{key}", value) for key, value in sorted(target.labels.items()))
    entries.extend((f"insecure_transport.{n}", weakness) for n, weakness in enumerate(target.insecure_transport, 1))
    for name, value in entries:
        ET.SubElement(properties, "property", {"name": _clean(name), "value": _clean(value)})
    return properties


def classname(finding: Finding) -> str:
    """`testcase@classname`: target id and resource kind, e.g. `pg-prod.role`."""
    return f"{finding.resource.target}.{finding.resource.kind}"


def _case_names(findings: Sequence[Finding]) -> list[str]:
    """Testcase names, unique per classname: `<control> <resource name>`, else the URI, else numbered."""
    short = [f"{f.control_id} {f.resource.name}" for f in findings]
    short_count: dict[tuple[str, str], int] = defaultdict(int)
    for finding, name in zip(findings, short, strict=True):
        short_count[(classname(finding), name)] += 1

    names: list[str] = []
    used: set[tuple[str, str]] = set()
    for finding, name in zip(findings, short, strict=True):
        cls = classname(finding)
        candidate = name if short_count[(cls, name)] == 1 else f"{finding.control_id} {finding.resource.uri}"
        unique, number = candidate, 2
        while (cls, unique) in used:
            unique = f"{candidate} [{number}]"
            number += 1
        used.add((cls, unique))
        names.append(unique)
    return names


def _case(finding: Finding, name: str, control: Control | None) -> ET.Element:
    """One testcase with its failure/error/skipped child (none for PASS)."""
    case = ET.Element("testcase", {"name": _clean(name), "classname": _clean(classname(finding)), "time": "0"})
    text = _details(finding, control)
    message = _clean(finding.message)
    if finding.status is Status.FAIL:
        severity = (control.severity if control is not None else UNKNOWN_CONTROL_SEVERITY).value
        ET.SubElement(case, "failure", {"message": message, "type": severity}).text = text
    elif finding.status is Status.ERROR:
        ET.SubElement(case, "error", {"message": message, "type": "ERROR"}).text = text
    elif finding.status in _SKIPPED:
        reason = _skip_reason(finding, control)
        ET.SubElement(case, "skipped", {"message": _clean(reason), "type": finding.status.value}).text = text
    else:
        ET.SubElement(case, "system-out").text = text
    return case


def _unreachable_case(target: TargetSummary) -> ET.Element:
    """The error testcase standing for a target that could not be read and produced no findings."""
    attributes = {"name": "collection", "classname": _clean(f"{target.id}.target"), "time": _seconds(target.duration)}
    case = ET.Element("testcase", attributes)
    error = target.error or "target could not be read"
    text = f"Target {target.id} ({target.kind}, {target.uri}) could not be read: {error}"
    ET.SubElement(case, "error", {"message": _clean(error), "type": "UNREACHABLE"}).text = _clean(text)
    return case


def _skip_reason(finding: Finding, control: Control | None) -> str:
    """Why a testcase is skipped: the waiver for WAIVED, the tailoring reason or message for N/A."""
    if finding.status is Status.WAIVED:
        waiver = finding.waiver
        if waiver is None:
            return f"waived: {finding.message}"
        ticket = f", ticket {waiver.ticket}" if waiver.ticket else ""
        return f"waived until {waiver.expires} by {waiver.owner}{ticket}: {waiver.justification}"
    if control is not None and control.disabled:
        return f"not applicable (tailored out): {control.disabled}"
    return f"not applicable: {finding.message}"


def _details(finding: Finding, control: Control | None) -> str:
    """The element text GitLab shows: message, observed vs expected, remediation, references."""
    resource = finding.resource
    lines: list[str] = []
    if control is not None:
        lines.append(f"Control: {control.id} {control.title} (severity {control.severity.value})")
    else:
        lines.append(f"Control: {finding.control_id}")
    lines.append(f"Resource: {resource.kind} {resource.name} ({resource.uri})")
    if resource.location is not None:
        lines.append(f"Source: {resource.location.path}:{resource.location.line}")
    lines.append(f"Status: {finding.status.value}")
    lines.append(f"Message: {finding.message}")
    if finding.observed is not None:
        lines.append(f"Observed: {_json(finding.observed)}")
    if finding.expected is not None:
        lines.append(f"Expected: {_json(finding.expected)}")
    if finding.waiver is not None:
        lines.append(
            f"Waiver: {finding.waiver.justification} (owner {finding.waiver.owner}, expires {finding.waiver.expires})"
        )
    if control is not None and control.remediation and finding.status is not Status.PASS:
        lines.append(f"Remediation: {control.remediation}")
    if control is not None and control.references:
        lines.append("References: " + "; ".join(f"{k} {', '.join(v)}" for k, v in control.references.items()))
    if finding.baseline_state is not None:
        previous = f" (previously {finding.previous_status.value})" if finding.previous_status is not None else ""
        lines.append(f"Compared with previous run: {finding.baseline_state.value}{previous}")
    lines.append(f"Fingerprint: {finding.fingerprint}")
    return _clean("\n".join(lines))


def _json(value: Any) -> str:
    """Render a JSON value on one line (strings as JSON strings, so quotes show what was seen)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _clean(text: str) -> str:
    """Replace characters XML 1.0 cannot represent (control characters, lone surrogates) with `\\xNN`."""
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _seconds(value: float) -> str:
    """A duration in the XSD's SUREFIRE_TIME form: digits with at most three decimals."""
    return f"{max(0.0, value):.3f}"


def _scan_seconds(result: ScanResult) -> float:
    """Wall time of the scan from its start/finish times; the sum of target durations if unparsable."""
    try:
        return (datetime.fromisoformat(result.finished_at) - datetime.fromisoformat(result.started_at)).total_seconds()
    except (TypeError, ValueError):
        return sum(t.duration for t in result.targets)
