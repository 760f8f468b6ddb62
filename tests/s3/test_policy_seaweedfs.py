"""The policy evaluator against a real SeaweedFS: not an oracle of equality, a check of soundness.

SeaweedFS's bucket-policy semantics differ from MinIO's and AWS's in ways recorded here (measured
with the generated policies of test_policy_differential.py): it refuses most generated policies
that MinIO accepts, matches action names case-sensitively (so a Deny on `s3:getobject` does not
deny `s3:GetObject`), and never lets an anonymous caller write or delete through a bucket policy.
sovscan evaluates non-MinIO stores with the `conservative` dialect; this test proves it never
under-reports: whenever SeaweedFS lets an anonymous request through, the exposure question
("is any such anonymous request allowed?") answers yes. SeaweedFS also treats a Principal pattern
such as `?` as matching anonymous callers, and sets condition keys such as aws:principaltype
differently from MinIO; the conservative dialect leaves those keys free.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Iterator

import pytest
import urllib3
from minio.error import S3Error

from checks.s3 import policy as pol
from tests.s3.test_policy_differential import BUCKET, PROBES, USER_AGENT, generate
from tests.services.seaweedfs import SeaweedServer, start_seaweedfs

CASES = 300
READ = {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"]}
RESOURCES = [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]
HAND_WRITTEN: list[dict[str, object]] = [
    {**READ, "Resource": RESOURCES},
    {**READ, "Principal": {"AWS": ["?"]}, "Resource": RESOURCES},
    {**READ, "Principal": {"AWS": "*"}, "Resource": [f"arn:aws:s3:::{BUCKET}/pub/*", f"arn:aws:s3:::{BUCKET}"]},
    {**READ, "Resource": RESOURCES, "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8"]}}},
    {**READ, "Resource": RESOURCES, "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}},
    {**READ, "Action": ["s3:Get*", "s3:List*"], "Resource": RESOURCES},
    {**READ, "Action": ["s3:*"], "Resource": RESOURCES},
]
"""Policies that do grant anonymous access, so that the implication is tested on real allows."""


@pytest.fixture(scope="module")
def weed_oracle() -> Iterator[SeaweedServer]:
    server = start_seaweedfs()
    try:
        client = server.client()
        for _ in range(60):
            try:
                client.make_bucket(BUCKET)
                break
            except S3Error:
                time.sleep(0.5)
        for key in ("pub/a.txt", "other.bin"):
            client.put_object(BUCKET, key, io.BytesIO(b"data"), 4)
        yield server
    finally:
        server.stop()


def test_conservative_evaluation_never_under_reports_seaweedfs(weed_oracle: SeaweedServer) -> None:
    rng = random.Random(20261202)
    client = weed_oracle.client()
    http = urllib3.PoolManager(retries=False)
    accepted = server_allowed = over = 0
    missed: list[str] = []
    documents = [{"Version": "2012-10-17", "Statement": [s]} for s in HAND_WRITTEN]
    documents += [generate(rng, bucket_policy=True) for _ in range(CASES)]
    for case, document in enumerate(documents):
        try:
            client.set_bucket_policy(BUCKET, json.dumps(document))
        except S3Error:
            continue
        accepted += 1
        parsed = pol.parse_policy(document, "bucket")
        for probe in PROBES:
            if probe.action == "s3:ListBucket":
                query = "list-type=2" + (f"&prefix={probe.prefix}" if probe.prefix is not None else "")
                url = f"{weed_oracle.url}/{BUCKET}?{query}"
            else:
                url = f"{weed_oracle.url}/{BUCKET}/{probe.key}"
            body = b"x" if probe.method == "PUT" else None
            status = http.request(probe.method, url, body=body, headers={"User-Agent": USER_AGENT}).status
            allows = status in (200, 204)
            # the question sovscan asks of a non-MinIO store: is *any* such anonymous request allowed?
            ours = pol.exposure(parsed, [probe.action], BUCKET, dialect="conservative").allowed
            server_allowed += allows
            over += ours and not allows
            if allows and not ours:
                missed.append(
                    f"case {case}: SeaweedFS HTTP {status} for {probe}, evaluator denies\n{json.dumps(document)}"
                )
    assert not missed, "\n".join(missed[:5])
    assert accepted >= 10 and server_allowed >= 10, (accepted, server_allowed)
    assert over >= 1  # the known differences (anonymous writes) show up as over-approximation, not silence
