"""The inputs of the golden report test: results and options whose reports were recorded before streaming.

`tests/reporters/data/golden-reports.json` holds, for each case below and each output, the SHA-256
of what the reporters wrote before they were rewritten to stream finding by finding (JSON, SARIF,
JUnit, Wazuh, console), recorded with `python -m tests.reporters.golden_cases --record` on the
implementation of the time (commit "golden report digests"). The test (`test_reporter_golden.py`)
renders the same cases with today's reporters and requires the same bytes, so a faster writer
cannot quietly change a report. A deliberate change of a format re-records the digests in the
same commit, saying why.

Cases: the shared fixture scan (every status and severity, a waiver, a comparison with `absent`
findings, hostile text), the same without a comparison, the same with two framework views, the
same with awkward values (a 70 kB observed string, a value with integers beyond 64 bits, floats
and non-ASCII keys, a finding of a control the result does not describe), and a sample of a real
scan of a generated 20k-object Kubernetes dump (one finding per control and status).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from reporters.console import ConsoleReporter
from reporters.json import JsonReporter
from reporters.junit import JunitReporter
from reporters.sarif import SarifReporter
from reporters.wazuh import WazuhReporter
from scanner import frameworks, resultio
from scanner.interface import Reporter, ReportOptions
from scanner.model import Finding, Resource, ScanResult, SourceLocation, Status
from tests.reporters.reporter_fixtures import PG, build_scan_result, scan_with

REPORTERS: dict[str, Reporter] = {
    "json": JsonReporter(),
    "sarif": SarifReporter(),
    "junit": JunitReporter(),
    "wazuh": WazuhReporter(),
    "console": ConsoleReporter(),
}
"""The built-in reporters under test."""

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden-reports.json"
"""SHA-256 of every recorded report, `{"<case>.<output>": hex digest}`."""

FORMATS: dict[str, tuple[str, ReportOptions]] = {
    "json": ("json", ReportOptions()),
    "sarif": ("sarif", ReportOptions()),
    "sarif-full": ("sarif", ReportOptions(full=True)),
    "junit": ("junit", ReportOptions()),
    "wazuh": ("wazuh", ReportOptions()),
    "wazuh-changes": ("wazuh", ReportOptions(changes_only=True)),
    "console": ("console", ReportOptions()),
}
"""Output name -> (reporter, options)."""


def _awkward(base: ScanResult) -> ScanResult:
    """The fixture scan plus findings with values that take every slow or fallback path of the encoders."""
    resource = Resource("pg-prod", "setting", "odd", f"{PG}/settings/odd", SourceLocation("/etc/odd.conf", 3))
    findings = (
        Finding("PG-13", resource, Status.FAIL, "very long value", observed="x" * 70_000 + "é", expected="short"),
        Finding(
            "PG-13",
            dataclasses.replace(resource, name="odd2", uri=f"{PG}/settings/odd2"),
            Status.FAIL,
            "numbers and keys",
            observed={"b": 2**70, "a": [1e16, 0.1, -0.0, 3], "ß": "\u2028\x01", "z": {"y": None, "x": True}},
            expected=[{"k": "v"}],
        ),
        Finding(
            "ZZ-99",
            dataclasses.replace(resource, name="odd3", uri=f"{PG}/settings/odd3", location=None),
            Status.FAIL,
            "a control the result does not describe",
            observed=["a" * 600],
        ),
    )
    return scan_with(base, *findings)


def cases() -> Iterator[tuple[str, ScanResult]]:
    """(case name, result) of every golden case."""
    compared = build_scan_result(compared=True)
    yield "fixture", compared
    yield "fixture-uncompared", build_scan_result(compared=False)
    views = frameworks.evaluate_all(["bsi-grundschutz", "nis2"], compared)
    yield "fixture-frameworks", dataclasses.replace(compared, frameworks=views)
    yield "fixture-awkward", _awkward(compared)
    yield "k8s-sample", resultio.load(DATA / "k8s-sample.json")


def render(name: str, result: ScanResult) -> bytes:
    """What the reporter of output `name` writes to a file for `result` (its chunks, joined)."""
    reporter_name, options = FORMATS[name]
    return b"".join(REPORTERS[reporter_name].chunks(result, options))


def record() -> None:
    """Write every case's reports into GOLDEN (from a scratch working directory, as the test renders them)."""
    os.chdir(tempfile.mkdtemp(prefix="sovscan-golden-"))
    digests = {
        f"{case}.{name}": hashlib.sha256(render(name, result)).hexdigest()
        for case, result in cases()
        for name in FORMATS
    }
    GOLDEN.write_text(json.dumps(digests, indent=2) + "\n")


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    if sys.argv[1:] == ["--record"]:
        record()
