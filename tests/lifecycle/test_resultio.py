"""A saved native result that contradicts itself is refused with exit 2, never rendered or gated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scanner.model import Status
from tests.lifecycle.builders import finding, result, save
from tests.lifecycle.conftest import Invoke


def saved(tmp_path: Path) -> Path:
    return save(
        result(finding("C-CRIT", "a", Status.FAIL), finding("C-HIGH", "b", Status.PASS)), tmp_path / "result.json"
    )


def drop_controls(doc: dict[str, Any]) -> None:
    doc["controls"] = {}


def forge_fingerprint(doc: dict[str, Any]) -> None:
    doc["findings"][0]["fingerprint"] = "0" * 32


def pass_without_summary(doc: dict[str, Any]) -> None:
    doc["findings"][0]["status"] = "PASS"  # the failing finding made to pass, the summary left as it was


def move_resource(doc: dict[str, Any]) -> None:
    doc["findings"][0]["resource"]["uri"] = "demo://t1.example/items/elsewhere"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (drop_controls, "findings/0 is a finding of control C-CRIT, which the result does not define"),
        (forge_fingerprint, "findings/0: fingerprint 00000000000000000000000000000000 is not that of C-CRIT"),
        (move_resource, "findings/0: fingerprint"),
        (pass_without_summary, "the summary does not count the findings it lists"),
    ],
)
def test_inconsistent_results_exit_2(
    sovscan: Invoke, tmp_path: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    (tmp_path / "clean").mkdir()
    clean = saved(tmp_path / "clean")
    path = saved(tmp_path)
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    for args in (["report", "--from", path], ["report", "--from", clean, "--compare", path]):
        outcome = sovscan(*args)
        assert outcome.exit_code == 2, outcome.output
        assert outcome.stderr.startswith(f"sovscan: error: {path}: inconsistent sovscan result: {message}")
        assert outcome.stderr.endswith("(the file was edited or damaged)\n")
        assert outcome.stderr.count("\n") == 1
        assert outcome.stdout == ""


def test_a_consistent_result_still_loads(sovscan: Invoke, tmp_path: Path) -> None:
    outcome = sovscan("report", "--from", saved(tmp_path), "-f", f"json={tmp_path / 'again.json'}")
    assert outcome.exit_code == 1
    assert json.loads((tmp_path / "again.json").read_text())["summary"]["by_status"]["FAIL"] == 1
