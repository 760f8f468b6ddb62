"""Insecure transport (interface 3) is reported in every format, not only in evidence metadata."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.core.conftest import DATA

WEAKNESS = "TLS verification disabled by DEMO_SKIP_VERIFY"


def _scan(run: Any, tmp_path: Path) -> dict[str, Path]:
    out = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "sarif", "junit", "wazuh")}
    args = ["scan", "--target", f"demo={DATA / 'facts-insecure.json'}"]
    for fmt, path in out.items():
        args += ["-f", f"{fmt}={path}"]
    result = run(*args, "-f", "console")
    assert result.exit_code == 1, result.output  # tls off fails DEMO-02
    out["console"] = tmp_path / "console.txt"
    out["console"].write_text(result.stdout)
    return out


def test_every_format_says_the_transport_was_insecure(run: Any, tmp_path: Path) -> None:
    out = _scan(run, tmp_path)
    console = out["console"].read_text()
    assert f"! INSECURE TRANSPORT: {WEAKNESS}" in console

    native = json.loads(out["json"].read_text())
    assert native["targets"][0]["insecure_transport"] == [WEAKNESS]

    sarif = json.loads(out["sarif"].read_text())
    properties = sarif["runs"][0]["properties"]
    assert properties["insecureTransport"] == {"demo-facts-insecure": [WEAKNESS]}
    assert properties["targets"][0]["insecureTransport"] == [WEAKNESS]

    suite = ET.parse(out["junit"]).getroot().find("testsuite")  # noqa: S314 (our own output)
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["insecure_transport.1"] == WEAKNESS

    events = [json.loads(line) for line in out["wazuh"].read_text().splitlines()]
    [summary] = [e["sovscan"] for e in events if e["sovscan"]["event"] == "summary"]
    assert summary["target"]["insecure_transport"] == [WEAKNESS]
    assert f"Insecure transport: {WEAKNESS}." in summary["message"]


def test_report_from_keeps_it(run: Any, tmp_path: Path) -> None:
    out = _scan(run, tmp_path)
    again = tmp_path / "again.json"
    result = run("report", "--from", str(out["json"]), "-f", f"json={again}", "-f", "console")
    assert result.exit_code == 1
    assert json.loads(again.read_text())["targets"][0]["insecure_transport"] == [WEAKNESS]
    assert f"INSECURE TRANSPORT: {WEAKNESS}" in result.stdout


def test_a_verified_target_says_nothing(run: Any, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = run("scan", "--target", f"demo={DATA / 'facts-good.json'}", "-f", f"json={out}", "-f", "console")
    assert "INSECURE" not in result.stdout
    assert json.loads(out.read_text())["targets"][0]["insecure_transport"] == []
