"""Benchmark of sovscan's Kubernetes target: offline dumps and manifests, and live collection.

    python bench/k8s_bench.py run --sizes 10000,100000 [--checkov] [--live] [--workdir DIR]

For each size it generates (once, deterministic) a `kubectl get -o json` List dump and a
directory of multi-document YAML manifests with bench/k8s_generate.py, then measures, each in a
fresh process:

- `dump`: a full scan of the dump through the real engine (plugin discovery, baseline load,
  collection, evaluation of all 24 controls): wall time and peak RSS;
- `manifests`: the same for the YAML manifests, and `yaml-parse`, the time PyYAML's C loader
  (yaml.CSafeLoader) needs merely to parse the same files; the ratio of the two;
- `live` (with --live): objects per second collected through paginated LISTs (limit 500)
  from the test API server (tests/services/kubeapi.py) running in another process;
- `checkov` (with --checkov): Checkov on the same manifests, from /tmp/checkov-venv.

Results go to stdout as JSON lines and to DIR/results.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
BENCH_TOKEN = "bench-" + "token"  # a throwaway token of the local test server


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_scan(mode: str, path: str, variant: str = "engine") -> dict[str, Any]:
    """Scan offline input through the engine; return timings, counts and peak memory.

    `variant` "engine" is the real thing (engine.collect: the plugin, then the engine's JSON
    normalisation of the evidence); "direct" calls the plugin's collect and skips that
    normalisation; "freeze" is "engine" plus gc.freeze() after collection. The two others
    only measure what changes in the engine would buy.
    """
    import gc

    started = time.perf_counter()
    from scanner import engine
    from scanner.baseline import BaselineLibrary
    from scanner.plugins import discover

    registry = discover()
    library = BaselineLibrary(registry)
    target = registry.plugin("kubernetes").parse_target(f"{mode}:{path}")
    plan = engine.make_plan([target], library, ["kubernetes"])
    loaded = time.perf_counter()
    if variant == "direct":
        collected = {target.id: registry.plugin("kubernetes").collect(target, {}, 3600.0)}
    else:
        collected = engine.collect([target], registry, timeout=3600)
    if variant == "freeze":
        gc.freeze()
    evidence = collected[target.id]
    if evidence.target_error:
        raise SystemExit(f"collection failed: {evidence.target_error}")
    after_collect = time.perf_counter()
    result = engine.build_result(plan, collected, registry, started=engine.now_iso(), environment="bench")
    finished = time.perf_counter()
    statuses: dict[str, int] = {}
    for finding in result.findings:
        statuses[finding.status.value] = statuses.get(finding.status.value, 0) + 1
    objects = sum(evidence.metadata["objects"].values()) + sum(evidence.metadata.get("ignored_kinds", {}).values())
    return {
        "objects_read": objects,
        "documents": evidence.metadata.get("documents"),
        "setup_s": round(loaded - started, 3),
        "collect_s": round(after_collect - loaded, 3),
        "evaluate_s": round(finished - after_collect, 3),
        "total_s": round(finished - started, 3),
        "findings": len(result.findings),
        "statuses": statuses,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def child_parse_yaml(directory: str) -> dict[str, Any]:
    """Parse every YAML file of a directory with yaml.CSafeLoader and discard the documents."""
    import yaml

    assert yaml.__with_libyaml__, "PyYAML without libyaml: the comparison needs the C loader"
    started = time.perf_counter()
    documents = 0
    for path in sorted(Path(directory).glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            for _ in yaml.load_all(fh, Loader=yaml.CSafeLoader):
                documents += 1
    return {
        "documents": documents,
        "total_s": round(time.perf_counter() - started, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def child_serve(dump: str, port_file: str) -> None:
    """Serve a dump's objects like an API server until killed (objects kept as JSON strings)."""
    sys.path.insert(0, str(ROOT))
    from checks.kubernetes.offline import JsonStream
    from tests.services.kubeapi import PLURALS, KubeAPIServer

    objects: dict[str, list[Any]] = {}
    with open(dump, encoding="utf-8") as fh:
        for obj, _, _, _, _ in JsonStream(fh, dump).objects():
            kind = obj.get("kind")
            if kind not in PLURALS:
                continue
            if kind == "ConfigMap":
                objects.setdefault("configmaps", []).append(obj)
                continue
            stripped = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
            objects.setdefault(PLURALS[kind], []).append(json.dumps(stripped))
    server = KubeAPIServer(objects, token=BENCH_TOKEN).start()
    Path(port_file).write_text(server.url)
    while True:
        time.sleep(3600)


def child_live(url: str, workdir: str) -> dict[str, Any]:
    """Collect from the served cluster through a kubeconfig; objects per second."""
    sys.path.insert(0, str(ROOT))
    from checks.kubernetes.plugin import PLUGIN
    from scanner.interface import Target
    from tests.services.kubeapi import write_kubeconfig

    kubeconfig = write_kubeconfig(Path(workdir) / "bench-kubeconfig", url, token=BENCH_TOKEN)
    target = Target(
        id="bench", kind="kubernetes", url="context:test", options={"kubeconfig": str(kubeconfig), "page_size": 500}
    )
    started = time.perf_counter()
    evidence = PLUGIN.collect(target, {}, 3600.0)
    elapsed = time.perf_counter() - started
    objects = sum(evidence.metadata["objects"].values())
    return {
        "objects": objects,
        "requests": evidence.metadata["requests"],
        "bytes": evidence.metadata["bytes"],
        "errors": dict(evidence.errors),
        "total_s": round(elapsed, 3),
        "objects_per_s": round(objects / elapsed),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def run_child(*args: str, timeout: float = 7200) -> dict[str, Any]:
    """Run this script as a child process; return its JSON result plus the wall time seen from outside."""
    started = time.perf_counter()
    done = subprocess.run(
        [PY, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(wall, 3)
    return result


def generate(size: int, fmt: str, out: Path) -> None:
    """Generate the input once (skipped when it exists)."""
    if out.exists():
        return
    subprocess.run(
        [PY, str(HERE / "k8s_generate.py"), "--objects", str(size), "--format", fmt, "--out", str(out)],
        check=True,
        cwd=ROOT,
    )


def checkov(directory: Path, timeout: float) -> dict[str, Any]:
    """Run Checkov (from /tmp/checkov-venv) on a manifest directory under /usr/bin/time -v."""
    binary = Path("/tmp/checkov-venv/bin/checkov")
    if not binary.exists():
        return {"error": "checkov is not installed in /tmp/checkov-venv"}
    command = [
        "/usr/bin/time",
        "-v",
        str(binary),
        "-d",
        str(directory),
        "--framework",
        "kubernetes",
        "-o",
        "json",
        "--quiet",
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    wall = time.perf_counter() - started
    rss = next(
        (line.split(":")[1].strip() for line in done.stderr.splitlines() if "Maximum resident set size" in line), "0"
    )
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    failed = passed = 0
    try:
        report = json.loads(done.stdout)
        reports = report if isinstance(report, list) else [report]
        for item in reports:
            summary = item.get("summary", {})
            failed += summary.get("failed", 0)
            passed += summary.get("passed", 0)
    except ValueError:
        pass
    return {
        "version": version,
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(int(rss) / 1024, 1),
        "failed": failed,
        "passed": passed,
        "exit": done.returncode,
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import yaml

    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    memory = ""
    with contextlib.suppress(OSError, StopIteration):
        memory = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "pyyaml": yaml.__version__,
        "libyaml": yaml.__with_libyaml__,
        "platform": platform.platform(),
    }


def run(args: argparse.Namespace) -> None:
    """Generate inputs and measure everything for every size."""
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "sizes": {}}
    print(json.dumps(results["machine"]), flush=True)
    for size in [int(s) for s in args.sizes.split(",")]:
        label = f"{size // 1000}k"
        dump, manifests = workdir / f"k8s-{label}.json", workdir / f"k8s-{label}-yaml"
        generate(size, "json", dump)
        generate(size, "yaml", manifests)
        entry: dict[str, Any] = {
            "dump_bytes": dump.stat().st_size,
            "manifest_bytes": sum(p.stat().st_size for p in manifests.glob("*.yaml")),
        }
        for _ in range(args.repeat):
            for name, child in (
                ("dump", ("scan", "dump", str(dump))),
                ("manifests", ("scan", "manifests", str(manifests))),
                ("yaml_parse", ("parse-yaml", str(manifests))),
            ):
                measured = run_child(*child)
                best = entry.get(name)
                if best is None or measured["total_s"] < best["total_s"]:
                    entry[name] = measured
        entry["manifests_over_parse"] = round(entry["manifests"]["total_s"] / entry["yaml_parse"]["total_s"], 3)
        if args.variants:
            for variant in ("direct", "freeze"):
                entry[f"dump_{variant}"] = run_child("scan", "dump", str(dump), "--variant", variant)
        if args.live:
            port_file = workdir / "server-url"
            port_file.unlink(missing_ok=True)
            server = subprocess.Popen([PY, str(Path(__file__).resolve()), "serve", str(dump), str(port_file)], cwd=ROOT)
            try:
                deadline = time.monotonic() + 600
                while not port_file.exists() and time.monotonic() < deadline and server.poll() is None:
                    time.sleep(0.2)
                entry["live"] = run_child("live", port_file.read_text(), str(workdir))
            finally:
                server.terminate()
                server.wait(timeout=30)
        if args.checkov:
            entry["checkov"] = checkov(manifests, args.checkov_timeout)
        results["sizes"][label] = entry
        print(json.dumps({label: entry}), flush=True)
    sizes = list(results["sizes"].values())
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        results["scaling"] = {
            key: round(large[key]["total_s"] / small[key]["total_s"], 2) for key in ("dump", "manifests", "yaml_parse")
        }
        print(json.dumps({"scaling": results["scaling"]}), flush=True)
    (workdir / "results.json").write_text(json.dumps(results, indent=1))


def main() -> None:
    """Entry point: `run` for the whole benchmark; the other commands are its child processes."""
    parser = argparse.ArgumentParser(description="sovscan Kubernetes benchmark")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("--sizes", default="10000,100000")
    p_run.add_argument("--workdir", default="/tmp/sovscan-bench")
    p_run.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is kept")
    p_run.add_argument("--live", action="store_true")
    p_run.add_argument(
        "--variants", action="store_true", help="also measure the dump without the engine's normalisation"
    )
    p_run.add_argument("--checkov", action="store_true")
    p_run.add_argument("--checkov-timeout", type=float, default=3600)
    p_scan = sub.add_parser("scan")
    p_scan.add_argument("mode", choices=["dump", "manifests"])
    p_scan.add_argument("path")
    p_scan.add_argument("--variant", choices=["engine", "direct", "freeze"], default="engine")
    p_parse = sub.add_parser("parse-yaml")
    p_parse.add_argument("directory")
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("dump")
    p_serve.add_argument("port_file")
    p_live = sub.add_parser("live")
    p_live.add_argument("url")
    p_live.add_argument("workdir")
    args = parser.parse_args()
    if args.command == "run":
        run(args)
    elif args.command == "scan":
        print(json.dumps(child_scan(args.mode, args.path, args.variant)))
    elif args.command == "parse-yaml":
        print(json.dumps(child_parse_yaml(args.directory)))
    elif args.command == "serve":
        child_serve(args.dump, args.port_file)
    elif args.command == "live":
        print(json.dumps(child_live(args.url, args.workdir)))


if __name__ == "__main__":
    main()
