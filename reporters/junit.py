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

Written as text, one testcase at a time, exactly as the standard library's ElementTree (indented
with two spaces) would write the same tree, without holding the tree: no runtime dependency, and
only the attributes the XSD allows are written. Characters XML 1.0 cannot carry are replaced by
`\\xNN`.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from scanner.frameworks import Family, FrameworkResult, RequirementResult, RequirementStatus
from scanner.interface import Reporter, ReportOptions
from scanner.model import UNKNOWN_CONTROL_SEVERITY, Control, Finding, Resource, ScanResult, Status, TargetSummary

SUITES_NAME = "sovscan"
"""`testsuites@name`."""

_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class JunitReporter(Reporter):
    """Render a scan as JUnit XML for CI test reporters (GitLab, Jenkins)."""

    name = "junit"
    description = "JUnit XML: one testcase per control and resource, one testsuite per target"
    extension = ".xml"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Return the JUnit XML document (every status is a testcase; options are not used)."""
        return "".join(_document(result))

    def chunks(self, result: ScanResult, options: ReportOptions) -> Iterator[bytes]:
        """The same text, written a few hundred testcases at a time (no tree of the document is held)."""
        batch: list[str] = []
        for piece in _document(result):
            batch.append(piece)
            if len(batch) >= 512:
                yield "".join(batch).encode()
                batch.clear()
        if batch:
            yield "".join(batch).encode()


# The document is written as `xml.etree.ElementTree.indent(root, space="  ")` followed by
# `ElementTree.tostring(root, encoding="unicode")` would write it (the implementation before this
# one built that tree: 5.4 GB for a 100k-object scan); tests/reporters/test_reporter_golden.py
# holds the digests of its output. Attributes are in insertion order, escaped as ElementTree
# escapes them; an element without text or children is written `<tag ... />`.

_INDENT = ("\n", "\n  ", "\n    ", "\n      ")
"""The text before an element at depth 0..3 (ElementTree.indent with two spaces)."""


_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}
"""What ElementTree escapes in attribute values besides `&<>`."""


def _attrib(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it (`&<>"`, CR, LF and TAB as references)."""
    return escape(text, _ATTRIBUTE_ENTITIES)


def _cdata(text: str) -> str:
    """Character data escaped as ElementTree escapes it (`&<>`)."""
    return escape(text)


# Cleaning and escaping replace each character on its own, so a text cleaned and escaped in pieces
# is the text cleaned and escaped whole: the parts shared by many testcases are done once.


def _text(text: str) -> str:
    """`_cdata(_clean(text))`, returning `text` itself in the usual case (decided in C)."""
    if not (text.isascii() and text.isprintable()):
        text = _INVALID_XML.sub(_hex, text)
    if "&" in text or "<" in text or ">" in text:
        return escape(text)
    return text


def _attribute(text: str) -> str:
    """`_attrib(_clean(text))`, returning `text` itself in the usual case (decided in C)."""
    if text.isascii() and text.isprintable():  # no control character, so no CR, LF or TAB either
        if "&" in text or "<" in text or ">" in text or '"' in text:
            return escape(text, _ATTRIBUTE_ENTITIES)
        return text
    return escape(_INVALID_XML.sub(_hex, text), _ATTRIBUTE_ENTITIES)


def _open(tag: str, attributes: Sequence[tuple[str, str]]) -> str:
    """`<tag a="v" ...` (not closed), values already cleaned of characters XML cannot carry."""
    return "<" + tag + "".join(f' {name}="{_attrib(value)}"' for name, value in attributes)


def _leaf(tag: str, attributes: Sequence[tuple[str, str]], text: str = "") -> str:
    """An element without children: with its text, or `<tag ... />` when it has none."""
    if not text:
        return _open(tag, attributes) + " />"
    return _open(tag, attributes) + ">" + _cdata(text) + "</" + tag + ">"


def _parent(tag: str, attributes: Sequence[tuple[str, str]], children: Sequence[str], depth: int) -> str:
    """An element at `depth` with the given serialised children, indented below it."""
    if not children:
        return _open(tag, attributes) + " />"
    inner = _INDENT[depth + 1]
    return _open(tag, attributes) + ">" + inner + inner.join(children) + _INDENT[depth] + "</" + tag + ">"


_COUNTS = ("tests", "failures", "errors", "skipped")


def _document(result: ScanResult) -> Iterator[str]:
    """The whole document in pieces, one testcase at a time."""
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_target[finding.resource.target].append(finding)
    summaries = {t.id: t for t in result.targets}
    order = [t.id for t in result.targets] + sorted(set(by_target) - set(summaries))
    targets = [summaries.get(i) or TargetSummary(id=i, kind="unknown", uri="") for i in order]
    target_counts = [_finding_counts(t, by_target.get(t.id, [])) for t in targets]
    families = [
        (framework, family, members)
        for framework in result.frameworks
        for family in framework.families
        for members in [[r for r in framework.requirements if r.family == family.id]]
        if members
    ]
    family_suites = [_requirement_suite(framework, family, members) for framework, family, members in families]

    totals = {"tests": 0, "failures": 0, "errors": 0}
    for counts in [*target_counts, *(counts for counts, _ in family_suites)]:
        for key in totals:
            totals[key] += counts[key]
    root = [("name", SUITES_NAME), *((k, str(v)) for k, v in totals.items())]
    root.append(("time", _seconds(_scan_seconds(result))))
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    if not targets and not family_suites:
        yield _open("testsuites", root) + " />\n"
        return
    yield _open("testsuites", root) + ">"
    context = _Context(result)
    for target, counts in zip(targets, target_counts, strict=True):
        yield _INDENT[1]
        yield from _suite(target, by_target.get(target.id, []), counts, context, result.run_id)
    for _, text in family_suites:
        yield _INDENT[1] + text
    yield _INDENT[0] + "</testsuites>\n"


def _finding_counts(target: TargetSummary, findings: Sequence[Finding]) -> dict[str, int]:
    """A target suite's tests/failures/errors/skipped counts."""
    failures = errors = skipped = 0
    for finding in findings:
        status = finding.status
        if status is Status.FAIL:
            failures += 1
        elif status is Status.ERROR:
            errors += 1
        elif status is Status.NOT_APPLICABLE or status is Status.WAIVED:  # skipped (tested without hashing an enum)
            skipped += 1
    tests = len(findings)
    if target.error is not None and not findings:
        tests, errors = 1, 1
    return {"tests": tests, "failures": failures, "errors": errors, "skipped": skipped}


def _requirement_suite(
    framework: FrameworkResult, family: Family, members: Sequence[RequirementResult]
) -> tuple[dict[str, int], str]:
    """With `--framework`: one testsuite per requirement family (a BSI module, a NIS2 article point),
    one testcase per requirement. Violated is a failure, not verified an error; waived, manual and
    not covered are skipped with the reason, so a CI dashboard shows the auditor's view beside the
    per-target suites. Returns its counts and its text."""
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    cases: list[str] = []
    for requirement in members:
        attributes = [
            ("name", _clean(f"{requirement.id} {requirement.title}")),
            ("classname", _clean(f"{framework.name}.{family.id}")),
            ("time", "0"),
        ]
        counts["tests"] += 1
        evaluated = ", ".join(requirement.controls) or "none"
        text = _clean(f"status: {requirement.status.value}\ncontrols evaluated: {evaluated}")
        child: str | None = None
        if requirement.status is RequirementStatus.VIOLATED:
            counts["failures"] += 1
            message = f"violated: {', '.join(requirement.failed)} failed"
            child = _leaf("failure", [("message", _clean(message)), ("type", "violated")], text)
        elif requirement.status is RequirementStatus.NOT_VERIFIED:
            counts["errors"] += 1
            message = f"not verified: {', '.join(requirement.errors)} could not be evaluated"
            child = _leaf("error", [("message", _clean(message)), ("type", "not verified")], text)
        elif requirement.status is not RequirementStatus.MET:
            counts["skipped"] += 1
            reason = requirement.manual if requirement.status is RequirementStatus.MANUAL else requirement.status.value
            attributes_ = [("message", _clean(reason or requirement.status.value)), ("type", requirement.status.value)]
            child = _leaf("skipped", attributes_, text)
        cases.append(_parent("testcase", attributes, [child] if child is not None else [], 2))
    suite = [("name", _clean(f"{framework.name} {family.id} {family.title}"))]
    suite += [(k, str(v)) for k, v in counts.items()]
    suite.append(("time", "0"))
    return counts, _parent("testsuite", suite, cases, 1)


class _Context:
    """What every testcase of one control shares, built once per control rather than once per finding."""

    def __init__(self, result: ScanResult) -> None:
        self._controls = result.controls
        self._facts: dict[str, _ControlFacts] = {}
        self.texts = _Texts()
        """Escaped messages and values, by their text (many findings share them)."""

    def facts(self, control_id: str) -> _ControlFacts:
        """The shared facts of a control (of one the result does not describe, too)."""
        facts = self._facts.get(control_id)
        if facts is None:
            facts = self._facts[control_id] = _ControlFacts(control_id, self._controls.get(control_id))
        return facts


class _ControlFacts:
    """The lines and attributes of a control's testcases that do not depend on the finding (lines cleaned)."""

    __slots__ = (
        "control",
        "escaped_heading",
        "escaped_references",
        "escaped_remediation",
        "heading",
        "passing_tail",
        "references",
        "remediation",
        "severity",
        "tail",
        "tailored",
        "type",
    )

    def __init__(self, control_id: str, control: Control | None) -> None:
        self.control = control
        if control is not None:
            self.heading = _clean(f"Control: {control.id} {control.title} (severity {control.severity.value})")
            self.severity = control.severity.value
            self.remediation = _clean(f"Remediation: {control.remediation}") if control.remediation else None
            self.references = (
                _clean("References: " + "; ".join(f"{k} {', '.join(v)}" for k, v in control.references.items()))
                if control.references
                else None
            )
            self.tailored = f"not applicable (tailored out): {control.disabled}" if control.disabled else None
        else:
            self.heading = _clean(f"Control: {control_id}")
            self.severity = UNKNOWN_CONTROL_SEVERITY.value
            self.remediation = self.references = self.tailored = None
        self.type = _attrib(self.severity)
        self.escaped_heading = _cdata(self.heading)
        self.escaped_remediation = None if self.remediation is None else _cdata(self.remediation)
        self.escaped_references = None if self.references is None else _cdata(self.references)
        references = "" if self.escaped_references is None else "\n" + self.escaped_references
        self.passing_tail = references
        """What a passing testcase's text ends with before the comparison: the references (no remediation)."""
        remediation = "" if self.escaped_remediation is None else "\n" + self.escaped_remediation
        self.tail = remediation + references
        """The same for any other status: the remediation, then the references."""


def _suite(
    target: TargetSummary, findings: Sequence[Finding], counts: Mapping[str, int], context: _Context, run_id: str
) -> Iterator[str]:
    """One testsuite: the target's properties and one testcase per finding, in pieces."""
    attributes = [("name", _clean(target.id)), *((k, str(counts[k])) for k in _COUNTS)]
    attributes.append(("time", _seconds(target.duration)))
    if target.collected_at:
        attributes.append(("timestamp", _clean(target.collected_at)))
    yield _open("testsuite", attributes) + ">" + _INDENT[2] + _properties(target, run_id)
    by_kind: dict[str, str] = {}  # the suite's findings share their target: classname depends on the kind
    classes = [by_kind.get(f.resource.kind) or by_kind.setdefault(f.resource.kind, classname(f)) for f in findings]
    escaped = {cls: _attribute(cls) for cls in by_kind.values()}
    facts_of = context.facts
    texts = context.texts
    places: dict[int, tuple[Resource, str]] = {}  # by identity: findings of one resource mostly share the object
    for finding, cls, name in zip(findings, classes, _case_names(findings, classes), strict=True):
        resource = finding.resource
        place = places.get(id(resource))
        if place is None or place[0] is not resource:
            place = places[id(resource)] = (resource, _place(resource))
        yield _case(finding, name, escaped[cls], facts_of(finding.control_id), place[1], texts)
    if target.error is not None and not findings:
        yield _INDENT[2] + _unreachable_case(target)
    yield _INDENT[1] + "</testsuite>"


def _properties(target: TargetSummary, run_id: str = "") -> str:
    """The target facts: kind, URI, collection time, errors, labels, and the scan's run id."""
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
    children = [_leaf("property", [("name", _clean(name)), ("value", _clean(value))]) for name, value in entries]
    return _parent("properties", [], children, 2)


def classname(finding: Finding) -> str:
    """`testcase@classname`: target id and resource kind, e.g. `pg-prod.role`."""
    return f"{finding.resource.target}.{finding.resource.kind}"


def _case_names(findings: Sequence[Finding], classes: Sequence[str]) -> Iterator[str]:
    """Testcase names, unique per classname (`classes`, one per finding): `<control> <resource name>`,
    else the URI, else numbered."""
    names = [f"{finding.control_id} {finding.resource.name}" for finding in findings]
    if len(set(zip(classes, names, strict=True))) == len(names):  # the usual case: every short name is unique
        yield from names
        return
    short_count = Counter(zip(classes, names, strict=True))

    used: set[tuple[str, str]] = set()
    for finding, cls, name in zip(findings, classes, names, strict=True):
        candidate = name if short_count[(cls, name)] == 1 else f"{finding.control_id} {finding.resource.uri}"
        unique, number = candidate, 2
        while (cls, unique) in used:
            unique = f"{candidate} [{number}]"
            number += 1
        used.add((cls, unique))
        yield unique


def _case(finding: Finding, name: str, cls: str, facts: _ControlFacts, place: str, texts: _Texts) -> str:
    """One testcase, with the indentation before it, and its failure/error/skipped child (system-out for
    PASS); `cls` is its escaped classname, `place` the escaped lines of its resource (`_place`).

    The child's text is what GitLab shows: the control, the resource, status, message, observed vs
    expected, waiver, remediation (unless PASS), references, the comparison and the fingerprint, one
    per line. Written as `_parent("testcase", ...)` around `_leaf(child, ...)` would write it, from
    parts cleaned and escaped apart (those of the control and the resource once, repeated values
    once per report). The text is never empty (it names the control), so the child is never written
    `<tag ... />`."""
    status = finding.status
    message = finding.message
    if message.isascii() and message.isprintable() and not ("&" in message or "<" in message or ">" in message):
        body = message  # the usual case, decided in C: nothing to clean or escape as character data
        attribute = _attribute(message) if '"' in message else message
    else:
        body = _text(message)
        attribute = _attribute(message)
    if status is Status.PASS:
        child = "<system-out>"
        close = "</system-out>"
        tail = facts.passing_tail
    elif status is Status.FAIL:
        child = f'<failure message="{attribute}" type="{facts.type}">'
        close = "</failure>"
        tail = facts.tail
    elif status is Status.ERROR:
        child = f'<error message="{attribute}" type="ERROR">'
        close = "</error>"
        tail = facts.tail
    else:  # NOT_APPLICABLE or WAIVED
        reason = _skip_reason(finding, facts.control, facts.tailored)
        child = f'<skipped message="{_attribute(reason)}" type="{status._value_}">'
        close = "</skipped>"
        tail = facts.tail
    observed = finding.observed
    expected = finding.expected
    waiver = finding.waiver
    state = finding.baseline_state
    lines = _STATUS_LINES[status._value_]
    if observed is not None:
        body += "\nObserved: " + texts.value(observed)
    if expected is not None:
        body += "\nExpected: " + texts.value(expected)
    if waiver is not None:
        body += "\n" + _text(f"Waiver: {waiver.justification} (owner {waiver.owner}, expires {waiver.expires})")
    if state is not None:
        previous = f" (previously {finding.previous_status.value})" if finding.previous_status is not None else ""
        tail += f"\nCompared with previous run: {state.value}{previous}"
    return (
        f'{_CASE_START}{_attribute(name)}" classname="{cls}" time="0">{_CHILD_INDENT}{child}{facts.escaped_heading}'
        f"\n{place}{lines}{body}{tail}\nFingerprint: {finding.fingerprint}{close}{_CASE_END}"
    )


_STATUS_LINES = {status.value: f"\nStatus: {status.value}\nMessage: " for status in Status}
"""The text between a testcase's resource lines and its message, by status value."""

_CHILD_INDENT = _INDENT[3]


class _Texts:
    """Observed and expected values as a testcase shows them, the strings among them rendered once per report."""

    __slots__ = ("_strings",)

    LIMIT = 4096
    """Distinct strings kept (an expected value is usually one of a control's few; observed ones vary)."""

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}

    def value(self, value: Any) -> str:
        """`_text(_json(value))`."""
        if type(value) is not str:
            return _text(_json(value))
        rendered = self._strings.get(value)
        if rendered is None:
            rendered = _text(_STRING(value))
            if len(self._strings) < self.LIMIT:
                self._strings[value] = rendered
        return rendered


_CASE_START = _INDENT[2] + '<testcase name="'
_CASE_END = _INDENT[2] + "</testcase>"


def _place(resource: Resource) -> str:
    """The escaped lines of a testcase's text that depend only on its resource (its name, URI and file)."""
    lines = _text(f"Resource: {resource.kind} {resource.name} ({resource.uri})")
    if resource.location is not None:
        lines += "\n" + _text(f"Source: {resource.location.path}:{resource.location.line}")
    return lines


def _unreachable_case(target: TargetSummary) -> str:
    """The error testcase standing for a target that could not be read and produced no findings."""
    attributes = [
        ("name", "collection"),
        ("classname", _clean(f"{target.id}.target")),
        ("time", _seconds(target.duration)),
    ]
    error = target.error or "target could not be read"
    text = f"Target {target.id} ({target.kind}, {target.uri}) could not be read: {error}"
    child = _leaf("error", [("message", _clean(error)), ("type", "UNREACHABLE")], _clean(text))
    return _parent("testcase", attributes, [child], 2)


def _skip_reason(finding: Finding, control: Control | None, tailored: str | None = None) -> str:
    """Why a testcase is skipped: the waiver for WAIVED, the tailoring reason (`tailored`) or message for N/A."""
    if finding.status is Status.WAIVED:
        waiver = finding.waiver
        if waiver is None:
            return f"waived: {finding.message}"
        ticket = f", ticket {waiver.ticket}" if waiver.ticket else ""
        return f"waived until {waiver.expires} by {waiver.owner}{ticket}: {waiver.justification}"
    if tailored is not None:
        return tailored
    if control is not None and control.disabled:
        return f"not applicable (tailored out): {control.disabled}"
    return f"not applicable: {finding.message}"


_ONE_LINE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)
"""`json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)`, built once (it is called per finding)."""


_STRING = json.encoder.encode_basestring
"""How `_ONE_LINE` writes a string (the C function it calls)."""


def _json(value: Any) -> str:
    """Render a JSON value on one line (strings as JSON strings, so quotes show what was seen)."""
    if type(value) is str:
        return _STRING(value)
    if type(value) is list:  # the usual observed value: a list of strings, written as _ONE_LINE writes it
        try:
            return "[" + ", ".join(map(_STRING, value)) + "]"
        except TypeError:  # an item that is not a string
            pass
    return _ONE_LINE.encode(value)


def _clean(text: str) -> str:
    """Replace characters XML 1.0 cannot represent (control characters, lone surrogates) with `\\xNN`."""
    if text.isascii() and text.isprintable():  # the usual case, decided in C
        return text
    return _INVALID_XML.sub(_hex, text)


def _hex(match: re.Match[str]) -> str:
    """`\\xNN` for a character XML 1.0 cannot carry."""
    return f"\\x{ord(match.group()):02x}"


def _seconds(value: float) -> str:
    """A duration in the XSD's SUREFIRE_TIME form: digits with at most three decimals."""
    return f"{max(0.0, value):.3f}"


def _scan_seconds(result: ScanResult) -> float:
    """Wall time of the scan from its start/finish times; the sum of target durations if unparsable."""
    try:
        return (datetime.fromisoformat(result.finished_at) - datetime.fromisoformat(result.started_at)).total_seconds()
    except (TypeError, ValueError):
        return sum(t.duration for t in result.targets)
