"""The collector and the baseline against real MinIO and SeaweedFS servers (tests/services/minio.py, seaweedfs.py)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from checks.s3.contract import CONTRACT
from checks.s3.plugin import ALL_SECTIONS, PLUGIN
from scanner.errors import CollectionError
from scanner.model import Evidence, Status
from tests.s3.conftest import Evaluate, creds, statuses, target_for
from tests.services.minio import SCANNER_POLICY, MinioServer, socket_closed_port
from tests.services.seaweedfs import SeaweedServer

CONFIG_CONTROLS = {"S3-02", "S3-13"}
"""Controls that need MinIO's configuration (admin:ConfigUpdate, option read_config)."""
READ_ONLY_API = re.compile(r"^(Get|List|Head|Info|ServerInfo|KMSKeyStatus|AccountInfo)")
"""MinIO audit API names of calls that change nothing."""


def report(results: dict[str, Any]) -> str:
    return json.dumps({c: {p: (f.status.value, f.message) for p, f in r.items()} for c, r in results.items()}, indent=1)


def validate_contract(evidence: Evidence) -> None:
    """Every section the collector produced matches the contract."""
    assert set(evidence.sections) <= set(CONTRACT) == set(ALL_SECTIONS)
    for name, data in evidence.sections.items():
        jsonschema.validate(data, CONTRACT[name], cls=jsonschema.Draft202012Validator)


# -- hardened ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hardened_evidence(minio_hardened: MinioServer) -> Evidence:
    target = target_for(minio_hardened, default_credential_probe=True)
    return PLUGIN.collect(target, creds("scanner", minio_hardened.users["scanner"]), 60)


def test_hardened_server_passes(hardened_evidence: Evidence, evaluate: Evaluate) -> None:
    validate_contract(hardened_evidence)
    assert set(hardened_evidence.errors) == {"config", "root_access", "identity_providers"}
    assert "admin:ConfigUpdate" in hardened_evidence.errors["config"]
    assert "write action" in hardened_evidence.errors["config"]
    assert "insecure_transport" not in hardened_evidence.metadata
    results = evaluate(hardened_evidence)
    text = report(results)
    for control, findings in results.items():
        wanted = Status.ERROR if control in CONFIG_CONTROLS else Status.FAIL if control == "S3-07" else Status.PASS
        assert {f.status for f in findings.values()} == {wanted}, f"{control}:\n{text}"
    for control in CONFIG_CONTROLS:
        assert all("admin:ConfigUpdate" in f.message for f in results[control].values())
    assert "static key" in results["S3-07"]["kms"].message
    assert set(results["S3-06"]) == {"buckets/app-data", "buckets/backups"}
    assert statuses(results["S3-09"]) == {"buckets/backups": Status.PASS}  # by name (and tag)
    assert results["S3-01"]["users/root"].message.startswith("a login with minioadmin/minioadmin was refused")


def test_hardened_collection_only_reads(minio_hardened: MinioServer, hardened_evidence: Evidence) -> None:
    """MinIO's own audit log of the scan's requests (signed by `scanner`, or anonymous): every API is a read."""
    assert minio_hardened.audit is not None
    deadline = time.monotonic() + 20
    calls: list[tuple[str, str]] = []
    while time.monotonic() < deadline:
        calls = minio_hardened.audit.calls("scanner") + minio_hardened.audit.calls(None)
        names = {name for name, _path in calls}
        if {"ListBuckets", "ServerInfo", "ListAccessKeysBulk", "HeadObject"} <= names:
            break
        time.sleep(0.5)
    names = {name for name, _path in calls}
    assert {"ListBuckets", "GetBucketPolicy", "ServerInfo", "ListUsers", "ListObjectsV2", "HeadObject"} <= names, names
    assert any(path.startswith("/minio/admin/") for _name, path in calls)
    writes = sorted(name for name in names if not READ_ONLY_API.match(name))
    assert writes == [], f"non-read API calls by the scan: {writes}"
    # and the fixture's own setup calls, which do write, are recognised as writes
    assert {"PutBucketPolicy", "AddUser", "SetConfigKV"} <= {
        n for n, _ in minio_hardened.audit.calls(minio_hardened.root_user)
    }


def test_config_opt_in_without_the_grant_names_it(minio_hardened: MinioServer, evaluate: Evaluate) -> None:
    """The opt-in alone does not read the configuration: the scanner policy lacks admin:ConfigUpdate, and says so."""
    target = target_for(minio_hardened, read_config=True)
    evidence = PLUGIN.collect(target, creds("scanner", minio_hardened.users["scanner"]), 60)
    assert "needs admin:ConfigUpdate" in evidence.errors["config"]
    results = evaluate(evidence)
    assert {f.status for f in results["S3-02"].values()} == {Status.ERROR}


def test_tls_is_verified_by_default(minio_hardened: MinioServer) -> None:
    target = PLUGIN.parse_target(minio_hardened.url)  # no ca_cert: the test CA is unknown to the system
    with pytest.raises(CollectionError) as caught:
        PLUGIN.collect(target, creds("scanner", minio_hardened.users["scanner"]), 30)
    assert caught.value.reason == CollectionError.TLS
    skipped = replace(target, options={"tls_skip_verify": True})
    evidence = PLUGIN.collect(skipped, creds("scanner", minio_hardened.users["scanner"]), 60)
    assert evidence.metadata["insecure_transport"] == [
        "TLS verification disabled by option tls_skip_verify: the identity of the S3 endpoint was not verified"
    ]


def test_readonly_style_user_gets_errors_naming_the_actions(minio_hardened: MinioServer, evaluate: Evaluate) -> None:
    target = target_for(minio_hardened)
    evidence = PLUGIN.collect(target, creds("s3reader", minio_hardened.users["s3reader"]), 60)
    validate_contract(evidence)
    for section, action in {
        "admin_info": "admin:ServerInfo",
        "users": "admin:ListUsers",
        "groups": "admin:ListGroups",
        "policies": "admin:ListUserPolicies",
        "access_keys": "admin:ListServiceAccounts",
    }.items():
        assert f"needs {action}" in evidence.errors[section] or action in evidence.errors[section], section
        assert evidence.errors[section].startswith("permission denied"), evidence.errors[section]
    results = evaluate(evidence)
    for control in ("S3-07", "S3-12", "S3-14", "S3-15", "S3-16", "S3-18", "S3-19"):
        assert {f.status for f in results[control].values()} == {Status.ERROR}, report(results)
        assert all("permission denied" in f.message and "admin:" in f.message for f in results[control].values())
    # the S3 controls still work
    assert {f.status for f in results["S3-08"].values()} == {Status.PASS}


def test_minio_readonly_policy_gets_errors_naming_each_action(minio_hardened: MinioServer, evaluate: Evaluate) -> None:
    """MinIO's `readonly` (s3:GetBucketLocation, s3:GetObject): every bucket getter and admin call is refused."""
    evidence = PLUGIN.collect(target_for(minio_hardened), creds("viewer", minio_hardened.users["viewer"]), 60)
    validate_contract(evidence)
    assert evidence.sections["buckets"]["count"] == 2  # GetBucketLocation on * lets MinIO list every bucket
    for section, action in {
        "bucket_policy": "s3:GetBucketPolicy",
        "bucket_encryption": "s3:GetEncryptionConfiguration",
        "bucket_versioning": "s3:GetBucketVersioning",
        "bucket_tags": "s3:GetBucketTagging",
        "admin_info": "admin:ServerInfo",
    }.items():
        assert evidence.errors[section].startswith("permission denied"), evidence.errors[section]
        assert f"needs {action}" in evidence.errors[section]
    results = evaluate(evidence)
    for control in ("S3-04", "S3-05", "S3-06", "S3-08", "S3-18"):
        assert {f.status for f in results[control].values()} == {Status.ERROR}, report(results)


def test_a_user_that_may_not_see_every_bucket_fails_closed(minio_weak: MinioServer, evaluate: Evaluate) -> None:
    """MinIO's ListBuckets silently omits buckets a user may not touch: the scan says the list may be incomplete."""
    admin = minio_weak.admin()
    admin.policy_add(
        "one-bucket",
        policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetBucketLocation", "s3:GetBucketPolicy"],
                    "Resource": ["arn:aws:s3:::backups"],
                }
            ],
        },
    )
    admin.user_add("onebucket", "one-bucket-secret-0123456789")
    admin.attach_policy(["one-bucket"], user="onebucket")
    evidence = PLUGIN.collect(target_for(minio_weak), creds("onebucket", "one-bucket-secret-0123456789"), 60)
    assert "buckets" not in evidence.sections
    assert "may be incomplete" in evidence.errors["buckets"]
    results = evaluate(evidence)
    assert {f.status for f in results["S3-04"].values()} == {Status.ERROR}


def test_scanner_policy_is_enough_on_the_hardened_server(minio_hardened: MinioServer) -> None:
    """With examples/s3/scanner-policy.json nothing is denied; without any one of its actions something is."""
    document = json.loads(SCANNER_POLICY.read_text())
    expected = PLUGIN.least_privilege(
        PLUGIN.parse_target(minio_hardened.url), [s for s in ALL_SECTIONS if s != "config"]
    )
    assert expected is not None and json.loads(expected) == document
    evidence = PLUGIN.collect(target_for(minio_hardened), creds("scanner", minio_hardened.users["scanner"]), 60)
    denied = [s for s, m in evidence.errors.items() if "permission denied" in m]
    assert denied == [] and set(evidence.errors) == {"config", "root_access", "identity_providers"}, evidence.errors
    for section, data in evidence.sections.items():
        if section.startswith("bucket_"):
            assert not any("error" in v for v in data.values()), (section, data)


@pytest.fixture(scope="module")
def lp_server(minio_weak: MinioServer) -> MinioServer:
    """The weak server (root enabled) gets one user per scanner-policy action left out."""
    admin = minio_weak.admin()
    document = json.loads(SCANNER_POLICY.read_text())
    index = 0
    for statement_index, statement in enumerate(document["Statement"]):
        for action in statement["Action"]:
            reduced = json.loads(json.dumps(document))
            reduced["Statement"][statement_index]["Action"] = [a for a in statement["Action"] if a != action]
            name = f"lp{index:02d}"
            admin.policy_add(name, policy=reduced)
            secret = f"lp-secret-{index:02d}-0123456789"
            admin.user_add(name, secret)
            admin.attach_policy([name], user=name)
            minio_weak.users[name] = secret
            minio_weak.users[f"{name}:action"] = action
            index += 1
    admin.policy_add("lpfull", policy=document)
    admin.user_add("lpfull", "lp-secret-full-0123456789")
    admin.attach_policy(["lpfull"], user="lpfull")
    minio_weak.users["lpfull"] = "lp-secret-full-0123456789"
    return minio_weak


def _denials(server: MinioServer, user: str) -> str:
    try:
        evidence = PLUGIN.collect(target_for(server), creds(user, server.users[user]), 60)
    except CollectionError as exc:
        return exc.message
    unread_config = ("config", "root_access", "identity_providers")  # need admin:ConfigUpdate, not in the policy
    texts = [m for section, m in evidence.errors.items() if section not in unread_config]
    for section, data in evidence.sections.items():
        if section.startswith("bucket_"):
            texts += [str(v["error"]) for v in data.values() if v.get("denied")]
    return "\n".join(texts)


def test_every_scanner_policy_action_is_needed(lp_server: MinioServer) -> None:
    assert _denials(lp_server, "lpfull") == ""
    users = sorted(u for u in lp_server.users if re.fullmatch(r"lp\d\d", u))
    assert len(users) == sum(len(s["Action"]) for s in json.loads(SCANNER_POLICY.read_text())["Statement"])
    for user in users:
        action = lp_server.users[f"{user}:action"]
        denials = _denials(lp_server, user)
        assert f"needs {action}" in denials or action in denials, f"without {action}: {denials or 'nothing denied'}"


# -- weak --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weak_evidence(minio_weak: MinioServer) -> Evidence:
    target = target_for(minio_weak, read_config=True)
    return PLUGIN.collect(target, creds(minio_weak.root_user, minio_weak.root_password), 60)


def test_weak_server_fails_on_the_right_resources(weak_evidence: Evidence, evaluate: Evaluate) -> None:
    validate_contract(weak_evidence)
    assert weak_evidence.errors == {}
    assert weak_evidence.metadata["insecure_transport"][0].startswith("plain HTTP")
    results = evaluate(weak_evidence)
    text = report(results)
    fail = Status.FAIL
    expected: dict[str, dict[str, Status]] = {
        "S3-01": {"users/root": fail},
        "S3-02": {"config/api/root_access": fail},
        "S3-03": {"": fail},
        "S3-04": {"buckets/public-data": fail, "buckets/office": fail, "buckets/backups": Status.PASS},
        "S3-05": {"buckets/public-data": fail, "buckets/office": Status.PASS, "buckets/backups": Status.PASS},
        "S3-06": {"buckets/public-data": fail, "buckets/office": fail, "buckets/backups": fail},
        "S3-07": {"kms": fail},
        "S3-08": {"buckets/public-data": fail, "buckets/office": fail, "buckets/backups": fail},
        "S3-09": {"buckets/backups": fail},
        "S3-10": {"": Status.NOT_APPLICABLE},
        "S3-12": {"audit": fail},
        "S3-13": {"identity": fail},
        "S3-14": {"users/app": fail, "access-keys/rootkey0001": fail},  # a root-owned key has root's rights
        "S3-15": {"access-keys/rootkey0001": fail},
        "S3-16": {"users/olduser": fail},
        "S3-17": {"users/root": fail},
        "S3-20": {"": fail},
        "S3-22": {"users/scanner": fail},
        "S3-23": {"minio/v2/metrics/cluster": fail},
    }
    for control, wanted in expected.items():
        assert statuses(results[control]) == wanted, f"{control}:\n{text}"
    public = results["S3-04"]["buckets/public-data"].message
    assert "unconditionally" in public and "confirmed by an unauthenticated request (list, read)" in public
    office = results["S3-04"]["buckets/office"].message
    assert "under conditions" in office and "SourceIp=10.0.0.0" in office and "confirmed" not in office
    assert "write" in results["S3-05"]["buckets/public-data"].message
    assert "everything" in results["S3-14"]["users/app"].message
    assert statuses(results["S3-21"]) == {f"buckets/{b}": fail for b in ("backups", "office", "public-data")}
    assert {f.status for f in results["S3-18"].values()} == {Status.PASS}
    assert {f.status for f in results["S3-19"].values()} == {Status.PASS}


def test_weak_evidence_holds_no_secret(weak_evidence: Evidence, minio_weak: MinioServer) -> None:
    from tests.services.minio import PLANTED_SECRET

    text = json.dumps(
        {"sections": weak_evidence.sections, "errors": weak_evidence.errors, "metadata": weak_evidence.metadata}
    )
    assert PLANTED_SECRET not in text
    assert "audit_webhook:planted" in weak_evidence.sections["config"]["audit_webhook"]  # the target was read
    for user, secret in minio_weak.users.items():
        if not user.endswith(":action"):
            assert secret not in text, user


def test_wrong_secret_key_is_an_authentication_error(minio_weak: MinioServer) -> None:
    wrong = "not-the-secret-" + "x" * 16
    with pytest.raises(CollectionError) as caught:
        PLUGIN.collect(target_for(minio_weak), creds("viewer", wrong), 30)
    assert caught.value.reason == CollectionError.AUTHENTICATION
    assert wrong not in str(caught.value)
    assert "wrong or expired" in caught.value.message


def test_a_server_that_is_down_is_unreachable() -> None:
    target = PLUGIN.parse_target(f"http://127.0.0.1:{socket_closed_port()}")
    with pytest.raises(CollectionError) as caught:
        PLUGIN.collect(target, creds("someone", "some-secret-value"), 10)
    assert caught.value.reason == CollectionError.UNREACHABLE


# -- SeaweedFS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weed_evidence(seaweedfs: SeaweedServer) -> Evidence:
    return PLUGIN.collect(PLUGIN.parse_target(seaweedfs.url), creds(seaweedfs.access_key, seaweedfs.secret_key), 60)


def test_seaweedfs_gets_the_s3_controls(weed_evidence: Evidence, evaluate: Evaluate) -> None:
    validate_contract(weed_evidence)
    assert weed_evidence.sections["server"]["flavour"] == "seaweedfs"
    results = evaluate(weed_evidence)
    text = report(results)
    minio_only = {"S3-01", "S3-02", "S3-07", "S3-12", "S3-13", "S3-14", "S3-15", "S3-16", "S3-17", "S3-18"}
    minio_only |= {"S3-19", "S3-22", "S3-23"}
    for control in minio_only:
        (finding,) = results[control].values()
        assert finding.status is Status.NOT_APPLICABLE, f"{control}:\n{text}"
        assert "the endpoint is seaweedfs, not MinIO" in finding.message
    public = results["S3-04"]["buckets/public-data"]
    assert public.status is Status.FAIL and "confirmed by an unauthenticated request (list, read)" in public.message
    assert results["S3-04"]["buckets/backups"].status is Status.PASS
    # neither the policy nor the ACL SeaweedFS returns shows the public-read grant: the probe does
    assert weed_evidence.sections["bucket_acl"]["acl-public"]["value"] == {"grants": []}
    acl_public = results["S3-04"]["buckets/acl-public"]
    assert acl_public.status is Status.FAIL
    assert "anonymous list allowed by the server (the unauthenticated request was let through)" in acl_public.message
    assert weed_evidence.sections["bucket_public_access_block"]["backups"]["value"] is None  # NotImplemented
    assert statuses(results["S3-06"])["buckets/versioned"] is Status.PASS
    assert statuses(results["S3-06"])["buckets/backups"] is Status.FAIL
    assert statuses(results["S3-08"])["buckets/versioned"] is Status.PASS
    # SeaweedFS applies the TLS-only bucket policy to signed requests too: the plain-HTTP scanner is locked out
    secure = results["S3-06"]["buckets/secure-data"]
    assert secure.status is Status.ERROR and "permission denied" in secure.message
    assert "needs s3:GetBucketLocation" in secure.message  # the first call on the bucket
