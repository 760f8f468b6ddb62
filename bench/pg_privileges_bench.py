"""Benchmark: the PostgreSQL privilege model (PG-09, PG-12) on large generated role graphs.

    .venv/bin/python bench/pg_privileges_bench.py --roles 100,1000,5000

Builds evidence with N roles (a tenth of them groups; each role a member of up to three
groups, some of them of predefined roles or attribute-holding groups) and one database with
N/10 SECURITY DEFINER functions over N/20 schemas, then times PG-09 and PG-12 through the
engine as a scan evaluates them. Prints one JSON line per size. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.model import Evidence
from scanner.plugins import discover


def evidence(n: int, seed: int = 42) -> Evidence:
    rng = random.Random(seed)
    groups = [f"g{i}" for i in range(max(1, n // 10))]
    roles = []
    grants = []
    for i in range(n):
        name = groups[i] if i < len(groups) else f"r{i}"
        roles.append({"rolname": name, "rolsuper": i == 0, "rolinherit": rng.random() < 0.8,
                      "rolcreaterole": False, "rolcreatedb": i % 97 == 1, "rolcanlogin": i >= len(groups),
                      "rolreplication": False, "rolbypassrls": False, "rolconnlimit": 5, "rolvaliduntil": None,
                      "member_of": []})  # fmt: skip
        pool = groups[:i] if i < len(groups) else groups
        for group in rng.sample(pool, min(len(pool), rng.randint(0, 3))):
            grants.append({"role": group, "member": name, "admin_option": False,
                           "inherit_option": None, "set_option": None})  # fmt: skip
    for group in rng.sample(groups, min(len(groups), 5)):
        grants.append({"role": "pg_read_all_data", "member": group, "admin_option": False,
                       "inherit_option": None, "set_option": None})  # fmt: skip
    roles.append({**roles[1], "rolname": "pg_read_all_data", "rolcanlogin": False, "rolcreatedb": False})
    schemas = [{"name": f"s{i}", "owner": rng.choice(groups), "acl": None} for i in range(max(1, n // 20))]
    schemas.append({"name": "pg_catalog", "owner": "g0", "acl": None})
    functions = [{"schema": "s0", "name": f"f{i}", "args": "", "signature": f"s0.f{i}()", "owner": "g0",
                  "language": "sql", "search_path": f"{rng.choice(schemas)['name']}, pg_temp",
                  "config_keys": ["search_path"], "extension": None} for i in range(max(1, n // 10))]  # fmt: skip
    database: dict[str, Any] = {"name": "appdb", "owner": "g0", "scanned": True, "skipped": None, "error": None,
                                "errors": {}, "schemas": schemas, "secdef_functions": functions}  # fmt: skip
    sections = {"roles": roles, "memberships": {"server_version_num": 150018, "grants": grants},
                "databases": [database]}  # fmt: skip
    return Evidence(target="bench", kind="postgres", uri="postgres://bench:5432", sections=sections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", default="100,1000,5000")
    args = parser.parse_args()
    registry = discover()
    controls = {c.id: c for c in BaselineLibrary(registry).load("postgres").controls}
    for n in (int(v) for v in args.roles.split(",")):
        ev = evidence(n)
        grants = len(ev.sections["memberships"]["grants"])
        for control_id in ("PG-09", "PG-12"):
            started = time.perf_counter()
            findings = engine.evaluate_control(controls[control_id], ev, registry)
            elapsed = time.perf_counter() - started
            print(json.dumps({"control": control_id, "roles": n, "grants": grants, "findings": len(findings),
                              "seconds": round(elapsed, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
