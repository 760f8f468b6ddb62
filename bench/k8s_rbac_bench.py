"""Time the RBAC controls (K8S-07..10, K8S-45..48) on a generated dump: `python bench/k8s_rbac_bench.py DUMP`.

Collects the dump once through the real plugin, then evaluates each RBAC control through the
real engine and prints seconds per control and the number of findings. Nothing asserts a time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from checks.kubernetes.plugin import PLUGIN
from scanner.baseline import BaselineLibrary
from scanner.engine import evaluate_control
from scanner.interface import Target
from scanner.plugins import discover

CONTROLS = ("K8S-07", "K8S-08", "K8S-09", "K8S-10", "K8S-45", "K8S-46", "K8S-47", "K8S-48")


def main(dump: Path) -> None:
    """Collect, then time each RBAC control."""
    registry = discover()
    controls = {c.id: c for c in BaselineLibrary(registry).load("kubernetes").controls}
    started = time.perf_counter()
    evidence = PLUGIN.collect(Target(id="bench", kind="kubernetes", url=f"dump:{dump}"), {}, 600.0)
    counts = evidence.metadata["objects"]
    rbac = {k: counts[k] for k in ("clusterroles", "roles", "clusterrolebindings", "rolebindings")}
    print(f"collected {sum(counts.values())} objects in {time.perf_counter() - started:.2f} s; RBAC {rbac}")
    for control_id in CONTROLS:
        started = time.perf_counter()
        found = evaluate_control(controls[control_id], evidence, registry)
        print(f"{control_id}: {time.perf_counter() - started:.3f} s, {len(found)} findings")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
