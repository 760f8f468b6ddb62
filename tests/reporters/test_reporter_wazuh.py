"""Tests of the Wazuh reporter and of examples/wazuh/sovscan_rules.xml.

No Wazuh manager can be installed here, so rule matching is EMULATED: events are flattened the way
Wazuh's JSON decoder does it (nested keys joined with dots, booleans as "true"/"false", numbers as
text), each rule's <field> regexes are applied with Python's `re` (the rules only use anchored
literals, which mean the same in Wazuh's OS_Regex), and the rule tree is walked from the root
rule through <if_sid> children. `wazuh-logtest` on a real manager is the authoritative check.
"""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reporters.wazuh import MAX_EVENT_BYTES, WazuhReporter
from scanner.compare import changes
from scanner.interface import ReportOptions
from scanner.model import Finding, Resource, ScanResult, Status
from tests.reporters.reporter_fixtures import PG, UNREACHABLE_ERROR, build_scan_result, scan_with

RULES = Path(__file__).parents[2] / "examples" / "wazuh" / "sovscan_rules.xml"
OSSEC_SNIPPET = Path(__file__).parents[2] / "examples" / "wazuh" / "ossec.conf.snippet.xml"
STATIC_FIELDS = {
    "srcip", "dstip", "srcport", "dstport", "protocol", "action", "srcuser", "dstuser",
    "id", "status", "command", "url", "data", "systemname",
}  # fmt: skip


def render(result: ScanResult, **options: Any) -> list[dict[str, Any]]:
    text = WazuhReporter().render(result, ReportOptions(**options))
    assert text.endswith("\n")
    return [json.loads(line) for line in text.split("\n")[:-1]]


def findings_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["sovscan"] for e in events if e["sovscan"]["event"] == "finding"]


def summaries_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["sovscan"] for e in events if e["sovscan"]["event"] == "summary"]


def all_events() -> list[dict[str, Any]]:
    """Events of every mode and comparison state, for the rule coverage tests."""
    events: list[dict[str, Any]] = []
    for compared in (True, False):
        for changes_only in (True, False):
            events += render(build_scan_result(compared=compared), changes_only=changes_only)
    return events


# --- the emitted events ------------------------------------------------------------------------------


def test_one_line_per_event_nested_under_one_key() -> None:
    result = build_scan_result()
    text = WazuhReporter().render(result, ReportOptions())
    lines = text.split("\n")[:-1]
    events = [json.loads(line) for line in lines]
    for event in events:
        assert set(event) == {"integration", "sovscan"}
        assert event["integration"] == "sovscan"
        assert not set(event) & STATIC_FIELDS
    assert len(findings_of(events)) == len(result.findings) + len(result.absent)
    assert [s["target"]["id"] for s in summaries_of(events)] == [t.id for t in result.targets]


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value, path)


def test_only_scalars_objects_and_arrays_of_scalars() -> None:
    for event in all_events():
        for path, value in walk(event):
            if isinstance(value, list):
                assert all(isinstance(v, str | int | float | bool) for v in value), path
            assert value is not None, path
            if isinstance(value, dict):
                assert all("." not in key for key in value), path


def test_finding_event_fields() -> None:
    events = render(build_scan_result())
    event = next(f for f in findings_of(events) if f["control"]["id"] == "PG-04")
    assert event["status"] == "ERROR"
    assert event["severity"] == "critical"
    assert event["control"]["title"] == "No weak auth methods"
    assert event["target"] == {"id": "pg-prod", "kind": "postgres"}
    assert event["resource"]["uri"] == f"{PG}/hba"
    assert event["references"] == {
        "cis-postgresql-17": ["5.3", "5.4"],
        "bsi": ["APP.4.3.A3"],
        "nis2": ["21(2)(j)"],
    }
    assert event["fingerprint"] == build_scan_result().findings[2].fingerprint
    failing = next(f for f in findings_of(events) if f["control"]["id"] == "PG-09")
    assert failing["observed"] == '{"rolcreaterole":true,"rolsuper":true}'
    assert failing["expected"] == '{"rolsuper":false}'
    k8s = next(f for f in findings_of(events) if f["control"]["id"] == "K8S-13")
    assert k8s["references"]["cis-kubernetes-1_12"] == ["5.2.2"]
    assert (k8s["resource"]["file"], k8s["resource"]["line"]) == ("manifests/team-a/web.yaml", 17)
    waived = next(f for f in findings_of(events) if f["status"] == "WAIVED")
    assert waived["waiver"]["expires"] == "2031-12-31"
    assert waived["waiver"]["ticket"] == "SEC-1234"


def test_summary_per_target() -> None:
    summaries = {s["target"]["id"]: s for s in summaries_of(render(build_scan_result()))}
    replica = summaries["pg-replica"]
    assert replica["target"]["reachable"] is False
    assert replica["target"]["error"] == UNREACHABLE_ERROR
    assert replica["counts"]["error"] == 2
    prod = summaries["pg-prod"]
    assert prod["target"]["reachable"] is True
    assert prod["counts"] == {
        "total": 9, "pass": 2, "fail": 4, "error": 1, "not_applicable": 1, "waived": 1,
    }  # fmt: skip
    assert prod["failing"] == {"critical": 0, "high": 3, "medium": 1, "low": 0, "info": 0}
    assert prod["changes"] == {"new": 2, "regressed": 1, "resolved": 2, "lost": 0}
    assert replica["changes"] == {"new": 0, "regressed": 0, "resolved": 0, "lost": 2}
    assert prod["section_errors"]["pg_hba_file_rules"].startswith("permission denied")
    assert prod["target"]["labels"] == {"environment": "prod", "owner": "data-platform"}
    assert "expires" in prod["notes"][0]


def test_change_classification() -> None:
    changes = {
        (f["control"]["id"], f["resource"]["uri"]): (f["status"], f["change"])
        for f in findings_of(render(build_scan_result()))
    }
    assert changes[("PG-02", f"{PG}/settings/ssl_min_protocol_version")] == ("PASS", "resolved")
    assert changes[("PG-05", f"{PG}/settings/password_encryption")] == ("FAIL", "new")
    assert changes[("PG-13", f"{PG}/settings/log_connections")] == ("FAIL", "regressed")
    assert changes[("PG-09", f"{PG}/roles/app_owner")] == ("FAIL", "unchanged")
    assert changes[("PG-04", f"{PG}/hba")] == ("ERROR", "unchanged")
    # Verified in the previous run (PASS, FAIL), ERROR now: coverage lost, not a fix.
    assert changes[("PG-01", "postgres://replica.example:5432")] == ("ERROR", "lost")
    assert changes[("PG-05", "postgres://replica.example:5432")] == ("ERROR", "lost")
    assert changes[("K8S-24", "k8s://manifests")] == ("NOT_APPLICABLE", "new")
    assert changes[("PG-07", f"{PG}/hba/line/12")] == ("ABSENT", "resolved")
    assert changes[("K8S-13", "k8s://manifests/ns/team-a/Deployment/legacy")] == ("ABSENT", "removed")
    without = findings_of(render(build_scan_result(compared=False)))
    assert {f["change"] for f in without} == {"none"}


def test_absent_finding_of_a_control_in_error_is_unverified_not_resolved() -> None:
    result = build_scan_result()
    gone = dataclasses.replace(
        result.absent[0], resource=dataclasses.replace(result.absent[0].resource, target="pg-replica")
    )
    events = render(dataclasses.replace(result, absent=(gone,)))
    absent = next(f for f in findings_of(events) if f["status"] == "ABSENT")
    # PG-07 is not ERROR on pg-replica, so this one is resolved ...
    assert absent["change"] == "resolved"
    gone = dataclasses.replace(gone, control_id="PG-01")
    events = render(dataclasses.replace(result, absent=(gone,)), changes_only=True)
    # ... while PG-01 is ERROR there now: not fixed, just not seen, and not sent as a change.
    assert all(f["status"] != "ABSENT" for f in findings_of(events))
    full = render(dataclasses.replace(result, absent=(gone,)))
    assert next(f for f in findings_of(full) if f["status"] == "ABSENT")["change"] == "unverified"


def test_changes_only_emits_new_resolved_regressed_and_lost() -> None:
    events = render(build_scan_result(), changes_only=True)
    emitted = {(f["control"]["id"], f["resource"]["uri"], f["change"]) for f in findings_of(events)}
    assert emitted == {
        ("PG-02", f"{PG}/settings/ssl_min_protocol_version", "resolved"),
        ("PG-05", f"{PG}/settings/password_encryption", "new"),
        ("PG-09", f"{PG}/roles/backup", "new"),
        ("PG-13", f"{PG}/settings/log_connections", "regressed"),
        ("PG-07", f"{PG}/hba/line/12", "resolved"),
        ("PG-01", "postgres://replica.example:5432", "lost"),
        ("PG-05", "postgres://replica.example:5432", "lost"),
        ("BAO-05", "https://bao.example:8200/sys/audit", "new"),
        ("BAO-18", "https://bao.example:8200/sys/quotas/rate-limit", "new"),
        ("K8S-13", "k8s://manifests/ns/team-a/Deployment/web", "new"),
    }
    summaries = summaries_of(events)
    assert len(summaries) == 4
    assert {s["mode"] for s in summaries} == {"changes"}
    assert sum(s["emitted"] for s in summaries) == len(emitted)
    # Counts still describe the whole target, not just what was emitted.
    assert next(s for s in summaries if s["target"]["id"] == "pg-prod")["counts"]["total"] == 9


def test_changes_agree_with_the_shared_definition() -> None:
    # The gate and the console use scanner.compare.changes: the Wazuh change events must be the same set.
    result = build_scan_result()
    shared = changes(result)
    expected = {f.fingerprint for f in (*shared.new_failures, *shared.regressed, *shared.resolved, *shared.lost)}
    emitted = {f["fingerprint"] for f in findings_of(render(result, changes_only=True))}
    assert emitted == expected


def test_changes_only_without_comparison_emits_everything_and_says_so() -> None:
    result = build_scan_result(compared=False)
    events = render(result, changes_only=True)
    assert len(findings_of(events)) == len(result.findings)
    for summary in summaries_of(events):
        assert summary["mode"] == "changes-unavailable"
        assert "not compared with a previous run" in summary["message"]


def test_full_mode_by_default() -> None:
    events = render(build_scan_result())
    assert {e["sovscan"]["mode"] for e in events} == {"full"}


def test_no_event_over_the_limit_and_truncation_is_marked() -> None:
    result = build_scan_result()
    huge = dataclasses.replace(
        result.findings[3],
        observed="é" * 50_000,  # 100,000 bytes of 2-byte characters: the cut must respect them
        expected=["x" * 1000] * 100,
        message="m" * 70_000,
    )
    text = WazuhReporter().render(scan_with(result, huge), ReportOptions())
    for line in text.split("\n")[:-1]:
        assert len(line.encode()) <= MAX_EVENT_BYTES
    event = findings_of([json.loads(line) for line in text.split("\n")[:-1]])[0]
    assert set(event["truncated"]) == {"observed", "expected", "message"}
    assert event["observed"].startswith("éé")
    assert event["observed"].endswith("…[truncated 100000 bytes]")
    assert event["message"].endswith("…[truncated 70000 bytes]")
    assert event["control"]["id"] == "PG-05"


def test_event_made_of_many_medium_values_still_fits() -> None:
    result = build_scan_result()
    controls = dict(result.controls)
    controls["PG-05"] = dataclasses.replace(
        controls["PG-05"],
        references={f"framework-{i}": (f"{i}" * 7000,) for i in range(10)},
        remediation="r" * 8000,
    )
    text = WazuhReporter().render(dataclasses.replace(result, controls=controls), ReportOptions())
    lines = text.split("\n")[:-1]
    assert all(len(line.encode()) <= MAX_EVENT_BYTES for line in lines)
    event = next(json.loads(line)["sovscan"] for line in lines if '"PG-05"' in line)
    assert "references.framework-0" in event["truncated"]
    # A value cut twice still reports its original size.
    cut = [v[0] for v in event["references"].values() if "truncated" in v[0]]
    assert cut
    assert all(v.endswith("…[truncated 7000 bytes]") for v in cut)


def test_event_made_of_thousands_of_short_values_still_fits() -> None:
    result = build_scan_result()
    controls = dict(result.controls)
    controls["PG-05"] = dataclasses.replace(
        controls["PG-05"], references={f"fw-{i}": (f"ref-{i}",) for i in range(5000)}
    )
    text = WazuhReporter().render(dataclasses.replace(result, controls=controls), ReportOptions())
    lines = text.split("\n")[:-1]
    assert all(len(line.encode()) <= MAX_EVENT_BYTES for line in lines)
    event = next(json.loads(line)["sovscan"] for line in lines if '"PG-05"' in line)
    assert "references" not in event
    assert "references" in event["truncated"]
    assert event["control"]["id"] == "PG-05"


def test_line_separators_do_not_split_events() -> None:
    text = WazuhReporter().render(build_scan_result(), ReportOptions())
    assert "\u2028" not in text
    assert len(text.splitlines()) == len(text.split("\n")) - 1


def test_finding_for_an_unknown_target_and_control() -> None:
    stray = Finding("X-01", Resource("other", "thing", "t", "x://t"), Status.FAIL, "m", observed=1)
    events = render(scan_with(build_scan_result(compared=False), stray))
    summary = summaries_of(events)[-1]
    assert summary["target"]["id"] == "other"
    finding = findings_of(events)[0]
    assert finding["control"] == {"id": "X-01"}
    assert finding["severity"] == "critical"  # the gate's rule: unknown is fail-closed critical
    assert finding["observed"] == "1"


# --- the rules: emulated Wazuh matching ---------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: int
    level: int
    parents: tuple[int, ...]
    decoded_as: str | None
    fields: tuple[tuple[str, str], ...]
    description: str
    groups: tuple[str, ...]
    negated: tuple[tuple[str, str], ...] = ()
    """<field negate="yes"> conditions: the field must be present and NOT match."""


def load_rules() -> list[Rule]:
    root = ET.parse(RULES).getroot()  # noqa: S314 (our own file); raises on malformed XML
    assert root.tag == "group"
    rules = []
    for element in root.iter("rule"):
        if_sid = element.findtext("if_sid")
        groups = ",".join(g.text or "" for g in element.findall("group"))
        rules.append(
            Rule(
                id=int(element.get("id", "")),
                level=int(element.get("level", "")),
                parents=tuple(int(p) for p in if_sid.split(",")) if if_sid else (),
                decoded_as=element.findtext("decoded_as"),
                fields=tuple(
                    (f.get("name", ""), f.text or "") for f in element.findall("field") if f.get("negate") != "yes"
                ),
                negated=tuple(
                    (f.get("name", ""), f.text or "") for f in element.findall("field") if f.get("negate") == "yes"
                ),
                description=element.findtext("description") or "",
                groups=tuple(g for g in groups.split(",") if g),
            )
        )
    return rules


def flatten(node: Any, prefix: str = "") -> dict[str, str]:
    """Emulation of Wazuh's JSON decoder: dotted keys, scalars as text, arrays of scalars joined."""
    out: dict[str, str] = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = str(value)
    return out


def matches(rule: Rule, fields: dict[str, str]) -> bool:
    if rule.decoded_as is not None and rule.decoded_as != "json":
        return False
    if any(name not in fields or re.search(regex, fields[name]) for name, regex in rule.negated):
        return False
    return all(name in fields and re.search(regex, fields[name]) for name, regex in rule.fields)


def classify(rules: list[Rule], event: dict[str, Any]) -> Rule:
    """Walk the rule tree like analysisd: a root rule, then matching children until none match."""
    fields = flatten(event)
    roots = [r for r in rules if not r.parents and matches(r, fields)]
    assert len(roots) == 1, [r.id for r in roots]
    current = roots[0]
    while True:
        children = [r for r in rules if current.id in r.parents and matches(r, fields)]
        # Siblings must exclude each other, so Wazuh's evaluation order cannot change the outcome.
        assert len(children) <= 1, (current.id, [r.id for r in children], fields)
        if not children:
            return current
        current = children[0]


def expected_rule(event: dict[str, Any]) -> int:
    body = event["sovscan"]
    if body["event"] == "summary":
        if not body["target"]["reachable"]:
            return 100102
        return 100103 if body["mode"] == "changes-unavailable" else 100101
    status, change = body["status"], body["change"]
    if status == "PASS":
        return 100112 if change == "resolved" else 100111
    if status == "NOT_APPLICABLE":
        return 100114 if change == "resolved" else 100113
    if status == "FAIL":
        offset = ["critical", "high", "medium", "low", "info"].index(body["severity"])
        return (100130 if change == "regressed" else 100120) + offset
    if status == "ERROR":
        return 100117 if change == "lost" else 100116
    return {"WAIVED": 100115, "ABSENT": 100118}[status]


def test_rules_file_is_well_formed_with_valid_ids_and_levels() -> None:
    rules = load_rules()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert all(100000 <= i <= 120000 for i in ids)
    assert all(0 <= r.level <= 16 for r in rules)
    known = set(ids)
    assert all(set(r.parents) <= known for r in rules)
    assert all(r.description for r in rules)
    snippet = ET.parse(OSSEC_SNIPPET).getroot()  # noqa: S314 (our own file); the agent snippet is well-formed too
    assert snippet.findtext("localfile/log_format") == "json"


def test_field_regexes_are_anchored_literals() -> None:
    for rule in load_rules():
        for name, regex in rule.fields:
            # Anchored, and only characters that mean the same in Wazuh's OS_Regex and Python's re.
            assert re.fullmatch(r"\^[A-Za-z0-9_-]+\$", regex), (rule.id, name, regex)


def test_every_rule_field_exists_in_emitted_events() -> None:
    emitted: set[str] = set()
    for event in all_events():
        emitted.update(flatten(event))
    for rule in load_rules():
        for name, _ in rule.fields:
            assert name in emitted, (rule.id, name)


def test_each_event_selects_its_rule() -> None:
    rules = load_rules()
    hit: set[int] = set()
    for event in all_events():
        rule = classify(rules, event)
        assert rule.id == expected_rule(event), event
        hit.add(rule.id)
        # Every $(field) in the winning rule's description is present in the event.
        fields = flatten(event)
        for placeholder in re.findall(r"\$\(([^)]+)\)", rule.description):
            assert placeholder in fields, (rule.id, placeholder)
    # Every rule that an event can end on is reached (regressions by severity are tested below).
    leaves = {r.id for r in rules} - {100100, 100110}
    missing = leaves - hit
    # Keycloak's rules (100200-100229) are reached by Keycloak findings: tests/keycloak/test_wazuh.py;
    # the object-storage rules (100230-100259) are exercised with real s3 events in tests/s3/test_cli.py
    assert missing <= {100114, *range(100130, 100135), *range(100200, 100260)}, missing


def test_not_applicable_that_resolved_a_failure_is_alerted() -> None:
    result = build_scan_result()
    resolved = dataclasses.replace(result.findings[8], previous_status=Status.FAIL, baseline_state=None)
    events = render(scan_with(result, resolved))
    finding = findings_of(events)[0]
    assert (finding["status"], finding["change"]) == ("NOT_APPLICABLE", "resolved")
    rule = classify(load_rules(), next(e for e in events if e["sovscan"]["event"] == "finding"))
    assert rule.id == 100114
    assert rule.level >= 3


@pytest.mark.parametrize(
    ("control_id", "rule_id"),
    [("PG-01", 100130), ("PG-05", 100131), ("PG-13", 100132), ("BAO-14", 100133), ("BAO-18", 100134)],
)
def test_regression_rule_by_severity(control_id: str, rule_id: int) -> None:
    result = build_scan_result()
    regressed = dataclasses.replace(
        result.findings[3], control_id=control_id, status=Status.FAIL, previous_status=Status.PASS
    )
    events = render(scan_with(result, regressed))
    finding = next(e for e in events if e["sovscan"]["event"] == "finding")
    assert finding["sovscan"]["change"] == "regressed"
    rule = classify(load_rules(), finding)
    assert rule.id == rule_id
    assert "sovscan_regressed" in rule.groups


def test_levels_follow_severity() -> None:
    levels = {r.id: r.level for r in load_rules()}
    fail = [levels[i] for i in range(100120, 100125)]
    assert fail == sorted(fail, reverse=True)
    assert all(levels[100130 + i] > levels[100120 + i] for i in range(5))
    assert levels[100111] <= 3  # PASS is low
    assert levels[100113] < 3  # NOT_APPLICABLE is archived, not alerted
    assert levels[100117] > levels[100116]  # lost coverage is worse than a known ERROR
    assert levels[100102] > levels[100101]


def test_anchored_regexes_do_not_match_lookalike_values() -> None:
    # Unanchored, "PASS" would also select a status that merely contains it.
    rules = load_rules()
    event = next(e for e in render(build_scan_result()) if e["sovscan"].get("status") == "PASS")
    event["sovscan"]["status"] = "NOT_PASS"
    assert classify(rules, event).id == 100110


def test_cutting_one_event_leaves_the_shared_parts_of_the_others_whole() -> None:
    # events of one control share its references (built once per control): a cut must not reach them
    result = build_scan_result()
    controls = dict(result.controls)
    references = {f"framework-{i}": ("R" * 7500,) for i in range(6)}  # 45,000 bytes: fits alone
    controls["PG-05"] = dataclasses.replace(controls["PG-05"], references=references)
    first = next(f for f in result.findings if f.control_id == "PG-05")
    twin = dataclasses.replace(first, resource=dataclasses.replace(first.resource, uri=first.resource.uri + "-twin"))
    big = dataclasses.replace(first, message="m" * 7000, observed="o" * 7000, expected="e" * 7000)  # over 60,000
    changed = dataclasses.replace(result, controls=controls, findings=(big, twin))
    lines = WazuhReporter().render(changed, ReportOptions()).splitlines()
    assert all(len(line.encode()) <= MAX_EVENT_BYTES for line in lines)
    events = findings_of([json.loads(line) for line in lines])
    assert any(name.startswith("references.") for name in events[0]["truncated"])
    assert "truncated" not in events[1]
    assert events[1]["references"] == {key: ["R" * 7500] for key in references}
