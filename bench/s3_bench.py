"""Collect a MinIO store with many buckets at several concurrency settings (not a test: nothing is asserted).

    .venv/bin/python bench/s3_bench.py --buckets 2000 --concurrency 1,4,8,16 --out bench/s3-results.json

Starts one plain-HTTP MinIO (tests/services/minio.py) on a free loopback port, creates the buckets
with 16 threads (every tenth with an anonymous-read bucket policy, every fifth versioned), then runs
`PLUGIN.collect` once per concurrency setting with the root credential (the admin sections are read
too) and records the wall time (about 2 + 11 requests per bucket: region, 8 getters, 2 anonymous
probes) and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checks.s3.plugin import PLUGIN  # noqa: E402
from scanner.interface import Secret  # noqa: E402
from tests.services import minio  # noqa: E402

PUBLIC = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},'
    '"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}'
)


def populate(server: minio.MinioServer, count: int) -> float:
    """Create `count` buckets; return the seconds it took."""
    from minio.commonconfig import ENABLED
    from minio.versioningconfig import VersioningConfig

    client = server.client()
    started = time.monotonic()

    def make(index: int) -> None:
        name = f"bench-{index:05d}"
        client.make_bucket(name)
        if index % 10 == 0:
            client.set_bucket_policy(name, PUBLIC % name)
        if index % 5 == 0:
            client.set_bucket_versioning(name, VersioningConfig(ENABLED))

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(make, range(count)))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,4,8,16")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "s3-results.json")
    args = parser.parse_args()
    server = minio._start("bench", secure=False, root_user="bench-root", root_password=secrets.token_hex(16), env={})
    results: dict[str, object] = {"buckets": args.buckets, "runs": []}
    try:
        server.wait_initialised()
        results["populate_s"] = round(populate(server, args.buckets), 1)
        for level in (int(x) for x in args.concurrency.split(",")):
            target = PLUGIN.parse_target(f"{server.url}?concurrency={level}&anonymous_probe=true")
            started = time.monotonic()
            evidence = PLUGIN.collect(
                target, {"access_key": Secret(server.root_user), "secret_key": Secret(server.root_password)}, 3600
            )
            wall = time.monotonic() - started
            run = {
                "concurrency": level,
                "wall_s": round(wall, 2),
                "buckets_per_s": round(args.buckets / wall, 1),
                "section_errors": sorted(evidence.errors),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
            print(json.dumps(run), flush=True)
            results["runs"].append(run)  # type: ignore[attr-defined]
    finally:
        server.stop()
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
