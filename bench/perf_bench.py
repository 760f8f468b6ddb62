"""Benchmark of issue 15's targets: worker processes, manifest parsing, report writing.

    python bench/perf_bench.py --dump DUMP.json --manifests DIR [--repeat 3] [--out results.json]

Every measurement runs in a fresh child process (`sovscan scan` as a user runs it, through
`scanner.cli.main`), and each figure is the median of `--repeat` runs. Floors are measured in
the same run, on the same files:

- `json.load` with the garbage collector off over the dump (what any Python reader must pay);
- `yaml.load_all(Loader=yaml.CSafeLoader)` over the manifests (PyYAML's C loader, parse only).

Measured: the dump scanned without reports and with `-f json -f sarif -f junit -f wazuh`
(peak RSS with report writing), the manifests scanned, and both targets in one scan with
`--workers 1` and `--workers 2` against each alone. Peak memory is the largest RSS of the scan
process and of its worker processes; `cpu_s` is the user+sys CPU time of the child (steadier
than wall time on a shared machine). Nothing here asserts a time.

    python bench/perf_bench.py --dump DUMP.json --dump-only [--repeat 3]

measures only the dump: the `json.load` floor, the scan with and without the four reports, and
`dump_phases`, the scan split into setup (plugins, baseline), collect (read, slim, normalise,
contract) and evaluate, with the CPU time and peak RSS after each phase. Runs are interleaved
(floor, scan, reports, phases, floor, ...) so that a change of load hits every figure alike.
With `--against CHECKOUT` (e.g. `git worktree add /tmp/old REV`) the same scans also run with that
checkout's code in the same rounds: a before/after comparison under the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def child_floor(kind: str, path: str) -> dict[str, Any]:
    """A floor in this (fresh) process: json.load with gc off, or CSafeLoader over every manifest."""
    import gc
    import resource

    started = time.perf_counter()
    if kind == "json":
        gc.disable()
        with open(path, "rb") as fh:
            json.load(fh)
    else:
        import yaml

        for root, _, files in sorted(os.walk(path)):
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")):
                    with open(os.path.join(root, name), encoding="utf-8") as fh:
                        for _ in yaml.load_all(fh, Loader=yaml.CSafeLoader):
                            pass
    return {
        "seconds": time.perf_counter() - started,
        "cpu_s": _cpu(resource.RUSAGE_SELF),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _cpu(who: int) -> float:
    """User + system CPU seconds of this process (RUSAGE_SELF) or of its waited-for children."""
    import resource

    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def child_phases(path: str) -> dict[str, Any]:
    """The dump scan as `sovscan scan` runs it, split into setup, collect and evaluate (wall and CPU)."""
    import resource

    started, cpu0 = time.perf_counter(), time.process_time()
    from scanner import engine
    from scanner.baseline import BaselineLibrary
    from scanner.plugins import discover

    registry = discover()
    library = BaselineLibrary(registry)
    target = registry.plugin("kubernetes").parse_target(f"dump:{path}")
    plan = engine.make_plan([target], library, ["kubernetes"])
    loaded, cpu1 = time.perf_counter(), time.process_time()
    collected = engine.collect([target], registry, timeout=7200)
    if collected[target.id].target_error:
        raise SystemExit(f"collection failed: {collected[target.id].target_error}")
    after_collect, cpu2 = time.perf_counter(), time.process_time()
    collect_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = engine.build_result(plan, collected, registry, started=engine.now_iso(), environment="bench")
    finished, cpu3 = time.perf_counter(), time.process_time()
    return {
        "seconds": finished - started,
        "cpu_s": cpu3 - cpu0,
        "setup_s": loaded - started,
        "setup_cpu_s": cpu1 - cpu0,
        "collect_s": after_collect - loaded,
        "collect_cpu_s": cpu2 - cpu1,
        "evaluate_s": finished - after_collect,
        "evaluate_cpu_s": cpu3 - cpu2,
        "collect_peak_mb": collect_peak,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "findings": len(result.findings),
    }


def child_scan(argv: list[str]) -> dict[str, Any]:
    """`sovscan scan ARGV` in this process; its time and the peak RSS of it and its worker processes."""
    import resource

    from scanner.cli import cli

    started = time.perf_counter()
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # the console summary
            cli(["scan", "--no-progress", "--timeout", "7200", *argv])  # under load a 100k dump outlives 60 s
    except SystemExit as exc:  # the gate's exit code (findings FAIL): not an error here
        if exc.code not in (0, 1, None):
            raise
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "cpu_s": cpu, "peak_mb": max(own, workers), "worker_peak_mb": workers}


def child_live(url: str, workdir: str, floor: str) -> dict[str, Any]:
    """Collect from the served cluster (the plugin), or with `floor` "1" the raw client floor.

    The floor uses the same `kubernetes` client and kubeconfig, lists the same kinds cluster-wide
    with pages of 500 and continue tokens, asks for raw JSON (`_preload_content=False`) and only
    parses each page (orjson) for its continue token: no slimming, no evidence.
    """
    import orjson

    sys.path.insert(0, str(ROOT))
    from checks.kubernetes.collect import list_method_name
    from checks.kubernetes.kinds import KINDS
    from checks.kubernetes.plugin import PLUGIN
    from scanner.interface import Target
    from tests.services.kubeapi import write_kubeconfig

    kubeconfig = write_kubeconfig(Path(workdir) / "perf-kubeconfig", url, token="bench-" + "token")
    started = time.perf_counter()
    if floor == "1":
        import kubernetes

        api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig), context="test")
        objects = 0
        for info in KINDS:
            class_name, method_name = list_method_name(info)
            method = getattr(getattr(kubernetes.client, class_name)(api), method_name)
            token = None
            while True:
                kwargs: dict[str, Any] = {"limit": 500, **({"_continue": token} if token else {})}
                response = method(_preload_content=False, **kwargs)
                page = orjson.loads(response.data)
                response.release_conn()
                objects += len(page.get("items") or [])
                token = (page.get("metadata") or {}).get("continue")
                if not token:
                    break
    else:
        target = Target(
            id="bench", kind="kubernetes", url="context:test", options={"kubeconfig": str(kubeconfig), "page_size": 500}
        )
        evidence = PLUGIN.collect(target, {}, 3600.0)
        objects = sum(evidence.metadata["objects"].values())
    return {"seconds": time.perf_counter() - started, "peak_mb": 0.0, "objects": objects}


def _tree(root: int) -> list[int]:
    """`root` and every process descending from it (read from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return found


def _rss_mb(text: str) -> float:
    return int(text.split()[1]) * PAGE_MB


def _pss_mb(text: str) -> float:
    return sum(int(line.split()[1]) / 1024 for line in text.splitlines() if line.startswith("Pss:"))


def _tree_sum(root: int, name: str, measure: Callable[[str], float]) -> float:
    """`measure(/proc/PID/NAME)` summed over `root`'s process tree right now: RSS from statm (no
    page-table walk) or PSS from smaps_rollup (which walks the page tables)."""
    total = 0.0
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/{name}") as fh:
                total += measure(fh.read())
        except (OSError, ValueError, IndexError):
            continue
    return total


PAGE_MB = os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def run_child(*args: str, pythonpath: str | None = None) -> dict[str, Any]:
    """Run this script's child mode in a fresh interpreter; its JSON answer.

    While a scan runs, the summed RSS of its whole process tree is sampled every 20 ms (cheap:
    /proc/PID/statm) and the summed PSS (proportional set size: a page shared copy-on-write by a
    forked worker counts once in all) every 250 ms; their peaks are `tree_rss_peak_mb` and
    `tree_pss_peak_mb`, the honest memory figures when worker processes run beside the scanning
    process. PSS is sampled rarely because reading smaps_rollup walks the page tables under the
    process's memory lock and would slow the measured process; floors are not sampled at all."""
    env = dict(os.environ)
    if pythonpath is not None:  # another checkout's scanner, checks and reporters (`--against`)
        env["PYTHONPATH"] = pythonpath
    child = subprocess.Popen(
        [PY, __file__, "child", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peaks = [0.0, 0.0]
    stop = threading.Event()

    def sample() -> None:
        tick = 0
        while not stop.wait(0.02):
            peaks[1] = max(peaks[1], _tree_sum(child.pid, "statm", _rss_mb))
            tick += 1
            if tick % 12 == 0:
                peaks[0] = max(peaks[0], _tree_sum(child.pid, "smaps_rollup", _pss_mb))

    sampler = threading.Thread(target=sample, daemon=True)
    if args[0] != "floor":
        sampler.start()
    try:
        stdout, stderr = child.communicate(timeout=7200)
    finally:
        stop.set()
        if sampler.is_alive():
            sampler.join()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"child {args} failed: {stderr[-2000:]}")
    answer: dict[str, Any] = json.loads(lines[-1])
    if args[0] != "floor":
        answer["tree_pss_peak_mb"], answer["tree_rss_peak_mb"] = round(peaks[0], 1), round(peaks[1], 1)
    return answer


def median(repeat: int, *args: str) -> dict[str, Any]:
    """The median time (and the median peak memory) of `repeat` runs."""
    return summarise([run_child(*args) for _ in range(repeat)])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of every numeric figure of the runs, and the runs' wall times."""
    out: dict[str, Any] = {
        key: statistics.median(r[key] for r in runs)
        for key in runs[0]
        if isinstance(runs[0][key], int | float) and all(key in r for r in runs)
    }
    out["runs"] = [round(r["seconds"], 2) for r in runs]
    out["load"] = os.getloadavg()
    return out


def interleaved(repeat: int, cases: dict[str, tuple[str, ...]], paths: dict[str, str] | None = None) -> dict[str, Any]:
    """Each case `repeat` times, round by round (A, B, C, A, B, C, ...); medians per case.

    A case named in `paths` runs with that PYTHONPATH (another checkout's code)."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, case in cases.items():
            runs[name].append(run_child(*case, pythonpath=(paths or {}).get(name)))
            print(json.dumps({name: runs[name][-1]}), flush=True)
    return {name: summarise(found) for name, found in runs.items()}


def dump_only(args: argparse.Namespace, reports: list[str]) -> None:
    """`--dump-only`: the floor, the dump scan with and without reports, and its phases, interleaved."""
    dump = f"kubernetes=dump:{args.dump}"
    cases = {
        "floor_json_load": ("floor", "json", args.dump),
        "dump_scan": ("scan", "--target", dump),
        "dump_scan_4_reports": ("scan", "--target", dump, *reports),
        "dump_phases": ("phases", args.dump),
    }
    if args.no_reports:
        del cases["dump_scan_4_reports"]
    paths: dict[str, str] = {}
    if args.against:  # the same scans with another checkout's code, in the same rounds
        for name in [n for n in cases if n.startswith("dump_scan")]:
            cases[f"against_{name}"] = cases[name]
            paths[f"against_{name}"] = str(Path(args.against).resolve())
    results: dict[str, Any] = {"load_before": os.getloadavg(), **interleaved(args.repeat, cases, paths)}
    results["load_after"] = os.getloadavg()
    floor = results["floor_json_load"]
    results["ratios"] = {
        "dump_scan_vs_json_load": results["dump_scan"]["seconds"] / floor["seconds"],
        "dump_scan_cpu_vs_json_load_cpu": results["dump_scan"]["cpu_s"] / floor["cpu_s"],
    }
    if not args.no_reports:
        results["ratios"] |= {
            "dump_4_reports_vs_json_load": results["dump_scan_4_reports"]["seconds"] / floor["seconds"],
            "dump_4_reports_cpu_vs_json_load_cpu": results["dump_scan_4_reports"]["cpu_s"] / floor["cpu_s"],
            "reports_add_vs_scan": results["dump_scan_4_reports"]["seconds"] / results["dump_scan"]["seconds"] - 1,
        }
    if args.against:
        results["against"] = str(args.against)
        for name in [n for n in cases if n.startswith("against_")]:
            results["ratios"][f"{name}_vs_json_load"] = results[name]["seconds"] / floor["seconds"]
    print(json.dumps({"ratios": results["ratios"]}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    """Measure and print one JSON line per figure, then the summary."""
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        mode, rest = sys.argv[2], sys.argv[3:]
        if mode == "live":
            answer = child_live(*rest)
        elif mode == "phases":
            answer = child_phases(rest[0])
        else:
            answer = child_floor(rest[0], rest[1]) if mode == "floor" else child_scan(rest)
        print(json.dumps(answer))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dump", required=True)
    parser.add_argument("--manifests", help="required unless --dump-only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--live-only", action="store_true", help="only the live collection against its floor")
    parser.add_argument("--dump-only", action="store_true", help="only the dump: floor, scans, phases")
    parser.add_argument("--no-reports", action="store_true", help="with --dump-only: not the scan with reports")
    parser.add_argument(
        "--against",
        metavar="CHECKOUT",
        help="with --dump-only: also run the scans with this checkout's code (PYTHONPATH), in the same rounds",
    )
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="sovscan-perf-"))
    try:
        measure(args, parser, out)
    finally:  # the reports of a 100k scan take hundreds of MB
        shutil.rmtree(out, ignore_errors=True)


def measure(args: argparse.Namespace, parser: argparse.ArgumentParser, out: Path) -> None:
    """Everything `main` was asked for, with `out` as the scratch directory."""
    reports = [f"-f{name}={out / ('r.' + name)}" for name in ("json", "sarif", "junit", "wazuh")]
    if args.dump_only:
        dump_only(args, reports)
        return
    if not args.manifests:
        parser.error("--manifests is required unless --dump-only")
    quiet: list[str] = []
    dump, manifests = f"kubernetes=dump:{args.dump}", f"kubernetes=manifests:{args.manifests}"
    cases = {
        "floor_json_load": ("floor", "json", args.dump),
        "floor_csafeloader": ("floor", "yaml", args.manifests),
        "dump_scan": ("scan", "--target", dump, *quiet),
        "dump_scan_4_reports": ("scan", "--target", dump, *reports, *quiet),
        "manifests_scan": ("scan", "--target", manifests, *quiet),
        "manifests_scan_4_reports": ("scan", "--target", manifests, *reports, *quiet),
        "two_targets_workers_1": ("scan", "--workers", "1", "--target", dump, "--target", manifests, *quiet),
        "two_targets_workers_2": ("scan", "--workers", "2", "--target", dump, "--target", manifests, *quiet),
    }
    results: dict[str, Any] = {"load_before": os.getloadavg()}
    port_file = out / "port"
    server = subprocess.Popen([PY, str(ROOT / "bench" / "k8s_bench.py"), "serve", args.dump, str(port_file)], cwd=ROOT)
    try:
        while not port_file.exists() or not port_file.read_text():
            if server.poll() is not None:
                raise SystemExit("the test API server did not start")
            time.sleep(0.2)
        url = port_file.read_text()
        for name, flag in (("live_floor_raw_client", "1"), ("live_collect", "0")):
            results[name] = median(args.repeat, "live", url, str(out), flag)
            print(json.dumps({name: results[name]}), flush=True)
    finally:
        server.kill()
        server.wait()
    live_ratio = results["live_floor_raw_client"]["seconds"] / results["live_collect"]["seconds"]
    print(json.dumps({"live_speed_vs_floor": live_ratio}), flush=True)
    if args.live_only:
        cases = {}
    for name, case in cases.items():
        results[name] = median(args.repeat, *case)
        print(json.dumps({name: results[name]}), flush=True)
    results["load_after"] = os.getloadavg()
    s = {k: v["seconds"] for k, v in results.items() if isinstance(v, dict)}
    results["ratios"] = {"live_speed_vs_raw_client_floor": live_ratio}
    if args.live_only:
        print(json.dumps(results, indent=2))
        return
    results["ratios"] |= {
        "manifests_vs_csafeloader": s["manifests_scan"] / s["floor_csafeloader"],
        "dump_4_reports_vs_json_load": s["dump_scan_4_reports"] / s["floor_json_load"],
        "dump_reports_added_share": (s["dump_scan_4_reports"] - s["dump_scan"]) / s["dump_scan"],
        "manifests_reports_added_share": (s["manifests_scan_4_reports"] - s["manifests_scan"]) / s["manifests_scan"],
        "two_targets_w2_vs_slower_alone": s["two_targets_workers_2"] / max(s["dump_scan"], s["manifests_scan"]),
        "two_targets_w1_vs_slower_alone": s["two_targets_workers_1"] / max(s["dump_scan"], s["manifests_scan"]),
    }
    print(json.dumps({"ratios": results["ratios"]}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
