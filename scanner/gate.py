"""The CI gate: turn a ScanResult into an exit code that means one thing."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from scanner.model import Finding, ScanResult, Severity, Status


class ExitCode(enum.IntEnum):
    """sovscan's exit codes (documented in the README)."""

    CLEAN = 0
    """Every control evaluated; no FAIL at or above --fail-on."""
    GATE_FAILED = 1
    """At least one FAIL at or above --fail-on (takes precedence over INCOMPLETE)."""
    CONFIG_ERROR = 2
    """Usage error, or a malformed baseline, inventory, waiver, evidence or result file."""
    INCOMPLETE = 3
    """No gate failure, but some controls are ERROR: the scan did not verify everything."""
    INTERNAL_ERROR = 4
    """A bug in sovscan or a plugin; the message says where."""


@dataclass(frozen=True)
class GateOutcome:
    """The verdict of the gate and the findings behind it."""

    exit_code: ExitCode
    """What the process should exit with."""
    failing: tuple[Finding, ...]
    """FAIL findings at or above the threshold."""
    errors: tuple[Finding, ...]
    """ERROR findings."""
    reasons: tuple[str, ...] = ()
    """One line per reason the gate failed."""


def evaluate_gate(result: ScanResult, fail_on: Severity | None) -> GateOutcome:
    """Apply `--fail-on`: any FAIL at or above the severity fails the gate; None never fails."""
    failing: Sequence[Finding] = ()
    if fail_on is not None:
        failing = [
            f
            for f in result.findings
            if f.status is Status.FAIL and result.controls[f.control_id].severity.at_least(fail_on)
        ]
    errors = tuple(f for f in result.findings if f.status is Status.ERROR)
    if failing:
        reasons = (f"{len(failing)} finding(s) FAIL at or above severity {fail_on.value if fail_on else ''}",)
        return GateOutcome(ExitCode.GATE_FAILED, tuple(failing), errors, reasons)
    if errors:
        return GateOutcome(ExitCode.INCOMPLETE, (), errors, (f"{len(errors)} control result(s) are ERROR",))
    return GateOutcome(ExitCode.CLEAN, (), (), ())
