"""SARIF 2.1.0 reporter: one run per scan, shaped for GitHub code scanning.

What the output guarantees (tests/reporters/test_reporter_sarif.py proves each):

- It validates against the final OASIS 2.1.0 schema (draft-04, format checking on), and it keeps
  the rule the schema does not enforce: a result whose `kind` is not `fail` has `level` `none`.
- Every result has a physical location with a region (GitHub rejects the whole file otherwise).
  Live resources have no file, so it is the baseline YAML line that defines the control
  (`Control.source`), made repository-relative; an offline resource read from a file
  (`Resource.location`) points at that file instead, with the control definition as a related
  location. The resource itself is a logical location (`kind: resource`, fully qualified name =
  resource URI).
- `partialFingerprints.primaryLocationLineHash` is the finding fingerprint (control id + resource
  URI), so two resources failing one control are two alerts, not one.
- By default only what needs attention: FAIL (`kind: fail`, level by severity), ERROR
  (`kind: review`), and WAIVED (a FAIL with an accepted external suppression, so code scanning
  closes rather than loses the alert). `ReportOptions.full` adds PASS (`pass`) and
  NOT_APPLICABLE (`notApplicable`).
- When the scan was compared with a previous run, every result carries `baselineState`, and the
  previous run's findings that no longer occur (`ScanResult.absent`) are written as `absent`.
- Unreachable targets become error-level `toolExecutionNotifications` and make
  `executionSuccessful` false; unreadable evidence sections become warnings; scan notes (unused
  or expired waivers) become `toolConfigurationNotifications`.
- It stays inside GitHub's upload limits instead of producing a file GitHub rejects: at most
  MAX_RESULTS (25,000) results and MAX_GZIP_BYTES gzipped. When a scan has more, the most
  important results are kept (FAIL by severity, then ERROR, WAIVED, no-longer-reported, PASS,
  NOT_APPLICABLE), the log says so in a `results-omitted` warning notification and in
  `run.properties.omittedResults` (counts by status), `run.properties.full` becomes false (the
  log is no longer complete), and a `SarifLimitWarning` is issued. The native JSON result
  (`-f json`) always holds every finding. Each rule has at most MAX_TAGS tags (GitHub rejects a
  rule with more than 20 and shows 10); every reference stays in `properties.references`.

Artifact paths: a live resource points at the baseline line that defines its control. For the
built-in baselines (in the sovscan package, wherever it is installed) that is
`baselines/<kind>.yaml`, whatever the working directory: a stable path, but one that exists only
in sovscan's own repository. GitHub accepts a relative URI it cannot find in the analysed
repository (the alert is listed, without a code snippet or pull-request annotation); to get
annotations, keep your baselines in your repository and scan from its root (or pass
`ReportOptions.source_root`). An offline input outside the root (a cluster dump under
/var/lib) is reduced to its file name.

Why plain dicts rather than the `sarif-om` object model: sarif-om 1.0.4 was generated from a
pre-final schema. Its `Suppression` has `state` where the final schema says `status` (so a
waived result could not carry `status: accepted`), its companion serialiser
(`jschema_to_python.to_json`, not even a dependency here) drops default values such as a
result's `level: "warning"`, and its classes are untyped (`Any` under mypy --strict). Building
the log as dicts keeps every property the final schema and GitHub read under our control, and the
schema test checks the result.
"""

from __future__ import annotations

import functools
import json
import operator
import os
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from reporters.sarif_reader import from_sarif
from scanner import jsonout
from scanner.frameworks import RequirementStatus, requirements_by_control
from scanner.interface import ReadBack, Reporter, ReporterOption, ReportOptions
from scanner.model import (
    UNKNOWN_CONTROL_SEVERITY,
    BaselineState,
    Control,
    Finding,
    Resource,
    ScanResult,
    Severity,
    SourceLocation,
    Status,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "sovscan"
FINGERPRINT_KEY = "sovscan/v1"
"""Key of the full fingerprint in `result.fingerprints` (versioned, as the SARIF spec advises)."""

SECURITY_SEVERITY: Mapping[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.1",
}
"""`properties["security-severity"]` by severity (GitHub: > 9 critical, 7-8.9 high, 4-6.9 medium, else low)."""

LEVEL: Mapping[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
"""SARIF level of a failing result (and a rule's default level) by severity."""

KIND: Mapping[Status, str] = {
    Status.FAIL: "fail",
    Status.WAIVED: "fail",
    Status.ERROR: "review",
    Status.PASS: "pass",
    Status.NOT_APPLICABLE: "notApplicable",
}
"""SARIF result kind by status. WAIVED stays a failure, marked by its suppression."""

ATTENTION = frozenset({Status.FAIL, Status.ERROR, Status.WAIVED})
"""Statuses written without `ReportOptions.full`."""

MAX_MESSAGE_VALUE = 500
"""Longest rendering of an observed/expected value inside a message text (the full value is in properties)."""

MAX_RESULTS = 25_000
"""GitHub code scanning rejects a run with more results than this."""

MAX_GZIP_BYTES = 9_500_000
"""Largest gzipped log written: GitHub rejects files over 10 MB gzipped (kept with a margin)."""

MAX_TAGS = 10
"""Tags per rule: GitHub rejects a rule with more than 20 and shows only 10."""

_NOTIFICATIONS: tuple[tuple[str, str], ...] = (
    ("target-unreachable", "A target could not be read; its controls were not verified."),
    ("section-unreadable", "An evidence section could not be read; controls needing it are ERROR."),
    ("scan-note", "A note about the scan configuration (waivers, tailoring)."),
    ("results-omitted", "Results were left out to stay within GitHub code scanning's upload limits."),
)
_NOTIFICATION_INDEX = {descriptor_id: index for index, (descriptor_id, _) in enumerate(_NOTIFICATIONS)}


class SarifReporter(Reporter):
    """Render a scan as a SARIF 2.1.0 log (GitHub code scanning, GitLab, DefectDojo)."""

    name = "sarif"
    description = "SARIF 2.1.0 log for GitHub code scanning and other SARIF consumers"
    extension = ".sarif"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Return the SARIF log as indented JSON, within GitHub's limits (see the module docstring)."""
        return b"".join(self.chunks(result, options)).decode()

    def chunks(self, result: ScanResult, options: ReportOptions) -> Iterator[bytes]:
        """The same text in parts: each kept result is encoded once, on its own (no tree of the log is held)."""
        yield from _prepare(result, options).pieces()

    @classmethod
    def options(cls) -> Sequence[ReporterOption]:
        """`--full`: passing and not-applicable results too."""
        return (ReporterOption("--full", "full", "SARIF: include passing and not-applicable results (a full log)."),)

    def read(self, document: Any, source: str) -> ReadBack | None:
        """Read back a SARIF log written by sovscan (`--compare run.sarif`); None for other documents."""
        if not (isinstance(document, dict) and isinstance(document.get("runs"), list)):
            return None
        result, complete = from_sarif(document, source)
        return ReadBack(result, complete)


class SarifLimitWarning(UserWarning):
    """Issued when results were left out of a SARIF log to stay within GitHub's upload limits."""


def _dumps(log: Mapping[str, Any]) -> str:
    """The text `render` writes."""
    return _encode_log(log).decode()


def _encode_log(log: Mapping[str, Any]) -> bytes:
    """The UTF-8 text `render` writes: two-space indented, by the C-speed encoder."""
    return jsonout.dumps(log, indent=True) + b"\n"


def build_log(
    result: ScanResult,
    options: ReportOptions,
    *,
    max_results: int = MAX_RESULTS,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> dict[str, Any]:
    """Build the SARIF log (a JSON-ready dict) for `result`, keeping it within the given limits."""
    return _prepare(result, options, max_results=max_results, max_gzip_bytes=max_gzip_bytes).log()


_RESULTS_MARK = "sovscan:results"
"""Stands for the results while the rest of the log is encoded (split off at `_RESULTS_AT`)."""
_RESULTS_AT = b'"results": [\n        "sovscan:results"\n      ]'
"""The results placeholder as the indented log holds it (real newlines only occur between JSON tokens)."""
_ITEM_INDENT = b"\n        "
"""Before each result: results are elements of `runs[0].results`, four levels deep."""


class _Prepared:
    """A SARIF log decided (which results, within the limits) and encoded in parts: the text of the log
    without its results, split where they go, and each kept result's text (after its newline and indent)."""

    def __init__(
        self,
        log: dict[str, Any],
        entries: Callable[[], list[dict[str, Any]]],
        parts: tuple[bytes, list[bytes], bytes],
        whole: bytes | None = None,
    ) -> None:
        self._log = log
        self._entries = entries
        self._head, self._items, self._tail = parts
        self._whole = whole

    def pieces(self) -> Iterator[bytes]:
        """The text of the log, as `_encode_log` writes the whole log, in parts."""
        if self._whole is not None:
            yield self._whole
            return
        yield self._head
        if not self._items:
            yield b'"results": []'
        else:
            yield b'"results": ['
            for start in range(0, len(self._items), 256):
                batch = self._items[start : start + 256]
                yield (b"" if start == 0 else b",") + b",".join(batch)
            yield b"\n      ]"
        yield self._tail

    def size(self) -> int:
        """Length of the text in bytes."""
        return sum(len(piece) for piece in self.pieces())

    def gzip_size(self, level: int) -> int:
        """Length of the text gzipped at `level` (as `gzip.compress` would make it), computed as it streams."""
        compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        return sum(len(compressor.compress(piece)) for piece in self.pieces()) + len(compressor.flush())

    def log(self) -> dict[str, Any]:
        """The log as a JSON-ready dict (its results built again)."""
        self._log["runs"][0]["results"] = self._entries()
        return self._log


def _prepare(
    result: ScanResult,
    options: ReportOptions,
    *,
    max_results: int = MAX_RESULTS,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> _Prepared:
    """Decide which results the log keeps (GitHub's limits) and encode it.

    Issues a SarifLimitWarning when some are left out."""
    for cached in (_resolved, _inside, _repo_relative):  # file system state is read afresh for every log
        cached.cache_clear()
    root = _root(options)
    rules, rule_index = _rules(result, root)
    builder = _ResultBuilder(result, rule_index, root)

    # Statuses are compared by their values (strings): hashing an enum member is a Python-level call.
    if options.full:
        candidates = [(f, False) for f in result.findings] + [(f, True) for f in result.absent]
    else:
        candidates = [(f, False) for f in result.findings if f.status._value_ in _ATTENTION_VALUES]
        candidates += [(f, True) for f in result.absent if f.status._value_ in _ATTENTION_VALUES]
    statuses: list[str] = [f.status._value_ for f, _ in candidates]
    ranking: list[int] = []

    def ranked() -> list[int]:
        """Candidates by importance (computed when some must be left out): `builder.priority` of each."""
        if not ranking:
            ranks = {cid: -builder.facts(cid).rank for cid in {f.control_id for f, _ in candidates}}
            keys = [
                (3 if absent else _ORDER_BY_VALUE[status], ranks[f.control_id])
                for (f, absent), status in zip(candidates, statuses, strict=True)
            ]
            ranking.extend(sorted(range(len(candidates)), key=keys.__getitem__))
        return ranking

    keep = min(len(candidates), max(0, max_results))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": result.tool_version or "unknown",
                "rules": rules,
                "notifications": [
                    {"id": descriptor_id, "shortDescription": {"text": text}} for descriptor_id, text in _NOTIFICATIONS
                ],
            }
        },
        "automationDetails": {"id": automation_id(result)},
        "invocations": [_invocation(result, root)],
        "results": [_RESULTS_MARK],
        "properties": _run_properties(result, options),
    }
    log = {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
    encoded: dict[int, bytes] = {}
    while True:
        chosen = list(range(len(candidates))) if keep == len(candidates) else sorted(ranked()[:keep])
        if keep < len(candidates):
            _omit(run, chosen, statuses, options)

        def entries(chosen: list[int] = chosen) -> list[dict[str, Any]]:
            return [builder.entry(*candidates[i]) for i in chosen]

        run["results"] = [_RESULTS_MARK]
        prepared = _encode_parts(log, chosen, candidates, builder, encoded, entries)
        if len(encoded) > len(chosen):  # fewer kept than before: forget the texts of those left out
            for stale in set(encoded).difference(chosen):
                del encoded[stale]
        if keep == 0 or prepared.size() <= max_gzip_bytes:
            break
        # gzip at level 1 is never smaller than at the level GitHub's upload uses: when it fits, the log fits
        if prepared.gzip_size(1) <= max_gzip_bytes:
            break
        size = prepared.gzip_size(6)
        if size <= max_gzip_bytes:
            break
        keep = min(keep - 1, int(keep * max_gzip_bytes / size * 0.95))
    for note in run["invocations"][0].get("toolExecutionNotifications", []):
        if note["descriptor"]["id"] == "results-omitted":
            warnings.warn(SarifLimitWarning(f"sarif: {note['message']['text']}"), stacklevel=3)
    return prepared


def _encode_parts(
    log: dict[str, Any],
    chosen: list[int],
    candidates: list[tuple[Finding, bool]],
    builder: _ResultBuilder,
    encoded: dict[int, bytes],
    entries: Callable[[], list[dict[str, Any]]],
) -> _Prepared:
    """The log (its results the placeholder) and the chosen results encoded apart, each result once.

    When orjson cannot encode a part (an integer beyond 64 bits), the whole log is encoded by the
    standard library, as the implementation that encoded the log whole did.
    """
    frame = jsonout.dumps_native(log, indent=True)
    texts: list[bytes] = []
    for index in chosen:
        text = encoded.get(index)
        if text is None:
            native = jsonout.dumps_native(builder.entry(*candidates[index]), indent=True)
            if native is None:
                frame = None
                break
            text = encoded[index] = _ITEM_INDENT + native.replace(b"\n", _ITEM_INDENT)
        texts.append(text)
    if frame is None or frame.count(_RESULTS_AT) != 1:
        run = log["runs"][0]
        run["results"] = entries()
        whole = _encode_log(log)
        run["results"] = [_RESULTS_MARK]
        return _Prepared(log, entries, (b"", [], b""), whole)
    head, tail = frame.split(_RESULTS_AT)
    return _Prepared(log, entries, (head, texts, tail + b"\n"))


def _omit(run: dict[str, Any], indices: list[int], statuses: list[str], options: ReportOptions) -> None:
    """Say in the run that only candidates `indices` of all (whose `statuses` are given) are kept, and why."""
    kept_ids = set(indices)
    by_status: dict[str, int] = {}
    for index, status in enumerate(statuses):
        if index not in kept_ids:
            by_status[status] = by_status.get(status, 0) + 1
    omitted = len(statuses) - len(indices)
    every = statuses
    text = (
        f"{omitted} of {len(every)} results were left out to stay within GitHub code scanning's limits "
        f"({MAX_RESULTS:,} results per run, 10 MB gzipped); kept first: FAIL by severity, then ERROR, WAIVED, "
        "no longer reported, PASS, NOT_APPLICABLE. Left out by status: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
        + ". The native JSON result (-f json) holds every finding."
    )
    invocation = run["invocations"][0]
    notes = [n for n in invocation.get("toolExecutionNotifications", []) if n["descriptor"]["id"] != "results-omitted"]
    notes.append(_notification("results-omitted", "warning", text, None, {"omitted": str(omitted)}))
    invocation["toolExecutionNotifications"] = notes
    run["properties"]["full"] = False
    run["properties"]["requestedFull"] = options.full
    run["properties"]["omittedResults"] = {"count": omitted, "total": len(every), "byStatus": by_status}


def automation_id(result: ScanResult) -> str:
    """Return `sovscan/<environment>/<run id>`: the category is everything before the last slash."""
    environment = result.environment.strip("/") or "default"
    return f"{TOOL_NAME}/{environment}/{result.run_id}"


# --- rules -----------------------------------------------------------------------------------------


_CONTROL_ID = operator.attrgetter("control_id")
_BASELINE_STATE = operator.attrgetter("baseline_state")


def _rules(result: ScanResult, root: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One rule per control of the scan (plus any control id only findings mention), sorted by id."""
    ids = set(result.controls)
    ids.update(map(_CONTROL_ID, result.findings))
    ids.update(map(_CONTROL_ID, result.absent))
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    requirements = requirements_by_control(result.frameworks)
    for control_id in sorted(ids):
        control = result.controls.get(control_id)
        index[control_id] = len(rules)
        rules.append(
            _rule(control, root, requirements.get(control_id, [])) if control is not None else _unknown_rule(control_id)
        )
    return rules, index


def _rule(control: Control, root: Path, requirements: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The reportingDescriptor of one control, with everything GitHub shows for a rule.

    With `--framework`, the framework requirements the control gives evidence for come first among
    the framework tags (`bsi-grundschutz/APP.4.3.A3`) and all of them are in `properties.requirements`.
    """
    tags = _unique(
        [
            "security",
            "compliance",
            control.target,
            *control.tags,
            *(f"{framework}/{ident}" for framework, ident in requirements),
            *(f"external/{framework}/{ident}" for framework, idents in control.references.items() for ident in idents),
        ]
    )[:MAX_TAGS]
    properties: dict[str, Any] = {
        "tags": tags,
        "security-severity": SECURITY_SEVERITY[control.severity],
        "severity": control.severity.value,
        "target": control.target,
        "check": control.check,
    }
    if control.baseline:
        properties["baseline"] = control.baseline
    if control.references:
        properties["references"] = {k: list(v) for k, v in control.references.items()}
    if requirements:
        grouped: dict[str, list[str]] = {}
        for framework, ident in requirements:
            grouped.setdefault(framework, []).append(ident)
        properties["requirements"] = grouped
    if control.params:
        properties["params"] = dict(control.params)
    if control.disabled is not None:
        properties["disabled"] = control.disabled
    if control.source is not None:
        properties["source"] = f"{repo_relative(control.source.path, root)}:{control.source.line}"
    return {
        "id": control.id,
        "shortDescription": {"text": control.title or control.id},
        "fullDescription": {"text": control.description or control.rationale or control.title or control.id},
        "help": {"text": _help_text(control), "markdown": _help_markdown(control)},
        "defaultConfiguration": {"level": LEVEL[control.severity]},
        "properties": properties,
    }


def _unknown_rule(control_id: str) -> dict[str, Any]:
    """A minimal rule for a control id the scan result does not describe (should not happen)."""
    return {
        "id": control_id,
        "shortDescription": {"text": control_id},
        "fullDescription": {"text": f"Control {control_id} (no definition in the scan result)."},
        "defaultConfiguration": {"level": LEVEL[UNKNOWN_CONTROL_SEVERITY]},
        "properties": {"tags": ["security", "compliance"]},
    }


def _help_text(control: Control) -> str:
    """Plain-text help: description, rationale, remediation and references."""
    parts = [f"{control.title} (severity {control.severity.value}, target {control.target})"]
    if control.description:
        parts.append(control.description)
    if control.rationale:
        parts.append(f"Rationale: {control.rationale}")
    if control.remediation:
        parts.append(f"Remediation: {control.remediation}")
    if control.references:
        parts.append("References: " + "; ".join(f"{k} {', '.join(v)}" for k, v in control.references.items()))
    if control.params:
        parts.append("Parameters: " + json.dumps(dict(control.params), sort_keys=True, default=str))
    return "\n\n".join(parts)


def _help_markdown(control: Control) -> str:
    """Markdown help: the same content as the text help, with headings and a reference list."""
    parts = [f"**{_md(control.title)}**  \nSeverity: `{control.severity.value}` · target kind: `{control.target}`"]
    if control.description:
        parts.append(_md(control.description))
    if control.rationale:
        parts.append(f"#### Rationale\n\n{_md(control.rationale)}")
    if control.remediation:
        parts.append(f"#### Remediation\n\n{_md(control.remediation)}")
    if control.references:
        lines = "\n".join(f"- **{_md(k)}**: {', '.join(_md(i) for i in v)}" for k, v in control.references.items())
        parts.append(f"#### References\n\n{lines}")
    if control.params:
        params = json.dumps(dict(control.params), indent=2, sort_keys=True, default=str)
        parts.append(f"#### Parameters\n\n```json\n{params}\n```")
    return "\n\n".join(parts)


def _md(text: str) -> str:
    """Escape the characters that would start HTML in GitHub's markdown rendering."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


# --- results ---------------------------------------------------------------------------------------


def _compared(result: ScanResult) -> bool:
    """True when the scan was compared with a previous run (then every result gets a baselineState)."""
    return (
        result.compared_with is not None
        or bool(result.absent)
        or any(map(_BASELINE_STATE, result.findings))  # a BaselineState member is true, None false
    )


_ResourceParts = tuple[Resource, SourceLocation | None, dict[str, Any] | None, list[dict[str, Any]], str]
"""Of one resource: itself, its file in the repository (or None), that file's physicalLocation, the
logicalLocations of its results and its description in messages (shared by its results, never changed)."""


class _ResultBuilder:
    """Builds the SARIF results of one log; what depends only on the control or the file is built once."""

    def __init__(self, result: ScanResult, rule_index: Mapping[str, int], root: Path) -> None:
        self._result = result
        self._rule_index = rule_index
        self._root = root
        self._cwd = os.getcwd()
        self._compared = _compared(result)
        self._controls: dict[str, _ControlFacts] = {}
        self._in_repository: dict[str, bool] = {}
        self._resources: dict[int, _ResourceParts] = {}

    def facts(self, control_id: str) -> _ControlFacts:
        """The facts of a control shared by its results."""
        facts = self._controls.get(control_id)
        if facts is None:
            control = self._result.controls.get(control_id)
            facts = self._controls[control_id] = _ControlFacts(
                control_id, control, self._result.severity_of(control_id), self._rule_index[control_id], self._root
            )
        return facts

    def priority(self, finding: Finding, absent: bool) -> tuple[int, int]:
        """Sort key of a result when some must be left out: failures by severity first, passes last."""
        rank = self.facts(finding.control_id).rank
        if absent:
            return (3, -rank)
        return (_ORDER[finding.status], -rank)

    def _resource_file(self, finding: Finding) -> SourceLocation | None:
        """The offline resource's file, when it lies in the repository (under the root).

        A file elsewhere (a dump in /var/lib, a temporary Helm rendering) does not exist in the
        repository GitHub shows, and its bare name could collide with a real file there: the result
        then points at the control's baseline line and names the file in the logical location.
        """
        location = finding.resource.location
        if location is None:
            return None
        inside = self._in_repository.get(location.path)
        if inside is None:
            inside = self._in_repository[location.path] = _inside(location.path, self._root, self._cwd)
        return location if inside else None

    def _resource_parts(self, finding: Finding) -> _ResourceParts:
        """What the results of one resource share, built once per Resource object."""
        resource = finding.resource
        parts = self._resources.get(id(resource))  # by identity: findings of one resource mostly share it
        if parts is None or parts[0] is not resource:
            file = self._resource_file(finding)
            parts = self._resources[id(resource)] = (
                resource,
                file,
                None if file is None else _physical(file, self._root),
                [{"kind": "resource", "name": resource.name, "fullyQualifiedName": resource.uri}],
                f"{resource.kind} {resource.name} ({resource.uri})",
            )
        return parts

    def entry(self, finding: Finding, absent: bool) -> dict[str, Any]:
        """The SARIF result of one finding (of this run, or an `absent` one of the previous run)."""
        facts = self.facts(finding.control_id)
        kind = _KIND_BY_VALUE[finding.status._value_]  # by value: hashing an enum member is a Python call
        fingerprint = finding.fingerprint
        _, file, file_physical, logical, described = self._resource_parts(finding)
        physical = facts.physical if file_physical is None else file_physical
        entry: dict[str, Any] = {
            "ruleId": finding.control_id,
            "ruleIndex": facts.index,
            "kind": kind,
            "level": facts.level if kind == "fail" else "none",
            "message": {"text": _message(finding, facts.control, absent=absent, title=facts.title, resource=described)},
            "locations": [{"physicalLocation": physical, "logicalLocations": logical}],
            "partialFingerprints": {"primaryLocationLineHash": fingerprint},
            "fingerprints": {FINGERPRINT_KEY: fingerprint},
            "properties": _result_properties(finding, fingerprint),
        }
        if file is not None and facts.related is not None:  # an offline resource: the control definition too
            entry["relatedLocations"] = facts.related
        if finding.status is Status.WAIVED:
            entry["suppressions"] = [_suppression(finding, self._root)]
        if self._compared:
            state = BaselineState.ABSENT if absent else (finding.baseline_state or BaselineState.NEW)
            entry["baselineState"] = state.value
        return entry


_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WAIVED: 2, Status.PASS: 4, Status.NOT_APPLICABLE: 5}
"""Which results are kept first when some must be left out (3 is a no longer reported one)."""
_ORDER_BY_VALUE = {status.value: order for status, order in _ORDER.items()}
_ATTENTION_VALUES = frozenset(status.value for status in ATTENTION)
_KIND_BY_VALUE = {status.value: kind for status, kind in KIND.items()}


class _ControlFacts:
    """What every result of one control shares (its parts are shared between results, never changed)."""

    __slots__ = ("control", "index", "level", "physical", "rank", "related", "title")

    def __init__(self, control_id: str, control: Control | None, severity: Severity, index: int, root: Path) -> None:
        self.control = control
        self.index = index
        self.rank = severity.rank
        self.level = LEVEL[severity]
        self.title = f"{control_id} {control.title}" if control is not None and control.title else control_id
        self.physical = _physical(_control_source(control, control_id), root)
        self.related: list[dict[str, Any]] | None = None
        if control is not None and control.source is not None:
            self.related = [
                {
                    "id": 1,
                    "physicalLocation": _physical(control.source, root),
                    "message": {"text": f"Definition of control {control.id}"},
                }
            ]


def _message(
    finding: Finding, control: Control | None, *, absent: bool, title: str | None = None, resource: str | None = None
) -> str:
    """One readable sentence or three: what happened, on what, observed vs expected (`title`: the control's,
    `resource`: the resource's `kind name (uri)`)."""
    if title is None:
        title = f"{finding.control_id} {control.title}" if control is not None and control.title else finding.control_id
    if resource is None:
        resource = f"{finding.resource.kind} {finding.resource.name} ({finding.resource.uri})"
    if absent:
        head = f"No longer reported: {title} on {resource} (was {finding.status._value_}: {finding.message})"
    elif finding.status is Status.ERROR:
        head = f"{title}: could not be verified on {resource}: {finding.message}"
    elif finding.status is Status.WAIVED:
        head = f"{title}: failed on {resource} (waived): {finding.message}"
    else:
        head = f"{title}: {finding.status._value_} on {resource}: {finding.message}"
    parts = [head.rstrip()]
    if not absent and finding.observed is not None:
        parts.append(f"Observed: {_short(finding.observed)}.")
    if not absent and finding.expected is not None:
        parts.append(f"Expected: {_short(finding.expected)}.")
    return " ".join(parts)


_SORTED = json.JSONEncoder(sort_keys=True, default=str)
"""`json.dumps(value, sort_keys=True, default=str)`, built once (it is called per result)."""


_STRING = json.encoder.encode_basestring_ascii
"""How `_SORTED` writes a string (the C function it calls)."""


def _short(value: Any) -> str:
    """Render a JSON value for a message, cut at MAX_MESSAGE_VALUE characters."""
    if isinstance(value, str):
        text = value
    elif type(value) is list:  # the usual observed value: a list of strings, written as _SORTED writes it
        try:
            text = "[" + ", ".join(map(_STRING, value)) + "]"
        except TypeError:  # an item that is not a string
            text = _SORTED.encode(value)
    else:
        text = _SORTED.encode(value)
    return text if len(text) <= MAX_MESSAGE_VALUE else text[:MAX_MESSAGE_VALUE] + "… (truncated)"


def _result_properties(finding: Finding, fingerprint: str) -> dict[str, Any]:
    """Machine-readable details of a finding (status, target, observed/expected in full)."""
    resource = finding.resource
    properties: dict[str, Any] = {
        "status": finding.status._value_,
        "target": resource.target,
        "resourceKind": resource.kind,
        "resourceName": resource.name,
        "resourceUri": resource.uri,
        "fingerprint": fingerprint,
    }
    if finding.observed is not None:
        properties["observed"] = finding.observed
    if finding.expected is not None:
        properties["expected"] = finding.expected
    if finding.previous_status is not None:
        properties["previousStatus"] = finding.previous_status.value
    return properties


@functools.lru_cache(maxsize=65_536)
def _inside(path: str, root: Path, cwd: str) -> bool:
    """Whether `path` (relative to `cwd`) lies under `root`, symbolic links resolved; cached like `_resolved`."""
    try:
        _resolved(path, cwd).relative_to(_resolved(str(root), cwd))
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=65_536)
def _resolved(path: str, cwd: str) -> Path:
    """`path` made absolute against `cwd` and resolved; cached within one log (emptied as each log starts).

    Thousands of findings name the same few files: resolving each time (a `realpath`, one `lstat`
    per path component) was the largest cost of a SARIF log after JSON encoding.
    """
    given = Path(path)
    return (given if given.is_absolute() else Path(cwd) / given).resolve()


def _control_source(control: Control | None, control_id: str) -> SourceLocation:
    """Where a control is defined; a stable stand-in path when the loader did not record it."""
    if control is not None and control.source is not None:
        return control.source
    name = (control.baseline or control.target) if control is not None else "unknown"
    return SourceLocation(path=f"baselines/{name or 'unknown'}.yaml", line=1)


def _physical(source: SourceLocation, root: Path) -> dict[str, Any]:
    """A SARIF physicalLocation for a file and line."""
    return {
        "artifactLocation": {"uri": quote(repo_relative(source.path, root), safe="/-._~")},
        "region": {"startLine": max(1, source.line)},
    }


def _suppression(finding: Finding, root: Path) -> dict[str, Any]:
    """The accepted external suppression of a waived finding (its waiver)."""
    waiver = finding.waiver
    if waiver is None:
        return {"kind": "external", "status": "accepted", "justification": finding.message or "waived"}
    suppression: dict[str, Any] = {
        "kind": "external",
        "status": "accepted",
        "justification": waiver.justification,
        "properties": {
            "owner": waiver.owner,
            "expires": waiver.expires,
            "resource": waiver.resource,
            **({"ticket": waiver.ticket} if waiver.ticket else {}),
        },
    }
    if waiver.source is not None:
        suppression["location"] = {"physicalLocation": _physical(waiver.source, root)}
    return suppression


# --- run-level -------------------------------------------------------------------------------------


def _invocation(result: ScanResult, root: Path) -> dict[str, Any]:
    """The single invocation: success flag, times and notifications (unreachable targets, notes)."""
    execution: list[dict[str, Any]] = []
    for target in result.targets:
        time = _utc(target.collected_at)
        if target.error is not None:
            execution.append(
                _notification(
                    "target-unreachable",
                    "error",
                    f"Target {target.id} ({target.kind}, {target.uri}) could not be read: {target.error}",
                    time,
                    {"target": target.id, "kind": target.kind, "uri": target.uri},
                )
            )
        for section, reason in sorted(target.section_errors.items()):
            execution.append(
                _notification(
                    "section-unreadable",
                    "warning",
                    f"Target {target.id}: evidence section {section} could not be read: {reason}",
                    time,
                    {"target": target.id, "section": section},
                )
            )
    configuration = [_notification("scan-note", "warning", note, None, None) for note in result.notes]

    invocation: dict[str, Any] = {"executionSuccessful": all(t.error is None for t in result.targets)}
    start, end = _utc(result.started_at), _utc(result.finished_at)
    if start is not None:
        invocation["startTimeUtc"] = start
    if end is not None:
        invocation["endTimeUtc"] = end
    if execution:
        invocation["toolExecutionNotifications"] = execution
    if configuration:
        invocation["toolConfigurationNotifications"] = configuration
    return invocation


def _notification(
    descriptor_id: str, level: str, text: str, time: str | None, properties: Mapping[str, str] | None
) -> dict[str, Any]:
    """A SARIF notification referring to one of the driver's notification descriptors."""
    notification: dict[str, Any] = {
        "descriptor": {"id": descriptor_id, "index": _NOTIFICATION_INDEX[descriptor_id]},
        "level": level,
        "message": {"text": text},
    }
    if time is not None:
        notification["timeUtc"] = time
    if properties:
        notification["properties"] = dict(properties)
    return notification


def _run_properties(result: ScanResult, options: ReportOptions) -> dict[str, Any]:
    """Scan facts that have no SARIF property of their own (read back by `reporters.sarif_reader.from_sarif`)."""
    properties: dict[str, Any] = {
        "full": options.full,
        "environment": result.environment,
        "runId": result.run_id,
        "baselines": dict(result.baselines),
        "targets": [
            {
                "id": t.id,
                "kind": t.kind,
                "uri": t.uri,
                "reachable": t.error is None,
                "duration": t.duration,
                **({"insecureTransport": list(t.insecure_transport)} if t.insecure_transport else {}),
            }
            for t in result.targets
        ],
    }
    insecure = {t.id: list(t.insecure_transport) for t in result.targets if t.insecure_transport}
    if insecure:
        properties["insecureTransport"] = insecure
    if result.compared_with is not None:
        properties["comparedWith"] = result.compared_with
    if result.frameworks:
        properties["frameworks"] = [
            {
                "name": f.name,
                "edition": f.edition,
                "coverage": round(f.coverage, 4),
                "byStatus": {s.value: f.count(s) for s in RequirementStatus},
            }
            for f in result.frameworks
        ]
    return properties


# --- paths and times -------------------------------------------------------------------------------


def _root(options: ReportOptions) -> Path:
    """The directory repository-relative paths are computed against."""
    return Path(options.source_root or os.getcwd()).resolve()


def repo_relative(path: str, root: Path) -> str:
    """`_repo_relative`, cached within one log (thousands of results name the same few files)."""
    return _repo_relative(path, root, os.getcwd())


@functools.lru_cache(maxsize=65_536)
def _repo_relative(path: str, root: Path, cwd: str) -> str:
    """Return a stable, repository-relative POSIX path for `path`.

    - A file under `root` (given absolute, or relative to the working directory): relative to `root`.
    - A file elsewhere inside a Python package (a built-in or plugin baseline in site-packages):
      relative to the directory above the top-level package, e.g. `baselines/postgres.yaml`.
    - A relative path that does not climb out: kept as given. Anything else: the file name.
    """
    given = Path(path)
    absolute = _resolved(path, cwd)
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        pass
    anchored = _package_relative(absolute)
    if anchored is not None:
        return anchored
    posix = PurePosixPath(given.as_posix())
    if not given.is_absolute() and ".." not in posix.parts:
        return str(posix)
    return given.name


def _package_relative(path: Path) -> str | None:
    """Path relative to the parent of the outermost package containing `path`, if it is in one."""
    top: Path | None = None
    directory = path.parent
    while (directory / "__init__.py").is_file():
        top = directory
        if directory.parent == directory:
            break
        directory = directory.parent
    if top is None:
        return None
    return path.relative_to(top.parent).as_posix()


def _utc(value: str) -> str | None:
    """Normalise an ISO 8601 time to SARIF's UTC form (`...Z`); None when empty or unparsable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _unique(items: Iterable[str]) -> list[str]:
    """Drop empty and repeated strings, keeping the first occurrence's order."""
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return list(seen)
