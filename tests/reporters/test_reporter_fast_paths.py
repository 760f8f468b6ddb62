"""The reporters' fast paths and caches give what the plain code they replace gives.

Each reporter builds the parts of a report that depend only on a control or only on a resource
once, and takes shortcuts decided in C for the usual text (ASCII, printable, nothing to escape).
The references below are the code as it was before (commit 39f39ea), written out here: every
finding of the shared and golden cases, and a sweep of hostile strings, must come out the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from reporters import junit, sarif, wazuh
from scanner import jsonout, resultio
from scanner.interface import ReportOptions
from scanner.model import Finding, ScanResult, Status
from tests.reporters import golden_cases, shared_cases

_RESULTS: list[tuple[str, ScanResult]] = [*shared_cases.cases(), *golden_cases.cases()]

_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


def _strings() -> list[str]:
    """Every character of the first planes' interesting ranges alone and among others, and mixtures."""
    singles = [chr(c) for c in [*range(0x00, 0x300), *range(0xD7F0, 0xE010), *range(0xFFF0, 0x10000)]]
    singles += ["\U0001f680", "\U0010ffff", "\u2028", "\u2029", "\u00a0", "\u200b"]
    mixed = [f"a{c}b" for c in singles] + [c * 3 for c in singles]
    hostile = [
        "",
        "plain",
        "a<b>&c\"d'e",
        "&amp;&lt;&gt;&quot;",
        "tab\tnew\nline\rcr",
        "\x00\x01\x7f\x80\x9f",
        'Zürich <team> & "ops" \x07bell \u2028sep',
        "\ud800\udc00 two lone halves",
        "x" * 5_000 + "<",
    ]
    return singles + mixed + hostile


def _clean(text: str) -> str:
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


_ONE_LINE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


class _Text(str):
    """A str subclass (JSON writes it as a string)."""


_VALUES: list[Any] = [
    "s",
    "",
    'q"\\\n\x01ü\u2028\ud800',
    _Text("sub"),
    [],
    ["a", "b"],
    ["a", 1],
    [1, "a"],
    ["a", ["b"]],
    ["a", None, True],
    [_Text("x"), "y"],
    ("a", "b"),
    {"b": 1, "a": ["x", {"y": 2}]},
    2**70,
    [2**70, "a"],
    1.5,
    float("nan"),
    True,
    None,
    {1: "int key"},
    object,
]


@pytest.mark.parametrize("value", _VALUES, ids=repr)
def test_junit_json_is_the_encoders(value: Any) -> None:
    assert junit._json(value) == _ONE_LINE.encode(value)


def test_junit_text_and_attribute_escaping_are_the_slow_ones() -> None:
    for text in _strings():
        assert junit._text(text) == escape(_clean(text)), repr(text)
        assert junit._attribute(text) == escape(_clean(text), _ATTRIBUTE_ENTITIES), repr(text)
        assert junit._clean(text) == _clean(text), repr(text)


def _reference_details(finding: Finding, facts: junit._ControlFacts) -> str:
    """The testcase text as `junit._details` wrote it (39f39ea)."""
    resource = finding.resource
    lines = [facts.heading, _clean(f"Resource: {resource.kind} {resource.name} ({resource.uri})")]
    if resource.location is not None:
        lines.append(_clean(f"Source: {resource.location.path}:{resource.location.line}"))
    lines.append(f"Status: {finding.status.value}")
    lines.append(_clean(f"Message: {finding.message}"))
    if finding.observed is not None:
        lines.append(_clean(f"Observed: {_ONE_LINE.encode(finding.observed)}"))
    if finding.expected is not None:
        lines.append(_clean(f"Expected: {_ONE_LINE.encode(finding.expected)}"))
    if finding.waiver is not None:
        waiver = finding.waiver
        lines.append(_clean(f"Waiver: {waiver.justification} (owner {waiver.owner}, expires {waiver.expires})"))
    if facts.remediation is not None and finding.status is not Status.PASS:
        lines.append(facts.remediation)
    if facts.references is not None:
        lines.append(facts.references)
    if finding.baseline_state is not None:
        previous = f" (previously {finding.previous_status.value})" if finding.previous_status is not None else ""
        lines.append(f"Compared with previous run: {finding.baseline_state.value}{previous}")
    lines.append(f"Fingerprint: {finding.fingerprint}")
    return "\n".join(lines)


def _reference_case(finding: Finding, name: str, cls: str, facts: junit._ControlFacts) -> str:
    """A testcase as `junit._case` wrote it (39f39ea); `cls` cleaned, not escaped."""

    def attrib(text: str) -> str:
        return escape(text, _ATTRIBUTE_ENTITIES)

    text = escape(_reference_details(finding, facts))
    status = finding.status
    if status is Status.FAIL:
        child = f'<failure message="{attrib(_clean(finding.message))}" type="{attrib(facts.severity)}">'
        close = "</failure>"
    elif status is Status.ERROR:
        child = f'<error message="{attrib(_clean(finding.message))}" type="ERROR">'
        close = "</error>"
    elif status in {Status.NOT_APPLICABLE, Status.WAIVED}:
        reason = junit._skip_reason(finding, facts.control, facts.tailored)
        child = f'<skipped message="{attrib(_clean(reason))}" type="{status.value}">'
        close = "</skipped>"
    else:
        child = "<system-out>"
        close = "</system-out>"
    return (
        f'<testcase name="{attrib(_clean(name))}" classname="{attrib(cls)}" time="0">'
        f"\n      {child}{text}{close}\n    </testcase>"
    )


@pytest.mark.parametrize(("case", "result"), _RESULTS, ids=[name for name, _ in _RESULTS])
def test_junit_testcases_are_the_reference_ones(case: str, result: ScanResult) -> None:
    context = junit._Context(result)
    findings = list(result.findings)
    classes = [junit.classname(f) for f in findings]
    places: dict[int, str] = {}
    for finding, cls, name in zip(findings, classes, junit._case_names(findings, classes), strict=True):
        facts = context.facts(finding.control_id)
        place = places.setdefault(id(finding.resource), junit._place(finding.resource))  # shared, as _suite does
        fast = junit._case(finding, name, junit._attribute(cls), facts, place, context.texts)
        assert fast == "\n    " + _reference_case(finding, name, _clean(cls), facts)


def _outcome(make: Callable[[Any], bytes], args: Any) -> bytes | str:
    """What `make(args)` returns, or the error it raises (a lone surrogate cannot be encoded in UTF-8)."""
    try:
        return make(args)
    except UnicodeEncodeError as error:
        return f"UnicodeEncodeError: {error.reason}"


_COMPACT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


@pytest.mark.parametrize("value", _VALUES, ids=repr)
def test_wazuh_text_is_the_encoders(value: Any) -> None:
    expected = value if isinstance(value, str) else _COMPACT.encode(value)
    assert wazuh._text(value) == expected


@pytest.mark.parametrize("changes_only", [False, True])
@pytest.mark.parametrize(("case", "result"), _RESULTS, ids=[name for name, _ in _RESULTS])
def test_wazuh_finding_lines_are_the_events_encoded_whole(case: str, result: ScanResult, changes_only: bool) -> None:
    # `_finding_line` assembles a line from parts cached per control and per resource; `_encode(_finding())`
    # builds the event and encodes it whole, with nothing shared (as before the caches).
    lines = 0
    for item in wazuh._events(result, ReportOptions(changes_only=changes_only)):
        if isinstance(item, dict):
            continue
        fresh = _outcome(lambda args: wazuh._encode(wazuh._finding(*args[:-1])), item)
        assert _outcome(lambda args: wazuh._finding_line(*args), item) == fresh
        lines += 1
    assert lines > 0


@pytest.mark.parametrize("changes_only", [False, True])
@pytest.mark.parametrize(("case", "result"), _RESULTS, ids=[name for name, _ in _RESULTS])
def test_wazuh_report_is_its_events_encoded_one_by_one(case: str, result: ScanResult, changes_only: bool) -> None:
    # `chunks` labels a target's findings without the classifier when nothing was compared, and
    # assembles each line from cached parts; the report must be the events built whole, in order.
    options = ReportOptions(changes_only=changes_only)
    events = list(wazuh.iter_events(result, options))
    try:
        expected = b"".join(wazuh._encode(event) + b"\n" for event in events)
    except UnicodeEncodeError:  # a lone surrogate: the report cannot be written either
        with pytest.raises(UnicodeEncodeError):
            b"".join(wazuh.WazuhReporter().chunks(result, options)).decode()
        return
    assert b"".join(wazuh.WazuhReporter().chunks(result, options)) == expected
    ids = {t.id for t in result.targets} | {f.resource.target for f in (*result.findings, *result.absent)}
    assert sum(e["sovscan"]["event"] == "summary" for e in events) == len(ids)


@pytest.mark.parametrize(("case", "result"), _RESULTS, ids=[name for name, _ in _RESULTS])
def test_native_finding_dicts_are_finding_to_dict(case: str, result: ScanResult) -> None:
    # The resource part is built once per Resource object: equal copies and other findings of it agree.
    for findings in (result.findings, result.absent):
        assert list(resultio._finding_dicts(findings)) == [resultio.finding_to_dict(f) for f in findings]


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


_BATCHES: list[list[Any]] = [
    [{}],
    [[], {}, None, 1, "s"],
    [{"a": 2**70}, {"b": 1}],  # orjson refuses the first: the batch is encoded item by item
    [{1: "int key", "a": [1.5, float("nan")]}],
    [{"x": 'q"\\\n\x01ü\u2028'}, {"y": {"z": [{"w": []}]}}],
    [_deep(254), {"a": 1}],  # deep enough that the list (one level more) is too deep for orjson
    [object, {"k": object}],
]


@pytest.mark.parametrize("batch", _BATCHES, ids=range(len(_BATCHES)))
def test_list_items_are_the_items_indented_one_by_one(batch: list[Any]) -> None:
    assert jsonout._list_items(batch) == b",".join(b"\n    " + jsonout.indented_item(item, 2) for item in batch)


def test_list_items_of_the_cases_findings() -> None:
    for _, result in _RESULTS:
        batch = [resultio.finding_to_dict(f) for f in result.findings]
        expected = _outcome(lambda items: b",".join(b"\n    " + jsonout.indented_item(d, 2) for d in items), batch)
        assert _outcome(jsonout._list_items, batch) == expected  # the same text, or the same error


def test_stream_object_takes_any_iterable() -> None:
    items = [{"a": i} for i in range(600)]
    expected = jsonout.dumps({"h": 1, "k": items, "t": 2}, indent=True) + b"\n"
    assert b"".join(jsonout.stream_object({"h": 1}, "k", items, {"t": 2})) == expected  # type: ignore[arg-type]
    assert b"".join(jsonout.stream_object({"h": 1}, "k", iter(items), {"t": 2})) == expected
    assert b"".join(jsonout.stream_object({}, "k", iter([]), {})) == jsonout.dumps({"k": []}, indent=True) + b"\n"


_SORTED = json.JSONEncoder(sort_keys=True, default=str)


@pytest.mark.parametrize("value", [*_VALUES, ["a" * 600], ["é" * 300, "b"]], ids=repr)
def test_sarif_short_is_the_encoders(value: Any) -> None:
    text = value if isinstance(value, str) else _SORTED.encode(value)
    expected = text if len(text) <= sarif.MAX_MESSAGE_VALUE else text[: sarif.MAX_MESSAGE_VALUE] + "… (truncated)"
    assert sarif._short(value) == expected


@pytest.mark.parametrize(("case", "result"), _RESULTS, ids=[name for name, _ in _RESULTS])
def test_sarif_results_of_shared_resources_are_built_afresh_equal(
    case: str, result: ScanResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One builder (resource parts cached) gives every result what a new builder per result gives.
    monkeypatch.chdir(tmp_path)
    root = sarif._root(ReportOptions())
    _, index = sarif._rules(result, root)
    shared = sarif._ResultBuilder(result, index, root)
    for absent, findings in ((False, result.findings), (True, result.absent)):
        for finding in findings:
            assert shared.entry(finding, absent) == sarif._ResultBuilder(result, index, root).entry(finding, absent)
