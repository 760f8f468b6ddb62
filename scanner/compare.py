"""Comparison with a previous run: baseline states, absent findings, and what changed.

Findings are matched by fingerprint (control id + resource URI). Every finding of the current
run gets a `baseline_state` (SARIF's baselineState) and, when it was in the previous run, its
`previous_status`:

- `new`: not in the previous run;
- `unchanged`: same status and same observed value;
- `updated`: same fingerprint, different status or observed value;
- `absent`: in the previous run, gone now. These are carried in `ScanResult.absent` as they were
  in the previous run (status = previous status, `previous_status` set too). Only findings of
  targets scanned in this run can be absent: a target that was not scanned this time (another
  shard, a smaller inventory) has no absent findings.

`changes(result)` is the one definition of "what changed" that the gate, the console and the
Wazuh events share: new failures, regressions (a finding that FAIL now and was PASS, WAIVED,
NOT_APPLICABLE or ERROR before), resolved failures, and lost coverage (a control evaluated on a
target in the previous run that is ERROR now; its previous findings are absent, but they were
not fixed: they could not be verified).

The previous run is read from a native JSON result or a report a reporter can read back, such as
a SARIF log written by sovscan (`load_previous`; the SARIF reader lives beside its writer in
`reporters/sarif_reader.py`). A SARIF log written without `--full` has no PASS results; comparing with it
cannot tell unchanged passes from new ones, so the comparison says so in a note.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scanner import resultio
from scanner.errors import ConfigError
from scanner.fileio import read_json
from scanner.interface import Reporter
from scanner.model import BaselineState, Finding, ScanResult, Status

EVALUATED = frozenset({Status.PASS, Status.FAIL, Status.WAIVED})
"""Statuses that mean a control was really verified on a resource."""

NOTE_PREFIX = "compare: "
"""Every note written by `compare` starts with this, so comparing again replaces them."""


@dataclass(frozen=True)
class Previous:
    """A previous run to compare with."""

    result: ScanResult
    """The previous run's result (its own baseline states and absent findings are ignored)."""
    description: str
    """What it is, for `ScanResult.compared_with` (a file and run id, or a stored scan)."""
    complete: bool = True
    """False when it lists only FAIL/ERROR/WAIVED findings (a SARIF log written without --full)."""
    observed: bool = True
    """False when its observed values are unknown (then only statuses are compared)."""


def compare(current: ScanResult, previous: Previous) -> ScanResult:
    """Return `current` with baseline states, previous statuses and absent findings set (pure)."""
    before = {f.fingerprint: f for f in previous.result.findings}
    scanned = {t.id for t in current.targets} | {f.resource.target for f in current.findings}
    findings: list[Finding] = []
    seen: set[str] = set()
    for finding in current.findings:
        key = finding.fingerprint
        seen.add(key)
        old = before.get(key)
        if old is None:
            quiet = not previous.complete and finding.status in (Status.PASS, Status.NOT_APPLICABLE)
            state = BaselineState.UNCHANGED if quiet else BaselineState.NEW
            findings.append(replace(finding, baseline_state=state, previous_status=None))
            continue
        same = old.status is finding.status and (not previous.observed or _same(old.observed, finding.observed))
        state = BaselineState.UNCHANGED if same else BaselineState.UPDATED
        findings.append(replace(finding, baseline_state=state, previous_status=old.status))
    absent = tuple(
        replace(old, baseline_state=BaselineState.ABSENT, previous_status=old.status)
        for key, old in before.items()
        if key not in seen and old.resource.target in scanned
    )
    compared = replace(current, findings=tuple(findings), absent=absent, compared_with=previous.description)
    notes = [n for n in current.notes if not n.startswith(NOTE_PREFIX)]
    if not previous.complete:
        notes.append(
            f"{NOTE_PREFIX}{previous.description} lists only failing, waived and ERROR results (a SARIF log "
            "written without --full): passing findings cannot be matched, and a control that passed there and "
            "is ERROR now is not detected; compare with the native JSON result instead"
        )
    if previous.result.environment != current.environment:
        notes.append(
            f"{NOTE_PREFIX}the previous run scanned environment '{previous.result.environment}', "
            f"this one '{current.environment}'"
        )
    missing = sorted({f.resource.target for f in previous.result.findings} - scanned)
    if missing:
        notes.append(f"{NOTE_PREFIX}target(s) of the previous run not scanned now (not compared): {', '.join(missing)}")
    lost = changes(compared).unverified
    if lost:
        notes.append(
            f"{NOTE_PREFIX}{len(lost)} finding(s) of the previous run are absent because their control could not "
            "be verified in this run (ERROR), not because they were fixed"
        )
    return replace(compared, notes=tuple(notes))


def _same(a: Any, b: Any) -> bool:
    """Compare two observed values as JSON (so 1 and 1.0, or tuples and lists, are the same)."""
    if a == b:
        return True
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@dataclass(frozen=True)
class Changes:
    """What changed since the compared run, in the terms a SOC or a CI gate cares about."""

    new_failures: tuple[Finding, ...]
    """FAIL now and not in the previous run (or no comparison at all)."""
    regressed: tuple[Finding, ...]
    """FAIL now and PASS, WAIVED, NOT_APPLICABLE or ERROR in the previous run."""
    resolved: tuple[Finding, ...]
    """FAIL in the previous run and PASS or NOT_APPLICABLE now (current finding), or absent now
    while its control was evaluated on that target (absent finding)."""
    lost: tuple[Finding, ...]
    """ERROR now (and not ERROR before on that resource), on a control that was evaluated
    (PASS/FAIL/WAIVED) on the same target in the previous run: the scan lost coverage."""
    unverified: tuple[Finding, ...]
    """Absent findings whose control is ERROR now on that target: not fixed, just not seen."""

    @property
    def failing(self) -> tuple[Finding, ...]:
        """New failures and regressions: what `--fail-on-new` gates on."""
        return self.new_failures + self.regressed


def evaluated_before(result: ScanResult) -> set[tuple[str, str]]:
    """(control id, target) pairs verified in the compared run, read from a compared result."""
    pairs = {
        (f.control_id, f.resource.target)
        for f in result.findings
        if f.previous_status is not None and f.previous_status in EVALUATED
    }
    pairs.update((f.control_id, f.resource.target) for f in result.absent if f.status in EVALUATED)
    return pairs


def is_compared(result: ScanResult) -> bool:
    """True when the result carries a comparison with a previous run."""
    return (
        result.compared_with is not None
        or bool(result.absent)
        or any(f.baseline_state is not None for f in result.findings)
    )


def changes(result: ScanResult) -> Changes:
    """Classify a (compared) result's findings. Without a comparison every FAIL is a new failure."""
    if not is_compared(result):
        fails = tuple(f for f in result.findings if f.status is Status.FAIL)
        return Changes(fails, (), (), (), ())
    new: list[Finding] = []
    regressed: list[Finding] = []
    resolved: list[Finding] = []
    for f in result.findings:
        if f.status is Status.FAIL:
            if f.previous_status is None:
                new.append(f)
            elif f.previous_status is not Status.FAIL:
                regressed.append(f)
        elif f.previous_status is Status.FAIL and f.status in (Status.PASS, Status.NOT_APPLICABLE):
            resolved.append(f)
    before = evaluated_before(result)
    errors_now = {(f.control_id, f.resource.target) for f in result.findings if f.status is Status.ERROR}
    lost = tuple(
        f
        for f in result.findings
        if f.status is Status.ERROR
        and f.previous_status is not Status.ERROR
        and (f.control_id, f.resource.target) in before
    )

    # A failure that is gone is resolved only if its control was still evaluated: gone because the
    # control is ERROR now, was tailored out, or left the baseline is not a fix, nobody looked.
    def not_looked_at(f: Finding) -> bool:
        control = result.controls.get(f.control_id)
        return (f.control_id, f.resource.target) in errors_now or control is None or control.disabled is not None

    unverified = tuple(f for f in result.absent if not_looked_at(f))
    resolved.extend(f for f in result.absent if f.status is Status.FAIL and not not_looked_at(f))
    return Changes(tuple(new), tuple(regressed), tuple(resolved), lost, unverified)


# --- reading a previous run ----------------------------------------------------------------------


def empty_previous(current: ScanResult, description: str) -> Previous:
    """A previous run with no findings (the first scan of these targets): everything is new."""
    result = ScanResult(
        tool_version=current.tool_version,
        started_at="",
        finished_at="",
        controls={},
        findings=(),
        targets=(),
        environment=current.environment,
    )
    return Previous(result=result, description=description)


def load_previous(path: Path | str, readers: Sequence[Reporter] = ()) -> Previous:
    """Read a previous run: a native JSON result, or a report another format's reporter can read back.

    Each reporter owns its format both ways: `Reporter.read` (e.g. the SARIF reporter's) is asked
    in turn; the first that recognises the document rebuilds the result.
    """
    document = read_json(path, "previous result")
    if isinstance(document, dict) and document.get("format") == resultio.FORMAT:
        result = resultio.from_document(document, str(path))
        return Previous(result, _describe(str(path), result))
    for reader in readers:
        read_back = reader.read(document, str(path))
        if read_back is not None:
            return Previous(read_back.result, _describe(str(path), read_back.result), read_back.complete)
    formats = ", ".join(sorted({r.name for r in readers if type(r).read is not Reporter.read})) or "none"
    raise ConfigError(
        f"not a sovscan result: expected a native JSON result or a report sovscan can read back ({formats})",
        str(path),
    )


def _describe(path: str, result: ScanResult) -> str:
    when = f", started {result.started_at}" if result.started_at else ""
    run = f"run {result.run_id}" if result.run_id else "run"
    return f"{path} ({run}{when})"
