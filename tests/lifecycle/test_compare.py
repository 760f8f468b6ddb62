"""Comparison with a previous run: every baseline state, absent findings, SARIF as the previous run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reporters.sarif import SarifReporter
from scanner import resultio
from scanner.compare import Previous, changes, compare, load_previous
from scanner.errors import ConfigError
from scanner.interface import ReportOptions
from scanner.model import BaselineState, ScanResult, Status
from tests.lifecycle.builders import CONTROLS, finding, previous, result, save, with_status
from tests.lifecycle.conftest import Invoke

UNCHANGED_PASS = finding("C-HIGH", "a", Status.PASS, observed=True)
KNOWN_FAIL = finding("C-CRIT", "b", Status.FAIL, observed="md5")
FIXED = finding("C-HIGH", "c", Status.FAIL, observed=False)
GONE = finding("C-MED", "d", Status.FAIL, observed=1)
OBSERVED_CHANGES = finding("C-LOW", "e", Status.FAIL, observed=["x"])
STILL_EVALUATED = finding("C-MED", "f", Status.PASS, observed=0)  # C-MED is still evaluated on t1

READERS = [SarifReporter()]
"""The reporters asked to read back a previous run (as the CLI passes the registry's)."""


def states(scan: ScanResult) -> dict[str, tuple[str, str | None]]:
    return {
        f.resource.name: (
            f.baseline_state.value if f.baseline_state else "",
            f.previous_status.value if f.previous_status else None,
        )
        for f in scan.findings
    }


@pytest.fixture
def compared() -> ScanResult:
    before = previous(UNCHANGED_PASS, KNOWN_FAIL, FIXED, GONE, OBSERVED_CHANGES, STILL_EVALUATED)
    now = result(
        STILL_EVALUATED,
        UNCHANGED_PASS,
        KNOWN_FAIL,
        with_status(FIXED, Status.PASS, observed=True),
        with_status(OBSERVED_CHANGES, Status.FAIL, observed=["x", "y"]),
        finding("C-CRIT", "new-one", Status.FAIL, observed="trust"),
    )
    return compare(now, Previous(before, "prev.json"))


def test_every_baseline_state(compared: ScanResult) -> None:
    assert states(compared) == {
        "a": ("unchanged", "PASS"),
        "b": ("unchanged", "FAIL"),
        "c": ("updated", "FAIL"),  # status changed
        "e": ("updated", "FAIL"),  # same status, different observed value
        "new-one": ("new", None),
        "f": ("unchanged", "PASS"),
    }
    assert compared.compared_with == "prev.json"
    [absent] = compared.absent
    assert absent.resource.name == "d"
    assert absent.baseline_state is BaselineState.ABSENT
    assert absent.status is Status.FAIL and absent.previous_status is Status.FAIL


def test_states_survive_the_native_json(compared: ScanResult, tmp_path: Path) -> None:
    loaded = resultio.load(save(compared, tmp_path / "compared.json"))
    assert loaded == compared


def test_changes_classify_new_regressed_resolved(compared: ScanResult) -> None:
    found = changes(compared)
    assert [f.resource.name for f in found.new_failures] == ["new-one"]
    assert found.regressed == ()
    assert sorted(f.resource.name for f in found.resolved) == ["c", "d"]
    assert found.lost == () and found.unverified == ()


def test_failure_gone_with_its_control_is_unverified_not_resolved() -> None:
    # C-MED failed on resource d; now C-MED is tailored out, or no longer in the baseline:
    # the failure was not fixed, nobody looked.
    import dataclasses

    for controls in (
        {cid: c for cid, c in CONTROLS.items() if cid != "C-MED"},
        {**CONTROLS, "C-MED": dataclasses.replace(CONTROLS["C-MED"], disabled="tailored out")},
    ):
        now = compare(
            dataclasses.replace(result(UNCHANGED_PASS), controls=controls),
            Previous(previous(UNCHANGED_PASS, GONE), "prev.json"),
        )
        found = changes(now)
        assert found.resolved == ()
        assert [f.resource.name for f in found.unverified] == ["d"]
    # still in the baseline and evaluated (no ERROR): resolved
    now = compare(result(UNCHANGED_PASS), Previous(previous(UNCHANGED_PASS, GONE), "prev.json"))
    assert [f.resource.name for f in changes(now).resolved] == ["d"]


def test_regression_from_pass_and_from_waived() -> None:
    was_pass = finding("C-HIGH", "p", Status.PASS)
    was_waived = finding("C-HIGH", "w", Status.WAIVED)
    now = compare(
        result(with_status(was_pass, Status.FAIL), with_status(was_waived, Status.FAIL)),
        Previous(previous(was_pass, was_waived), "prev"),
    )
    assert {f.resource.name: f.previous_status for f in changes(now).regressed} == {
        "p": Status.PASS,
        "w": Status.WAIVED,
    }
    assert changes(now).new_failures == ()


def test_absent_only_for_targets_scanned_now() -> None:
    other_target = finding("C-HIGH", "z", Status.FAIL, target="t2")
    now = compare(result(targets=("t1",)), Previous(previous(KNOWN_FAIL, other_target, targets=("t1", "t2")), "p"))
    assert [f.resource.name for f in now.absent] == ["b"]
    assert any("not scanned now" in note and "t2" in note for note in now.notes)


def test_control_now_error_is_lost_coverage_not_resolved() -> None:
    # the target was readable before (PASS and FAIL per resource); now it is unreachable: one
    # target-level ERROR per control. The old findings are absent, but not resolved.
    before = previous(finding("C-CRIT", "r1", Status.PASS), finding("C-CRIT", "r2", Status.FAIL))
    now = compare(
        result(finding("C-CRIT", "t1", Status.ERROR, message="target not read: timed out")), Previous(before, "p")
    )
    found = changes(now)
    assert [f.resource.name for f in found.lost] == ["t1"]
    assert sorted(f.resource.name for f in found.unverified) == ["r1", "r2"]
    assert found.resolved == ()
    assert any("could not be verified" in note for note in now.notes)


def test_persistent_error_is_not_lost_again() -> None:
    error = finding("C-CRIT", "r1", Status.ERROR)
    now = compare(
        result(error, finding("C-CRIT", "r2", Status.PASS)),
        Previous(previous(error, finding("C-CRIT", "r2", Status.PASS)), "p"),
    )
    assert changes(now).lost == ()


def test_comparing_again_replaces_the_previous_comparison(compared: ScanResult) -> None:
    again = compare(compared, Previous(previous(), "empty"))
    assert {state for state, _ in states(again).values()} == {"new"}
    assert again.absent == ()
    assert again.compared_with == "empty"


def test_without_comparison_every_failure_is_new() -> None:
    scan = result(KNOWN_FAIL, UNCHANGED_PASS)
    assert changes(scan).new_failures == (KNOWN_FAIL,)


# --- the previous run as a file -------------------------------------------------------------------


def test_load_previous_native_json(tmp_path: Path) -> None:
    path = save(previous(KNOWN_FAIL), tmp_path / "prev.json")
    loaded = load_previous(path, READERS)
    assert loaded.complete and loaded.result.findings == (KNOWN_FAIL,)
    assert "run-previous" in loaded.description and str(path) in loaded.description


@pytest.mark.parametrize("full", [True, False])
def test_sarif_written_by_sovscan_round_trips_what_comparison_needs(tmp_path: Path, full: bool) -> None:
    before = previous(UNCHANGED_PASS, KNOWN_FAIL, FIXED, finding("C-LOW", "err", Status.ERROR, observed={"k": [1]}))
    sarif = tmp_path / "prev.sarif"
    sarif.write_text(SarifReporter().render(before, ReportOptions(full=full)), encoding="utf-8")
    loaded = load_previous(sarif, READERS)
    assert loaded.complete is full
    assert loaded.result.run_id == "run-previous" and loaded.result.environment == "test"
    expected = [f for f in before.findings if full or f.status is not Status.PASS]
    got = {
        f.fingerprint: (f.control_id, f.resource.uri, f.resource.target, f.status, f.observed)
        for f in loaded.result.findings
    }
    assert got == {
        f.fingerprint: (f.control_id, f.resource.uri, f.resource.target, f.status, f.observed) for f in expected
    }

    now = compare(result(UNCHANGED_PASS, KNOWN_FAIL, with_status(FIXED, Status.PASS)), loaded)
    assert states(now)["b"] == ("unchanged", "FAIL")
    assert states(now)["c"] == ("updated", "FAIL")
    # without --full the previous passes are not in the log: the pass is not called new
    assert states(now)["a"] == (("unchanged", "PASS") if full else ("unchanged", None))
    assert [f.resource.name for f in now.absent] == ["err"]
    assert any("without --full" in note for note in now.notes) is not full


def test_sarif_absent_results_are_not_part_of_that_run(tmp_path: Path) -> None:
    compared_before = compare(previous(KNOWN_FAIL), Previous(previous(KNOWN_FAIL, GONE, run_id="older"), "older"))
    assert compared_before.absent  # GONE is written as an absent result
    sarif = tmp_path / "prev.sarif"
    sarif.write_text(SarifReporter().render(compared_before, ReportOptions(full=True)), encoding="utf-8")
    assert [f.resource.name for f in load_previous(sarif, READERS).result.findings] == ["b"]


def test_edited_sarif_fingerprint_is_rejected(tmp_path: Path) -> None:
    log = json.loads(SarifReporter().render(previous(KNOWN_FAIL), ReportOptions()))
    log["runs"][0]["results"][0]["properties"]["resourceUri"] = "demo://elsewhere/x"
    path = tmp_path / "edited.sarif"
    path.write_text(json.dumps(log))
    with pytest.raises(ConfigError, match=r"fingerprint .* does not match"):
        load_previous(path, READERS)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"format": "something-else"}', "not a sovscan result"),
        (
            '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "trivy"}}, "results": []}]}',
            "not a SARIF log written by sovscan",
        ),
        ('{"format": "sovscan-result", "format_version": 1}', "invalid sovscan result"),
    ],
)
def test_unusable_previous_files_are_config_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "prev.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_previous(path, READERS)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (["runs", 0, "tool"], 5, "runs.0.tool: must be of type object, not integer"),
        (["runs", 0, "tool", "driver", "rules"], [{}], "runs.0.tool.driver.rules.0: 'id' is a required property"),
        (["runs", 0, "results"], [5], "runs.0.results.0: must be of type object, not integer"),
        (["runs", 0, "results", 0, "locations"], [5], "runs.0.results.0.locations.0: must be of type object"),
        (["runs", 0, "properties", "baselines"], [1], "runs.0.properties.baselines: must be of type object"),
    ],
)
def test_malformed_sarif_is_a_config_error_not_a_crash(
    sovscan: Invoke, tmp_path: Path, path: list[str | int], value: object, where: str
) -> None:
    log = json.loads(SarifReporter().render(previous(KNOWN_FAIL), ReportOptions(full=True)))
    parent: Any = log
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    sarif = tmp_path / "prev.sarif"
    sarif.write_text(json.dumps(log))
    outcome = sovscan("report", "--from", save(result(KNOWN_FAIL), tmp_path / "r.json"), "--compare", sarif)
    assert outcome.exit_code == 2, outcome.output
    assert outcome.stderr.startswith(f"sovscan: error: {sarif}: not a SARIF log sovscan can compare with: {where}")
    assert outcome.stderr.count("\n") == 1
