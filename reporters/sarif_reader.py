"""Reading a SARIF log written by sovscan back into a ScanResult (for `--compare`).

The SARIF reporter owns its format both ways: `reporters/sarif.py` writes it, this module reads
it, and `SarifReporter.read` offers it to the engine through the reporter interface.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema

from scanner.errors import ConfigError
from scanner.model import (
    Control,
    Finding,
    Resource,
    ScanResult,
    Severity,
    SourceLocation,
    Status,
    TargetSummary,
    Waiver,
    fingerprint,
)
from scanner.yamlfile import schema_error_text


def _objects(properties: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """JSON Schema: an array of objects with these properties."""
    return {"type": "array", "items": {"type": "object", "properties": dict(properties or {}), **extra}}


_OBJECT: dict[str, Any] = {"type": "object"}
_STRING: dict[str, Any] = {"type": "string"}
_SARIF_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["runs"],
    "properties": {
        "runs": _objects(
            {
                "tool": {
                    "type": "object",
                    "properties": {
                        "driver": {
                            "type": "object",
                            "properties": {
                                "name": _STRING,
                                "version": _STRING,
                                "rules": _objects(
                                    {"id": _STRING, "shortDescription": _OBJECT, "properties": _OBJECT}, required=["id"]
                                ),
                            },
                        }
                    },
                },
                "properties": {
                    "type": "object",
                    "properties": {
                        "targets": _objects(),
                        "baselines": {"type": "object", "additionalProperties": _STRING},
                        "environment": _STRING,
                        "runId": _STRING,
                    },
                },
                "invocations": _objects(),
                "results": _objects(
                    {
                        "ruleId": _STRING,
                        "kind": _STRING,
                        "message": _OBJECT,
                        "properties": _OBJECT,
                        "partialFingerprints": _OBJECT,
                        "locations": _objects({"logicalLocations": _objects()}),
                        "suppressions": _objects(
                            {
                                "properties": _OBJECT,
                                "location": {
                                    "type": "object",
                                    "properties": {
                                        "physicalLocation": {
                                            "type": "object",
                                            "properties": {
                                                "artifactLocation": _OBJECT,
                                                "region": {
                                                    "type": "object",
                                                    "properties": {"startLine": {"type": "integer", "minimum": 1}},
                                                },
                                            },
                                        }
                                    },
                                },
                            }
                        ),
                    }
                ),
            }
        )
    },
}
"""The parts of a SARIF log that `from_sarif` reads, with the types it relies on."""


def from_sarif(log: Mapping[str, Any], path: str) -> tuple[ScanResult, bool]:
    """Rebuild the findings of a SARIF log written by sovscan; returns (result, complete).

    Each result's identity comes from `ruleId` and `properties.resourceUri` (checked against
    `partialFingerprints.primaryLocationLineHash`), its status from `properties.status`, its
    observed value from `properties.observed`. Results marked `absent` are skipped: they were not
    in that run.
    """
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_SARIF_SHAPE).iter_errors(log))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"not a SARIF log sovscan can compare with: {where}: {schema_error_text(error)}", path)
    runs = [r for r in log["runs"] if _tool_name(r) == "sovscan"]
    if len(runs) != 1:
        raise ConfigError("not a SARIF log written by sovscan (expected exactly one run of tool 'sovscan')", path)
    run = runs[0]
    properties = run.get("properties") or {}
    controls: dict[str, Control] = {}
    for rule in (run.get("tool") or {}).get("driver", {}).get("rules", []) or []:
        rp = rule.get("properties") or {}
        severity = rp.get("severity")
        controls[rule["id"]] = Control(
            id=rule["id"],
            title=(rule.get("shortDescription") or {}).get("text", rule["id"]),
            severity=Severity(severity) if severity in {s.value for s in Severity} else Severity.MEDIUM,
            target=str(rp.get("target", "")),
            check=str(rp.get("check", "")),
            baseline=str(rp.get("baseline", "")),
        )
    findings: list[Finding] = []
    kinds: set[str] = set()
    for index, item in enumerate(run.get("results") or []):
        if item.get("baselineState") == "absent":
            continue
        kinds.add(str(item.get("kind", "fail")))
        findings.append(_sarif_finding(item, f"{path}: runs[0].results[{index}]"))
    targets = tuple(
        TargetSummary(id=str(t["id"]), kind=str(t.get("kind", "")), uri=str(t.get("uri", "")))
        for t in properties.get("targets", []) or []
        if isinstance(t, dict) and "id" in t
    )
    invocations = run.get("invocations") or [{}]
    full = properties.get("full")
    complete = bool(full) if isinstance(full, bool) else bool(kinds & {"pass", "notApplicable"})
    result = ScanResult(
        tool_version=str((run.get("tool") or {}).get("driver", {}).get("version", "")),
        started_at=str(invocations[0].get("startTimeUtc", "")),
        finished_at=str(invocations[0].get("endTimeUtc", "")),
        controls=controls,
        findings=tuple(findings),
        targets=targets,
        baselines=dict(properties.get("baselines", {}) or {}),
        environment=str(properties.get("environment", "default")),
        run_id=str(properties.get("runId", "")),
    )
    return result, complete


def _tool_name(run: Mapping[str, Any]) -> str:
    return str(((run.get("tool") or {}).get("driver") or {}).get("name", ""))


def _sarif_finding(item: Mapping[str, Any], where: str) -> Finding:
    props = item.get("properties") or {}
    control_id = item.get("ruleId")
    status = props.get("status")
    logical = ((item.get("locations") or [{}])[0].get("logicalLocations") or [{}])[0]
    uri = props.get("resourceUri") or logical.get("fullyQualifiedName")
    if not isinstance(control_id, str) or not isinstance(uri, str) or status not in {s.value for s in Status}:
        raise ConfigError(
            "SARIF result lacks ruleId, properties.resourceUri or properties.status: only logs written by "
            "sovscan can be compared",
            where,
        )
    expected_print = (item.get("partialFingerprints") or {}).get("primaryLocationLineHash")
    if expected_print is not None and expected_print != fingerprint(control_id, uri):
        raise ConfigError(
            f"fingerprint {expected_print} does not match control {control_id} on {uri}: the log was not written "
            "by this version of sovscan or was edited",
            where,
        )
    resource = Resource(
        target=str(props.get("target", "")),
        kind=str(props.get("resourceKind", "")),
        name=str(props.get("resourceName", logical.get("name", ""))),
        uri=uri,
    )
    return Finding(
        control_id=control_id,
        resource=resource,
        status=Status(status),
        message=str((item.get("message") or {}).get("text", "")),
        observed=props.get("observed"),
        expected=props.get("expected"),
        waiver=_sarif_waiver(item, control_id),
    )


def _sarif_waiver(item: Mapping[str, Any], control_id: str) -> Waiver | None:
    suppressions: Sequence[Mapping[str, Any]] = item.get("suppressions") or []
    for suppression in suppressions:
        props = suppression.get("properties") or {}
        if suppression.get("status") == "accepted" and "owner" in props:
            location = (suppression.get("location") or {}).get("physicalLocation") or {}
            uri = (location.get("artifactLocation") or {}).get("uri")
            line = (location.get("region") or {}).get("startLine", 1)
            return Waiver(
                control_id=control_id,
                resource=str(props.get("resource", "*")),
                justification=str(suppression.get("justification", "")),
                owner=str(props["owner"]),
                expires=str(props.get("expires", "")),
                ticket=props.get("ticket"),
                source=SourceLocation(str(uri), int(line)) if uri else None,
            )
    return None
