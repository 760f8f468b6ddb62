"""The scan: plan which controls apply to which target, collect concurrently, evaluate.

Collection is the only phase that touches the network. Each target is collected in its own
thread under its own deadline; one target that hangs or fails never stops the others. A
target or evidence section that could not be read turns the controls that need it into
ERROR findings with the reason, never PASS.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner import evidence as evidence_io
from scanner.baseline import Baseline, BaselineLibrary
from scanner.credentials import resolve_target_credentials
from scanner.errors import CollectionError, ConfigError, EvidenceUnavailable
from scanner.interface import Target
from scanner.model import CheckResult, Control, Evidence, Finding, Resource, ScanResult, Status, TargetSummary
from scanner.plugins import Registry

ProgressCallback = Callable[[str, str, str], None]
"""Called as `progress(target_id, state, detail)`; state is `start`, `done` or `error`."""

DEFAULT_TIMEOUT = 60.0
_STATUS_WEIGHT = {Status.FAIL: 4, Status.ERROR: 3, Status.WAIVED: 2, Status.PASS: 1, Status.NOT_APPLICABLE: 0}


def _grace(budget: float) -> float:
    """Extra time a collector gets past its own timeout before it is abandoned."""
    return min(5.0, max(0.5, budget * 0.1))


def now_iso() -> str:
    """Current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Plan:
    """Which controls apply to which target."""

    targets: tuple[Target, ...]
    """Targets in scan order."""
    controls: Mapping[str, tuple[Control, ...]]
    """Target id -> controls to evaluate on it."""
    baselines: Mapping[str, str] = field(default_factory=dict)
    """Baseline name -> version of every baseline used."""


def make_plan(targets: Sequence[Target], library: BaselineLibrary, baseline_refs: Sequence[str]) -> Plan:
    """Bind controls to targets: `--baseline` refs, else the target's own list, else its kind's default."""
    cache: dict[str, Baseline] = {}

    def load(ref: str) -> Baseline:
        if ref not in cache:
            cache[ref] = library.load(ref)
        return cache[ref]

    versions: dict[str, str] = {}
    controls: dict[str, tuple[Control, ...]] = {}
    for target in targets:
        refs = list(baseline_refs) or list(target.baselines) or library.default_for(target.kind)
        if not refs:
            raise ConfigError(f"target '{target.id}': no baseline for kind '{target.kind}'; pass --baseline")
        chosen: dict[str, Control] = {}
        for ref in refs:
            baseline = load(ref)
            versions.update(baseline.versions)
            for control in baseline.controls:
                if control.target == target.kind:
                    chosen.setdefault(control.id, control)
        if not chosen:
            raise ConfigError(
                f"target '{target.id}' (kind {target.kind}): the selected baseline(s) {', '.join(refs)} "
                f"have no control for this kind"
            )
        controls[target.id] = tuple(chosen.values())
    return Plan(targets=tuple(targets), controls=controls, baselines=versions)


def _safe_target_uri(registry: Registry, target: Target) -> str:
    try:
        return registry.plugin(target.kind).target_uri(target)
    except Exception:  # a plugin bug here must not hide the timeout itself
        return target.url


def _collect_one(
    target: Target,
    registry: Registry,
    timeout: float,
    credential_settings: Mapping[str, Mapping[str, Any]],
    secrets_seen: list[str],
) -> Evidence:
    started = now_iso()
    clock = time.monotonic()
    uri = target.url
    try:
        plugin = registry.plugin(target.kind)
        uri = plugin.target_uri(target)
        secrets = resolve_target_credentials(target, registry.resolvers, credential_settings)
        secrets_seen.extend(s.reveal() for s in secrets.values())
        evidence = plugin.collect(target, secrets, timeout)
        if evidence.target != target.id:
            evidence = replace(evidence, target=target.id)
    except CollectionError as exc:
        evidence = Evidence(target=target.id, kind=target.kind, uri=uri, sections={}, target_error=str(exc))
    except ConfigError as exc:
        evidence = Evidence(
            target=target.id, kind=target.kind, uri=uri, sections={}, target_error=f"invalid target: {exc}"
        )
    except Exception as exc:  # a collector bug must become ERROR for that target, not a crash of the scan
        evidence = Evidence(
            target=target.id,
            kind=target.kind,
            uri=uri,
            sections={},
            target_error=f"collector failed: {type(exc).__name__}: {exc}",
        )
    return replace(evidence, collected_at=started, duration=time.monotonic() - clock, tool_version=__version__)


def collect(
    targets: Sequence[Target],
    registry: Registry,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = 8,
    credential_settings: Mapping[str, Mapping[str, Any]] | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Evidence]:
    """Collect every target concurrently, each under its own deadline; secrets are redacted."""
    settings = credential_settings or {}
    results: dict[str, Evidence] = {}
    secrets_seen: dict[str, list[str]] = {t.id: [] for t in targets}
    lock = threading.Lock()
    slots = threading.Semaphore(max(1, concurrency))
    threads: dict[str, tuple[threading.Thread, float]] = {}

    def work(target: Target, budget: float) -> None:
        found = _collect_one(target, registry, budget, settings, secrets_seen[target.id])
        with lock:
            results.setdefault(target.id, found)

    pending = list(targets)
    while pending or threads:
        while pending and slots.acquire(blocking=False):
            target = pending.pop(0)
            budget = target.timeout or timeout
            if progress:
                progress(target.id, "start", target.url)
            thread = threading.Thread(target=work, args=(target, budget), name=f"collect-{target.id}", daemon=True)
            threads[target.id] = (thread, time.monotonic() + budget + _grace(budget))
            thread.start()
        for target_id, (thread, deadline) in list(threads.items()):
            thread.join(timeout=0.05)
            late = not thread.is_alive() or time.monotonic() > deadline
            if not late:
                continue
            del threads[target_id]
            slots.release()  # a late thread runs on as a daemon but no longer holds a slot
            with lock:
                if target_id not in results:
                    target = next(t for t in targets if t.id == target_id)
                    budget = target.timeout or timeout
                    results[target_id] = Evidence(
                        target=target.id,
                        kind=target.kind,
                        uri=_safe_target_uri(registry, target),
                        sections={},
                        target_error=f"{CollectionError.TIMEOUT}: collection did not finish within {budget:g}s",
                        duration=budget,
                        tool_version=__version__,
                        collected_at=now_iso(),
                    )
                done = results[target_id]
            if progress:
                progress(target_id, "error" if done.target_error else "done", done.target_error or "")
    redacted = {}
    secrets = [value for values in secrets_seen.values() for value in values]
    for target in targets:
        ev = results[target.id]
        redacted[target.id] = Evidence(
            target=ev.target,
            kind=ev.kind,
            uri=ev.uri,
            sections=evidence_io.redact(dict(ev.sections), secrets),
            errors=evidence_io.redact(dict(ev.errors), secrets),
            target_error=evidence_io.redact(ev.target_error, secrets),
            collected_at=ev.collected_at,
            duration=ev.duration,
            tool_version=ev.tool_version,
            metadata=evidence_io.redact(dict(ev.metadata), secrets),
        )
    return redacted


def _target_resource(evidence: Evidence) -> Resource:
    return evidence.resource("target", evidence.target)


def evaluate_control(control: Control, evidence: Evidence, registry: Registry) -> list[Finding]:
    """Evaluate one control on one target's evidence. Never raises; failures become ERROR."""
    if control.disabled:
        return [Finding(control.id, _target_resource(evidence), Status.NOT_APPLICABLE, f"disabled: {control.disabled}")]
    if evidence.target_error:
        return [
            Finding(control.id, _target_resource(evidence), Status.ERROR, f"target not read: {evidence.target_error}")
        ]
    spec = registry.checks.get(control.check)
    if spec is None:
        return [
            Finding(control.id, _target_resource(evidence), Status.ERROR, f"check '{control.check}' is not installed")
        ]
    missing = [s for s in spec.needs if s not in evidence.sections]
    if missing:
        reasons = "; ".join(evidence.errors.get(s, f"evidence section '{s}' was not collected") for s in missing)
        return [Finding(control.id, _target_resource(evidence), Status.ERROR, f"evidence unavailable: {reasons}")]
    try:
        results: list[CheckResult] = list(spec.function(evidence, control.params))
    except EvidenceUnavailable as exc:
        return [Finding(control.id, _target_resource(evidence), Status.ERROR, f"evidence unavailable: {exc.reason}")]
    except Exception as exc:  # a check bug must not read as PASS, nor stop the scan
        return [
            Finding(
                control.id,
                _target_resource(evidence),
                Status.ERROR,
                f"check '{control.check}' failed: {type(exc).__name__}: {exc}",
            )
        ]
    if not results:
        return [
            Finding(control.id, _target_resource(evidence), Status.NOT_APPLICABLE, "nothing in scope for this control")
        ]
    merged: dict[str, Finding] = {}
    for result in results:
        status = result.status
        message = result.message
        if status is Status.WAIVED:  # only waivers may waive
            status, message = Status.ERROR, f"check returned WAIVED, which only a waiver may set: {message}"
        finding = Finding(control.id, result.resource, status, message, result.observed, result.expected)
        previous = merged.get(result.resource.uri)
        if previous is None or _STATUS_WEIGHT[status] > _STATUS_WEIGHT[previous.status]:
            merged[result.resource.uri] = finding
    return list(merged.values())


def evaluate(plan: Plan, evidence: Mapping[str, Evidence], registry: Registry) -> list[Finding]:
    """Evaluate every planned control on its target's evidence (pure: no I/O)."""
    findings: list[Finding] = []
    for target in plan.targets:
        ev = evidence[target.id]
        for control in plan.controls[target.id]:
            findings.extend(evaluate_control(control, ev, registry))
    return findings


def summarise(target: Target, evidence: Evidence) -> TargetSummary:
    """The per-target summary of a scan."""
    return TargetSummary(
        id=target.id,
        kind=target.kind,
        uri=evidence.uri,
        error=evidence.target_error,
        section_errors=dict(evidence.errors),
        collected_at=evidence.collected_at,
        duration=evidence.duration,
        labels=dict(target.labels),
    )


def run_scan(
    targets: Sequence[Target],
    registry: Registry,
    library: BaselineLibrary,
    *,
    baseline_refs: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = 8,
    credential_settings: Mapping[str, Mapping[str, Any]] | None = None,
    save_evidence: Path | None = None,
    environment: str = "default",
    progress: ProgressCallback | None = None,
) -> ScanResult:
    """Plan, collect (live), optionally save evidence, evaluate; return the ScanResult."""
    if not targets:
        raise ConfigError("no targets: give --target KIND=VALUE, --inventory FILE or --evidence DIR")
    ids = [t.id for t in targets]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"duplicate target id(s): {', '.join(duplicates)}")
    plan = make_plan(targets, library, baseline_refs)
    started = now_iso()
    collected = collect(
        targets,
        registry,
        timeout=timeout,
        concurrency=concurrency,
        credential_settings=credential_settings,
        progress=progress,
    )
    if save_evidence is not None:
        for target in targets:
            evidence_io.save(save_evidence, collected[target.id], dict(target.labels))
    return build_result(plan, collected, registry, started=started, environment=environment)


def run_offline(
    evidence_dir: Path,
    registry: Registry,
    library: BaselineLibrary,
    *,
    baseline_refs: Sequence[str] = (),
    environment: str = "default",
) -> ScanResult:
    """Evaluate saved evidence with no network access."""
    loaded = evidence_io.load_directory(evidence_dir)
    targets = [Target(id=ev.target, kind=ev.kind, url=ev.uri, labels=labels) for ev, labels in loaded]
    plan = make_plan(targets, library, baseline_refs)
    started = now_iso()
    return build_result(plan, {ev.target: ev for ev, _ in loaded}, registry, started=started, environment=environment)


def build_result(
    plan: Plan, evidence: Mapping[str, Evidence], registry: Registry, *, started: str, environment: str
) -> ScanResult:
    """Evaluate and assemble the ScanResult."""
    findings = evaluate(plan, evidence, registry)
    controls: dict[str, Control] = {}
    for target in plan.targets:
        for control in plan.controls[target.id]:
            controls.setdefault(control.id, control)
    return ScanResult(
        tool_version=__version__,
        started_at=started,
        finished_at=now_iso(),
        controls=controls,
        findings=tuple(findings),
        targets=tuple(summarise(t, evidence[t.id]) for t in plan.targets),
        baselines=dict(plan.baselines),
        environment=environment,
        run_id=str(uuid.uuid4()),
    )
