"""Builders for the lifecycle tests: real model objects and native JSON files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from scanner import resultio
from scanner.model import Control, Finding, Resource, ScanResult, Severity, Status, TargetSummary

CONTROLS = {
    cid: Control(
        id=cid,
        title=f"control {cid}",
        severity=severity,
        target="demo",
        check="demo.check",
        baseline="demo",
        description=f"{cid} description",
    )
    for cid, severity in (
        ("C-CRIT", Severity.CRITICAL),
        ("C-HIGH", Severity.HIGH),
        ("C-MED", Severity.MEDIUM),
        ("C-LOW", Severity.LOW),
    )
}


def uri(target: str, name: str) -> str:
    """The resource URI the builders use."""
    return f"demo://{target}.example/items/{name}"


def finding(
    control: str, name: str, status: Status, *, target: str = "t1", observed: Any = None, message: str | None = None
) -> Finding:
    """A finding of `control` on resource `name` of `target`."""
    resource = Resource(target=target, kind="item", name=name, uri=uri(target, name))
    return Finding(control, resource, status, message or f"{control} {status.value} on {name}", observed, None)


def result(
    *findings: Finding,
    targets: Iterable[str] = ("t1",),
    run_id: str = "run-current",
    started: str = "2025-03-02T02:00:00Z",
    environment: str = "test",
    baseline_version: str = "1.0",
) -> ScanResult:
    """A ScanResult holding `findings` for the demo controls."""
    return ScanResult(
        tool_version="0.1.0",
        started_at=started,
        finished_at=started,
        controls=dict(CONTROLS),
        findings=tuple(findings),
        targets=tuple(
            TargetSummary(t, "demo", f"demo://{t}.example", collected_at=started, duration=1.5) for t in targets
        ),
        baselines={"demo": baseline_version},
        environment=environment,
        run_id=run_id,
    )


def save(scan: ScanResult, path: Path) -> Path:
    """Write the native JSON result and return its path."""
    path.write_text(resultio.dumps(scan), encoding="utf-8")
    return path


def previous(*findings: Finding, **kwargs: Any) -> ScanResult:
    """A result for the previous run (another run id, a day earlier)."""
    kwargs.setdefault("run_id", "run-previous")
    kwargs.setdefault("started", "2025-03-01T02:00:00Z")
    return result(*findings, **kwargs)


def with_status(f: Finding, status: Status, **changes: Any) -> Finding:
    """The same finding (same fingerprint) with another status."""
    return replace(f, status=status, **changes)
