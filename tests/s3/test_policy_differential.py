"""Differential test: the policy evaluator against the real MinIO server.

For seeded, bounded, generated bucket policies (and IAM policies of a user), every request's
verdict from `checks.s3.policy.evaluate` must equal what MinIO does with the same request: the
HTTP status of a real anonymous GET / PUT / LIST / DELETE sent without a signature, and of the
same calls signed by the user `diffuser`. MinIO refuses some generated policies (for example an
object action on a bucket-only resource); those are skipped and counted, and the test requires
that most are accepted. The seed is printed with every mismatch (set SOVSCAN_DIFF_SEED to replay).
"""

from __future__ import annotations

import io
import json
import os
import random
from dataclasses import dataclass
from typing import Any

import pytest
import urllib3
from minio import Minio
from minio.error import S3Error

from checks.s3 import policy as pol
from tests.services.minio import MinioServer

SEED = int(os.environ.get("SOVSCAN_DIFF_SEED", "20261201"))
BUCKET = "oracle"
USER_AGENT = "sovscan-differential"
ANON_CASES = 260
IAM_CASES = 120

PRINCIPALS: list[Any] = ["*", {"AWS": "*"}, {"AWS": ["*"]}, {"AWS": ["diffuser"]}, {"AWS": ["?"]}, {"AWS": ["a*"]}]
ACTIONS = [
    "s3:GetObject", "s3:Get*", "s3:*", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:getobject",
    "s3:GetObjectVersion", "s3:List*", "s3:*Object", "s3:?etObject", "s3:ListBucketVersions", "*",
]  # fmt: skip
RESOURCES = [
    f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*", f"arn:aws:s3:::{BUCKET}/pub/*",
    f"arn:aws:s3:::{BUCKET}/pub/?.txt", "arn:aws:s3:::orac*", f"arn:aws:s3:::{BUCKET}/*.txt", "arn:aws:s3:::*",
    f"arn:aws:s3:::{BUCKET}*", f"arn:aws:s3:::{BUCKET}/pub/${{aws:username}}/*",
]  # fmt: skip


def _condition(rng: random.Random, anonymous: bool) -> dict[str, dict[str, Any]]:
    inside = ["127.0.0.0/8", "10.0.0.0/8", "127.0.0.1", "::1/128", "0.0.0.0/0", "127.0.0.2/32"]
    outside = ["127.0.0.0/8", "10.0.0.0/8", "127.0.0.1", "192.168.0.0/16"]
    string_op = rng.choice(["StringEquals", "StringNotEquals", "StringLike", "StringNotLike"])
    set_op = rng.choice(["ForAnyValue:StringEquals", "ForAllValues:StringEquals", "ForAnyValue:StringLike"])
    choices: list[tuple[str, str, Any]] = [
        ("Bool", "aws:SecureTransport", rng.choice(["true", "false", "TRUE", True, False])),
        ("IpAddress", "aws:SourceIp", rng.sample(inside, rng.randint(1, 2))),
        ("NotIpAddress", "aws:SourceIp", rng.sample(outside, rng.randint(1, 2))),
        (string_op, "s3:prefix", rng.sample(["pub/", "pub*", "", "other/"], rng.randint(1, 2))),
        ("Null", "s3:prefix", rng.choice(["true", "false"])),
        (set_op, "s3:prefix", ["pub/", "pu*"]),
        (rng.choice(["StringEquals", "StringNotEquals"]), "aws:username", ["diffuser"]),
        (
            rng.choice(["StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"]),
            "aws:principaltype",
            ["anonymous", "USER"],
        ),
    ]
    if anonymous:
        agent = rng.choice([USER_AGENT, "sovscan-*", "other"])
        choices += [
            (rng.choice(["StringEquals", "StringLike"]), "aws:UserAgent", [agent]),
            ("StringLike", "aws:Referer", ["*example*"]),
            ("Null", "aws:Referer", rng.choice(["true", "false"])),
        ]
    block: dict[str, dict[str, Any]] = {}
    for operator, key, values in rng.sample(choices, rng.randint(1, 2)):
        block.setdefault(operator, {})[key] = values
    return block


OBJECT_ACTIONS = ["s3:GetObject", "s3:Get*", "s3:*Object", "s3:?etObject", "s3:PutObject", "s3:DeleteObject",
                  "s3:GetObjectVersion", "s3:*", "*"]  # fmt: skip
OBJECT_RESOURCES = [r for r in RESOURCES if r not in (f"arn:aws:s3:::{BUCKET}",)]
LIST_ACTIONS = ["s3:ListBucket", "s3:List*", "s3:ListBucketVersions", "s3:getobject"]
LIST_RESOURCES = [f"arn:aws:s3:::{BUCKET}", "arn:aws:s3:::orac*", f"arn:aws:s3:::{BUCKET}*", "arn:aws:s3:::*"]


def generate(rng: random.Random, *, bucket_policy: bool) -> dict[str, Any]:
    """One policy of 1-3 statements from the bounded grammar above.

    Most statements are coherent (object actions on object resources, list actions on the bucket, the
    `s3:prefix` key only with list actions) because MinIO refuses the others; a fifth mixes freely.
    MinIO 2026-02 cannot store a bucket-policy statement with NotAction (it fails marshalling the empty
    Action set: HTTP 500), so bucket policies use NotAction only in that free fifth.
    """
    statements = []
    for _ in range(rng.randint(1, 3)):
        statement: dict[str, Any] = {"Effect": rng.choice(["Allow", "Allow", "Deny"])}
        if bucket_policy:
            statement["Principal"] = rng.choice(PRINCIPALS)
        family = rng.choice(["object", "object", "list", "free"])
        actions, resources = {
            "object": (OBJECT_ACTIONS, OBJECT_RESOURCES),
            "list": (LIST_ACTIONS, LIST_RESOURCES),
            "free": (ACTIONS, RESOURCES),
        }[family]
        not_action = rng.random() < (0.15 if family == "free" or not bucket_policy else 0.0)
        statement["NotAction" if not_action else "Action"] = rng.sample(actions, rng.randint(1, 3))
        statement["NotResource" if rng.random() < 0.1 else "Resource"] = rng.sample(resources, rng.randint(1, 2))
        if rng.random() < 0.6:
            block = _condition(rng, bucket_policy)
            if family == "object":
                block = {op: {k: v for k, v in keys.items() if k != "s3:prefix"} for op, keys in block.items()}
                block = {op: keys for op, keys in block.items() if keys}
            if block:
                statement["Condition"] = block
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass(frozen=True)
class Probe:
    """One request: action, key, prefix (for LIST), and how to send it."""

    action: str
    method: str
    key: str = ""
    prefix: str | None = None


PROBES = [
    Probe("s3:GetObject", "GET", "pub/a.txt"),
    Probe("s3:GetObject", "GET", "other.bin"),
    Probe("s3:ListBucket", "GET", prefix="pub/"),
    Probe("s3:ListBucket", "GET", prefix=None),
    Probe("s3:PutObject", "PUT", "pub/put.txt"),
    Probe("s3:DeleteObject", "DELETE", "absent.txt"),
]


def anonymous_context(probe: Probe) -> dict[str, tuple[str, ...]]:
    """The condition values MinIO builds for our unsigned request (cmd/bucket-policy.go getConditionValues)."""
    context: dict[str, tuple[str, ...]] = {
        "SecureTransport": ("false",),
        "SourceIp": ("127.0.0.1",),
        "UserAgent": (USER_AGENT,),
        "Referer": ("",),
        "principaltype": ("Anonymous",),
        "userid": ("",),
        "username": ("",),
        "versionid": ("",),
        "signatureversion": ("",),
        "authType": ("",),
    }
    if probe.action == "s3:ListBucket":
        context["list-type"] = ("2",)
        if probe.prefix is not None:
            context["prefix"] = (probe.prefix,)
    return context


def user_context(probe: Probe) -> dict[str, tuple[str, ...]]:
    """The condition values MinIO builds for the user's signed request (as minio-py sends it)."""
    context: dict[str, tuple[str, ...]] = {
        "SecureTransport": ("false",),
        "SourceIp": ("127.0.0.1",),
        "principaltype": ("User",),
        "userid": ("diffuser",),
        "username": ("diffuser",),
        "versionid": ("",),
        "signatureversion": ("AWS4-HMAC-SHA256",),
        "authType": ("REST-HEADER",),
    }
    if probe.action == "s3:ListBucket":
        context["list-type"] = ("2",)
        context["prefix"] = (probe.prefix or "",)
    return context


def anonymous_status(http: urllib3.PoolManager, server: MinioServer, probe: Probe) -> int:
    """Send the probe unsigned and return the status."""
    if probe.action == "s3:ListBucket":
        query = "list-type=2" + (f"&prefix={probe.prefix}" if probe.prefix is not None else "")
        url = f"{server.url}/{BUCKET}?{query}"
    else:
        url = f"{server.url}/{BUCKET}/{probe.key}"
    body = b"x" if probe.method == "PUT" else None
    response = http.request(probe.method, url, body=body, headers={"User-Agent": USER_AGENT}, redirect=False)
    return int(response.status)


def user_allowed(client: Minio, probe: Probe) -> bool:
    """Send the probe signed by the user; True when MinIO let it through."""
    try:
        if probe.action == "s3:GetObject":
            client.get_object(BUCKET, probe.key).close()
        elif probe.action == "s3:ListBucket":
            list(client.list_objects(BUCKET, prefix=probe.prefix or "", recursive=True))
        elif probe.action == "s3:PutObject":
            client.put_object(BUCKET, probe.key, io.BytesIO(b"x"), 1)
        else:
            client.remove_object(BUCKET, probe.key)
    except S3Error as exc:
        if exc.code == "AccessDenied":
            return False
        raise
    return True


def _mismatch(seed: int, case: int, document: Any, probe: Probe, ours: pol.Evaluation, server: str) -> str:
    return (
        f"seed {seed} case {case}: MinIO says {server}, the evaluator says {ours.decision.value} "
        f"({ours.statements}) for {probe}\npolicy: {json.dumps(document)}"
    )


@pytest.fixture(scope="module")
def oracle(minio_oracle: MinioServer) -> MinioServer:
    root = minio_oracle.client()
    for key in ("pub/a.txt", "other.bin"):
        root.put_object(BUCKET, key, io.BytesIO(b"data"), 4)
    return minio_oracle


def test_bucket_policies_match_minio(oracle: MinioServer) -> None:
    rng = random.Random(SEED)
    root = oracle.client()
    http = urllib3.PoolManager(retries=False)
    accepted = compared = allowed = 0
    mismatches: list[str] = []
    for case in range(ANON_CASES):
        document = generate(rng, bucket_policy=True)
        try:
            root.set_bucket_policy(BUCKET, json.dumps(document))
        except S3Error:
            continue  # MinIO refused the policy: nothing to compare
        accepted += 1
        parsed = pol.parse_policy(document, "bucket")
        for probe in PROBES:
            status = anonymous_status(http, oracle, probe)
            assert status in (200, 204, 403), f"seed {SEED} case {case}: unexpected HTTP {status} for {probe}"
            request = pol.Request(probe.action, BUCKET, probe.key, None, anonymous_context(probe))
            ours = pol.evaluate(parsed, request, "minio")
            compared += 1
            allowed += status != 403
            if ours.allowed != (status != 403):
                mismatches.append(_mismatch(SEED, case, document, probe, ours, f"HTTP {status}"))
    root.delete_bucket_policy(BUCKET)
    assert not mismatches, f"{len(mismatches)} of {compared} verdicts differ:\n" + "\n".join(mismatches[:10])
    assert accepted >= ANON_CASES // 3, f"seed {SEED}: MinIO accepted only {accepted} of {ANON_CASES} policies"
    # both outcomes occur often enough for the comparison to mean something
    assert compared * 0.1 < allowed < compared * 0.9, (compared, allowed)


def test_iam_policies_match_minio(oracle: MinioServer) -> None:
    rng = random.Random(SEED + 1)
    admin = oracle.admin()
    client = oracle.client("diffuser", oracle.users["diffuser"])
    client = Minio(
        oracle.endpoint,
        access_key="diffuser",
        secret_key=oracle.users["diffuser"],
        secure=False,
        region="us-east-1",
        http_client=urllib3.PoolManager(retries=False),
    )
    attached = False
    accepted = compared = allowed = 0
    mismatches: list[str] = []
    for case in range(IAM_CASES):
        document = generate(rng, bucket_policy=False)
        try:
            admin.policy_add("diffpolicy", policy=document)
        except Exception:  # noqa: S112 - MinIO refused the policy (HTTP 400): nothing to compare
            continue
        if not attached:
            admin.attach_policy(["diffpolicy"], user="diffuser")
            attached = True
        accepted += 1
        parsed = pol.parse_policy(document, "iam")
        for probe in PROBES:
            server_allows = user_allowed(client, probe)
            request = pol.Request(probe.action, BUCKET, probe.key, "diffuser", user_context(probe))
            ours = pol.evaluate(parsed, request, "minio")
            compared += 1
            allowed += server_allows
            if ours.allowed != server_allows:
                verdict = "allow" if server_allows else "AccessDenied"
                mismatches.append(_mismatch(SEED + 1, case, document, probe, ours, verdict))
    assert not mismatches, f"{len(mismatches)} of {compared} verdicts differ:\n" + "\n".join(mismatches[:10])
    assert accepted >= IAM_CASES // 3, f"seed {SEED + 1}: MinIO accepted only {accepted} of {IAM_CASES} policies"
    assert compared * 0.1 < allowed < compared * 0.9, (compared, allowed)
