"""Manifest parsing against PyYAML's C loader (issue 15 item 2): the fast path, the PyYAML path, the floor.

    python bench/k8s_generate.py --objects 100000 --format yaml --out /tmp/yaml/man-100k
    python bench/yaml_bench.py /tmp/yaml/man-10k /tmp/yaml/man-20k /tmp/yaml/man-100k [--repeat 3] [--out F.json]

For every manifest directory, three cases run in fresh child processes, interleaved (floor,
PyYAML path, fast path, floor, ...) `--repeat` times, and each figure is the median:

- `floor`: `yaml.load_all(Loader=yaml.CSafeLoader)` over every `.yaml` file, parse only;
- `pyyaml`: the Kubernetes plugin's collection (`PLUGIN.collect` of `manifests:DIR`, what a
  scan does before it evaluates, with the garbage collector paused as the engine pauses it) with
  the reader forced onto the PyYAML path
  (`offline.read_yaml_pyyaml`, the reader before the fast path);
- `fast`: the same collection as it ships (yaml-rs for plain documents, PyYAML for the rest).

Each child reports its CPU time (user + system, `resource.getrusage`), wall time and peak RSS;
the ratios are CPU time against the floor's of the same run. The script also counts how many
documents took the PyYAML path (`fastyaml.Tally`) in each directory and in the repository's own
corpus (`tests/data/k8s-corpus`, `examples/kubernetes`). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = ("floor", "pyyaml", "fast")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(case: str, path: str) -> dict[str, Any]:
    """One measurement in this (fresh) process."""
    sys.path.insert(0, str(ROOT))
    if case == "floor":
        import yaml

        cpu, wall = _cpu(), time.perf_counter()
        for root, _, files in sorted(os.walk(path)):
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")):
                    with open(os.path.join(root, name), encoding="utf-8") as fh:
                        for _ in yaml.load_all(fh, Loader=yaml.CSafeLoader):
                            pass
        objects = 0
    else:
        from checks.kubernetes import offline
        from checks.kubernetes.plugin import PLUGIN
        from scanner.engine import paused_gc
        from scanner.interface import Target

        if case == "pyyaml":
            offline.read_yaml_stream = offline.read_yaml_pyyaml  # the reader as it was before the fast path
        target = Target(id="bench", kind="kubernetes", url=f"manifests:{path}")
        cpu, wall = _cpu(), time.perf_counter()
        with paused_gc():  # as the engine collects
            evidence = PLUGIN.collect(target, {}, 3600.0)
        objects = sum(evidence.metadata["objects"].values())
    return {
        "cpu": _cpu() - cpu,
        "wall": time.perf_counter() - wall,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "objects": objects,
    }


def tally(paths: list[str]) -> dict[str, Any]:
    """Documents read by yaml-rs and by PyYAML in each path (files read as `read_offline` reads them)."""
    sys.path.insert(0, str(ROOT))
    from checks.kubernetes import fastyaml, offline
    from checks.kubernetes.slim import EvidenceBuilder

    out: dict[str, Any] = {}
    for path in paths:
        counts = fastyaml.Tally()
        for file in offline.manifest_files(Path(path)):
            if file.suffix != ".json":
                text = file.read_text(encoding="utf-8")
                fastyaml.read_text(EvidenceBuilder(), text, file.as_posix(), offline.read_yaml_pyyaml, counts)
        total = counts.fast + counts.slow
        out[path] = {"fast": counts.fast, "pyyaml": counts.slow, "pyyaml_share": counts.slow / total if total else 0}
    return out


def run_child(*args: str) -> dict[str, Any]:
    """This script's child mode in a fresh interpreter; its JSON answer."""
    done = subprocess.run(
        [sys.executable, __file__, "child", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"child {args} failed: {done.stderr[-2000:]}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def main() -> None:
    """Measure every directory, print one JSON line per run and the summary."""
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "tally":
        print(json.dumps(tally(sys.argv[2:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {"load_before": os.getloadavg()}
    for path in args.dirs:
        runs: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
        for _ in range(args.repeat):
            for case in CASES:
                runs[case].append(run_child(case, path))
                print(json.dumps({"dir": path, "case": case, **runs[case][-1], "load": os.getloadavg()[0]}), flush=True)
        summary = {
            case: {key: statistics.median(r[key] for r in runs[case]) for key in ("cpu", "wall", "peak_mb", "objects")}
            | {"cpu_runs": [round(r["cpu"], 2) for r in runs[case]]}
            for case in CASES
        }
        floor = summary["floor"]["cpu"]
        summary["ratio_pyyaml"] = summary["pyyaml"]["cpu"] / floor
        summary["ratio_fast"] = summary["fast"]["cpu"] / floor
        summary["wall_ratio_fast"] = summary["fast"]["wall"] / summary["floor"]["wall"]
        results[path] = summary
        print(json.dumps({path: summary}), flush=True)
    corpus = [str(ROOT / "tests" / "data" / "k8s-corpus"), str(ROOT / "examples" / "kubernetes")]
    done = subprocess.run(
        [sys.executable, __file__, "tally", *args.dirs, *corpus], cwd=ROOT, capture_output=True, text=True, check=True
    )
    results["tally"] = json.loads(done.stdout.splitlines()[-1])
    results["load_after"] = os.getloadavg()
    print(json.dumps({"tally": results["tally"], "load_after": results["load_after"]}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
