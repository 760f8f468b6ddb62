#!/usr/bin/env python3
"""Time BAO-13's ACL analysis (checks.openbao.acl.policy_reaches) on seeded synthetic policies.

Usage: .venv/bin/python bench/openbao_acl_bench.py [--sizes 10,50,200,1000] [--seed 1]

Each policy has N rules drawn from a small segment alphabet (literals, `+`, trailing `*`),
all granting read and update, so many rules reach sensitive families; the sensitive families
and broad paths are the shipped baseline's. Prints seconds per policy. Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checks.openbao.acl import Sensitive, policy_reaches  # noqa: E402
from checks.openbao.policy import parse_blocks  # noqa: E402

SEGMENTS = ["secret", "data", "app", "team", "+", "sys", "auth", "kv", "db", "identity", "policies", "acl"]


def sensitive_items() -> list[Sensitive]:
    """The BAO-13 parameters of the shipped baseline, as the check builds them."""
    baseline = yaml.safe_load((ROOT / "baselines" / "openbao.yaml").read_text())
    params = next(c for c in baseline["controls"] if c["id"] == "BAO-13")["params"]
    risky = frozenset(params["capabilities"])
    items = [Sensitive(path=p, capabilities=risky, generic=True) for p in params["paths"]]
    items += [
        Sensitive(path=e["path"], capabilities=frozenset(e["capabilities"]), generic=e.get("generic", False))
        for e in params["sensitive"]
    ]
    return items


def policy(rng: random.Random, size: int) -> str:
    """A synthetic policy of `size` rules."""
    rules = []
    for _ in range(size):
        path = "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 5))) + rng.choice(["", "/*", "*"])
        rules.append(f'path "{path.replace("+*", "+/*")}" {{ capabilities = ["read", "update"] }}')
    return "\n".join(rules)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,50,200,1000")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    items = sensitive_items()
    rng = random.Random(args.seed)
    print(f"{len(items)} sensitive families; seed {args.seed}")
    for size in (int(s) for s in args.sizes.split(",")):
        blocks = parse_blocks(policy(rng, size))
        started = time.perf_counter()
        found = policy_reaches(blocks, items)
        print(f"{size:5d} rules: {time.perf_counter() - started:7.3f} s, {len(found)} reaching grants")


if __name__ == "__main__":
    main()
