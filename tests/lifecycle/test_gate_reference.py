"""The gate's one-pass bookkeeping gives exactly what the straightforward version gave.

`coverage` keeps per (target, control) only what it needs and `evaluate_gate` asks each control's
severity once and classifies changes only when they are read; the reference below is the code they
replaced, word for word. Both must agree on every outcome, over random results with and without a
comparison, unknown targets and controls, and every gate option.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace

import pytest

from scanner.compare import changes, is_compared
from scanner.gate import MAX_LISTED, Coverage, ExitCode, GateOutcome, coverage, evaluate_gate
from scanner.model import BaselineState, Finding, ScanResult, Severity, Status
from tests.lifecycle.builders import finding, result


def _reference_coverage(result: ScanResult) -> tuple[Coverage, ...]:
    statuses: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    order = [t.id for t in result.targets]
    for f in result.findings:
        if f.resource.target not in order:
            order.append(f.resource.target)
        statuses[f.resource.target][f.control_id].append(f)
    out: list[Coverage] = []
    for target in order:
        applicable = evaluated = 0
        missing: list[tuple[str, str]] = []
        for control_id, found in sorted(statuses[target].items()):
            if all(f.status is Status.NOT_APPLICABLE for f in found):
                continue
            applicable += 1
            errors = [f for f in found if f.status is Status.ERROR]
            if errors:
                missing.append((control_id, errors[0].message))
            else:
                evaluated += 1
        out.append(Coverage(target, applicable, evaluated, tuple(missing)))
    return tuple(out)


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


def _reference_gate(
    result: ScanResult,
    fail_on: Severity | None,
    *,
    new_only: bool = False,
    allow_new_errors: bool = False,
    min_coverage: float | None = None,
) -> GateOutcome:
    reasons: list[str] = []
    compared = is_compared(result)
    changed = changes(result)

    def at_threshold(f: Finding) -> bool:
        return fail_on is not None and result.severity_of(f.control_id).at_least(fail_on)

    all_failing = tuple(f for f in result.findings if f.status is Status.FAIL and at_threshold(f))
    failing = tuple(f for f in changed.failing if at_threshold(f)) if new_only else all_failing
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
    if compared and not allow_new_errors:
        lost = tuple(f for f in changed.lost if at_threshold(f))
        if lost:
            reasons.append(
                f"{len(lost)} control result(s) at or above severity {level} were verified in the compared run "
                "and are ERROR now (lost coverage; --allow-new-errors accepts this):"
            )
            reasons.extend(f"  {f.control_id} on {f.resource.target}: {f.message}" for f in lost[:MAX_LISTED])
            if len(lost) > MAX_LISTED:
                reasons.append(f"  ... and {len(lost) - MAX_LISTED} more")
    covered = _reference_coverage(result)
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


_CONTROLS = ("C-CRIT", "C-HIGH", "C-MED", "C-LOW", "C-UNKNOWN")
_STATUSES = tuple(Status)


def _random_result(rng: random.Random) -> ScanResult:
    findings = []
    for number in range(rng.randrange(0, 80)):
        f = finding(
            rng.choice(_CONTROLS),
            f"r{rng.randrange(12)}",
            rng.choice(_STATUSES),
            target=rng.choice(("t1", "t2", "ghost")),
            message=f"message {number}",
        )
        if rng.random() < 0.4:  # a compared result: previous states on some findings
            f = replace(
                f,
                baseline_state=rng.choice(tuple(BaselineState)),
                previous_status=rng.choice((None, *_STATUSES)),
            )
        findings.append(f)
    built = result(*findings, targets=rng.choice((("t1",), ("t1", "t2"), ())))
    if rng.random() < 0.2:
        built = replace(built, compared_with="previous.json")
    if rng.random() < 0.2:
        built = replace(built, absent=(finding("C-HIGH", "gone", Status.FAIL, target="t1"),))
    return built


@pytest.mark.parametrize("seed", range(25))
def test_gate_and_coverage_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    scan = _random_result(rng)
    assert coverage(scan) == _reference_coverage(scan)
    for fail_on in (None, Severity.CRITICAL, Severity.MEDIUM, Severity.INFO):
        for new_only in (False, True):
            for allow_new_errors in (False, True):
                for min_coverage in (None, 50.0, 100.0):
                    options = {"new_only": new_only, "allow_new_errors": allow_new_errors, "min_coverage": min_coverage}
                    assert evaluate_gate(scan, fail_on, **options) == _reference_gate(scan, fail_on, **options)
