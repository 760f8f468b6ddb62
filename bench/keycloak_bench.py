"""Collection time of a large Keycloak realm: 2,000 clients and 10,000 users (real server).

Starts Keycloak 26.7.3 with tests/services/keycloak.py (start-dev), creates the realm `bench` and
fills it through the admin API's partial import in batches (one import of 10,000 users at start
runs past Keycloak's transaction timeout on a small machine), creates the view-only `sovscan`
reader with examples/keycloak/setup-sovscan-reader.sh, collects the realm `bench` with sovscan's
collector N times and prints JSON: seconds, HTTP requests (also counted from Keycloak's access
log), evidence size. No test asserts a time.

    .venv/bin/python bench/keycloak_bench.py [--clients 2000] [--users 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checks.keycloak.plugin import PLUGIN  # noqa: E402
from scanner import evidence as evidence_io  # noqa: E402
from scanner.interface import Secret  # noqa: E402
from tests.services.keycloak import apply_reader_setup, start_keycloak  # noqa: E402


def bench_realm(clients: int, users: int) -> dict[str, Any]:
    """A realm with `clients` confidential clients (every 50th with a service account, every 10th
    public), `users` users (every 500th in group `admins`, which holds realm-admin)."""
    return {
        "realm": "bench",
        "enabled": True,
        "groups": [{"name": "admins", "path": "/admins", "clientRoles": {"realm-management": ["realm-admin"]}}],
        "clients": [
            {
                "clientId": f"app-{i:05d}",
                "enabled": True,
                "publicClient": i % 10 == 0,
                "serviceAccountsEnabled": i % 50 == 5,
                "standardFlowEnabled": True,
                "redirectUris": [f"https://app-{i:05d}.example.com/callback"],
                "webOrigins": [f"https://app-{i:05d}.example.com"],
                "attributes": {"pkce.code.challenge.method": "S256"} if i % 3 else {},
            }
            for i in range(clients)
        ],
        "users": [
            {
                "username": f"user-{i:06d}",
                "enabled": True,
                "email": f"user-{i:06d}@example.com",
                **({"groups": ["/admins"]} if i % 500 == 0 else {}),
            }
            for i in range(users)
        ],
    }


def main() -> None:
    """Run the benchmark and print its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sovscan-kc-bench-"))
    started = time.monotonic()
    server = start_keycloak({}, base)
    try:
        startup = time.monotonic() - started
        realm = bench_realm(args.clients, args.users)
        t_fill = time.monotonic()
        token = server.admin_token()
        server.admin(
            "POST", "/admin/realms", {"realm": "bench", "enabled": True, "groups": realm["groups"]}, token=token
        )
        for key, batch in (("clients", 250), ("users", 500)):
            items = realm[key]
            for first in range(0, len(items), batch):
                token = server.admin_token()
                server.admin(
                    "POST",
                    "bench/partialImport",
                    {"ifResourceExists": "SKIP", key: items[first : first + batch]},
                    token=token,
                )
        fill = time.monotonic() - t_fill
        secret = apply_reader_setup(server, ("master", "bench"))
        target = PLUGIN.parse_target(server.url)
        target = replace(target, options={"client_id": "sovscan", "realms": ["bench"]})
        runs = []
        for _ in range(args.repeat):
            before = len(server.access_log())
            t0 = time.monotonic()
            evidence = PLUGIN.collect(target, {"client_secret": Secret(secret)}, 600)
            seconds = time.monotonic() - t0
            server.wait_log_quiet(before + int(evidence.metadata["requests"]))
            log = server.access_log()[before:]
            size = len(json.dumps(evidence_io.to_document(evidence)))
            runs.append(
                {
                    "seconds": round(seconds, 2),
                    "requests": evidence.metadata["requests"],
                    "access_log_requests": len(log),
                    "non_get": sorted({f"{m} {p}" for m, p, _s in log if m != "GET"}),
                    "evidence_bytes": size,
                    "clients": len(evidence.sections["clients"]["by_realm"]["bench"]),
                    "users_count": evidence.sections["users"]["by_realm"]["bench"]["count"],
                    "errors": evidence.errors,
                }
            )
        summary = {
            "clients": args.clients,
            "users": args.users,
            "startup_s": round(startup, 1),
            "fill_s": round(fill, 1),
        }
        print(json.dumps({**summary, "runs": runs}, indent=1))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
