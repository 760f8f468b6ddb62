"""`sovscan doctor`: a permission preflight that prints the least-privilege grants sovscan needs.

For each target it collects once with the configured credentials (read-only, exactly as a scan
would), then reports which evidence sections could be read and which could not (and why), which
controls would be ERROR with today's credentials, and — from the target plugin's
`least_privilege(target, sections)` (HELPERS interface 4) — the grants, in the target system's
own language, that let sovscan read exactly the sections its enabled controls need.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.interface import Target
from scanner.model import Status
from scanner.plugins import Registry


@dataclass(frozen=True)
class Diagnosis:
    """What doctor found out about one target."""

    target: str
    """Target id."""
    kind: str
    """Target kind."""
    uri: str
    """Base URI (no credentials)."""
    needed: tuple[str, ...]
    """Evidence sections the target's enabled controls need."""
    read: tuple[str, ...]
    """Sections that were read."""
    unreadable: Mapping[str, str] = field(default_factory=dict)
    """Section -> why it could not be read."""
    target_error: str | None = None
    """Why the target could not be read at all."""
    error_controls: Mapping[str, str] = field(default_factory=dict)
    """Control id -> the first ERROR message it would report with these credentials."""
    grants: str | None = None
    """The least-privilege grants for `needed`, or None when the plugin cannot say."""
    enabled_controls: int = 0
    """Number of enabled controls for the target."""

    @property
    def complete(self) -> bool:
        """True when every needed section was read and no control would be ERROR."""
        return self.target_error is None and not self.error_controls and not (set(self.needed) & set(self.unreadable))


def diagnose(
    targets: Sequence[Target],
    registry: Registry,
    library: BaselineLibrary,
    *,
    baseline_refs: Sequence[str] = (),
    timeout: float = engine.DEFAULT_TIMEOUT,
    concurrency: int = 8,
    credential_settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Diagnosis]:
    """Collect each target once and diagnose it (read-only: the collectors are the scan's own)."""
    plan = engine.make_plan(targets, library, baseline_refs)
    collected = engine.collect(
        targets, registry, timeout=timeout, concurrency=concurrency, credential_settings=credential_settings
    )
    result = engine.build_result(plan, collected, registry, started=engine.now_iso(), environment="doctor")
    out: list[Diagnosis] = []
    for target in targets:
        evidence = collected[target.id]
        enabled = [c for c in plan.controls[target.id] if not c.disabled]
        needed: dict[str, None] = {}
        for control in enabled:
            spec = registry.checks.get(control.check)
            if spec is not None:  # generic checks name their section in params: ask the spec
                needed.update(dict.fromkeys(spec.sections_needed(control.params)))
                needed.update(dict.fromkeys(spec.sections_visible(control.params)))
        errors: dict[str, str] = {}
        for finding in result.findings:
            if finding.resource.target == target.id and finding.status is Status.ERROR:
                errors.setdefault(finding.control_id, finding.message)
        plugin = registry.plugins.get(target.kind)
        method = getattr(plugin, "least_privilege", None)
        grants = method(target, tuple(needed)) if callable(method) else None
        out.append(
            Diagnosis(
                target=target.id,
                kind=target.kind,
                uri=evidence.uri,
                needed=tuple(needed),
                read=tuple(sorted(evidence.sections)),
                unreadable=dict(sorted(evidence.errors.items())),
                target_error=evidence.target_error,
                error_controls=dict(sorted(errors.items())),
                grants=grants if isinstance(grants, str) else None,
                enabled_controls=len(enabled),
            )
        )
    return out


def render_text(diagnoses: Sequence[Diagnosis]) -> str:
    """The human report of `sovscan doctor`."""
    lines: list[str] = []
    for d in diagnoses:
        lines.append(f"target {d.target} ({d.kind}) {d.uri}")
        if d.target_error:
            lines.append(f"  could not be read at all: {d.target_error}")
        else:
            lines.append(f"  read {len(d.read)} evidence section(s): {', '.join(d.read) or 'none'}")
            for section, reason in d.unreadable.items():
                unneeded = "" if section in d.needed else " (no enabled control needs it)"
                lines.append(f"  could not read {section}{unneeded}: {reason}")
        if d.target_error:
            lines.append(f"  all {d.enabled_controls} enabled control(s) would be ERROR: the target was not read")
        elif d.error_controls:
            lines.append(
                f"  {len(d.error_controls)} of {d.enabled_controls} control(s) would be ERROR with these credentials:"
            )
            lines.extend(f"    {cid}: {message}" for cid, message in d.error_controls.items())
        else:
            lines.append(f"  all {d.enabled_controls} enabled control(s) can be evaluated with these credentials")
        lines.append(f"  least-privilege grants for the {len(d.needed)} section(s) the enabled controls need:")
        if d.grants is None:
            lines.append(f"    (the {d.kind} plugin does not provide least_privilege(); see its documentation)")
        else:
            lines.extend(f"    {line}" if line else "" for line in d.grants.rstrip("\n").splitlines())
        lines.append("")
    return "\n".join(lines)


def render_json(diagnoses: Sequence[Diagnosis]) -> str:
    """The machine-readable report of `sovscan doctor --format json`."""
    return (
        json.dumps(
            [
                {
                    "target": d.target,
                    "kind": d.kind,
                    "uri": d.uri,
                    "complete": d.complete,
                    "target_error": d.target_error,
                    "needed_sections": list(d.needed),
                    "read_sections": list(d.read),
                    "unreadable_sections": dict(d.unreadable),
                    "error_controls": dict(d.error_controls),
                    "least_privilege": d.grants,
                }
                for d in diagnoses
            ],
            indent=2,
        )
        + "\n"
    )
