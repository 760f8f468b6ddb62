"""Waivers: validation errors as one-line file:line messages (exit 2), and how they apply."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from scanner.errors import ConfigError
from scanner.model import Status
from scanner.waivers import apply_waivers, load_waivers
from tests.lifecycle.builders import finding, result, save, uri, with_status
from tests.lifecycle.conftest import Invoke

TODAY = date(2025, 3, 2)

VALID = """\
# accepted risks of the demo estate
max_days: 120
waivers:
  - control: C-CRIT
    resource: "demo://t1.example/items/legacy-*"
    justification: legacy host, decommissioned in Q2
    owner: team-db@example.org
    expires: 2025-06-30
    ticket: SEC-1234
  - control: C-HIGH
    resource: "demo://*/items/shared"
    justification: shared account, tracked
    owner: iam@example.org
    expires: "2025-03-10"
    created: 2025-01-15
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def entry(**fields: str) -> str:
    base = {
        "control": "C-CRIT",
        "resource": '"*"',
        "justification": "accepted",
        "owner": "me@example.org",
        "expires": "2025-04-01",
    }
    base.update(fields)
    lines = [f"    {k}: {v}" for k, v in base.items() if v != "-"]
    lines[0] = "  - " + lines[0].lstrip()
    return "waivers:\n" + "\n".join(lines) + "\n"


def test_valid_file_loads_with_sources(tmp_path: Path) -> None:
    loaded = load_waivers(write(tmp_path, VALID), today=TODAY)
    assert loaded.max_days == 120  # the file's stricter limit
    first, second = loaded.waivers
    assert (first.control_id, first.expires, first.ticket, first.source and first.source.line) == (
        "C-CRIT",
        "2025-06-30",
        "SEC-1234",
        4,
    )
    assert (second.expires, second.ticket, second.source and second.source.line) == ("2025-03-10", None, 10)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (entry(owner="-"), 2, "invalid waiver file: waivers.0: 'owner' is a required property"),
        (entry(justification='"  "'), 4, "invalid waiver file: waivers.0.justification: must not be empty"),
        (entry(reviewer="bob"), 2, "unknown field 'reviewer'"),
        (entry(expires="next-week"), 6, "waivers.0.expires: 'next-week' is not a date (YYYY-MM-DD)"),
        (entry(expires="2025-02-30"), 6, "invalid date: day is out of range for month"),
        (entry(expires="2025-04-01T10:00:00"), 6, "'2025-04-01T10:00:00' is not a date (YYYY-MM-DD)"),
        (entry(expires='"2025-13-01"'), 6, "waivers.0.expires: '2025-13-01' is not a date (YYYY-MM-DD)"),
        (entry(expires="42"), 6, "waivers.0.expires: must be of type string, not integer"),
        (
            entry(expires="2025-09-01"),
            6,
            "waiver for C-CRIT runs 183 days (today 2025-03-02 to 2025-09-01), longer than the maximum of 180 days",
        ),
        (entry(created="2025-03-05"), 7, "created date 2025-03-05 is in the future"),
        (entry(created="2025-01-01", expires="2024-12-01"), 6, "expires 2024-12-01 is before created 2025-01-01"),
        (entry(created="2024-06-01", expires="2025-03-20"), 6, "runs 292 days (created 2024-06-01 to 2025-03-20)"),
        ("max_days: 30\n" + entry(expires="2025-04-15"), 7, "longer than the maximum of 30 days (max_days at"),
        ("", 1, "invalid waiver file: (top level): must be of type object, not null"),
        ("waivers: [\n", 2, "invalid YAML"),
        (entry() + entry().replace("waivers:\n", ""), 7, "duplicate waiver for C-CRIT on * (first at"),
    ],
)
def test_invalid_waiver_files_exit_2_with_one_line(
    sovscan: Invoke, tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_waivers(path, today=TODAY)
    assert info.value.location == f"{path}:{line}"
    assert message in info.value.message
    outcome = sovscan(
        "report", "--from", save(result(), tmp_path / "r.json"), "--waivers", path, "--today", TODAY.isoformat()
    )
    assert outcome.exit_code == 2
    assert outcome.stderr.count("\n") == 1
    assert outcome.stderr.startswith(f"sovscan: error: {path}:{line}: ")
    assert outcome.stdout == ""  # nothing was reported: the problem is found before any work


def test_cli_max_days_is_stricter_and_file_cannot_relax_it(sovscan: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path, "max_days: 365\n" + entry(expires="2025-05-01"))  # 60 days
    assert load_waivers(path, today=TODAY, max_days=60).max_days == 60
    with pytest.raises(ConfigError, match="maximum of 59 days"):
        load_waivers(path, today=TODAY, max_days=59)
    long = write(tmp_path, "max_days: 365\n" + entry(expires="2025-12-01"))
    with pytest.raises(ConfigError, match=r"maximum of 180 days \(--waiver-max-days\)"):
        load_waivers(long, today=TODAY)
    outcome = sovscan(
        "report", "--from", save(result(), tmp_path / "r.json"), "--waivers", path, "--waiver-max-days", "30",
        "--today", TODAY.isoformat(),
    )  # fmt: skip
    assert outcome.exit_code == 2 and "maximum of 30 days (--waiver-max-days)" in outcome.stderr


def test_missing_waiver_file(sovscan: Invoke, tmp_path: Path) -> None:
    outcome = sovscan("report", "--from", save(result(), tmp_path / "r.json"), "--waivers", tmp_path / "none.yaml")
    assert outcome.exit_code == 2 and "cannot read waiver file" in outcome.stderr


def test_apply_waives_only_matching_failures(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path, VALID), today=TODAY).waivers
    scan = result(
        finding("C-CRIT", "legacy-1", Status.FAIL),
        finding("C-CRIT", "legacy-2", Status.PASS),
        finding("C-CRIT", "modern", Status.FAIL),
        finding("C-HIGH", "shared", Status.FAIL, target="t2"),
        finding("C-HIGH", "shared", Status.ERROR),
        targets=("t1", "t2"),
    )
    applied = apply_waivers(scan, waivers, TODAY)
    got = {(f.resource.target, f.control_id, f.resource.name): f.status for f in applied.findings}
    assert got == {
        ("t1", "C-CRIT", "legacy-1"): Status.WAIVED,
        ("t1", "C-CRIT", "legacy-2"): Status.PASS,
        ("t1", "C-CRIT", "modern"): Status.FAIL,
        ("t2", "C-HIGH", "shared"): Status.WAIVED,  # the glob's * crosses into the host part
        ("t1", "C-HIGH", "shared"): Status.ERROR,  # ERROR stays ERROR
    }
    assert applied.findings[0].waiver == waivers[0]
    # the second waiver ends in 8 days: a note warns; the first is far away: no note
    assert applied.notes == (
        f"waiver C-HIGH on demo://*/items/shared ({tmp_path / 'waivers.yaml'}:10) expires in 8 day(s) on 2025-03-10 "
        "(owner iam@example.org)",
    )


def test_unused_and_expired_notes(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path, VALID), today=TODAY).waivers
    later = date(2025, 3, 11)  # the C-HIGH waiver has expired, the C-CRIT one matches nothing
    applied = apply_waivers(result(finding("C-HIGH", "shared", Status.FAIL)), waivers, later)
    [f] = applied.findings
    assert f.status is Status.FAIL
    assert f.message.endswith(f"[waiver expired on 2025-03-10: {tmp_path / 'waivers.yaml'}:10]")
    assert applied.notes == (
        f"waiver C-CRIT on demo://t1.example/items/legacy-* ({tmp_path / 'waivers.yaml'}:4) is unused: "
        "it matched no failing finding",
        f"waiver C-HIGH on demo://*/items/shared ({tmp_path / 'waivers.yaml'}:10) expired on 2025-03-10: "
        "1 finding(s) it covered FAIL again; renew or remove it",
    )


def test_reapplying_waivers_starts_from_the_checks_outcome(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path, VALID), today=TODAY).waivers
    legacy = finding("C-CRIT", "legacy-1", Status.FAIL)
    once = apply_waivers(result(legacy), waivers, TODAY)
    twice = apply_waivers(once, waivers, TODAY)
    assert twice == once
    expired_once = apply_waivers(result(legacy), waivers, date(2025, 7, 1))
    assert apply_waivers(expired_once, waivers, date(2025, 7, 1)) == expired_once  # message suffix not doubled
    assert apply_waivers(once, [], TODAY).findings == (legacy,)  # no waiver any more: FAIL again


def test_report_reapplies_waivers_to_a_saved_result(sovscan: Invoke, tmp_path: Path) -> None:
    waived = with_status(finding("C-CRIT", "legacy-1", Status.FAIL), Status.WAIVED)
    empty = write(tmp_path, "waivers: []\n")
    outcome = sovscan(
        "report", "--from", save(result(waived), tmp_path / "r.json"), "--waivers", empty, "--today", "2025-03-02"
    )
    assert outcome.exit_code == 1  # the saved WAIVED is not trusted when a waiver file is given
    assert uri("t1", "legacy-1") in outcome.stderr


def test_example_waiver_file_is_valid() -> None:
    example = Path(__file__).parents[2] / "examples" / "waivers.yaml"
    loaded = load_waivers(example, today=date(2025, 8, 1))
    assert loaded.waivers and all(w.justification and w.owner for w in loaded.waivers)


def test_validate_command_checks_waiver_files(sovscan: Invoke, tmp_path: Path) -> None:
    good = Path(__file__).parents[2] / "examples" / "waivers.yaml"
    bad = write(tmp_path, entry(owner="-"))
    outcome = sovscan(
        "validate", "--baseline", "postgres", "--waivers", good, "--waivers", bad, "--waiver-max-days", "3650"
    )
    assert outcome.exit_code == 2
    assert f"ok  waivers {good}: 3 waiver(s), at most 120 days" in outcome.stdout
    assert f"sovscan: error: {bad}:2: invalid waiver file: waivers.0: 'owner' is a required property" in outcome.stderr


def test_report_without_a_waiver_file_still_expires_the_saved_waivers(sovscan: Invoke, tmp_path: Path) -> None:
    # a result saved while the waiver was valid, gated again after its expiry: the FAIL is back
    waivers = load_waivers(write(tmp_path, VALID), today=TODAY).waivers
    saved = save(apply_waivers(result(finding("C-HIGH", "shared", Status.FAIL)), waivers, TODAY), tmp_path / "r.json")
    assert '"status": "WAIVED"' in saved.read_text()
    still_valid = sovscan("report", "--from", saved, "--today", "2025-03-10")
    assert still_valid.exit_code == 0, still_valid.output
    expired = sovscan("report", "--from", saved, "--today", "2025-03-11", "-f", f"json={tmp_path / 'again.json'}")
    assert expired.exit_code == 1
    assert uri("t1", "shared") in expired.stderr
    assert "[waiver expired on 2025-03-10" in (tmp_path / "again.json").read_text()


def test_a_saved_waived_finding_without_its_waiver_fails_again(sovscan: Invoke, tmp_path: Path) -> None:
    waived = with_status(finding("C-CRIT", "legacy-1", Status.FAIL), Status.WAIVED)  # no waiver attached
    outcome = sovscan("report", "--from", save(result(waived), tmp_path / "r.json"), "--today", "2025-03-02")
    assert outcome.exit_code == 1
    assert uri("t1", "legacy-1") in outcome.stderr
