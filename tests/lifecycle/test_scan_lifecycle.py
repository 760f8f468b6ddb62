"""End to end through `sovscan scan`: waivers, --compare last, the gate, history, SARIF states.

Uses the demo target plugin of the core tests (a real plugin behind a real entry point).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.core.conftest import DATA, demo_entry_point
from tests.lifecycle.conftest import Invoke

__all__ = ["demo_entry_point"]  # the fixture, imported for the tests below

WAIVERS = """\
waivers:
  - control: DEMO-02
    resource: "demo://prod/settings/tls"
    justification: TLS terminates on the load balancer in front of this service
    owner: team-edge@example.org
    expires: 2025-04-30
"""


def test_nightly_cycle(sovscan: Invoke, demo_entry_point: Path, tmp_path: Path) -> None:
    facts = tmp_path / "prod.json"
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS)
    store = f"sqlite:{tmp_path / 'history.sqlite3'}"

    def nightly(name: str, night: int) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
        shutil.copy(DATA / f"facts-{name}.json", facts)
        out, sarif = tmp_path / f"night-{night}.json", tmp_path / f"night-{night}.sarif"
        outcome = sovscan(
            "scan", "--no-progress", "--target", f"demo={facts}", "--environment", "prod",
            "--store", store, "--compare", "last", "--fail-on-new", "--waivers", waivers, "--today", "2025-03-02",
            "-f", f"json={out}", "-f", f"sarif={sarif}",
        )  # fmt: skip
        return outcome.exit_code, outcome.stderr, json.loads(out.read_text()), json.loads(sarif.read_text())

    # night 1: everything passes; the first stored scan compares with nothing, so all is new
    code, err, first, _ = nightly("good", 1)
    assert code == 0, err
    assert {f["baseline_state"] for f in first["findings"]} == {"new"}
    assert any("waiver DEMO-02" in n and "is unused" in n for n in first["notes"])

    # night 2: the scanner lost the permission to list users: DEMO-01 is ERROR where it passed
    code, err, second, _ = nightly("denied", 2)
    assert code == 1
    assert (
        "DEMO-01 on demo-prod: evidence unavailable: permission denied: listing users needs the view-users role" in err
    )

    # night 3: TLS off (waived) and bob without MFA (new failure)
    code, err, third, sarif = nightly("bad", 3)
    assert code == 1
    assert "DEMO-01 demo://prod/users/bob (new)" in err
    statuses = {(f["control_id"], f["resource"]["name"]): f["status"] for f in third["findings"]}
    assert statuses[("DEMO-02", "tls")] == "WAIVED"
    assert statuses[("DEMO-01", "bob")] == "FAIL"
    results = sarif["runs"][0]["results"]
    assert all("baselineState" in r for r in results)
    [waived] = [r for r in results if r["ruleId"] == "DEMO-02"]
    assert waived["suppressions"][0]["justification"].startswith("TLS terminates")

    history = sovscan("history", "--store", store, "--format", "json")
    [series] = json.loads(history.stdout)["series"]
    assert (series["environment"], series["target"], series["baseline"]) == ("prod", "demo-prod", "demo")
    assert [s["run_id"] for s in series["scans"]] == [first["run"]["id"], second["run"]["id"], third["run"]["id"]]
    assert series["open_failures"] == 1


def test_bad_waiver_file_stops_before_collecting(sovscan: Invoke, demo_entry_point: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS.replace("    owner: team-edge@example.org\n", ""))
    store = tmp_path / "history.sqlite3"
    outcome = sovscan(
        "scan", "--no-progress", "--target", f"demo={DATA / 'facts-good.json'}", "--waivers", waivers,
        "--store", f"sqlite:{store}", "--today", "2025-03-02",
    )  # fmt: skip
    assert outcome.exit_code == 2
    assert (
        outcome.stderr
        == f"sovscan: error: {waivers}:2: invalid waiver file: waivers.0: 'owner' is a required property\n"
    )
    assert not store.exists()  # nothing was scanned or recorded
