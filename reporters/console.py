"""A human summary: per-target counts, failing controls grouped by severity, what could not be read."""

from __future__ import annotations

from collections import Counter, defaultdict

from scanner.compare import changes
from scanner.interface import Reporter, ReportOptions
from scanner.model import BaselineState, Finding, ScanResult, Severity, Status
from scanner.resultio import status_counts
from scanner.text import visible

_COLORS = {
    Status.PASS: "32",
    Status.FAIL: "31",
    Status.ERROR: "35",
    Status.NOT_APPLICABLE: "90",
    Status.WAIVED: "36",
}
_SEVERITY_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]
_MAX_RESOURCES = 5
_MAX_CHANGES = 10
_MAX_ERROR_GROUPS = 10
_MAX_WAIVED = 10


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _counts(counts: Counter[tuple[Status, str | None]], target: str | None, color: bool) -> str:
    parts = []
    for status in Status:
        n = counts[(status, target)]
        if n or status in (Status.PASS, Status.FAIL, Status.ERROR):
            parts.append(_paint(f"{status.value} {n}", _COLORS[status], color and n > 0))
    return "  ".join(parts)


def _names(findings: list[Finding]) -> str:
    """The first resources of a group; a name shared by two resources is shown as its URI."""
    labels = [visible(f"{f.resource.target}:{f.resource.name}") for f in findings]
    counts = Counter(labels)
    shown = [
        visible(f.resource.uri) if counts[label] > 1 else label
        for f, label in zip(findings[:_MAX_RESOURCES], labels[:_MAX_RESOURCES], strict=True)
    ]
    more = len(findings) - len(shown)
    return ", ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def _severity(result: ScanResult, control_id: str) -> Severity:
    """A control's severity (the gate's rule for a control id the result does not describe)."""
    return result.severity_of(control_id)


class ConsoleReporter(Reporter):
    """The terminal summary printed after a scan."""

    name = "console"
    description = "human-readable summary (default on standard output)"
    extension = ".txt"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Render the summary."""
        color = options.color
        counts = status_counts(result)
        lines: list[str] = []
        lines.append(
            f"sovscan {result.tool_version} — environment {visible(result.environment)} — "
            f"{len(result.targets)} target(s), {len(result.controls)} control(s), {len(result.findings)} result(s)"
        )
        if result.run_id:
            lines.append(f"run {visible(result.run_id)}  started {visible(result.started_at)}")
        if result.baselines:
            lines.append("baselines: " + visible(", ".join(f"{k} {v}" for k, v in sorted(result.baselines.items()))))
        lines.append("")
        lines.append("Targets")
        for target in result.targets:
            state = _paint("NOT READ", "35", color) if target.error else f"{target.duration:.1f}s"
            lines.append(
                f"  {visible(target.id)} ({visible(target.kind)}) [{state}]  {_counts(counts, target.id, color)}"
            )
            if target.error:
                lines.append(f"      ! {visible(target.error)}")
            for section, reason in sorted(target.section_errors.items()):
                lines.append(f"      ! {visible(section)}: {visible(reason)}")
            for weakness in target.insecure_transport:
                lines.append(f"      ! {_paint('INSECURE TRANSPORT', '31', color)}: {visible(weakness)}")

        failing: dict[str, list[Finding]] = defaultdict(list)
        for finding in result.findings:
            if finding.status is Status.FAIL:
                failing[finding.control_id].append(finding)
        if failing:
            lines.append("")
            lines.append("Failing controls")
            for severity in _SEVERITY_ORDER:
                ids = sorted(cid for cid in failing if _severity(result, cid) is severity)
                if not ids:
                    continue
                lines.append(f"  {_paint(severity.value.upper(), '31' if severity.rank >= 3 else '33', color)}")
                for cid in ids:
                    control = result.controls.get(cid)
                    found = failing[cid]
                    new = sum(1 for f in found if f.baseline_state is BaselineState.NEW)
                    tag = f" [{new} new]" if new else ""
                    title = visible(control.title) if control else ""
                    lines.append(f"    {visible(cid)}  {title}  ({len(found)}){tag}")
                    lines.append(f"        {_names(found)}")
                    if len(found) == 1:
                        lines.append(f"        {visible(found[0].message)}")

        errors: dict[str, list[Finding]] = defaultdict(list)
        for finding in result.findings:
            if finding.status is Status.ERROR:
                errors[finding.message].append(finding)
        if errors:
            lines.append("")
            lines.append("Not verified (ERROR)")
            groups = sorted(errors.items(), key=lambda item: (-len(item[1]), item[0]))
            for message, found in groups[:_MAX_ERROR_GROUPS]:
                ids = sorted({f.control_id for f in found})
                shown = ", ".join(ids[:8]) + (f" (+{len(ids) - 8})" if len(ids) > 8 else "")
                where = f"{len(found)} results" if len(found) > 1 else found[0].resource.uri
                lines.append(visible(f"  {shown} ({where}): {message}"))
            if len(groups) > _MAX_ERROR_GROUPS:
                rest = groups[_MAX_ERROR_GROUPS:]
                count = sum(len(found) for _, found in rest)
                lines.append(f"  ... and {len(rest)} more reasons ({count} results; see the JSON or JUnit report)")

        waived = [f for f in result.findings if f.status is Status.WAIVED]
        if waived:
            lines.append("")
            lines.append(f"Waived: {len(waived)}")
            for finding in waived[:_MAX_WAIVED]:
                owner = finding.waiver.owner if finding.waiver else "?"
                expires = finding.waiver.expires if finding.waiver else "?"
                lines.append(
                    visible(f"  {finding.control_id} {finding.resource.uri} (owner {owner}, expires {expires})")
                )
            if len(waived) > _MAX_WAIVED:
                lines.append(f"  ... and {len(waived) - _MAX_WAIVED} more")

        if result.compared_with is not None:
            states: dict[str, int] = defaultdict(int)
            for finding in result.findings:
                if finding.baseline_state:
                    states[finding.baseline_state.value] += 1
            lines.append("")
            lines.append(
                f"Compared with {visible(result.compared_with)}: "
                f"new {states['new']}, updated {states['updated']}, unchanged {states['unchanged']}, "
                f"absent {len(result.absent)}"
            )
            changed = changes(result)
            for label, changed_findings in (
                ("new failures", changed.new_failures),
                ("regressed (now FAIL)", changed.regressed),
                ("resolved", changed.resolved),
                ("no longer verified (now ERROR)", changed.lost),
            ):
                if changed_findings:
                    lines.append(f"  {label} ({len(changed_findings)}):")
                    for finding in changed_findings[:_MAX_CHANGES]:
                        was = f" (was {finding.previous_status.value})" if finding.previous_status else ""
                        lines.append(visible(f"    {finding.control_id} {finding.resource.uri}{was}"))
                    if len(changed_findings) > _MAX_CHANGES:
                        lines.append(f"    ... and {len(changed_findings) - _MAX_CHANGES} more")
        for note in result.notes:
            lines.append(f"note: {visible(note)}")
        lines.append("")
        lines.append("Total: " + _counts(counts, None, color))
        return "\n".join(lines) + "\n"
