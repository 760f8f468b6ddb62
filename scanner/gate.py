"""The CI gate: turn a ScanResult into an exit code that means one thing.

Three independent checks can fail the gate (exit 1):

- findings: any FAIL at or above `--fail-on`; with `--fail-on-new` only the FAILs that are new
  or regressed since the compared run (a FAIL that was already FAIL there is known and passes);
- lost coverage: with a comparison, a control that was evaluated on a target in the compared
  run and is ERROR now (at or above `--fail-on`), unless `--allow-new-errors`: a scanner that
  loses its permissions must not turn the gate green;
- coverage: with `--min-coverage`, a target on which fewer than that share of the applicable
  controls were evaluated (ERROR counts as not evaluated; NOT_APPLICABLE is left out).

Otherwise any ERROR makes the scan incomplete (exit 3), and a clean scan exits 0.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from scanner.compare import changes, is_compared
from scanner.model import Finding, ScanResult, Severity, Status

MAX_LISTED = 20
"""Findings named one per line in the gate's reasons before the rest is summarised."""


class ExitCode(enum.IntEnum):
    """sovscan's exit codes (documented in the README)."""

    CLEAN = 0
    """Every control evaluated; no FAIL at or above --fail-on."""
    GATE_FAILED = 1
    """The gate failed: FAIL (or new FAIL) at or above --fail-on, lost coverage, or coverage below
    --min-coverage (takes precedence over INCOMPLETE)."""
    CONFIG_ERROR = 2
    """Usage error, or a malformed baseline, inventory, waiver, evidence or result file, or an
    unusable history store."""
    INCOMPLETE = 3
    """No gate failure, but some controls are ERROR: the scan did not verify everything."""
    INTERNAL_ERROR = 4
    """A bug in sovscan or a plugin; the message says where."""


@dataclass(frozen=True)
class Coverage:
    """How much of one target was actually verified."""

    target: str
    """Target id."""
    applicable: int
    """Controls with at least one finding that is not NOT_APPLICABLE."""
    evaluated: int
    """Applicable controls with no ERROR finding on this target."""
    not_evaluated: tuple[tuple[str, str], ...] = ()
    """(control id, reason) of every applicable control that was not evaluated."""

    @property
    def percent(self) -> float:
        """Evaluated share of the applicable controls, 0-100 (100 when nothing is applicable)."""
        return 100.0 if self.applicable == 0 else 100.0 * self.evaluated / self.applicable


@dataclass(frozen=True)
class GateOutcome:
    """The verdict of the gate and the findings behind it."""

    exit_code: ExitCode
    """What the process should exit with."""
    failing: tuple[Finding, ...]
    """FAIL findings that failed the gate (at or above the threshold; only new ones with --fail-on-new)."""
    errors: tuple[Finding, ...]
    """ERROR findings."""
    reasons: tuple[str, ...] = ()
    """One line per reason the gate failed (or the scan is incomplete)."""
    lost: tuple[Finding, ...] = ()
    """ERROR findings on controls evaluated in the compared run that failed the gate."""
    coverage: tuple[Coverage, ...] = ()
    """Per-target coverage (always computed)."""
    below_coverage: tuple[Coverage, ...] = ()
    """Targets below --min-coverage."""


def coverage(result: ScanResult) -> tuple[Coverage, ...]:
    """Per-target coverage: the share of applicable controls evaluated (not ERROR)."""
    # target -> control id -> [applicable: some finding is not NOT_APPLICABLE, (message of its first ERROR,)]
    seen: dict[str, dict[str, list[Any]]] = {}
    order = [t.id for t in result.targets]
    known = set(order)
    not_applicable, error = Status.NOT_APPLICABLE, Status.ERROR
    for finding in result.findings:
        target = finding.resource.target
        controls = seen.get(target)
        if controls is None:
            controls = seen[target] = {}
            if target not in known:
                known.add(target)
                order.append(target)
        entry = controls.get(finding.control_id)
        if entry is None:
            entry = controls[finding.control_id] = [False, None]
        status = finding.status
        if status is not not_applicable:
            entry[0] = True
            if status is error and entry[1] is None:
                entry[1] = (finding.message,)
    out: list[Coverage] = []
    for target in order:
        applicable = evaluated = 0
        missing: list[tuple[str, str]] = []
        for control_id, (is_applicable, first_error) in sorted(seen.get(target, {}).items()):
            if not is_applicable:
                continue
            applicable += 1
            if first_error is not None:
                missing.append((control_id, first_error[0]))
            else:
                evaluated += 1
        out.append(Coverage(target, applicable, evaluated, tuple(missing)))
    return tuple(out)


def _severity(result: ScanResult, control_id: str) -> Severity:
    return result.severity_of(control_id)  # unknown: fail closed, the same rule as every report


def _listed(findings: tuple[Finding, ...], describe: bool) -> list[str]:
    lines = []
    for f in findings[:MAX_LISTED]:
        was = ""
        if describe:
            was = f" (was {f.previous_status.value})" if f.previous_status is not None else " (new)"
        lines.append(f"  {f.control_id} {f.resource.uri}{was}")
    if len(findings) > MAX_LISTED:
        lines.append(f"  ... and {len(findings) - MAX_LISTED} more")
    return lines


def evaluate_gate(
    result: ScanResult,
    fail_on: Severity | None,
    *,
    new_only: bool = False,
    allow_new_errors: bool = False,
    min_coverage: float | None = None,
) -> GateOutcome:
    """Apply the gate (see the module docstring); `fail_on=None` never fails on findings."""
    reasons: list[str] = []
    compared = is_compared(result)
    # classified only when it is read (--fail-on-new, or a comparison): a pass over every finding
    changed = changes(result) if new_only or compared else None

    verdicts: dict[str, bool] = {}  # control id -> at or above the threshold (asked once per control)

    def at_threshold(f: Finding) -> bool:
        if fail_on is None:
            return False
        verdict = verdicts.get(f.control_id)
        if verdict is None:
            verdict = verdicts[f.control_id] = _severity(result, f.control_id).at_least(fail_on)
        return verdict

    all_failing = tuple(f for f in result.findings if f.status is Status.FAIL and at_threshold(f))
    failing = all_failing
    if changed is not None and new_only:
        failing = tuple(f for f in changed.failing if at_threshold(f))
    level = fail_on.value if fail_on else ""
    if failing:
        if new_only:
            known = len(all_failing) - len(failing)
            reasons.append(
                f"{len(failing)} new or regressed finding(s) FAIL at or above severity {level} "
                f"({known} known failure(s) not counted):"
            )
            if not compared:
                reasons.append("  (no previous run to compare with: every FAIL counts as new)")
        else:
            reasons.append(f"{len(failing)} finding(s) FAIL at or above severity {level}:")
        reasons.extend(_listed(failing, describe=new_only and compared))

    lost: tuple[Finding, ...] = ()
    if changed is not None and compared and not allow_new_errors:
        lost = tuple(f for f in changed.lost if at_threshold(f))
        if lost:
            reasons.append(
                f"{len(lost)} control result(s) at or above severity {level} were verified in the compared run "
                "and are ERROR now (lost coverage; --allow-new-errors accepts this):"
            )
            reasons.extend(f"  {f.control_id} on {f.resource.target}: {f.message}" for f in lost[:MAX_LISTED])
            if len(lost) > MAX_LISTED:
                reasons.append(f"  ... and {len(lost) - MAX_LISTED} more")

    covered = coverage(result)
    below: tuple[Coverage, ...] = ()
    if min_coverage is not None:
        below = tuple(c for c in covered if c.percent < min_coverage)
        for c in below:
            reasons.append(
                f"coverage of target {c.target} is {c.percent:.1f}% ({c.evaluated} of {c.applicable} applicable "
                f"control(s) evaluated), below --min-coverage {min_coverage:g}%; not evaluated:"
            )
            reasons.extend(f"  {control_id}: {reason}" for control_id, reason in c.not_evaluated)

    errors = tuple(f for f in result.findings if f.status is Status.ERROR)
    if failing or lost or below:
        code = ExitCode.GATE_FAILED
    elif errors:
        code = ExitCode.INCOMPLETE
        reasons.append(f"{len(errors)} control result(s) are ERROR")
    else:
        code = ExitCode.CLEAN
    return GateOutcome(code, failing, errors, tuple(reasons), lost, covered, below)
