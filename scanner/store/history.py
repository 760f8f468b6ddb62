"""Trends over recorded scans: pass rate, new / resolved / still-open failures, oldest open failure.

Pure functions over rows read from the store, so they are tested without a database too.

Per series (environment, target, baseline), for each recorded scan:

- pass rate = PASS / (all findings except NOT_APPLICABLE): ERROR and WAIVED count as not passing;
- new = FAIL now and not FAIL in the series' previous scan; resolved = FAIL in the previous scan
  and PASS / NOT_APPLICABLE now, or gone while its control was not ERROR now; still open = FAIL
  in both;
- the oldest open failure of the latest scan: the FAIL whose uninterrupted run of FAIL (an ERROR
  scan in between does not interrupt it, since nothing was seen) started earliest, with its age
  measured at the latest scan (no wall clock).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scanner.model import Status
from scanner.text import visible


@dataclass(frozen=True)
class HistoryRow:
    """One recorded finding of one scan."""

    scan_id: int
    """Store id of the scan."""
    run_id: str
    """Run id of the scan."""
    environment: str
    """Environment scanned."""
    started_at: str
    """ISO 8601 start of the scan."""
    target: str
    """Target id."""
    baseline: str
    """Baseline that defines the control."""
    control_id: str
    """Control id."""
    fingerprint: str
    """Finding fingerprint."""
    resource_uri: str
    """Resource URI."""
    status: Status
    """Status in that scan."""


@dataclass(frozen=True)
class ScanPoint:
    """One scan in a series."""

    run_id: str
    """The run id."""
    started_at: str
    """ISO 8601 start of the scan."""
    baseline_version: str
    """Version of the series' baseline in that scan ('' when unknown)."""
    counts: Mapping[str, int]
    """Status value -> number of findings."""
    pass_rate: float | None
    """PASS share of the applicable findings, 0-100 (None when nothing was applicable)."""
    new: int
    """FAIL now, not FAIL in the previous scan of the series."""
    resolved: int
    """FAIL in the previous scan of the series, fixed now."""
    still_open: int
    """FAIL in both."""


@dataclass(frozen=True)
class OpenFailure:
    """A failure that is still open in the latest scan of a series."""

    control_id: str
    """The failing control."""
    resource_uri: str
    """The resource."""
    since: str
    """Start of the first scan of its current run of FAIL."""
    age_days: float
    """Days from `since` to the latest scan of the series."""


@dataclass(frozen=True)
class Series:
    """The history of one baseline on one target in one environment."""

    environment: str
    """Environment name."""
    target: str
    """Target id."""
    baseline: str
    """Baseline name ('' when the controls did not name one)."""
    points: tuple[ScanPoint, ...]
    """One point per recorded scan, oldest first."""
    open_failures: int
    """FAIL findings in the latest scan."""
    oldest_open: OpenFailure | None
    """The oldest still-open failure, if any."""


def _parse(moment: str) -> datetime | None:
    try:
        return datetime.fromisoformat(moment)
    except ValueError:
        return None


def build_series(rows: Sequence[HistoryRow], versions: Mapping[tuple[int, str], str]) -> list[Series]:
    """Group rows into series and compute each scan's point and the oldest open failure."""
    grouped: dict[tuple[str, str, str], dict[int, list[HistoryRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        grouped[(row.environment, row.target, row.baseline)][row.scan_id].append(row)
    out: list[Series] = []
    for (environment, target, baseline), scans in sorted(grouped.items()):
        order = sorted(scans, key=lambda sid: (scans[sid][0].started_at, sid))
        points: list[ScanPoint] = []
        previous: dict[str, Status] = {}
        previous_controls: dict[str, str] = {}
        states: list[tuple[str, dict[str, Status], set[str]]] = []
        for scan_id in order:
            found = scans[scan_id]
            now = {r.fingerprint: r.status for r in found}
            errors = {r.control_id for r in found if r.status is Status.ERROR}
            evaluated = {r.control_id for r in found if r.status in (Status.PASS, Status.FAIL, Status.WAIVED)}
            controls = {r.fingerprint: r.control_id for r in found}
            counts = {s.value: 0 for s in Status}
            for status in now.values():
                counts[status.value] += 1
            applicable = len(now) - counts[Status.NOT_APPLICABLE.value]
            rate = 100.0 * counts[Status.PASS.value] / applicable if applicable else None
            failing_now = {fp for fp, st in now.items() if st is Status.FAIL}
            failing_before = {fp for fp, st in previous.items() if st is Status.FAIL}
            resolved = 0
            for fp in failing_before - failing_now:
                after = now.get(fp)
                fixed = after in (Status.PASS, Status.NOT_APPLICABLE)
                # gone counts as fixed only if its control was still evaluated (not ERROR, not tailored out or removed)
                control = previous_controls.get(fp)
                gone = after is None and control in evaluated and control not in errors
                resolved += 1 if fixed or gone else 0
            points.append(
                ScanPoint(
                    run_id=found[0].run_id,
                    started_at=found[0].started_at,
                    baseline_version=versions.get((scan_id, baseline), ""),
                    counts=counts,
                    pass_rate=rate,
                    new=len(failing_now - failing_before),
                    resolved=resolved,
                    still_open=len(failing_now & failing_before),
                )
            )
            states.append((found[0].started_at, now, errors))
            previous = now
            previous_controls = controls
        out.append(_series(environment, target, baseline, points, states, scans, order))
    return out


def _series(
    environment: str,
    target: str,
    baseline: str,
    points: list[ScanPoint],
    states: list[tuple[str, dict[str, Status], set[str]]],
    scans: Mapping[int, list[HistoryRow]],
    order: list[int],
) -> Series:
    latest_started, latest, _ = states[-1]
    info = {r.fingerprint: r for r in scans[order[-1]]}
    oldest: OpenFailure | None = None
    for fp, status in latest.items():
        if status is not Status.FAIL:
            continue
        since = latest_started
        for started, now, _errors in reversed(states):
            seen = now.get(fp)
            if seen is Status.FAIL:
                since = started
            elif seen is Status.ERROR:
                continue
            else:
                break
        if oldest is None or since < oldest.since:
            start, end = _parse(since), _parse(latest_started)
            age = (end - start).total_seconds() / 86400 if start and end else 0.0
            oldest = OpenFailure(info[fp].control_id, info[fp].resource_uri, since, round(age, 1))
    open_failures = sum(1 for status in latest.values() if status is Status.FAIL)
    return Series(environment, target, baseline, tuple(points), open_failures, oldest)


def to_json(series: Sequence[Series], last: int) -> list[dict[str, Any]]:
    """The series as JSON-ready dicts (the last `last` scans of each)."""
    return [
        {
            "environment": s.environment,
            "target": s.target,
            "baseline": s.baseline,
            "open_failures": s.open_failures,
            "oldest_open_failure": None
            if s.oldest_open is None
            else {
                "control_id": s.oldest_open.control_id,
                "resource_uri": s.oldest_open.resource_uri,
                "since": s.oldest_open.since,
                "age_days": s.oldest_open.age_days,
            },
            "scans": [
                {
                    "run_id": p.run_id,
                    "started_at": p.started_at,
                    "baseline_version": p.baseline_version,
                    "pass_rate": None if p.pass_rate is None else round(p.pass_rate, 1),
                    "counts": dict(p.counts),
                    "new": p.new,
                    "resolved": p.resolved,
                    "still_open": p.still_open,
                }
                for p in s.points[-last:]
            ],
        }
        for s in series
    ]


def render_history(series: Sequence[Series], *, last: int, fmt: str, where: str) -> str:
    """Render the trend as a text table per series, or as JSON (`fmt` = text | json)."""
    if fmt == "json":
        return json.dumps({"store": where, "series": to_json(series, last)}, indent=2) + "\n"
    if not series:
        return f"no scans recorded in {where}\n"
    lines: list[str] = [f"history from {where}"]
    for s in series:
        lines.append("")
        lines.append(visible(f"{s.environment} / {s.target} / baseline {s.baseline or '(unnamed)'}"))
        lines.append(
            f"  {'started':<22}{'version':<10}{'pass rate':>9}{'PASS':>6}{'FAIL':>6}{'ERROR':>6}{'WAIVED':>7}"
            f"{'new':>6}{'resolved':>9}{'open':>6}"
        )
        shown = s.points[-last:]
        if len(s.points) > len(shown):
            lines.append(f"  ... {len(s.points) - len(shown)} earlier scan(s)")
        for p in shown:
            rate = "-" if p.pass_rate is None else f"{p.pass_rate:.1f}%"
            c = p.counts
            lines.append(
                f"  {p.started_at:<22}{(p.baseline_version or '-'):<10}{rate:>9}{c['PASS']:>6}{c['FAIL']:>6}"
                f"{c['ERROR']:>6}{c['WAIVED']:>7}{p.new:>6}{p.resolved:>9}{p.still_open + p.new:>6}"
            )
        if s.oldest_open is not None:
            o = s.oldest_open
            lines.append(
                visible(f"  {s.open_failures} open failure(s); oldest: {o.control_id} on {o.resource_uri}, ")
                + f"failing since {visible(str(o.since))} ({o.age_days:g} day(s))"
            )
        else:
            lines.append("  no open failures")
    return "\n".join(lines) + "\n"
