"""The native JSON result: a documented, versioned format (scanner/schema/result.schema.json).

Other tools, `sovscan report --from`, and the comparison with a previous run read it, so it
round-trips: `from_dict(to_dict(result)) == result`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema

from scanner import frameworks, jsonout
from scanner.baseline import schema
from scanner.errors import ConfigError
from scanner.fileio import read_json
from scanner.model import (
    BaselineState,
    Control,
    Finding,
    Resource,
    ScanResult,
    Severity,
    SourceLocation,
    Status,
    TargetSummary,
    Waiver,
)

FORMAT = "sovscan-result"
FORMAT_VERSION = 1


def _location(location: SourceLocation | None) -> dict[str, Any] | None:
    return None if location is None else {"path": location.path, "line": location.line}


def _read_location(data: Mapping[str, Any] | None) -> SourceLocation | None:
    return None if data is None else SourceLocation(str(data["path"]), int(data["line"]))


def control_to_dict(control: Control) -> dict[str, Any]:
    """Serialise a control."""
    return {
        "id": control.id,
        "title": control.title,
        "severity": control.severity.value,
        "target": control.target,
        "check": control.check,
        "params": dict(control.params),
        "description": control.description,
        "rationale": control.rationale,
        "remediation": control.remediation,
        "references": {k: list(v) for k, v in control.references.items()},
        "tags": list(control.tags),
        "baseline": control.baseline,
        "source": _location(control.source),
        "disabled": control.disabled,
    }


def control_from_dict(data: Mapping[str, Any]) -> Control:
    """Deserialise a control."""
    return Control(
        id=data["id"],
        title=data["title"],
        severity=Severity(data["severity"]),
        target=data["target"],
        check=data["check"],
        params=dict(data.get("params", {})),
        description=data.get("description", ""),
        rationale=data.get("rationale", ""),
        remediation=data.get("remediation", ""),
        references={k: tuple(v) for k, v in data.get("references", {}).items()},
        tags=tuple(data.get("tags", ())),
        baseline=data.get("baseline", ""),
        source=_read_location(data.get("source")),
        disabled=data.get("disabled"),
    )


def _waiver_to_dict(waiver: Waiver | None) -> dict[str, Any] | None:
    if waiver is None:
        return None
    return {
        "control_id": waiver.control_id,
        "resource": waiver.resource,
        "justification": waiver.justification,
        "owner": waiver.owner,
        "expires": waiver.expires,
        "ticket": waiver.ticket,
        "source": _location(waiver.source),
    }


def _waiver_from_dict(data: Mapping[str, Any] | None) -> Waiver | None:
    if data is None:
        return None
    return Waiver(
        control_id=data["control_id"],
        resource=data["resource"],
        justification=data["justification"],
        owner=data["owner"],
        expires=data["expires"],
        ticket=data.get("ticket"),
        source=_read_location(data.get("source")),
    )


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """Serialise a finding (with its fingerprint)."""
    r = finding.resource
    return {
        "control_id": finding.control_id,
        "status": finding.status.value,
        "message": finding.message,
        "observed": finding.observed,
        "expected": finding.expected,
        "fingerprint": finding.fingerprint,
        "resource": {
            "target": r.target,
            "kind": r.kind,
            "name": r.name,
            "uri": r.uri,
            "location": _location(r.location),
        },
        "waiver": _waiver_to_dict(finding.waiver),
        "baseline_state": finding.baseline_state.value if finding.baseline_state else None,
        "previous_status": finding.previous_status.value if finding.previous_status else None,
    }


def _finding_dicts(findings: Iterable[Finding]) -> Iterator[dict[str, Any]]:
    """`map(finding_to_dict, findings)`, each resource's part built once per Resource object.

    The findings of one resource mostly share the object; the part is shared by their dicts, which
    are encoded as they come and never changed."""
    resources: dict[int, tuple[Resource, dict[str, Any]]] = {}
    for finding in findings:
        r = finding.resource
        cached = resources.get(id(r))
        if cached is None or cached[0] is not r:
            place = {
                "target": r.target,
                "kind": r.kind,
                "name": r.name,
                "uri": r.uri,
                "location": _location(r.location),
            }
            cached = resources[id(r)] = (r, place)
        baseline, previous = finding.baseline_state, finding.previous_status
        yield {
            "control_id": finding.control_id,
            "status": finding.status._value_,  # `.value` is a Python-level property, measurably slower
            "message": finding.message,
            "observed": finding.observed,
            "expected": finding.expected,
            "fingerprint": finding.fingerprint,
            "resource": cached[1],
            "waiver": None if finding.waiver is None else _waiver_to_dict(finding.waiver),
            "baseline_state": None if baseline is None else baseline._value_,
            "previous_status": None if previous is None else previous._value_,
        }


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    """Deserialise a finding."""
    r = data["resource"]
    return Finding(
        control_id=data["control_id"],
        resource=Resource(r["target"], r["kind"], r["name"], r["uri"], _read_location(r.get("location"))),
        status=Status(data["status"]),
        message=data["message"],
        observed=data.get("observed"),
        expected=data.get("expected"),
        waiver=_waiver_from_dict(data.get("waiver")),
        baseline_state=BaselineState(data["baseline_state"]) if data.get("baseline_state") else None,
        previous_status=Status(data["previous_status"]) if data.get("previous_status") else None,
    )


def status_counts(result: ScanResult) -> Counter[tuple[Status, str | None]]:
    """Findings per (status, target id), and per (status, None) over all targets, counted in one pass.

    The same numbers as `ScanResult.count(status, target)`, which walks every finding on each call.
    """
    counts: Counter[tuple[Status, str | None]] = Counter((f.status, f.resource.target) for f in result.findings)
    for (status, _), n in list(counts.items()):
        counts[(status, None)] += n
    return counts


def _summary(result: ScanResult) -> dict[str, Any]:
    counts = status_counts(result)
    by_target = {t.id: {s.value: counts[(s, t.id)] for s in Status} for t in result.targets}
    return {
        "total": len(result.findings),
        "by_status": {s.value: counts[(s, None)] for s in Status},
        "by_target": by_target,
    }


def _head(result: ScanResult) -> dict[str, Any]:
    """Everything of the native document before its findings."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool": {"name": "sovscan", "version": result.tool_version},
        "run": {
            "id": result.run_id,
            "environment": result.environment,
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "compared_with": result.compared_with,
        },
        "baselines": dict(result.baselines),
        "targets": [
            {
                "id": t.id,
                "kind": t.kind,
                "uri": t.uri,
                "error": t.error,
                "section_errors": dict(t.section_errors),
                "collected_at": t.collected_at,
                "duration": t.duration,
                "labels": dict(t.labels),
                "insecure_transport": list(t.insecure_transport),
            }
            for t in result.targets
        ],
        "controls": {cid: control_to_dict(c) for cid, c in result.controls.items()},
    }


def _tail(result: ScanResult) -> dict[str, Any]:
    """Everything of the native document after its findings."""
    return {
        "absent": [finding_to_dict(f) for f in result.absent],
        "notes": list(result.notes),
        "summary": _summary(result),
        **({"frameworks": [frameworks.result_to_dict(f) for f in result.frameworks]} if result.frameworks else {}),
    }


def to_dict(result: ScanResult) -> dict[str, Any]:
    """Serialise a ScanResult to the native JSON document."""
    return {**_head(result), "findings": [finding_to_dict(f) for f in result.findings], **_tail(result)}


def chunks(result: ScanResult) -> Iterator[bytes]:
    """The native JSON text of a result as UTF-8 chunks, one finding encoded at a time (never held whole)."""
    return jsonout.stream_object(_head(result), "findings", _finding_dicts(result.findings), _tail(result))


def dumps(result: ScanResult) -> str:
    """The native JSON text of a result (two-space indented, ending with a newline)."""
    return b"".join(chunks(result)).decode()


def from_dict(data: Mapping[str, Any]) -> ScanResult:
    """Deserialise a native JSON document (validated first)."""
    run = data["run"]
    return ScanResult(
        tool_version=data["tool"]["version"],
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        controls={cid: control_from_dict(c) for cid, c in data["controls"].items()},
        findings=tuple(finding_from_dict(f) for f in data["findings"]),
        targets=tuple(
            TargetSummary(
                id=t["id"],
                kind=t["kind"],
                uri=t["uri"],
                error=t.get("error"),
                section_errors=dict(t.get("section_errors", {})),
                collected_at=t.get("collected_at", ""),
                duration=float(t.get("duration", 0.0)),
                labels=dict(t.get("labels", {})),
                insecure_transport=tuple(t.get("insecure_transport", ())),
            )
            for t in data["targets"]
        ),
        baselines=dict(data.get("baselines", {})),
        environment=run.get("environment", "default"),
        run_id=run.get("id", ""),
        compared_with=run.get("compared_with"),
        absent=tuple(finding_from_dict(f) for f in data.get("absent", [])),
        notes=tuple(data.get("notes", [])),
        frameworks=tuple(frameworks.result_from_dict(f) for f in data.get("frameworks", [])),
    )


def load(path: Path | str) -> ScanResult:
    """Read and validate a native JSON result file; errors name the file."""
    return from_document(read_json(path, "result"), str(path))


def from_document(document: Any, source: str) -> ScanResult:
    """Validate a parsed native JSON result (schema, then consistency) and rebuild it; errors name `source`."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError("not a sovscan native JSON result (format != sovscan-result)", source)
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema("result")).iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"invalid sovscan result at {where}: {error.message[:200]}", source)
    result = from_dict(document)
    problem = inconsistency(result, document)
    if problem is not None:
        raise ConfigError(f"inconsistent sovscan result: {problem} (the file was edited or damaged)", source)
    return result


def inconsistency(result: ScanResult, document: Mapping[str, Any]) -> str | None:
    """What in a read result contradicts itself: a finding of an unknown control, a fingerprint that is
    not its control and resource, or a summary that does not count the findings; None when consistent."""
    for index, finding in enumerate(result.findings):
        if finding.control_id not in result.controls:
            return f"findings/{index} is a finding of control {finding.control_id}, which the result does not define"
    for key in ("findings", "absent"):
        for index, (finding, data) in enumerate(zip(getattr(result, key), document[key], strict=True)):
            if data["fingerprint"] != finding.fingerprint:
                return (
                    f"{key}/{index}: fingerprint {data['fingerprint']} is not that of {finding.control_id} on "
                    f"{finding.resource.uri}"
                )
    if document["summary"] != _summary(result):
        return "the summary does not count the findings it lists"
    return None


def merge(results: Sequence[tuple[ScanResult, str]]) -> ScanResult:
    """Merge the results of the shards of one scan (`report --from A --from B`) into one result.

    The shards must be of one environment and must not share a target; a control defined
    differently by two shards (different baseline versions) is refused, as is a baseline
    present in two versions. Findings keep the order of the inputs.
    """
    if len(results) == 1:
        return results[0][0]
    first, first_source = results[0]
    owner: dict[str, str] = {}
    controls: dict[str, Control] = {}
    control_source: dict[str, str] = {}
    baselines: dict[str, str] = {}
    for result, source in results:
        if result.environment != first.environment:
            raise ConfigError(
                f"cannot merge results of different environments ('{first.environment}' in {first_source}, "
                f"'{result.environment}')",
                source,
            )
        for target in result.targets:
            if target.id in owner:
                raise ConfigError(
                    f"target '{target.id}' is also in {owner[target.id]}: shards must not overlap", source
                )
            owner[target.id] = source
        for control_id, control in result.controls.items():
            if control_id in controls and controls[control_id] != control:
                raise ConfigError(
                    f"control {control_id} differs from its definition in {control_source[control_id]} "
                    "(scanned with different baselines or sovscan versions?)",
                    source,
                )
            controls.setdefault(control_id, control)
            control_source.setdefault(control_id, source)
        for name, version in result.baselines.items():
            if baselines.get(name, version) != version:
                raise ConfigError(f"baseline {name} {version} differs from {baselines[name]} in another input", source)
            baselines[name] = version
    versions = sorted({r.tool_version for r, _ in results})
    compared = [r.compared_with for r, _ in results if r.compared_with is not None]
    notes = [note for r, _ in results for note in r.notes]
    if len(versions) > 1:
        notes.append(f"merged results written by different sovscan versions: {', '.join(versions)}")
    run_ids = ",".join(r.run_id for r, _ in results)
    return ScanResult(
        tool_version=first.tool_version,
        started_at=min(r.started_at for r, _ in results),
        finished_at=max(r.finished_at for r, _ in results),
        controls=controls,
        findings=tuple(f for r, _ in results for f in r.findings),
        targets=tuple(t for r, _ in results for t in r.targets),
        baselines=baselines,
        environment=first.environment,
        run_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"sovscan-merge:{run_ids}")),
        compared_with="; ".join(dict.fromkeys(compared)) if compared else None,
        absent=tuple(f for r, _ in results for f in r.absent),
        notes=tuple(dict.fromkeys(notes)),
        frameworks=tuple({f.name: f for r, _ in results for f in r.frameworks}.values()),
    )
