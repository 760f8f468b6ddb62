"""Bad input is a one-line `file:line` message and exit 2 before any work, never a traceback or exit 4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
GOOD = f"demo={DATA / 'facts-good.json'}"


def one_line_exit_2(result: Any, start: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"sovscan: error: {start}"), result.stderr
    assert result.stdout == ""  # refused before scanning: nothing was reported


def test_unwritable_outputs_are_refused_before_the_scan(run: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    one_line_exit_2(run("scan", "--target", GOOD, "-f", f"json={tmp_path}"), f"{tmp_path}: cannot write the report")
    one_line_exit_2(
        run("scan", "--target", GOOD, "-f", f"sarif={blocker / 'out.sarif'}"),
        f"{blocker / 'out.sarif'}: cannot write the report here: {blocker} is not a directory",
    )
    one_line_exit_2(
        run("scan", "--target", GOOD, "--save-evidence", str(blocker / "evidence")),
        f"{blocker / 'evidence'}: --save-evidence: {blocker} is not a directory",
    )


def test_a_report_that_cannot_be_written_is_exit_2_not_an_internal_error(run: Any, tmp_path: Path) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc")
    result = run("scan", "--no-progress", "--target", GOOD, "-f", "json=/proc/self/no-such-dir/out.json")
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "internal error" not in result.stderr


def test_shard_with_evidence_is_refused(run: Any) -> None:
    result = run("scan", "--evidence", str(Path(__file__).parents[2] / "examples" / "evidence"), "--shard", "0/2")
    one_line_exit_2(result, "--shard selects live targets")


def test_an_impossible_date_in_an_inventory_names_its_line(run: Any, tmp_path: Path) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - kind: demo\n    url: {DATA / 'facts-good.json'}\n    labels: {{since: 2025-02-30}}\n"
    )
    one_line_exit_2(run("scan", "--inventory", str(inventory)), f"{inventory}:6: invalid date")


def test_an_invalid_regex_in_a_baseline_is_a_load_error(run: Any, tmp_path: Path) -> None:
    baseline = tmp_path / "b.yaml"
    baseline.write_text(
        "apiVersion: sovscan/v1\nkind: Baseline\nname: b\nversion: '1'\ntarget: demo\ncontrols:\n"
        "  - id: X-1\n    title: a title\n    severity: low\n    check: generic.field\n"
        "    rationale: a reason\n    remediation: a fix\n    params:\n      section: settings\n"
        "      tests:\n        - {field: value, op: regex, value: '(unclosed'}\n"
    )
    one_line_exit_2(run("validate", "--baseline", str(baseline)), f"{baseline}:16: bad parameter")
    result = run("scan", "--target", GOOD, "--baseline", str(baseline))
    one_line_exit_2(result, f"{baseline}:16: bad parameter for check 'generic.field'")
    assert "regular expression" in result.stderr
