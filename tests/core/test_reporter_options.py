"""Reporters own their formats: they declare their options and read their format back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.core.conftest import DATA

GOOD = f"demo={DATA / 'facts-good.json'}"


def test_a_third_party_reporter_declares_its_own_flags(run: Any) -> None:
    result = run("scan", "--target", GOOD, "-f", "warny", "--warny-shout", "--warny-prefix", "n=")
    assert result.exit_code == 0, result.output
    assert result.stdout == "N=4\n"
    plain = run("scan", "--target", GOOD, "-f", "warny")
    assert plain.stdout == "4\n"


def test_declared_flags_are_in_the_help_and_a_taken_flag_is_left_out(run: Any) -> None:
    result = run("scan", "--help")
    assert "--warny-shout" in result.output and "warny: shout." in result.output
    assert "--full" in result.output and "--wazuh-changes-only" in result.output  # declared by SARIF and Wazuh
    assert "taken by scan" not in result.output  # --timeout belongs to scan itself
    assert "--warny-shout" in run("report", "--help").output


def test_the_built_in_flags_still_work_and_sarif_reads_its_own_format_back(run: Any, tmp_path: Path) -> None:
    sarif = tmp_path / "full.sarif"
    assert run("scan", "--target", GOOD, "-f", f"sarif={sarif}", "--full").exit_code == 0
    statuses = {r["properties"]["status"] for r in json.loads(sarif.read_text())["runs"][0]["results"]}
    assert "PASS" in statuses  # --full reached the SARIF reporter
    out = tmp_path / "again.json"
    result = run("scan", "--target", GOOD, "--compare", str(sarif), "-f", f"json={out}")
    assert result.exit_code == 0, result.output
    states = {f["baseline_state"] for f in json.loads(out.read_text())["findings"]}
    assert states == {"unchanged"}  # read back through the SARIF reporter's read()


def test_a_file_no_reporter_can_read_is_exit_2(run: Any, tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text('{"hello": "world"}')
    result = run("scan", "--target", GOOD, "--compare", str(other))
    assert result.exit_code == 2
    assert "not a sovscan result: expected a native JSON result or a report sovscan can read back (sarif)" in (
        result.stderr
    )
