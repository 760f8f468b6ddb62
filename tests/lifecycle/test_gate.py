"""The gate's exit code for each lifecycle case, through `sovscan report --from ... --compare ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.model import ScanResult, Status
from tests.lifecycle.builders import finding, previous, result, save, uri, with_status
from tests.lifecycle.conftest import Invoke

PASSING = finding("C-HIGH", "ok", Status.PASS)
KNOWN = finding("C-CRIT", "known", Status.FAIL, observed="md5")
TODAY = "2025-03-02"


def gate(
    sovscan: Invoke, tmp_path: Path, now: ScanResult, before: ScanResult | None, *extra: str | Path
) -> tuple[int, str, dict[str, Any]]:
    """Run the gate on hand-built results; return (exit code, stderr, the native JSON written)."""
    args: list[str | Path] = ["report", "--from", save(now, tmp_path / "result.json"), "--today", TODAY]
    if before is not None:
        args += ["--compare", save(before, tmp_path / "prev.json")]
    out = tmp_path / "out.json"
    outcome = sovscan(*args, "-f", f"json={out}", *extra)
    return outcome.exit_code, outcome.stderr, json.loads(out.read_text())


def waiver_file(tmp_path: Path, control: str, glob: str, expires: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "waivers:\n"
        f"  - control: {control}\n"
        f'    resource: "{glob}"\n'
        "    justification: replaced next quarter\n"
        "    owner: team-db@example.org\n"
        f"    expires: {expires}\n"
        "    ticket: SEC-1\n"
    )
    return path


def test_new_failure_fails_the_gate(sovscan: Invoke, tmp_path: Path) -> None:
    new = finding("C-HIGH", "fresh", Status.FAIL)
    code, err, document = gate(
        sovscan, tmp_path, result(PASSING, KNOWN, new), previous(PASSING, KNOWN), "--fail-on-new"
    )
    assert code == 1
    assert "1 new or regressed finding(s) FAIL at or above severity info (1 known failure(s) not counted)" in err
    assert f"C-HIGH {uri('t1', 'fresh')} (new)" in err
    assert uri("t1", "known") not in err
    states = {f["resource"]["name"]: f["baseline_state"] for f in document["findings"]}
    assert states == {"ok": "unchanged", "known": "unchanged", "fresh": "new"}


def test_known_failure_passes_with_fail_on_new_only(sovscan: Invoke, tmp_path: Path) -> None:
    code, err, _ = gate(sovscan, tmp_path, result(PASSING, KNOWN), previous(PASSING, KNOWN), "--fail-on-new")
    assert code == 0, err
    code, err, _ = gate(sovscan, tmp_path, result(PASSING, KNOWN), previous(PASSING, KNOWN))
    assert code == 1 and "1 finding(s) FAIL at or above severity info" in err


def test_known_failure_with_a_new_observed_value_is_still_known(sovscan: Invoke, tmp_path: Path) -> None:
    changed = with_status(KNOWN, Status.FAIL, observed="password")
    code, _, document = gate(sovscan, tmp_path, result(changed), previous(KNOWN), "--fail-on-new")
    assert code == 0
    assert document["findings"][0]["baseline_state"] == "updated"


def test_pass_to_fail_is_a_regression(sovscan: Invoke, tmp_path: Path) -> None:
    code, err, _ = gate(
        sovscan, tmp_path, result(with_status(PASSING, Status.FAIL)), previous(PASSING), "--fail-on-new"
    )
    assert code == 1
    assert f"C-HIGH {uri('t1', 'ok')} (was PASS)" in err


def test_new_failure_below_the_threshold_passes(sovscan: Invoke, tmp_path: Path) -> None:
    low = finding("C-LOW", "minor", Status.FAIL)
    code, _, _ = gate(sovscan, tmp_path, result(PASSING, low), previous(PASSING), "--fail-on-new", "--fail-on", "high")
    assert code == 0


def test_pass_to_error_is_lost_coverage(sovscan: Invoke, tmp_path: Path) -> None:
    denied = with_status(PASSING, Status.ERROR, message="permission denied: listing items needs the viewer role")
    code, err, _ = gate(sovscan, tmp_path, result(denied), previous(PASSING), "--fail-on-new")
    assert code == 1
    assert "were verified in the compared run and are ERROR now" in err
    assert "C-HIGH on t1: permission denied: listing items needs the viewer role" in err
    # explicitly allowed: the scan is only incomplete
    code, err, _ = gate(sovscan, tmp_path, result(denied), previous(PASSING), "--fail-on-new", "--allow-new-errors")
    assert code == 3 and "1 control result(s) are ERROR" in err


def test_unreachable_target_after_a_good_run_is_lost_coverage(sovscan: Invoke, tmp_path: Path) -> None:
    before = previous(PASSING, finding("C-HIGH", "other", Status.PASS))
    down = finding("C-HIGH", "t1", Status.ERROR, message="target not read: unreachable: connection refused")
    code, err, document = gate(sovscan, tmp_path, result(down), before, "--fail-on-new")
    assert code == 1 and "connection refused" in err
    assert {f["resource"]["name"] for f in document["absent"]} == {"ok", "other"}


def test_error_that_was_already_error_is_only_incomplete(sovscan: Invoke, tmp_path: Path) -> None:
    error = finding("C-MED", "x", Status.ERROR)
    code, _, _ = gate(sovscan, tmp_path, result(PASSING, error), previous(PASSING, error), "--fail-on-new")
    assert code == 3


def test_lost_coverage_fails_without_fail_on_new_too(sovscan: Invoke, tmp_path: Path) -> None:
    code, _, _ = gate(sovscan, tmp_path, result(with_status(PASSING, Status.ERROR)), previous(PASSING))
    assert code == 1


def test_waived_new_failure_passes_and_keeps_the_waiver(sovscan: Invoke, tmp_path: Path) -> None:
    new = finding("C-CRIT", "legacy-host", Status.FAIL)
    waivers = waiver_file(tmp_path, "C-CRIT", "demo://t1.example/items/legacy-*", "2025-06-30")
    code, err, document = gate(
        sovscan, tmp_path, result(PASSING, new), previous(PASSING), "--fail-on-new", "--waivers", waivers
    )
    assert code == 0, err
    [waived] = [f for f in document["findings"] if f["resource"]["name"] == "legacy-host"]
    assert waived["status"] == "WAIVED"
    assert waived["baseline_state"] == "new"
    assert waived["waiver"]["justification"] == "replaced next quarter"
    assert waived["waiver"]["owner"] == "team-db@example.org"
    assert waived["waiver"]["ticket"] == "SEC-1"
    assert waived["waiver"]["source"] == {"path": str(waivers), "line": 2}
    # waived findings do not fail the plain gate either
    code, _, _ = gate(sovscan, tmp_path, result(PASSING, new), None, "--waivers", waivers)
    assert code == 0


def test_expired_waiver_fails_the_gate_and_says_so(sovscan: Invoke, tmp_path: Path) -> None:
    failing = finding("C-CRIT", "legacy-host", Status.FAIL)
    waivers = waiver_file(tmp_path, "C-CRIT", "*legacy-host", "2025-03-01")
    was_waived = with_status(failing, Status.WAIVED)
    code, err, document = gate(
        sovscan, tmp_path, result(failing), previous(was_waived), "--fail-on-new", "--waivers", waivers
    )
    assert code == 1
    assert "(was WAIVED)" in err
    [f] = document["findings"]
    assert f["status"] == "FAIL"
    assert f"[waiver expired on 2025-03-01: {waivers}:2]" in f["message"]
    assert any("expired on 2025-03-01: 1 finding(s) it covered FAIL again" in n for n in document["notes"])


def test_waiver_applies_through_its_expiry_day(sovscan: Invoke, tmp_path: Path) -> None:
    failing = finding("C-CRIT", "legacy-host", Status.FAIL)
    waivers = waiver_file(tmp_path, "C-CRIT", "*legacy-host", TODAY)
    code, _, document = gate(sovscan, tmp_path, result(failing), None, "--waivers", waivers)
    assert code == 0
    assert document["findings"][0]["status"] == "WAIVED"


def test_error_is_never_waived(sovscan: Invoke, tmp_path: Path) -> None:
    error = finding("C-CRIT", "legacy-host", Status.ERROR)
    waivers = waiver_file(tmp_path, "C-CRIT", "*", "2025-06-30")
    code, _, document = gate(sovscan, tmp_path, result(error), None, "--waivers", waivers)
    assert code == 3
    assert document["findings"][0]["status"] == "ERROR"
    assert any("is unused" in n and "1 ERROR finding(s); ERROR is never waived" in n for n in document["notes"])


def test_fail_on_new_without_a_comparison_counts_every_failure(sovscan: Invoke, tmp_path: Path) -> None:
    code, err, _ = gate(sovscan, tmp_path, result(KNOWN), None, "--fail-on-new")
    assert code == 1 and "no previous run to compare with" in err


def test_result_compared_at_scan_time_can_be_gated_later(sovscan: Invoke, tmp_path: Path) -> None:
    # compare once (as `scan --compare` would), then gate the saved compared result without --compare
    code, _, compared = gate(sovscan, tmp_path, result(PASSING, KNOWN), previous(PASSING, KNOWN), "--fail-on", "none")
    assert code == 0
    path = tmp_path / "compared.json"
    path.write_text(json.dumps(compared))
    outcome = sovscan("report", "--from", path, "--fail-on-new", "-f", f"json={tmp_path / 'again.json'}")
    assert outcome.exit_code == 0, outcome.stderr


@pytest.mark.parametrize(
    ("minimum", "expected"),
    [("70", 1), ("66", 3)],
)
def test_min_coverage(sovscan: Invoke, tmp_path: Path, minimum: str, expected: int) -> None:
    scan = result(
        finding("C-CRIT", "a", Status.PASS),
        finding("C-HIGH", "a", Status.FAIL),
        finding("C-HIGH", "b", Status.PASS),
        finding("C-MED", "a", Status.PASS),
        finding("C-MED", "b", Status.ERROR, message="evidence unavailable: permission denied on pg_hba_file_rules"),
        finding("C-LOW", "t1", Status.NOT_APPLICABLE, message="nothing in scope"),
    )
    # 3 applicable controls (C-LOW is not applicable: were it counted, 2 of 4 = 50% would fail at 66),
    # 2 evaluated (C-MED has an ERROR): 66.7%
    code, err, _ = gate(sovscan, tmp_path, scan, None, "--min-coverage", minimum, "--fail-on", "critical")
    assert code == expected
    below = "coverage of target t1 is 66.7% (2 of 3 applicable control(s) evaluated), below --min-coverage 70%"
    assert (below in err) is (expected == 1)
    assert ("C-MED: evidence unavailable: permission denied on pg_hba_file_rules" in err) is (expected == 1)


def test_min_coverage_is_per_target(sovscan: Invoke, tmp_path: Path) -> None:
    scan = result(
        finding("C-CRIT", "a", Status.PASS, target="good"),
        finding("C-CRIT", "down", Status.ERROR, target="down", message="target not read: timed out"),
        targets=("good", "down"),
    )
    code, err, _ = gate(sovscan, tmp_path, scan, None, "--min-coverage", "50")
    assert code == 1
    assert "coverage of target down is 0.0%" in err and "C-CRIT: target not read: timed out" in err
    assert "target good" not in err


def test_compare_with_a_missing_file_is_a_usage_error(sovscan: Invoke, tmp_path: Path) -> None:
    outcome = sovscan(
        "report", "--from", save(result(PASSING), tmp_path / "r.json"), "--compare", tmp_path / "nope.json"
    )
    assert outcome.exit_code == 2
    assert outcome.stderr.startswith("sovscan: error: ") and "nope.json" in outcome.stderr


def test_compare_last_needs_a_store(sovscan: Invoke, tmp_path: Path) -> None:
    outcome = sovscan("report", "--from", save(result(PASSING), tmp_path / "r.json"), "--compare", "last")
    assert outcome.exit_code == 2 and "--compare last needs --store" in outcome.stderr


def test_console_summary_shows_the_comparison(sovscan: Invoke, tmp_path: Path) -> None:
    new = finding("C-HIGH", "fresh", Status.FAIL)
    gone = finding("C-MED", "gone", Status.FAIL)
    still = finding("C-MED", "still", Status.PASS)  # C-MED is evaluated again on t1: `gone` is resolved
    outcome = sovscan(
        "report",
        "--from",
        save(result(PASSING, KNOWN, new, still), tmp_path / "r.json"),
        "--compare",
        save(previous(PASSING, KNOWN, gone, still), tmp_path / "p.json"),
    )
    assert "new 1, updated 0, unchanged 3, absent 1" in outcome.stdout
    assert f"  new failures (1):\n    C-HIGH {uri('t1', 'fresh')}\n" in outcome.stdout
    assert f"  resolved (1):\n    C-MED {uri('t1', 'gone')} (was FAIL)\n" in outcome.stdout
