"""Live Kubernetes collection against a real kube-apiserver, compared with the raw client floor.

    .venv/bin/python bench/live_bench.py --objects 20000 [--repeat 3] [--before TREE] [--gc on|off|both]
        [--out results.json] [--hold | --kubeconfig PATH --server-pids A,B]

What it does:

1. Starts the real control plane of the test suite (`tests/services/kubeapi_real.py`: etcd,
   kube-apiserver and kube-controller-manager built by `scripts/build-kube-binaries`) in a
   temporary directory on loopback ports, and applies `examples/kubernetes/rbac.yaml` (the
   scanner's read-only ServiceAccount).
2. Loads it with `bench/k8s_generate.py`'s cluster (seed 42, about `--objects` objects, with
   kubectl's last-applied annotations; ConfigMaps and Secrets too) through the API server as
   the fixture's admin: plain POSTs from a pool of threads, owners before what they own (owner
   references get the owners' real UIDs), Pod Security labels set on namespaces last. This is
   bench setup: the collector under test only reads. Left out: the generator's control-plane
   static pods (the fixture publishes the real ones) and ephemeral containers (a real server
   accepts them only through a subresource).
3. Runs, each in a fresh interpreter, interleaved (floor, collect, [before,] floor, collect, ...),
   `--repeat` times, with the scanner's ServiceAccount token:
   - **floor**: the same `kubernetes` client and kubeconfig, the same kinds
     (`checks.kubernetes.kinds.KINDS`) listed cluster-wide with pages of 500 and continue
     tokens, raw JSON (`_preload_content=False`), each page only parsed (orjson) for its
     continue token: no slimming, no evidence;
   - **collect**: `PLUGIN.collect` of this tree (GET /version, every kind, the kubelet
     ConfigMap, slimmed into evidence);
   - **floor_apiclient** (with `--apiclient-floor`): the floor's requests made as the collector
     makes them, through `ApiClient.param_serialize` and `call_api` without the generated API
     classes (which import hundreds of pydantic models): a stricter floor for the same client;
   - **before** (with `--before TREE`): `PLUGIN.collect` of another checkout, e.g. a
     `git worktree add /tmp/x <commit>` of the code before a change.

   Both import the client before the clock starts. Every case runs twice (`--gc both`, the
   default): with the cyclic garbage collector on (`PLUGIN.collect` called directly, as the
   issue's earlier figure) and off (`_gc_off`: the floor with `gc.disable()`, the collector
   inside the engine's `paused_gc()`, which is how `sovscan scan` runs every collection).
   Per run: wall time, CPU time of the child (user + sys), the CPU time kube-apiserver and
   etcd spent meanwhile, objects listed, HTTP requests, peak RSS of the child (VmHWM), the
   load average, and a SHA-256 of the collected sections (before and after a change must
   agree). Printed as JSON lines; the medians and ratios (floor time / collect time: 1.0 means
   as fast as the floor, above 1.0 faster) at the end, and with `--out` in a JSON file.

`--hold` keeps the loaded cluster running after the runs (until Ctrl-C or SIGTERM) and prints
its kubeconfig and server PIDs; `--kubeconfig PATH --server-pids A,B` measures such a cluster
again without loading a new one.

Nothing in the test suite asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CONTEXT = "bench"


def _usage() -> dict[str, float]:
    """CPU seconds (user + sys) and peak RSS of this process.

    The peak is VmHWM of /proc/self/status, not `ru_maxrss`: Linux carries `ru_maxrss` over
    `exec`, so a child would report the (large) peak of the benchmark process that started it.
    """
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return {"cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak}


def child_floor(kubeconfig: str, gc_off: bool, low_level: bool = False) -> dict[str, Any]:
    """The raw client floor in this (fresh) process (with `gc_off`: the cyclic garbage collector off).

    `low_level`: the same requests through `ApiClient.param_serialize` / `call_api` instead of
    the generated API methods (what the collector does), still without any processing.
    """
    import gc

    import kubernetes.client
    import kubernetes.config
    import orjson

    from checks.kubernetes.collect import list_method_name
    from checks.kubernetes.kinds import KINDS

    if gc_off:
        gc.disable()
    cpu0, started = _usage()["cpu"], time.perf_counter()
    api = kubernetes.config.new_client_from_config(config_file=kubeconfig, context=CONTEXT)  # type: ignore[no-untyped-call]
    objects = requests = 0
    for info in KINDS:
        class_name, method_name = list_method_name(info)
        method = None if low_level else getattr(getattr(kubernetes.client, class_name)(api), method_name)
        token = None
        while True:
            if method is not None:
                kwargs: dict[str, Any] = {"limit": 500, **({"_continue": token} if token else {})}
                response = method(_preload_content=False, **kwargs)
            else:
                query = [*([("continue", token)] if token else []), ("limit", 500)]
                verb, url, headers, _, _ = api.param_serialize(
                    method="GET", resource_path=info.list_path, query_params=query,
                    header_params={"Accept": "application/json"}, auth_settings=["BearerToken"],
                )  # fmt: skip
                response = api.call_api(verb, url, header_params=headers).response
            requests += 1
            page = orjson.loads(response.data)
            response.release_conn()
            objects += len(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                break
    api.close()
    seconds = time.perf_counter() - started
    usage = _usage()
    return {"seconds": seconds, "cpu": usage["cpu"] - cpu0, "peak_mb": usage["peak_mb"], "objects": objects,
            "requests": requests}  # fmt: skip


def child_collect(tree: str, kubeconfig: str, gc_off: bool) -> dict[str, Any]:
    """`PLUGIN.collect` of the checkout `tree` in this (fresh) process (`gc_off`: inside the engine's `paused_gc`)."""
    sys.path.insert(0, tree)
    import kubernetes.client
    import kubernetes.config  # noqa: F401  (imported before the clock, as in the floor)

    from checks.kubernetes import collect as collect_module
    from checks.kubernetes.plugin import PLUGIN
    from scanner.engine import paused_gc
    from scanner.interface import Target

    if not Path(collect_module.__file__ or "").resolve().is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"imported {collect_module.__file__}, not the tree {tree}")
    target = Target(id="bench", kind="kubernetes", url=f"context:{CONTEXT}",
                    options={"kubeconfig": kubeconfig, "page_size": 500})  # fmt: skip
    cpu0, started = _usage()["cpu"], time.perf_counter()
    with paused_gc() if gc_off else contextlib.nullcontext():
        evidence = PLUGIN.collect(target, {}, 600.0)
    seconds = time.perf_counter() - started
    usage = _usage()
    if evidence.errors:
        raise SystemExit(f"section errors: {evidence.errors}")
    listed = sum(len(evidence.sections[k]) for k in evidence.sections if isinstance(evidence.sections[k], list))
    digest = hashlib.sha256(json.dumps(evidence.sections, sort_keys=False).encode()).hexdigest()
    return {"seconds": seconds, "cpu": usage["cpu"] - cpu0, "peak_mb": usage["peak_mb"],
            "objects": sum(evidence.metadata["objects"].values()), "slim_objects": listed,
            "requests": evidence.metadata["requests"], "evidence_sha256": digest}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# setup: the control plane and its objects


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (and its waited-for children) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def adapt(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """A generated object as the API server accepts it on create; None for what is left out."""
    from tests.kubernetes.real_cluster import for_real_server

    kind = obj["kind"]
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if kind == "Pod" and "component" in labels and obj["metadata"].get("namespace") == "kube-system":
        return None  # the generator's static pods: the fixture publishes the real ones
    real = for_real_server(obj)
    for path in (("spec",), ("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec")):
        node: Any = real
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        for container in node.get("initContainers") or ():
            container.pop("livenessProbe", None)  # refused for init containers that are not sidecars
        host_ports: set[int] = set()
        for container in [*(node.get("initContainers") or ()), *(node.get("containers") or ())]:
            kept = []
            for port in container.get("ports") or ():
                # with hostNetwork every container port is a host port
                host = port.get("containerPort") if node.get("hostNetwork") else port.get("hostPort")
                if host is not None and host in host_ports:
                    if node.get("hostNetwork"):
                        continue  # one host port per pod (the sidecar is a copy of the app)
                    del port["hostPort"]
                host_ports.add(host if host is not None else -1)
                kept.append(port)
            if "ports" in container:
                container["ports"] = kept
    if kind == "Pod":
        spec = real["spec"]
        spec.pop("ephemeralContainers", None)
        # the ServiceAccount admission plugin mounts the token volume itself
        spec["volumes"] = [v for v in spec.get("volumes") or () if not v["name"].startswith("kube-api-access-")]
    return real


PHASES: tuple[tuple[str, ...], ...] = (
    ("Namespace",),
    ("ServiceAccount", "ClusterRole", "Role", "ConfigMap", "Secret", "Service", "LimitRange", "NetworkPolicy",
     "Ingress", "RoleBinding", "ClusterRoleBinding", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"),
    ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"),
    ("ReplicaSet", "Job"),
    ("Pod",),
)  # fmt: skip
"""Creation order: a phase's objects are created concurrently, phases one after the other."""


def load(cluster: Any, objects: int, threads: int = 8) -> dict[str, Any]:
    """Create the generated cluster through the API server; return counts and seconds."""
    import orjson
    import urllib3

    sys.path.insert(0, str(ROOT / "bench"))
    from k8s_generate import generate, last_applied

    started = time.perf_counter()
    generated = []
    for _, obj in generate(objects, 42, noisy=True):
        last_applied(obj)
        generated.append(obj)
    real_uids: dict[str, str] = {}
    cert, key = cluster.admin_cert
    pool = urllib3.PoolManager(maxsize=threads, ca_certs=str(cluster.pki.ca), cert_file=str(cert),
                               key_file=str(key), cert_reqs="CERT_REQUIRED", retries=False)  # fmt: skip
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    created: dict[str, int] = {}
    labels: dict[str, dict[str, str]] = {}
    failures: list[str] = []

    def create(item: tuple[str | None, dict[str, Any]]) -> tuple[str, str | None, int]:
        generated_uid, real = item
        for ref in real["metadata"].get("ownerReferences") or ():
            ref["uid"] = real_uids.get(ref.get("uid"), ref.get("uid"))
        namespace = real["metadata"].get("namespace")
        url = cluster.url + cluster.path_of(real["kind"], namespace)
        answer = pool.request("POST", url, body=orjson.dumps(real), headers=headers, timeout=60)
        if answer.status not in (201, 409):
            failures.append(f"{real['kind']} {namespace}/{real['metadata']['name']}: {answer.status} "
                            f"{answer.data[:300]!r}")  # fmt: skip
            return real["kind"], None, 0
        uid = orjson.loads(answer.data)["metadata"]["uid"] if answer.status == 201 else None
        return real["kind"], (generated_uid if uid else None), uid or 0

    done_kinds: set[int] = set()
    with ThreadPoolExecutor(threads) as executor:
        for phase, kinds in enumerate(PHASES):
            batch = []
            for index, obj in enumerate(generated):
                if index in done_kinds or obj["kind"] not in kinds:
                    continue
                owned = bool(obj["metadata"].get("ownerReferences"))
                if obj["kind"] == "Job" and (phase == 2) == owned:
                    continue  # unowned Jobs with the controllers, CronJobs' Jobs after them
                done_kinds.add(index)
                real = adapt(obj)
                if real is None:
                    continue
                if real["kind"] == "Namespace" and real["metadata"].get("labels"):
                    labels[real["metadata"]["name"]] = real["metadata"]["labels"]
                    real["metadata"]["labels"] = {}
                batch.append((obj["metadata"].get("uid"), real))
            for kind, generated_uid, uid in executor.map(create, batch):
                created[kind] = created.get(kind, 0) + (1 if uid else 0)
                if generated_uid and isinstance(uid, str):
                    real_uids[generated_uid] = uid
            if phase == 0 and cluster.controllers:  # pods need their namespace's default ServiceAccount
                for name in [o["metadata"]["name"] for _, o in batch]:
                    cluster.wait_for("ServiceAccount", "default", name)

        def label(item: tuple[str, dict[str, str]]) -> None:
            name, values = item
            body = orjson.dumps({"metadata": {"labels": values}})
            answer = pool.request("PATCH", cluster.url + cluster.path_of("Namespace", None, name), body=body,
                                  headers={"Content-Type": "application/merge-patch+json"}, timeout=60)  # fmt: skip
            if answer.status != 200:
                raise RuntimeError(f"labelling namespace {name}: {answer.status} {answer.data[:300]!r}")

        list(executor.map(label, labels.items()))
    pool.clear()
    return {
        "generated": len(generated),
        "failed": len(failures),
        "failures": failures[:5],
        "created": created,
        "created_total": sum(created.values()),
        "seconds": round(time.perf_counter() - started, 1),
    }


def run_child(*args: str) -> dict[str, Any]:
    """This script's child mode in a fresh interpreter; its JSON answer."""
    done = subprocess.run([PY, __file__, "child", *args], cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=3600)  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"child {args[0]} failed: {done.stderr[-3000:]}")
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def summary(runs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Medians of the runs of one case."""
    runs = list(runs)
    keys = ("seconds", "cpu", "server_cpu", "peak_mb")
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
    out.update(objects=runs[0]["objects"], requests=runs[0]["requests"],
               runs=[round(r["seconds"], 2) for r in runs])  # fmt: skip
    return out


def measure(kubeconfig: str, servers: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """The interleaved runs of every case; medians and ratios."""
    cases: dict[str, tuple[str, ...]] = {}
    for gc_state in ("on", "off") if args.gc == "both" else (args.gc,):
        suffix = "" if gc_state == "on" else "_gc_off"
        cases["floor" + suffix] = (gc_state, "floor", kubeconfig)
        if args.apiclient_floor:
            cases["floor_apiclient" + suffix] = (gc_state, "floor_apiclient", kubeconfig)
        cases["collect" + suffix] = (gc_state, "collect", str(ROOT), kubeconfig)
        if args.before:
            cases["before" + suffix] = (gc_state, "collect", str(Path(args.before).resolve()), kubeconfig)
    run_child(*cases[next(iter(cases))])  # warm-up: the server's caches, the page cache of the client's modules
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    for round_ in range(args.repeat):
        for name, case in cases.items():
            server0 = sum(_process_cpu(pid) for pid in servers)
            answer = run_child(*case)
            answer["server_cpu"] = round(sum(_process_cpu(pid) for pid in servers) - server0, 2)
            answer["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
            runs[name].append(answer)
            print(json.dumps({"round": round_, name: answer}), flush=True)
    results: dict[str, Any] = {}
    if args.repeat < 1:
        return results
    for name, case_runs in runs.items():
        results[name] = summary(case_runs)
        results[name + "_runs"] = case_runs
    results["ratios"] = {}
    for name in cases:
        floor = "floor_gc_off" if name.endswith("_gc_off") else "floor"
        if name.startswith("floor_apiclient"):
            floor = "floor_apiclient_gc_off" if name.endswith("_gc_off") else "floor_apiclient"
            for other in ("collect", "before"):
                target = other + ("_gc_off" if name.endswith("_gc_off") else "")
                if target in results:
                    results["ratios"][f"{floor}/{target}"] = round(
                        results[floor]["seconds"] / results[target]["seconds"], 3
                    )
        elif not name.startswith("floor"):
            results["ratios"][f"{floor}/{name}"] = round(results[floor]["seconds"] / results[name]["seconds"], 3)
            results["ratios"][f"cpu {floor}/{name}"] = round(results[floor]["cpu"] / results[name]["cpu"], 3)
    for name in cases:
        print(json.dumps({name: results[name]}), flush=True)
    print(json.dumps({"ratios": results["ratios"]}), flush=True)
    return results


def main() -> None:
    """Command line (see the module docstring)."""
    if len(sys.argv) > 3 and sys.argv[1] == "child":
        sys.path.insert(0, str(ROOT))
        gc_off, mode, rest = sys.argv[2] == "off", sys.argv[3], sys.argv[4:]
        if mode == "collect":
            answer = child_collect(rest[0], rest[1], gc_off)
        else:
            answer = child_floor(rest[0], gc_off, low_level=mode == "floor_apiclient")
        print(json.dumps(answer))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="another checkout whose PLUGIN.collect is measured as 'before'")
    parser.add_argument(
        "--gc",
        choices=["on", "off", "both"],
        default="both",
        help="the cyclic garbage collector during the runs (the engine pauses it while collecting)",
    )
    parser.add_argument(
        "--apiclient-floor",
        action="store_true",
        help="also the floor through ApiClient.call_api (no generated API classes), as the collector",
    )
    parser.add_argument("--threads", type=int, default=8, help="threads creating objects (setup only)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--hold", action="store_true", help="keep the cluster up after measuring (Ctrl-C or TERM ends)")
    parser.add_argument("--kubeconfig", help="measure a cluster already loaded (e.g. one kept by --hold)")
    parser.add_argument("--server-pids", default="", help="with --kubeconfig: kube-apiserver,etcd PIDs")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # TERM stops the servers like Ctrl-C
    results: dict[str, Any] = {"load_before": os.getloadavg()}
    if args.kubeconfig:
        pids = [int(p) for p in args.server_pids.split(",") if p]
        results.update(measure(args.kubeconfig, pids, args))
    else:
        from tests.kubernetes.real_cluster import install_scanner
        from tests.services.kubeapi_real import control_plane

        with control_plane() as cluster, tempfile.TemporaryDirectory(prefix="sovscan-live-bench-") as work:
            install_scanner(cluster)
            results["setup"] = load(cluster, args.objects, args.threads)
            print(json.dumps({"setup": results["setup"]}), flush=True)
            path = Path(work) / "kubeconfig"
            kubeconfig = str(cluster.service_account_kubeconfig(path, "sovscan", "sovscan", CONTEXT))
            servers = [p.popen.pid for p in cluster.processes if p.name in ("kube-apiserver", "etcd")]
            results.update(measure(kubeconfig, servers, args))
            if args.hold:
                print(json.dumps({"kubeconfig": kubeconfig, "server_pids": servers}), flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    while True:
                        time.sleep(3600)
    results["load_after"] = os.getloadavg()
    print(json.dumps({"load_before": results["load_before"], "load_after": results["load_after"]}), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
