"""Target parsing, options, credential conventions, ambient credentials, least privilege, the contract (no server)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from checks.s3.collect import _redact_config
from checks.s3.connect import credentials, region_setting, s3_tls_settings
from checks.s3.contract import CONTRACT
from checks.s3.plugin import ALL_SECTIONS, PLUGIN
from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.errors import CollectionError, ConfigError
from scanner.interface import Secret
from scanner.model import Evidence, Status
from scanner.plugins import Registry

ROOT = Path(__file__).resolve().parents[2]


def test_parse_target_defaults_and_options() -> None:
    target = PLUGIN.parse_target("s3.example:9000?flavour=minio&region=eu-central-1&read_config=true&concurrency=4")
    assert target.url == "https://s3.example:9000" and target.id == "s3.example:9000"
    assert target.options == {"flavour": "minio", "region": "eu-central-1", "read_config": True, "concurrency": 4}
    assert PLUGIN.parse_target("http://[::1]").url == "http://[::1]:80"
    assert PLUGIN.target_uri(PLUGIN.parse_target("https://s3.example")) == "s3://s3.example:443"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "needs a URL"),
        ("ftp://x", "must start with https://"),
        ("https://key:secret@s3.example", "do not put credentials"),
        ("https://s3.example/bucket", "has no path"),
        ("https://s3.example?secret_key=x", "do not put credentials"),
        ("https://s3.example?colour=blue", "unknown s3 option 'colour'"),
        ("https://s3.example?flavour=azure", "option flavour must be one of"),
        ("https://s3.example?concurrency=0", "option concurrency must be an integer from 1 to 64"),
        ("https://s3.example?read_config=perhaps", "option read_config must be true or false"),
    ],
)
def test_bad_targets_are_config_errors(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PLUGIN.parse_target(value)


def test_credential_conventions(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CollectionError, match="no S3 credentials"):
        credentials({})
    monkeypatch.setenv("MINIO_ROOT_USER", "root")
    monkeypatch.setenv("MINIO_ROOT_PASSWORD", "root-secret")
    assert credentials({}).source == "MINIO_ROOT_USER/MINIO_ROOT_PASSWORD"
    monkeypatch.setenv("MINIO_ACCESS_KEY", "mc-key")
    monkeypatch.setenv("MINIO_SECRET_KEY", "mc-secret")
    assert credentials({}).access_key == "mc-key"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "aws-key")
    assert credentials({}).access_key == "mc-key"  # a pair never mixes conventions
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "aws-session")
    found = credentials({})
    assert (found.access_key, found.secret_key.reveal(), found.source) == (
        "aws-key",
        "aws-secret",
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    )
    assert found.session_token is not None and found.session_token.reveal() == "aws-session"
    inventory = credentials({"access_key": Secret("inv"), "secret_key": Secret("inv-secret")})
    assert inventory.access_key == "inv" and "inventory" in inventory.source
    with pytest.raises(CollectionError, match="only one of"):
        credentials({"access_key": Secret("inv")})
    assert "secret" not in repr(found.secret_key)


def test_ambient_credentials_are_every_secret_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    target = PLUGIN.parse_target("https://s3.example")
    assert PLUGIN.ambient_credentials(target) == {}
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MINIO_SECRET_KEY", "MINIO_ROOT_PASSWORD"):
        monkeypatch.setenv(name, f"value-of-{name}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-a-secret")
    found = {k: v.reveal() for k, v in PLUGIN.ambient_credentials(target).items()}
    assert found == {n: f"value-of-{n}" for n in found} and len(found) == 4


def test_tls_and_region_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert s3_tls_settings({}).verify is True
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ca.pem")
    assert s3_tls_settings({}).verify == "/etc/ca.pem"
    assert s3_tls_settings({"ca_cert": "/x.pem"}).verify == "/x.pem"
    skipped = s3_tls_settings({"tls_skip_verify": True})
    assert skipped.verify is False and skipped.skip_verify_source == "option tls_skip_verify"
    assert region_setting({}) is None
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert region_setting({}) == "eu-west-1"
    assert region_setting({"region": "us-east-1"}) == "us-east-1"


def test_least_privilege_is_the_shipped_policy() -> None:
    target = PLUGIN.parse_target("https://s3.example")
    shipped = json.loads((ROOT / "examples" / "s3" / "scanner-policy.json").read_text())
    full = PLUGIN.least_privilege(target, [s for s in ALL_SECTIONS if s != "config"])
    assert full is not None and json.loads(full) == shipped
    with_config = json.loads(PLUGIN.least_privilege(target, ALL_SECTIONS) or "{}")
    assert "admin:ConfigUpdate" in with_config["Statement"][1]["Action"]
    only_policy = json.loads(PLUGIN.least_privilege(target, ["bucket_policy"]) or "{}")
    assert only_policy["Statement"] == [
        {
            "Sid": "SovscanReadBucketSettings",
            "Effect": "Allow",
            "Action": ["s3:GetBucketPolicy"],
            "Resource": ["arn:aws:s3:::*"],
        }
    ]
    assert PLUGIN.least_privilege(target, ["server", "anonymous_probe"]) is None


def test_settings_from_the_environment_need_no_config() -> None:
    from checks.s3.collect import derive_settings

    env = {"MINIO_API_ROOT_ACCESS": "off", "MINIO_IDENTITY_OPENID_CONFIG_URL_kc": "https://kc/.well-known"}
    found = derive_settings({"env_vars": env, "ldap": {}}, None, "needs admin:ConfigUpdate")
    assert found["root_access"] == {"value": "off", "source": "MINIO_API_ROOT_ACCESS"}
    assert found["identity_providers"]["providers"] == ["OpenID (MINIO_IDENTITY_OPENID_CONFIG_URL_kc)"]
    unread = derive_settings({"env_vars": {}, "ldap": {}}, None, "needs admin:ConfigUpdate")
    assert unread["root_access"] == "needs admin:ConfigUpdate"
    assert "needs admin:ConfigUpdate" in unread["identity_providers"]
    config = {"api": {"api": {"root_access": "on"}}, "identity_ldap": {"identity_ldap": {"server_addr": ""}}}
    read = derive_settings({"env_vars": {}, "ldap": {}}, config, None)
    assert read["root_access"] == {"value": "on", "source": "configuration api root_access"}
    assert read["identity_providers"] == {"providers": [], "config_read": True}  # a fact: none anywhere
    # the environment wins over the stored configuration, as in MinIO
    assert (
        derive_settings({"env_vars": {"MINIO_API_ROOT_ACCESS": "off"}}, config, None)["root_access"]["value"] == "off"
    )


def test_config_secrets_are_redacted() -> None:
    text = (
        'identity_openid client_id=sovscan client_secret="s3cr et" config_url=https://kc/x\n'
        "audit_webhook auth_token=tok"
    )
    parsed = _redact_config(text)
    assert parsed["identity_openid"] == {
        "client_id": "sovscan",
        "client_secret": "[redacted]",
        "config_url": "https://kc/x",
    }
    assert parsed["audit_webhook"]["auth_token"] == "[redacted]"


def test_contract_schemas_are_valid_and_strict() -> None:
    for schema in CONTRACT.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(CONTRACT["bucket_versioning"])
    assert validator.is_valid({"b": {"value": {"status": "Enabled"}}})
    assert validator.is_valid({"b": {"error": "permission denied: needs s3:GetBucketVersioning"}})
    assert not validator.is_valid({"b": {"value": {"state": "Enabled"}}})  # status missing
    assert not validator.is_valid({"b": "Enabled"})
    users = jsonschema.Draft202012Validator(CONTRACT["users"])
    assert users.is_valid({"not_applicable": "MinIO-only control: the endpoint is seaweedfs"})
    assert users.is_valid({"alice": {"status": "enabled", "policy": "readwrite"}})
    assert not users.is_valid({"alice": {"status": "enabled"}})


def _evidence(**sections: Any) -> Evidence:
    return Evidence(target="t", kind="s3", uri="s3://t:443", sections=sections, collected_at="2026-12-01T00:00:00Z")


def test_checks_fail_closed_on_what_they_could_not_read(registry: Registry) -> None:
    controls = {c.id: c for c in BaselineLibrary(registry).load("s3").controls}
    base = {
        "server": {"flavour": "minio", "scheme": "https", "tls": {"version": "TLSv1.3"}},
        "buckets": {"count": 2, "items": [{"name": "a"}, {"name": "b"}]},
        "bucket_versioning": {"a": {"value": {"status": "Enabled"}}, "b": {"error": "timed out reading b"}},
        "bucket_policy": {"a": {"value": None}, "b": {"value": {"Statement": "nonsense"}}},
        "anonymous_probe": {"probed": False, "reason": "option anonymous_probe is false"},
        "bucket_acl": {"a": {"value": {"grants": []}}, "b": {"value": None}},
        "bucket_public_access_block": {"a": {"value": None}, "b": {"value": None}},
    }
    evidence = _evidence(**base)
    versioning = {f.resource.name: f for f in engine.evaluate_control(controls["S3-08"], evidence, registry)}
    assert versioning["a"].status is Status.PASS
    assert versioning["b"].status is Status.ERROR and "timed out" in versioning["b"].message
    exposure = {f.resource.name: f for f in engine.evaluate_control(controls["S3-04"], evidence, registry)}
    assert exposure["a"].status is Status.PASS and "policy only" in exposure["a"].message
    assert exposure["b"].status is Status.ERROR and "not understood" in exposure["b"].message
    missing = engine.evaluate_control(controls["S3-06"], evidence, registry)
    assert {f.status for f in missing} == {Status.ERROR}
    public = _evidence(
        **{
            **base,
            "bucket_acl": {
                "a": {
                    "value": {
                        "grants": [{"grantee": "http://acs.amazonaws.com/groups/global/AllUsers", "permission": "READ"}]
                    }
                },
                "b": {"value": None},
            },
        }
    )
    by_acl = {f.resource.name: f for f in engine.evaluate_control(controls["S3-04"], public, registry)}
    assert by_acl["a"].status is Status.FAIL and "by the bucket ACL (READ to everyone)" in by_acl["a"].message
    ignored = _evidence(
        **{
            **base,
            "bucket_acl": public.sections["bucket_acl"],
            "bucket_public_access_block": {"a": {"value": {"IgnorePublicAcls": True}}, "b": {"value": None}},
        }
    )
    assert {f.resource.name: f.status for f in engine.evaluate_control(controls["S3-04"], ignored, registry)}[
        "a"
    ] is Status.PASS
    empty = _evidence(**{**base, "buckets": {"count": 0, "items": []}})
    assert [f.status for f in engine.evaluate_control(controls["S3-08"], empty, registry)] == [Status.PASS]


def test_explain_knows_the_s3_controls() -> None:
    from click.testing import CliRunner

    from scanner.cli import cli

    result = CliRunner().invoke(cli, ["explain", "S3-04"])
    assert result.exit_code == 0, result.output
    assert "anonymous" in result.output and "s3.anonymous_read" in result.output


def test_wildcard_grants_follow_minio_access_key_semantics(registry: Registry) -> None:
    """An access key has its parent's rights, narrowed by its own policy: it is flagged only through its parent."""
    control = next(c for c in BaselineLibrary(registry).load("s3").controls if c.id == "S3-14")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}]}
    narrow = {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::a/*"]}]}
    sections = {
        "policies": {"everything": everything, "readonly": narrow},
        "users": {
            "ops": {"status": "enabled", "policy": "everything"},
            "app": {"status": "enabled", "policy": "readonly", "member_of": ["admins"]},
            "web": {"status": "enabled", "policy": "readonly"},
        },
        "groups": {"admins": {"status": "enabled", "members": ["app"], "policy": "everything"}},
        "access_keys": {
            "by_user": {},
            "service_accounts": {
                "k-web": {"parent": "web", "implied_policy": False, "policy": everything, "expiration": None},
                "k-ops-narrow": {"parent": "ops", "implied_policy": False, "policy": narrow, "expiration": None},
                "k-ops": {"parent": "ops", "implied_policy": True, "policy": None, "expiration": None},
            },
        },
        "root_identity": {"root_user": "root", "caller_is_root": False, "caller_uses_default_root": False},
    }
    evidence = _evidence(**sections)
    found = {f.resource.name: f.status for f in engine.evaluate_control(control, evidence, registry)}
    assert found == {"ops": Status.FAIL, "app": Status.FAIL, "admins": Status.FAIL, "k-ops": Status.FAIL}
    exempt = replace(control, params={"admins": ["ops", "app"]})
    found = {f.resource.name: f.status for f in engine.evaluate_control(exempt, evidence, registry)}
    assert found == {"admins": Status.FAIL}  # a group is not an identity the allow-list names
