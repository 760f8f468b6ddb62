"""What writing the reports costs: each report on its own, and whole scans with and without them.

How to run (from the repository root, with the test venv):

    .venv/bin/python bench/report_bench.py --dump /tmp/bb/dump-20k.json --dump /tmp/bb/dump-100k.json \\
        [--before DIR] [--after DIR] [--repeat 3] [--out bench/report-results.json]

`--before DIR` names a source tree of another sovscan (for example the commit before the streaming
reporters: `git archive <commit> | tar -x -C DIR`); every measurement is then made for both, runs
interleaved (before, after, before, after ...) so both see the same machine load. `--after DIR`
measures another tree instead of this checkout (a snapshot, so editing the checkout meanwhile does
not change what is measured). Every figure is
the median of `--repeat` runs, each in a fresh process.

What it measures, for each dump (a `kubectl get -o json` dump, e.g. from `bench/k8s_generate.py`):

1. Per report, in process: the dump is scanned once (`sovscan scan -f json`) and the native result
   saved; then a fresh child process per measurement loads that result and writes one report
   (`json`, `sarif`, `junit`, `wazuh` through `Reporter.chunks` and the atomic writer, `console`
   rendered), or runs the passes every scan runs after evaluation (`gate`: the gate with its
   coverage, `frameworks`: the per-requirement views of bsi-grundschutz and nis2). It reports the
   CPU seconds (user + system) of that step and the peak RSS increment it causes (the peak RSS
   reset after loading, through `/proc/self/clear_refs`, then VmHWM after the step minus VmRSS
   before it).
2. Whole scans, `sovscan scan --target kubernetes=dump:FILE` without reports and with
   `-f json -f sarif -f junit -f wazuh`, in fresh processes: wall seconds, CPU seconds and peak RSS
   of the child (`os.wait4`), and the ratio `(with - without) / without` of CPU seconds.

The load average before and after is recorded with the results; the machine is shared, so compare
figures of one run with each other, never with another run's. Nothing in the test suite asserts a
time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("json", "sarif", "junit", "wazuh", "console", "gate", "frameworks")
REPORTS = ("json", "sarif", "junit", "wazuh")


def _status(field: str) -> int:
    """A `/proc/self/status` memory field in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child_step(result_path: str, step: str, out_dir: str) -> dict[str, Any]:
    """In this (fresh) process: load a saved result, then time one report or pass and its memory."""
    from scanner import frameworks, resultio
    from scanner.fileio import read_json, write_output
    from scanner.gate import evaluate_gate
    from scanner.interface import ReportOptions
    from scanner.model import Severity
    from scanner.plugins import discover

    registry = discover()
    result = resultio.from_dict(read_json(result_path, "result"))  # not validated: that is not what is measured
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    rss_before = _status("VmRSS")
    cpu = time.process_time()
    wall = time.perf_counter()
    if step in REPORTS:
        write_output(Path(out_dir) / f"report.{step}", registry.reporter(step).chunks(result, ReportOptions()))
    elif step == "console":
        registry.reporter("console").render(result, ReportOptions())
    elif step == "gate":
        evaluate_gate(result, Severity.HIGH)
    elif step == "frameworks":
        frameworks.evaluate_all(["bsi-grundschutz", "nis2"], result)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    size = (Path(out_dir) / f"report.{step}").stat().st_size if step in REPORTS else 0
    increment = (_status("VmHWM") - rss_before) / 1024
    source = str(Path(resultio.__file__).parent)
    return {"cpu": cpu, "wall": wall, "rss_increment_mb": increment, "bytes": size, "source": source}


def _env(source: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def _run(argv: list[str], source: Path | None) -> dict[str, Any]:
    """Run a child process; its wall and CPU seconds and peak RSS (MB); its JSON answer if it printed one."""
    start = time.perf_counter()
    # `python -c` puts the working directory first on sys.path: run in the tree being measured
    cwd = source or ROOT
    process = subprocess.Popen(argv, cwd=cwd, env=_env(source), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 3):
        raise SystemExit(f"{argv} exited with {code}")
    answer: dict[str, Any] = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }
    if out.strip().startswith(b"{"):
        answer["step"] = json.loads(out.strip().splitlines()[-1])
        if answer["step"]["source"] != str(cwd / "scanner"):
            raise SystemExit(f"measured {answer['step']['source']}, not {cwd}")
    return answer


def _scan_argv(dump: str, reports_dir: Path | None) -> list[str]:
    argv = [sys.executable, "-c", "from scanner.cli import main; main()", "scan", "--no-progress"]
    argv += ["--timeout", "3600", "--target", f"kubernetes=dump:{dump}"]  # a loaded machine must not time it out
    if reports_dir is not None:
        argv += [f"-f{name}={reports_dir / ('r.' + name)}" for name in REPORTS]
    return argv


def _median(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = runs[0].keys()
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in keys if isinstance(runs[0][k], int | float)}


def main() -> None:
    """Run the measurements and print (and optionally save) the medians."""
    if len(sys.argv) > 1 and sys.argv[1] == "child-step":
        print(json.dumps(child_step(*sys.argv[2:5])))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dump", action="append", required=True)
    parser.add_argument("--before", type=Path, help="source tree of the implementation to compare with")
    parser.add_argument("--after", type=Path, help="source tree measured as 'after' (default: this checkout)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--no-scans", action="store_true", help="only the per-report measurements")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    after = args.after.resolve() if args.after is not None else None
    versions: dict[str, Path | None] = {"after": after}
    if args.before is not None:
        versions = {"before": args.before.resolve(), "after": after}
    work = Path(tempfile.mkdtemp(prefix="sovscan-report-bench-"))
    results: dict[str, Any] = {"load_before": os.getloadavg(), "dumps": {}}
    for dump in args.dump:
        saved = work / (Path(dump).stem + ".result.json")
        subprocess.run([*_scan_argv(dump, None), f"-fjson={saved}"], cwd=ROOT, check=False, capture_output=True)
        per: dict[str, Any] = {"findings": len(json.loads(saved.read_bytes())["findings"]), "steps": {}, "scans": {}}
        for step in args.steps.split(","):
            runs: dict[str, list[dict[str, Any]]] = {v: [] for v in versions}
            for _ in range(args.repeat):
                for version, source in versions.items():
                    argv = [sys.executable, str(Path(__file__).resolve()), "child-step", str(saved), step, str(work)]
                    runs[version].append(_run(argv, source)["step"])
            per["steps"][step] = {v: _median(r) for v, r in runs.items()}
            print(json.dumps({Path(dump).name: {step: per["steps"][step]}}), flush=True)
        if not args.no_scans:
            scans: dict[str, list[dict[str, Any]]] = {}
            for _ in range(args.repeat):
                for version, source in versions.items():
                    for case, reports in (("scan", None), ("scan_4_reports", work)):
                        scans.setdefault(f"{version}/{case}", []).append(_run(_scan_argv(dump, reports), source))
            per["scans"] = {k: _median(v) for k, v in scans.items()}
            for version in versions:
                alone, both = per["scans"][f"{version}/scan"], per["scans"][f"{version}/scan_4_reports"]
                per["scans"][f"{version}/reports_cpu_over_scan_cpu"] = round(
                    (both["cpu"] - alone["cpu"]) / alone["cpu"], 3
                )
                per["scans"][f"{version}/reports_rss_mb"] = round(both["peak_rss_mb"] - alone["peak_rss_mb"], 1)
            print(json.dumps({Path(dump).name: per["scans"]}), flush=True)
        results["dumps"][Path(dump).name] = per
        saved.unlink()
    results["load_after"] = os.getloadavg()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    for leftover in work.iterdir():
        leftover.unlink()
    work.rmdir()


if __name__ == "__main__":
    main()
