"""The S3 policy evaluator on its own: semantics, exposure questions, TLS enforcement (pure; no server).

The verdicts for concrete requests are checked against a real MinIO in test_policy_differential.py;
these tests pin the questions built on them and the AWS dialect, which no server here enforces.
"""

from __future__ import annotations

from typing import Any

import pytest

from checks.s3 import policy as pol


def bucket_policy(*statements: dict[str, Any]) -> pol.Policy:
    return pol.parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, "bucket")


ANON_READ = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}


def test_deny_wins_over_allow_and_allow_over_the_implicit_deny() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/secret/*"}
    policy = bucket_policy(ANON_READ, deny)
    assert pol.evaluate(policy, pol.Request("s3:GetObject", "b", "public/x")).decision is pol.Decision.ALLOW
    assert pol.evaluate(policy, pol.Request("s3:GetObject", "b", "secret/x")).decision is pol.Decision.EXPLICIT_DENY
    assert pol.evaluate(policy, pol.Request("s3:PutObject", "b", "x")).decision is pol.Decision.IMPLICIT_DENY


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_every_spelling_of_everyone_matches_anonymous(principal: Any) -> None:
    policy = bucket_policy({**ANON_READ, "Principal": principal})
    assert pol.exposure(policy, ["s3:GetObject"], "b").allowed
    assert pol.exposure(policy, ["s3:GetObject"], "b", dialect="aws").allowed


def test_named_principals_are_not_anonymous_and_minio_matches_access_keys() -> None:
    policy = bucket_policy({**ANON_READ, "Principal": {"AWS": ["arn:aws:iam::123:user/alice"]}})
    assert not pol.exposure(policy, ["s3:GetObject"], "b", dialect="aws").allowed
    assert pol.exposure(policy, ["s3:GetObject"], "b", principal="alice", dialect="aws").allowed
    # MinIO matches Principal entries against the caller's access key with a simple wildcard: `?` matches ""
    assert pol.exposure(bucket_policy({**ANON_READ, "Principal": {"AWS": ["?"]}}), ["s3:GetObject"], "b").allowed


def test_not_principal_in_aws() -> None:
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": ["alice"]}, "Action": "s3:*", "Resource": "*"}
    policy = bucket_policy(statement)
    assert pol.exposure(policy, ["s3:GetObject"], "b", dialect="aws").allowed  # everyone but alice: anonymous too
    assert not pol.evaluate(policy, pol.Request("s3:GetObject", "b", "k", "alice"), "aws").allowed


def test_action_names_case_and_wildcards_per_dialect() -> None:
    policy = bucket_policy({**ANON_READ, "Action": "s3:getobject"})
    assert not pol.exposure(policy, ["s3:GetObject"], "b").allowed  # MinIO: case-sensitive, matches nothing
    assert pol.exposure(policy, ["s3:GetObject"], "b", dialect="aws").allowed  # AWS: case-insensitive
    wildcard = bucket_policy({**ANON_READ, "Action": "s3:?et*"})
    assert pol.exposure(wildcard, ["s3:GetObject"], "b").allowed
    version = bucket_policy({**ANON_READ, "Action": "s3:GetObjectVersion"})
    assert pol.exposure(version, ["s3:GetObject"], "b").allowed  # MinIO: GetObjectVersion implies GetObject
    assert not pol.exposure(version, ["s3:GetObject"], "b", dialect="aws").allowed


def test_not_action_and_not_resource() -> None:
    policy = bucket_policy(
        {"Effect": "Allow", "Principal": "*", "NotAction": "s3:Delete*", "NotResource": "arn:aws:s3:::b/private/*"}
    )
    assert pol.evaluate(policy, pol.Request("s3:PutObject", "b", "x")).allowed
    assert not pol.evaluate(policy, pol.Request("s3:DeleteObject", "b", "x")).allowed
    assert not pol.evaluate(policy, pol.Request("s3:PutObject", "b", "private/x")).allowed


def test_resources_bucket_and_object_arns_and_wildcards() -> None:
    bucket_only = bucket_policy({**ANON_READ, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"})
    assert pol.exposure(bucket_only, ["s3:ListBucket"], "b").allowed
    assert not pol.exposure(bucket_only, ["s3:ListBucket"], "other").allowed
    objects = bucket_policy({**ANON_READ, "Resource": "arn:aws:s3:::b/reports/?.csv"})
    assert pol.evaluate(objects, pol.Request("s3:GetObject", "b", "reports/1.csv")).allowed
    assert not pol.evaluate(objects, pol.Request("s3:GetObject", "b", "reports/10.csv")).allowed
    assert pol.exposure(objects, ["s3:GetObject"], "b").allowed  # some key matches
    # an object ARN does not cover the bucket-level resource in a bucket policy ...
    assert not pol.evaluate(
        bucket_policy({**ANON_READ, "Action": "s3:ListBucket"}), pol.Request("s3:ListBucket", "b")
    ).allowed
    # ... but in a MinIO IAM policy the bucket-level resource is `b/`, which `b/*` matches
    iam = pol.parse_policy(
        {"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b/*"}]}, "iam"
    )
    assert pol.evaluate(iam, pol.Request("s3:ListBucket", "b", principal="u")).allowed
    assert not pol.evaluate(iam, pol.Request("s3:ListBucket", "b", principal="u"), "aws").allowed


def test_minio_bare_star_resource_as_stored() -> None:
    """MinIO accepts Resource "*" and returns it as "**": both match everything."""
    for resource in ("*", "**"):
        iam = pol.parse_policy({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": resource}]}, "iam")
        assert pol.wildcard_grants(iam) == ["Allow ['s3:*']: s3:* on *"]


def test_source_ip_conditions_ipv4_and_ipv6() -> None:
    office = bucket_policy({**ANON_READ, "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}})
    result = pol.exposure(office, ["s3:GetObject"], "b")
    assert result.allowed and not result.always
    inside = pol.Request("s3:GetObject", "b", "k", context={"SourceIp": ("2001:db8::1",)})
    outside = pol.Request("s3:GetObject", "b", "k", context={"SourceIp": ("2001:db9::1",)})
    assert pol.evaluate(office, inside).allowed and not pol.evaluate(office, outside).allowed
    blocked = bucket_policy(
        ANON_READ,
        {**ANON_READ, "Effect": "Deny", "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}},
    )
    assert pol.exposure(blocked, ["s3:GetObject"], "b").allowed  # from 10/8 it is still anonymous
    everyone = bucket_policy({**ANON_READ, "Condition": {"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}}})
    assert pol.exposure(everyone, ["s3:GetObject"], "b").always
    # MinIO gives a bare address /32, IPv6 too; AWS gives an IPv6 address /128
    bare = bucket_policy({**ANON_READ, "Condition": {"IpAddress": {"aws:SourceIp": ["2001:db8::1"]}}})
    near = pol.Request("s3:GetObject", "b", "k", context={"SourceIp": ("2001:db8::ffff",)})
    assert pol.evaluate(bare, near, "minio").allowed
    assert not pol.evaluate(bare, near, "aws").allowed


def test_string_null_and_if_exists_operators() -> None:
    listing = {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}
    prefixed = bucket_policy({**listing, "Condition": {"StringLike": {"s3:prefix": ["public/*"]}}})
    assert pol.evaluate(prefixed, pol.Request("s3:ListBucket", "b", context={"prefix": ("public/a",)})).allowed
    assert not pol.evaluate(prefixed, pol.Request("s3:ListBucket", "b", context={"prefix": ("x",)})).allowed
    assert not pol.evaluate(prefixed, pol.Request("s3:ListBucket", "b")).allowed
    negated = bucket_policy({**listing, "Condition": {"StringNotEquals": {"s3:prefix": ["secret/"]}}})
    assert pol.evaluate(negated, pol.Request("s3:ListBucket", "b")).allowed  # absent key: not equal
    absent = bucket_policy({**listing, "Condition": {"Null": {"s3:prefix": "true"}}})
    assert pol.evaluate(absent, pol.Request("s3:ListBucket", "b")).allowed
    assert not pol.evaluate(absent, pol.Request("s3:ListBucket", "b", context={"prefix": ("",)})).allowed
    if_exists = bucket_policy({**listing, "Condition": {"StringEqualsIfExists": {"s3:prefix": ["public/"]}}})
    assert pol.evaluate(if_exists, pol.Request("s3:ListBucket", "b"), "aws").allowed
    assert not pol.evaluate(if_exists, pol.Request("s3:ListBucket", "b", context={"prefix": ("x",)}), "aws").allowed
    # MinIO has no StringEqualsIfExists: undecidable, resolved against the defender (the allow may hold)
    verdict = pol.evaluate(if_exists, pol.Request("s3:ListBucket", "b", context={"prefix": ("x",)}), "minio")
    assert verdict.allowed and verdict.uncertain


def test_arn_operators_and_set_qualifiers_in_aws() -> None:
    statement = {
        **ANON_READ,
        "Condition": {"ArnLike": {"aws:SourceArn": ["arn:aws:lambda:*:123:function:*"]}},
    }
    policy = bucket_policy(statement)
    good = pol.Request("s3:GetObject", "b", "k", context={"SourceArn": ("arn:aws:lambda:eu:123:function:f",)})
    assert pol.evaluate(policy, good, "aws").allowed
    assert not pol.evaluate(policy, pol.Request("s3:GetObject", "b", "k"), "aws").allowed
    groups = bucket_policy({**ANON_READ, "Condition": {"ForAllValues:StringEquals": {"aws:groups": ["a", "b"]}}})
    assert pol.evaluate(groups, pol.Request("s3:GetObject", "b", "k", context={"groups": ("a",)})).allowed
    assert not pol.evaluate(groups, pol.Request("s3:GetObject", "b", "k", context={"groups": ("a", "c")})).allowed


def test_policy_variables() -> None:
    own = pol.parse_policy(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/*"}
            ]
        },
        "iam",
    )
    alice = {"username": ("alice",)}
    assert pol.evaluate(own, pol.Request("s3:GetObject", "home", "alice/x", "alice", alice)).allowed
    assert not pol.evaluate(own, pol.Request("s3:GetObject", "home", "bob/x", "alice", alice)).allowed


def test_unknown_operator_is_conservative_for_both_questions() -> None:
    strange = {"SovscanUnknownOp": {"aws:SourceIp": ["10.0.0.0/8"]}}
    allow = bucket_policy({**ANON_READ, "Condition": strange})
    result = pol.exposure(allow, ["s3:GetObject"], "b")
    assert result.allowed and result.uncertain  # may hold: counted as exposed, and said so
    tls = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}, **strange},
    }
    verdict = pol.tls_forced(bucket_policy(tls), "b", dialect="aws")
    assert not verdict.forced and verdict.uncertain  # not credited


def test_tls_forced() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert pol.tls_forced(bucket_policy(deny), "b", dialect="aws").forced
    assert pol.tls_forced(bucket_policy(deny), "b", dialect="minio").forced
    objects_only = bucket_policy({**deny, "Resource": ["arn:aws:s3:::b/*"]})
    gap = pol.tls_forced(objects_only, "b", dialect="aws").gap
    assert gap is not None and gap.key == ""  # a bucket-level request over HTTP is not denied
    some_actions = bucket_policy({**deny, "Action": ["s3:GetObject", "s3:PutObject"]})
    assert not pol.tls_forced(some_actions, "b", dialect="aws").forced
    # MinIO compares the Bool value as written: "FALSE" never matches, so this does not force TLS there
    shouting = bucket_policy({**deny, "Condition": {"Bool": {"aws:SecureTransport": "FALSE"}}})
    assert not pol.tls_forced(shouting, "b", dialect="minio").forced
    assert pol.tls_forced(shouting, "b", dialect="aws").forced
    only_anonymous = bucket_policy({**deny, "Principal": {"AWS": ["alice"]}})
    assert not pol.tls_forced(only_anonymous, "b", dialect="aws").forced


def test_exposure_fixed_context_tls_only_endpoint() -> None:
    """A deny of plain HTTP does not protect anything on an endpoint where plain HTTP is impossible."""
    https_only = bucket_policy({**ANON_READ, "Condition": {"Bool": {"aws:SecureTransport": "true"}}})
    assert pol.exposure(https_only, ["s3:GetObject"], "b", fixed={"SecureTransport": ("true",)}).always
    assert not pol.exposure(https_only, ["s3:GetObject"], "b", fixed={"SecureTransport": ("false",)}).allowed


def test_wildcard_grants_by_evaluation() -> None:
    def iam(*statements: dict[str, Any]) -> pol.Policy:
        return pol.parse_policy({"Statement": list(statements)}, "iam")

    assert pol.wildcard_grants(iam({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}))
    assert pol.wildcard_grants(iam({"Effect": "Allow", "Action": ["admin:*"]})) == ["Allow ['admin:*']: admin:*"]
    assert pol.wildcard_grants(iam({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    # MinIO sees a bucket-level request as `bucket/`, which `*/*` matches: every action on everything there
    objects_star = iam({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*/*"})
    assert pol.wildcard_grants(objects_star, "minio") and pol.wildcard_grants(objects_star, "aws") == []
    assert pol.wildcard_grants(iam({"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::*"})) == []
    # s3:* written action by action is still every S3 action
    assert pol.wildcard_grants(iam({"Effect": "Allow", "Action": list(pol.S3_ACTIONS), "Resource": "arn:aws:s3:::*"}))
    conditional = {
        "Effect": "Allow",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    }
    assert pol.wildcard_grants(iam(conditional)) == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{", "not JSON"),
        ("[]", "must be a JSON object"),
        ('{"Statement": 3}', "no Statement list"),
        ('{"Statement": [{"Effect": "Maybe", "Action": "s3:*"}]}', "Effect must be Allow or Deny"),
        ('{"Statement": [{"Effect": "Allow"}]}', "neither Action nor NotAction"),
        ('{"Statement": [{"Effect": "Allow", "Action": 3}]}', "Action must be a string or a list of strings"),
        ('{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Principal": 5}]}', "Principal must be"),
    ],
)
def test_malformed_policies_are_errors(document: str, message: str) -> None:
    with pytest.raises(pol.PolicyParseError, match=message):
        pol.parse_policy(document)


def test_glob_matches_minio_wildcard() -> None:
    assert pol.glob_match("a*b?c", "axxbyc")
    assert not pol.glob_match("a*b?c", "abc")
    assert pol.glob_match("?", "", simple=True) and not pol.glob_match("?", "")
    assert pol.glob_match("*", "") and pol.glob_match("", "") and not pol.glob_match("", "x")
    assert pol.glob_match("**a", "xa") and not pol.glob_match("a*", "b")
