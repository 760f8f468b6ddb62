"""JUnit and SARIF group by framework requirement when --framework is given."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from .conftest import DEMO_EVIDENCE, ROOT, Invoke

XSD = ROOT / "tests" / "reporters" / "data" / "junit-10.xsd"


def test_junit_has_a_valid_testsuite_per_requirement_family(tmp_path: Path, sovscan: Invoke) -> None:
    out = tmp_path / "r.xml"
    run = sovscan(
        "scan", "--evidence", DEMO_EVIDENCE, "-f", f"junit={out}", "--framework", "bsi-grundschutz", "--fail-on", "none"
    )
    assert run.exit_code in (0, 3), run.output  # 3: the demo evidence has ERRORs (S3 config not read)
    tree = etree.parse(str(out))
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(tree)
    suites = {s.get("name"): s for s in tree.getroot().iter("testsuite")}
    family_suites = [n for n in suites if n.startswith("bsi-grundschutz ")]
    assert any(n.startswith("bsi-grundschutz APP.4.3 ") for n in family_suites)
    app43 = next(s for n, s in suites.items() if n.startswith("bsi-grundschutz APP.4.3 "))
    cases = {c.get("name").split()[0]: c for c in app43.iter("testcase")}
    assert cases["APP.4.3.A3"].find("failure") is not None  # the legacy demo database violates it
    assert cases["APP.4.3.A1"].find("skipped").get("type") == "manual"
    assert int(app43.get("tests")) == len(cases)
    root = tree.getroot()
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites.values())


def test_sarif_rules_carry_requirements_and_the_run_carries_coverage(tmp_path: Path, sovscan: Invoke) -> None:
    out = tmp_path / "r.sarif"
    run = sovscan("scan", "--evidence", DEMO_EVIDENCE, "-f", f"sarif={out}", "--framework", "nis2", "--fail-on", "none")
    assert run.exit_code in (0, 3), run.output  # 3: the demo evidence has ERRORs (S3 config not read)
    sarif = json.loads(out.read_text())
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    pg13 = rules["PG-13"]
    assert pg13["properties"]["requirements"]["nis2"] == ["CIR-3.2"]
    assert "nis2/CIR-3.2" in pg13["properties"]["tags"]
    fw = sarif["runs"][0]["properties"]["frameworks"][0]
    assert fw["name"] == "nis2" and 0 < fw["coverage"] < 1
