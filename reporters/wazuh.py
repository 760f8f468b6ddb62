"""Wazuh reporter: NDJSON events for a Wazuh agent's `localfile` (`log_format json`).

One JSON object per line, shaped for the Wazuh 4.x JSON decoder and the rules in
examples/wazuh/sovscan_rules.xml:

- Every event is `{"integration": "sovscan", "sovscan": {...}}`: one top-level key besides the
  marker, so nothing lands on the static fields Wazuh maps top-level keys to (`status`, `id`,
  `url`, `data`, ...).
- `sovscan.event` is `finding` (one per finding) or `summary` (one per target per scan).
- Only scalars, objects and arrays of strings: the decoder drops arrays of objects. Framework
  references are `sovscan.references.<framework>: ["5.3", ...]`; observed/expected values are
  rendered as text (compact JSON for non-strings) so an arbitrary value cannot explode into
  hundreds of fields (the decoder keeps at most 256). Object keys are made safe for the
  decoder's dotted field names (`cis-kubernetes-1.12` becomes `cis-kubernetes-1_12`).
- No line exceeds MAX_EVENT_BYTES (Wazuh's limit is 64 KiB including a header): long values are
  cut, end with a `…[truncated N bytes]` marker, and are listed in `sovscan.truncated`.

Change tracking (`sovscan.change`) uses `scanner.compare.changes`, the definition the gate and
the console share: `new` (a FAIL not in the previous run), `regressed` (FAIL now, PASS, WAIVED,
NOT_APPLICABLE or ERROR before), `resolved` (FAIL before, PASS or NOT_APPLICABLE now, or no
longer reported while its control was verified), `lost` (ERROR now on a control verified on that
target before: coverage was lost). Other findings are `new` (first seen, not failing),
`unchanged`, `changed` (same finding, different status or observed value), `removed` (no longer
reported, did not fail), `unverified` (no longer reported because its control is ERROR now), or
`none` without a comparison. Findings that no longer occur are events with `status: ABSENT`.

`ReportOptions.changes_only` emits only new failures, regressions, resolutions and lost
coverage, plus the summaries (`mode: changes`). Without a comparison it emits everything and
every summary says so (`mode: changes-unavailable`). Without `changes_only` everything is
emitted (`mode: full`).
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from scanner import jsonout
from scanner.compare import Changes, changes, is_compared
from scanner.interface import Reporter, ReporterOption, ReportOptions
from scanner.model import (
    UNKNOWN_CONTROL_SEVERITY,
    BaselineState,
    Control,
    Finding,
    Resource,
    ScanResult,
    Severity,
    Status,
    TargetSummary,
)

INTEGRATION = "sovscan"
"""Value of the top-level `integration` key and name of the key the event is nested under."""

MAX_EVENT_BYTES = 60_000
"""Largest event line in UTF-8 bytes: below Wazuh's 65,536 (OS_MAXSTR) with room for its header."""

MAX_VALUE_BYTES = 8_192
"""Largest single text value before truncation (observed, expected, message, remediation, ...)."""

MODE_FULL = "full"
MODE_CHANGES = "changes"
MODE_CHANGES_UNAVAILABLE = "changes-unavailable"

ABSENT_STATUS = "ABSENT"
"""`sovscan.status` of a finding of the previous run that no longer occurs."""

_REPORTED_CHANGES = frozenset({"new", "regressed", "resolved", "lost"})
"""Changes a changes-only report emits (a `new` finding only when it is a new failure)."""
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_-]")


class WazuhReporter(Reporter):
    """Render a scan as NDJSON events for a Wazuh agent (one finding or summary per line)."""

    name = "wazuh"
    description = "NDJSON events for Wazuh (log_format json), with change tracking"
    extension = ".ndjson"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Return the events, one JSON object per line, each line ending with a newline."""
        return b"".join(self.chunks(result, options)).decode()

    def chunks(self, result: ScanResult, options: ReportOptions) -> Iterator[bytes]:
        """The same lines, encoded in batches as they are produced."""
        batch: list[bytes] = []
        shared = _Shared()
        controls = result.controls
        for summary, target, labelled, scan, mode in _groups(result, options):
            batch.append(_encode(summary))
            for finding, label, absent in labelled:
                control = controls.get(finding.control_id)
                batch.append(_finding_line(finding, control, target, scan, mode, label, absent, shared))
                if len(batch) >= 512:
                    yield b"\n".join(batch) + b"\n"
                    batch.clear()
        if batch:
            yield b"\n".join(batch) + b"\n"

    @classmethod
    def options(cls) -> Sequence[ReporterOption]:
        """`--wazuh-changes-only`: only what changed since the compared run."""
        return (
            ReporterOption(
                "--wazuh-changes-only",
                "changes_only",
                "Wazuh: only new, resolved and regressed findings (needs a comparison).",
            ),
        )


def build_events(result: ScanResult, options: ReportOptions) -> list[dict[str, Any]]:
    """Build every event for `result`, grouped by target: its summary, then its findings."""
    return list(iter_events(result, options))


def iter_events(result: ScanResult, options: ReportOptions) -> Iterator[dict[str, Any]]:
    """The events of `build_events`, one target's at a time (a report is written as they come)."""
    for item in _events(result, options):
        yield item if isinstance(item, dict) else _finding(*item)


_FindingArgs = tuple[Finding, "Control | None", TargetSummary, Mapping[str, Any], str, str, bool, "_Shared"]
"""What `_finding` (or `_finding_line`) needs for one finding event."""


def _events(result: ScanResult, options: ReportOptions) -> Iterator[dict[str, Any] | _FindingArgs]:
    """Every event in order: summaries built, finding events as the arguments that build them."""
    shared = _Shared()
    for summary, target, labelled, scan, mode in _groups(result, options):
        yield summary
        for f, label, absent in labelled:  # one event at a time: 400k events held at once were gigabytes
            yield (f, result.controls.get(f.control_id), target, scan, mode, label, absent, shared)


_Labelled = Iterable[tuple[Finding, str, bool]]
"""A target's findings to report, in order, each with its change label and whether it is absent."""


def _groups(
    result: ScanResult, options: ReportOptions
) -> Iterator[tuple[dict[str, Any], TargetSummary, _Labelled, Mapping[str, Any], str]]:
    """Each target in order: its summary event, the target, its labelled findings, the scan facts and the mode."""
    compared = is_compared(result)
    if not options.changes_only:
        mode = MODE_FULL
    elif compared:
        mode = MODE_CHANGES
    else:
        mode = MODE_CHANGES_UNAVAILABLE
    scan = _scan_facts(result)
    classify = Classifier(result)

    current: dict[str, list[Finding]] = defaultdict(list)
    gone: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        current[finding.resource.target].append(finding)
    for finding in result.absent:
        gone[finding.resource.target].append(finding)
    summaries = {t.id: t for t in result.targets}
    order = [t.id for t in result.targets] + sorted((set(current) | set(gone)) - set(summaries))

    for target_id in order:
        target = summaries.get(target_id) or TargetSummary(id=target_id, kind="unknown", uri="")
        labelled: _Labelled
        if not classify.compared and not gone[target_id]:  # every label is "none", every finding reported
            labelled = zip(current[target_id], itertools.repeat("none"), itertools.repeat(False))
            emitted = len(current[target_id])
        else:
            listed = [(f, classify(f, absent=False), False) for f in current[target_id]]
            listed += [(f, classify(f, absent=True), True) for f in gone[target_id]]
            if mode == MODE_CHANGES:
                listed = [item for item in listed if classify.reported(item[0], item[1])]
            labelled, emitted = listed, len(listed)
        summary = _summary(target, current[target_id], result, scan, mode, classify, emitted)
        yield summary, target, labelled, scan, mode


class Classifier:
    """Labels each finding with its change since the compared run (`sovscan.change`)."""

    def __init__(self, result: ScanResult) -> None:
        self.compared = is_compared(result)
        self.changes: Changes = changes(result)
        # Without a comparison every label is "none" and nothing is absent: the sets are not needed.
        known = self.changes if self.compared else Changes((), (), (), (), ())
        self._current = {
            "new": {f.fingerprint for f in known.new_failures},
            "regressed": {f.fingerprint for f in known.regressed},
            "lost": {f.fingerprint for f in known.lost},
        }
        self._resolved = {f.fingerprint for f in known.resolved}
        self._unverified = {f.fingerprint for f in known.unverified}

    def __call__(self, finding: Finding, *, absent: bool) -> str:
        """The change label of a finding of this run, or of an absent one of the previous run."""
        if not absent and not self.compared:
            return "none"
        key = finding.fingerprint
        if absent:
            if key in self._unverified:
                return "unverified"
            return "resolved" if key in self._resolved else "removed"
        for label, keys in self._current.items():
            if key in keys:
                return label
        if key in self._resolved:
            return "resolved"
        if finding.baseline_state is BaselineState.UNCHANGED:
            return "unchanged"
        if finding.baseline_state is BaselineState.UPDATED or finding.previous_status is not None:
            return "changed"
        return "new"

    @staticmethod
    def reported(finding: Finding, label: str) -> bool:
        """Whether a finding belongs in a changes-only report."""
        if label == "new":
            return finding.status is Status.FAIL
        return label in _REPORTED_CHANGES

    def count(self, target: str) -> dict[str, int]:
        """Changes of one target, in the terms of `scanner.compare.Changes`."""

        def mine(items: Sequence[Finding]) -> int:
            return sum(1 for f in items if f.resource.target == target)

        return {
            "new": mine(self.changes.new_failures),
            "regressed": mine(self.changes.regressed),
            "resolved": mine(self.changes.resolved),
            "lost": mine(self.changes.lost),
        }


# --- events ----------------------------------------------------------------------------------------


def _scan_facts(result: ScanResult) -> dict[str, Any]:
    """Facts about the scan repeated in every event, so each alert stands alone."""
    scan: dict[str, Any] = {
        "run_id": result.run_id,
        "environment": result.environment,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "tool_version": result.tool_version,
    }
    if result.compared_with is not None:
        scan["compared_with"] = result.compared_with
    return scan


def _finding(
    finding: Finding,
    control: Control | None,
    target: TargetSummary,
    scan: Mapping[str, Any],
    mode: str,
    change_kind: str,
    absent: bool,
    shared: _Shared | None = None,
) -> dict[str, Any]:
    """The event of one finding (of this run, or of the previous run when `absent`).

    Its control facts, references and scan facts are shared with the other events of the report
    (`shared`): `encode_event` cuts a copy, never the shared parts."""
    resource = finding.resource
    facts, references = (shared or _Shared()).control(finding.control_id, control)
    body: dict[str, Any] = {
        "event": "finding",
        "mode": mode,
        "status": ABSENT_STATUS if absent else finding.status.value,
        "severity": (control.severity if control is not None else UNKNOWN_CONTROL_SEVERITY).value,
        "change": change_kind,
        "control": facts,
        "target": {"id": resource.target, "kind": control.target if control is not None else target.kind},
        "resource": {"kind": resource.kind, "name": resource.name, "uri": resource.uri},
        "message": f"no longer reported (was {finding.status.value}): {finding.message}" if absent else finding.message,
        "fingerprint": finding.fingerprint,
        "scan": scan,
    }
    if resource.location is not None:
        body["resource"]["file"] = resource.location.path
        body["resource"]["line"] = resource.location.line
    if references is not None:
        body["references"] = references
    if absent:
        body["baseline_state"] = BaselineState.ABSENT.value
        body["previous_status"] = finding.status.value
    else:
        if finding.baseline_state is not None:
            body["baseline_state"] = finding.baseline_state.value
        if finding.previous_status is not None:
            body["previous_status"] = finding.previous_status.value
        if finding.observed is not None:
            body["observed"] = _text(finding.observed)
        if finding.expected is not None:
            body["expected"] = _text(finding.expected)
    if finding.waiver is not None:
        waiver = finding.waiver
        body["waiver"] = {"justification": waiver.justification, "owner": waiver.owner, "expires": waiver.expires}
        if waiver.ticket:
            body["waiver"]["ticket"] = waiver.ticket
    return {"integration": INTEGRATION, INTEGRATION: body}


class _Shared:
    """The parts of finding events that depend only on the control, built once per control and report
    (measured: building the references per event was 21 s of 38 for 200k events)."""

    def __init__(self) -> None:
        self._controls: dict[str, tuple[Control | None, dict[str, Any], dict[str, list[str]] | None]] = {}
        self._encoded: dict[tuple[str, str, str, str], tuple[Control | None, bytes, bytes, bytes, bytes]] = {}
        self._scalars: dict[str, bytes] = {}
        self.prefixes: dict[tuple[str, ...], tuple[Control | None, bytes, bytes]] = {}
        """A finding event's text up to its resource, and its tail (`prefix`), by `prefix`'s key."""
        self._values: dict[str, bytes] = {}
        self.places: dict[int, tuple[Resource, bytes]] = {}
        """The encoded resource of a finding event, by the identity of the Resource (see `_finding_line`)."""

    def scalar(self, text: str) -> bytes:
        """A status or change label as JSON (a handful of values, encoded once)."""
        encoded = self._scalars.get(text)
        if encoded is None:
            encoded = self._scalars[text] = orjson.dumps(text)
        return encoded

    def value(self, value: Any) -> bytes:
        """An observed or expected value as its event member holds it (`_text`, encoded); the strings
        among them encoded once per report (an expected value is usually one of a control's few)."""
        if type(value) is not str:
            return orjson.dumps(_text(value))
        encoded = self._values.get(value)
        if encoded is None:
            encoded = orjson.dumps(value)
            if len(self._values) < 4096:
                self._values[value] = encoded
        return encoded

    def encoded(
        self, finding: Finding, control: Control | None, target: TargetSummary, scan: Mapping[str, Any], mode: str
    ) -> tuple[bytes, bytes, bytes, bytes]:
        """The encoded parts of a finding event that do not depend on the finding itself: up to the status,
        from the severity to the change, from the control to the resource, and the scan facts and references."""
        key = (finding.control_id, finding.resource.target, target.kind, mode)
        cached = self._encoded.get(key)
        if cached is None or cached[0] is not control:
            facts, references = self.control(finding.control_id, control)
            severity = (control.severity if control is not None else UNKNOWN_CONTROL_SEVERITY).value
            owner = {"id": finding.resource.target, "kind": control.target if control is not None else target.kind}
            head = b'{"integration":"sovscan","sovscan":{"event":"finding","mode":' + orjson.dumps(mode) + b',"status":'
            middle = b',"severity":' + orjson.dumps(severity) + b',"change":'
            parts = b',"control":' + orjson.dumps(facts) + b',"target":' + orjson.dumps(owner) + b',"resource":'
            tail = b',"scan":' + orjson.dumps(scan)
            if references is not None:
                tail += b',"references":' + orjson.dumps(references)
            cached = self._encoded[key] = (control, head, middle, parts, tail)
        return cached[1:]

    def prefix(
        self,
        finding: Finding,
        control: Control | None,
        target: TargetSummary,
        scan: Mapping[str, Any],
        mode: str,
        status: str,
        change: str,
    ) -> tuple[bytes, bytes]:
        """A finding event's text up to its resource (for its status and change) and the tail of `encoded`."""
        key = (finding.control_id, finding.resource.target, target.kind, mode, status, change)
        cached = self.prefixes.get(key)
        if cached is None or cached[0] is not control:
            head, middle, parts, tail = self.encoded(finding, control, target, scan, mode)
            start = head + self.scalar(status) + middle + self.scalar(change) + parts
            cached = self.prefixes[key] = (control, start, tail)
        return cached[1], cached[2]

    def control(self, control_id: str, control: Control | None) -> tuple[dict[str, Any], dict[str, list[str]] | None]:
        """The control facts of an event and the control's references with safe key names (None: it has none)."""
        cached = self._controls.get(control_id)
        if cached is None or cached[0] is not control:
            references = _references(control) if control is not None and control.references else None
            cached = self._controls[control_id] = (control, _control(control_id, control), references)
        return cached[1], cached[2]


def _finding_line(
    finding: Finding,
    control: Control | None,
    target: TargetSummary,
    scan: Mapping[str, Any],
    mode: str,
    change_kind: str,
    absent: bool,
    shared: _Shared,
) -> bytes:
    """`_encode(_finding(...))`, assembled from encoded parts (those of the control encoded once per report).

    The same bytes as encoding the event whole (orjson writes a mapping as its members in order);
    an event that may be too long, or that orjson refuses, is built and encoded whole instead.
    """
    status = finding.status._value_  # `.value` is a Python-level property, measurably slower per finding
    try:
        event = ABSENT_STATUS if absent else status
        key = (finding.control_id, finding.resource.target, target.kind, mode, event, change_kind)
        cached = shared.prefixes.get(key)
        if cached is None or cached[0] is not control:
            start, tail = shared.prefix(finding, control, target, scan, mode, event, change_kind)
        else:
            start, tail = cached[1], cached[2]
        resource = finding.resource
        place = shared.places.get(id(resource))  # by identity: findings of one resource mostly share the object
        if place is None or place[0] is not resource:
            place = shared.places[id(resource)] = (resource, _place(resource))
        message = f"no longer reported (was {status}): {finding.message}" if absent else finding.message
        pieces = [
            start,
            place[1],
            b',"message":',
            orjson.dumps(message),
            b',"fingerprint":',
            orjson.dumps(finding.fingerprint),
            tail,
        ]
        if absent:
            pieces += (_ABSENT_STATE, shared.scalar(status))
        else:
            if finding.baseline_state is not None:
                pieces += (b',"baseline_state":', shared.scalar(finding.baseline_state._value_))
            if finding.previous_status is not None:
                pieces += (b',"previous_status":', shared.scalar(finding.previous_status._value_))
            if finding.observed is not None:
                pieces += (b',"observed":', shared.value(finding.observed))
            if finding.expected is not None:
                pieces += (b',"expected":', shared.value(finding.expected))
        if finding.waiver is not None:
            waiver = finding.waiver
            facts = {"justification": waiver.justification, "owner": waiver.owner, "expires": waiver.expires}
            if waiver.ticket:
                facts["ticket"] = waiver.ticket
            pieces += (b',"waiver":', orjson.dumps(facts))
        pieces.append(b"}}")
        line = b"".join(pieces)
    except (orjson.JSONEncodeError, TypeError):  # e.g. a lone surrogate: the whole event as before
        return _encode(_finding(finding, control, target, scan, mode, change_kind, absent, shared))
    if len(line) > MAX_VALUE_BYTES:  # some value may be too long: cut on the event itself
        return _encode(_finding(finding, control, target, scan, mode, change_kind, absent, shared))
    if b"\xe2\x80" in line:
        line = line.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
    return line


_ABSENT_STATE = b',"baseline_state":' + orjson.dumps(BaselineState.ABSENT.value) + b',"previous_status":'


def _place(resource: Resource) -> bytes:
    """The encoded `resource` member of a finding event (without its key)."""
    place: dict[str, Any] = {"kind": resource.kind, "name": resource.name, "uri": resource.uri}
    if resource.location is not None:
        place["file"] = resource.location.path
        place["line"] = resource.location.line
    # A copy: orjson's own bytes keep their whole (kilobytes) output buffer, and this one is kept per resource.
    return bytes(memoryview(orjson.dumps(place)))


def _references(control: Control) -> dict[str, list[str]]:
    """A control's references with safe key names."""
    return {_key(k): [str(i) for i in v] for k, v in control.references.items()}


def _control(control_id: str, control: Control | None) -> dict[str, Any]:
    """The control facts of a finding event."""
    if control is None:
        return {"id": control_id}
    facts: dict[str, Any] = {"id": control.id, "title": control.title, "check": control.check}
    if control.baseline:
        facts["baseline"] = control.baseline
    if control.tags:
        facts["tags"] = [str(t) for t in control.tags]
    if control.remediation:
        facts["remediation"] = control.remediation
    if control.disabled is not None:
        facts["disabled"] = control.disabled
    return facts


def _summary(
    target: TargetSummary,
    findings: Sequence[Finding],
    result: ScanResult,
    scan: Mapping[str, Any],
    mode: str,
    classify: Classifier,
    emitted: int,
) -> dict[str, Any]:
    """The summary event of one target: reachability, counts, changes, notes."""
    by_status = Counter(f.status._value_ for f in findings)
    counts: dict[str, int] = {"total": len(findings)}
    for status in Status:
        counts[status.value.lower()] = by_status[status.value]
    failing: dict[str, int] = {severity.value: 0 for severity in Severity}
    for control_id, number in Counter(f.control_id for f in findings if f.status is Status.FAIL).items():
        failing[result.severity_of(control_id).value] += number

    target_facts: dict[str, Any] = {
        "id": target.id,
        "kind": target.kind,
        "uri": target.uri,
        "reachable": target.error is None,
        "duration": round(target.duration, 3),
    }
    if target.collected_at:
        target_facts["collected_at"] = target.collected_at
    if target.error is not None:
        target_facts["error"] = target.error
    if target.labels:
        target_facts["labels"] = {_key(k): str(v) for k, v in target.labels.items()}
    if target.insecure_transport:
        target_facts["insecure_transport"] = list(target.insecure_transport)

    body: dict[str, Any] = {
        "event": "summary",
        "mode": mode,
        "target": target_facts,
        "counts": counts,
        "failing": failing,
        "emitted": emitted,
        "scan": dict(scan),
    }
    if target.section_errors:
        body["section_errors"] = {_key(k): v for k, v in target.section_errors.items()}
    if classify.compared:
        body["changes"] = classify.count(target.id)
    if result.notes:
        body["notes"] = list(result.notes)

    sentences = [
        f"{target.id}: {counts['total']} findings, {counts['fail']} failed, {counts['error']} not verified, "
        f"{counts['pass']} passed, {counts['waived']} waived, {counts['not_applicable']} not applicable."
    ]
    if target.error is not None:
        sentences.append(f"Target could not be read: {target.error}.")
    if target.insecure_transport:
        sentences.append(f"Insecure transport: {'; '.join(target.insecure_transport)}.")
    if mode == MODE_CHANGES_UNAVAILABLE:
        sentences.append(
            "Changes only was requested but this scan was not compared with a previous run: every finding is emitted."
        )
    elif mode == MODE_CHANGES:
        sentences.append(f"Only changes since the previous run are emitted ({emitted} events).")
    body["message"] = " ".join(sentences)
    return {"integration": INTEGRATION, INTEGRATION: body}


# --- encoding --------------------------------------------------------------------------------------


_DROPPABLE: tuple[tuple[str, ...], ...] = (
    ("references",),
    ("control", "tags"),
    ("notes",),
    ("section_errors",),
    ("target", "labels"),
)
"""Optional parts dropped, in this order, if cutting long strings is not enough to fit an event."""


def encode_event(event: dict[str, Any]) -> str:
    """Serialise one event on one line, truncating long values until it fits in MAX_EVENT_BYTES."""
    return _encode(event).decode()


def _encode(event: dict[str, Any]) -> bytes:
    """`encode_event` in UTF-8 bytes (what is written)."""
    body = event[INTEGRATION]
    truncated: list[str] = []
    original: dict[tuple[str | int, ...], int] = {}

    def cut(path: tuple[str | int, ...], value: str, limit: int) -> None:
        size = original.setdefault(path, len(value.encode()))
        _set(body, path, _cut(value, limit, size))
        name = ".".join(str(p) for p in path if not isinstance(p, int))
        if name not in truncated:
            truncated.append(name)
        body["truncated"] = truncated

    line = _dump(event)
    if len(line) <= MAX_VALUE_BYTES:  # no value can be longer (in UTF-8) than its line: done
        return line
    body = event[INTEGRATION] = copy.deepcopy(body)  # parts may be shared with other events: cut a copy
    for path, value in list(_strings(body)):
        if len(value.encode()) > MAX_VALUE_BYTES:
            cut(path, value, MAX_VALUE_BYTES)
    line = _dump(event)
    droppable = list(_DROPPABLE)
    while len(line) > MAX_EVENT_BYTES:
        overflow = len(line) - MAX_EVENT_BYTES
        path, value = max(_strings(body), key=lambda item: len(item[1].encode()))
        size = len(value.encode())
        if size > 256:
            cut(path, value, max(128, size - overflow - 64, size // 2))
        elif droppable:
            # Only many short values left (thousands of references or labels): drop optional parts.
            parts = droppable.pop(0)
            parent = body
            for step in parts[:-1]:
                parent = parent.get(step, {})
            if parent.pop(parts[-1], None) is not None:
                truncated.append(".".join(parts))
                body["truncated"] = truncated
        else:
            raise ValueError("a Wazuh event cannot be made small enough")  # unreachable with real findings
        line = _dump(event)
    return line


def _dump(event: Mapping[str, Any]) -> bytes:
    """Compact JSON on one line (UTF-8); U+2028/U+2029 escaped so no reader splits the line on them."""
    line = jsonout.dumps(event)
    if b"\xe2\x80" in line:  # the UTF-8 of both starts so
        line = line.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
    return line


def _strings(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Yield (path, value) of every string leaf of a JSON tree, list items included."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key != "truncated":
                yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))


def _set(node: Any, path: tuple[str | int, ...], value: str) -> None:
    """Replace the leaf at `path` in a JSON tree."""
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _cut(value: str, limit: int, original: int) -> str:
    """Cut `value` to about `limit` UTF-8 bytes (on a character boundary) and mark the cut and the original size."""
    marker = f"…[truncated {original} bytes]"
    keep = max(0, limit - len(marker.encode()))
    return value.encode()[:keep].decode("utf-8", "ignore") + marker


_COMPACT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
"""`json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)`, built once."""


_STRING = json.encoder.encode_basestring
"""How `_COMPACT` writes a string (the C function it calls)."""


def _text(value: Any) -> str:
    """Render an observed/expected value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if type(value) is list:  # the usual observed value: a list of strings, written as _COMPACT writes it
        try:
            return "[" + ",".join(map(_STRING, value)) + "]"
        except TypeError:  # an item that is not a string
            pass
    return _COMPACT.encode(value)


@functools.lru_cache(maxsize=16_384)
def _key(key: str) -> str:
    """Make an object key safe for Wazuh's dotted field names (no dots, spaces or other punctuation)."""
    return _UNSAFE_KEY.sub("_", str(key)) or "_"
