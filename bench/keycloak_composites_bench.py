"""A/B cost of following every client's composite roles in the Keycloak collector (real server).

Starts Keycloak with tests/services/keycloak.py, fills realm `bench` with N clients (each with one
plain client role; every 100th client's role a composite) and a few users, creates the view-only
reader, then collects the realm alternately with the collector of git revision BASE (before the
composite closure: only the admin client's roles were read) and with the working tree's, R times
each, interleaved (A, B, A, B ...). Prints JSON: per run seconds, the collecting process's CPU time
(user+sys of this process, the collector runs in it), HTTP requests; and the medians. No test
asserts a time.

    .venv/bin/python bench/keycloak_composites_bench.py [--clients 2000] [--repeat 3] [--base 34398ed]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checks.keycloak import collect as current  # noqa: E402
from checks.keycloak.plugin import PLUGIN  # noqa: E402
from scanner.interface import Secret  # noqa: E402
from tests.services.keycloak import apply_reader_setup, start_keycloak  # noqa: E402


def _old_collector(revision: str) -> types.ModuleType:
    """The collector module as it was at `revision` (its imports resolve to today's helpers)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:checks/keycloak/collect.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    spec = importlib.util.spec_from_loader("sovscan_bench_old_collect", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{revision}:checks/keycloak/collect.py", "exec"), module.__dict__)  # noqa: S102
    return module


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Run the benchmark and print its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", default="34398ed")
    args = parser.parse_args()
    old = _old_collector(args.base)
    base = Path(tempfile.mkdtemp(prefix="sovscan-kc-cbench-"))
    server = start_keycloak({}, base)
    try:
        token = server.admin_token()
        server.admin("POST", "/admin/realms", {"realm": "bench", "enabled": True}, token=token)
        clients: list[dict[str, Any]] = [
            {"clientId": f"app-{i:05d}", "enabled": True, "publicClient": False} for i in range(args.clients)
        ]
        roles: dict[str, list[dict[str, Any]]] = {
            f"app-{i:05d}": [
                {"name": "user"}
                if i % 100
                else {"name": "user", "composite": True, "composites": {"realm": ["offline_access"]}}
            ]
            for i in range(args.clients)
        }
        for first in range(0, len(clients), 250):
            batch = clients[first : first + 250]
            server.admin(
                "POST",
                "bench/partialImport",
                {
                    "ifResourceExists": "SKIP",
                    "clients": batch,
                    "roles": {"client": {c["clientId"]: roles[c["clientId"]] for c in batch}},
                },
                token=server.admin_token(),
            )
        secret = apply_reader_setup(server, ("master", "bench"))
        target = replace(PLUGIN.parse_target(server.url), options={"client_id": "sovscan", "realms": ["bench"]})
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(args.repeat):
            for label, module in (("before", old), ("after", current)):
                t0, c0 = time.monotonic(), _cpu()
                evidence = module.collect(target, {"client_secret": Secret(secret)}, 900)
                runs[label].append(
                    {
                        "seconds": round(time.monotonic() - t0, 2),
                        "cpu_s": round(_cpu() - c0, 2),
                        "requests": evidence.metadata["requests"],
                        "errors": sorted(evidence.errors),
                    }
                )
        medians = {
            label: {key: statistics.median(r[key] for r in items) for key in ("seconds", "cpu_s", "requests")}
            for label, items in runs.items()
        }
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(json.dumps({"clients": args.clients, "loadavg": load, "medians": medians, "runs": runs}, indent=1))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
