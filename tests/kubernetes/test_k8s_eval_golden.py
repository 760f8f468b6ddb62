"""The findings of a generated dump, byte for byte, and the same whatever the controls share.

Evaluation keeps what every control would recompute (the workload index, the Authorizer, each
identity's grants and their dangers) in the evidence's memo. None of it may change a finding or
its order: the digest below was recorded before any of these caches existed, over every field a
report writes (control, resource, status, message, observed, expected, fingerprint), and each
control evaluated alone on a fresh evidence must give what it gives after the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from checks.kubernetes.plugin import PLUGIN
from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.interface import Target
from scanner.model import Evidence, Finding
from tests.kubernetes.k8s_objects import registry

ROOT = Path(__file__).resolve().parents[2]

GOLDEN = {
    (1_500, 7): "e2f4c82a8f353564b7c25ee4dda23452f2fd619e6458d3e6c40bdb308e8022f8",
    (600, 42): "263669e761cf2d0e2422a19487e2a330bb47ccfb7099a04774ce05fc2648738a",
}
"""(objects, seed) of `bench/k8s_generate.py` -> SHA-256 of the findings (see `_digest`)."""


def _dump(tmp_path: Path, objects: int, seed: int) -> Path:
    spec = importlib.util.spec_from_file_location("k8s_generate", ROOT / "bench" / "k8s_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_json(objects, tmp_path / "dump.json", seed)
    return Path("dump.json")  # relative (the test runs in tmp_path): the path is part of every URI


def _line(f: Finding) -> str:
    r = f.resource
    fields = [f.control_id, r.target, r.kind, r.name, r.uri, repr(r.location), f.status.value, f.message]
    return json.dumps([*fields, f.observed, f.expected, f.fingerprint], sort_keys=True, default=repr)


def _digest(findings: list[Finding]) -> str:
    return hashlib.sha256("\n".join(_line(f) for f in findings).encode()).hexdigest()


def _evidence(path: Path) -> tuple[Evidence, engine.Plan]:
    reg = registry()
    target = PLUGIN.parse_target(f"dump:{path}")
    target = Target(id="golden", kind=target.kind, url=target.url)
    plan = engine.make_plan([target], BaselineLibrary(reg), ())
    collected = engine.collect([target], reg, timeout=600, workers=1)
    return collected["golden"], plan


@pytest.mark.parametrize(("objects", "seed"), sorted(GOLDEN))
def test_generated_dump_findings_are_the_recorded_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, objects: int, seed: int
) -> None:
    monkeypatch.chdir(tmp_path)
    evidence, plan = _evidence(_dump(tmp_path, objects, seed))
    controls = plan.controls["golden"]
    shared = [engine.evaluate_control(c, evidence, registry()) for c in controls]
    alone = [engine.evaluate_control(c, dataclasses.replace(evidence, memo={}), registry()) for c in controls]
    assert [[_line(f) for f in found] for found in alone] == [[_line(f) for f in found] for found in shared]
    everything = [f for found in shared for f in found]
    assert len(everything) > objects
    assert _digest(everything) == GOLDEN[objects, seed]
