"""Evidence contracts (interface 1) and `needs`: a malformed section is ERROR, never "nothing there".

The demo plugin declares schemas for `users` and `settings`; the odd plugin of test_engine.py
declares none (a third-party plugin without a contract: no validation).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from scanner import engine
from scanner.contract import MAX_MESSAGE, apply_contract, section_problem
from scanner.model import Evidence, Status
from tests.core.conftest import DATA

SNEAKY_BASELINE = """\
apiVersion: sovscan/v1
kind: Baseline
name: sneaky
version: "1"
target: demo
controls:
  - {id: SNK-1, title: sneaky, severity: high, check: demo.sneaky, rationale: a reason, remediation: a fix}
  - id: SNK-2
    title: generic sees its own section
    severity: low
    check: generic.field
    params: {section: users, tests: [{field: mfa, op: eq, value: true}]}
    rationale: a reason
    remediation: a fix
"""


def _findings(result: Any, out: Path) -> dict[str, list[dict[str, Any]]]:
    document = json.loads(out.read_text())
    by_control: dict[str, list[dict[str, Any]]] = {}
    for finding in document["findings"]:
        by_control.setdefault(finding["control_id"], []).append(finding)
    return by_control


def test_a_section_of_the_wrong_shape_makes_its_controls_error(run: Any, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = run("scan", "--target", f"demo={DATA / 'facts-malformed.json'}", "-f", f"json={out}")
    assert result.exit_code == 3, result.output
    findings = _findings(result, out)
    [mfa] = findings["DEMO-01"]
    assert mfa["status"] == "ERROR"
    assert mfa["message"] == (
        "evidence unavailable: malformed evidence section 'users': (top level): must be of type array, not object"
    )
    assert {f["status"] for f in findings["DEMO-02"]} == {"PASS"}  # the other section is fine
    target = json.loads(out.read_text())["targets"][0]
    assert target["section_errors"]["users"].startswith("malformed evidence section 'users'")


def test_the_message_names_the_place_and_never_the_value(run: Any, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = run("scan", "--target", f"demo={DATA / 'facts-wrongtype.json'}", "-f", f"json={out}")
    assert result.exit_code == 3
    [mfa] = _findings(result, out)["DEMO-01"]
    assert mfa["message"].endswith("'users': 0.mfa: must be of type boolean, not string")
    assert "yes" not in mfa["message"]


def test_tampered_evidence_is_validated_again_when_re_read(run: Any, tmp_path: Path) -> None:
    saved = tmp_path / "ev"
    assert run("scan", "--target", f"demo={DATA / 'facts-good.json'}", "--save-evidence", str(saved)).exit_code == 0
    [file] = saved.glob("*.json")
    document = json.loads(file.read_text())
    document["sections"]["users"] = {}  # `{}` where a list belongs: it must not read as "no users"
    text = json.dumps(document)
    file.write_text(text)
    (saved / "SHA256SUMS").write_text(f"{hashlib.sha256(text.encode()).hexdigest()}  {file.name}\n")
    out = tmp_path / "r.json"
    result = run("scan", "--evidence", str(saved), "-f", f"json={out}")
    assert result.exit_code == 3
    [mfa] = _findings(result, out)["DEMO-01"]
    assert mfa["status"] == "ERROR" and "malformed evidence section 'users'" in mfa["message"]


def test_a_check_reading_an_undeclared_section_is_error(run: Any, tmp_path: Path) -> None:
    baseline = tmp_path / "sneaky.yaml"
    baseline.write_text(SNEAKY_BASELINE)
    out = tmp_path / "r.json"
    result = run("scan", "-b", str(baseline), "--target", f"demo={DATA / 'facts-good.json'}", "-f", f"json={out}")
    assert result.exit_code == 1, result.output  # SNK-2 fails (breakglass has no MFA), SNK-1 is ERROR
    findings = _findings(result, out)
    [sneaky] = findings["SNK-1"]
    assert sneaky["status"] == "ERROR"
    assert (
        "check 'demo.sneaky' reads evidence section 'users' that it does not declare in `needs` or `reads`"
        in sneaky["message"]
    )
    # generic.field declares its section through its `section` parameter
    assert {f["status"] for f in findings["SNK-2"]} == {"PASS", "FAIL"}


def test_a_plugin_without_a_contract_is_not_validated(tmp_path: Path) -> None:
    from tests.core.test_engine import odd, registry_with

    registry, library = registry_with(tmp_path, {"t": {"facts": {"anything": {"goes": [1, "x"]}}}})
    result = engine.run_scan(odd("t"), registry, library)
    assert {f.status for f in result.findings} == {Status.PASS}


def test_an_invalid_contract_schema_is_a_section_error_not_a_crash() -> None:
    evidence = Evidence(target="t", kind="k", uri="k://t", sections={"a": [1]})
    checked = apply_contract(evidence, {"a": {"type": "no-such-type"}})
    assert "a" not in checked.sections
    assert "not a valid JSON Schema" in checked.errors["a"]


@pytest.mark.parametrize("depth", [10, 5000])
def test_messages_are_bounded_and_control_characters_visible(depth: int) -> None:
    data: Any = 5  # a number where the contract wants a string, deep down
    for _ in range(depth):
        data = {"k\x1b[2J" * 30: data}
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "additionalProperties": schema}
    problem = section_problem("s\r", {"root": data}, {"type": "object", "additionalProperties": schema})
    assert problem is not None
    assert len(problem) <= MAX_MESSAGE
    assert "\x1b" not in problem and "\r" not in problem


def test_optional_reads_are_visible_and_their_absence_is_the_checks_business() -> None:
    from scanner.interface import check
    from scanner.model import CheckResult, Control, Severity
    from scanner.plugins import Registry

    @check("t.optional", needs=("a",), reads=("b",))
    def optional(evidence: Evidence, params: Any) -> Any:
        """Reads `b` when it is there."""
        try:
            b = evidence.section("b")
        except Exception as exc:
            yield CheckResult(evidence.resource("x", "b", "b"), Status.ERROR, f"b: {exc}")
        else:
            yield CheckResult(evidence.resource("x", "b", "b"), Status.PASS, f"b={b}")
        yield CheckResult(evidence.resource("x", "a", "a"), Status.PASS, "a read")

    registry = Registry()
    registry.add_checks([optional], "test")
    control = Control("T-1", "t", Severity.LOW, "k", "t.optional")
    with_b = Evidence(target="t", kind="k", uri="k://t", sections={"a": 1, "b": 2})
    without_b = Evidence(target="t", kind="k", uri="k://t", sections={"a": 1}, errors={"b": "denied"})
    assert {f.status for f in engine.evaluate_control(control, with_b, registry)} == {Status.PASS}
    statuses = {f.resource.name: (f.status, f.message) for f in engine.evaluate_control(control, without_b, registry)}
    assert statuses == {"b": (Status.ERROR, "b: denied"), "a": (Status.PASS, "a read")}


def test_draft_2020_12_keywords_are_enforced() -> None:
    schema = {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}}
    assert section_problem("s", ["a", 1, 2], schema) is None
    assert (
        section_problem("s", [1, 1], schema) == "malformed evidence section 's': 0: must be of type string, not integer"
    )
    assert section_problem("s", ["a", "b"], schema) == (
        "malformed evidence section 's': 1: must be of type integer, not string"
    )
    unevaluated = {"type": "object", "properties": {"a": {}}, "unevaluatedProperties": False}
    assert section_problem("s", {"a": 1}, unevaluated) is None
    assert section_problem("s", {"a": 1, "b": 2}, unevaluated) is not None


def test_values_the_compiled_validator_cannot_take_are_judged_by_the_reference() -> None:
    huge = 2**200  # beyond 64 bits
    assert section_problem("s", [huge], {"type": "array", "items": {"type": "integer"}}) is None
    assert section_problem("s", [huge], {"type": "array", "items": {"type": "string"}}) is not None


def test_direct_access_to_an_undeclared_section_is_error_too() -> None:
    from scanner.interface import check
    from scanner.model import CheckResult, Control, Severity
    from scanner.plugins import Registry

    @check("t.direct", needs=("a",))
    def direct(evidence: Evidence, params: Any) -> Any:
        """Reads `b` through the mapping, bypassing evidence.section()."""
        value = evidence.sections.get("b")
        yield CheckResult(evidence.target_resource(), Status.PASS, f"b={value}")

    registry = Registry()
    registry.add_checks([direct], "test")
    control = Control("T-2", "t", Severity.LOW, "k", "t.direct")
    evidence = Evidence(target="t", kind="k", uri="k://t", sections={"a": 1, "b": 2})
    [finding] = engine.evaluate_control(control, evidence, registry)
    assert finding.status is Status.ERROR
    assert "check 't.direct' reads evidence section 'b' that it does not declare" in finding.message
    assert dict(engine.evidence_view(evidence, direct, ("a",)).sections) == {"a": 1}
