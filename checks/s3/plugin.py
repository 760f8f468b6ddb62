"""The `s3` target kind: `--target s3=https://s3.example:9000[?flavour=minio&region=eu-central-1]`.

S3-compatible object storage (MinIO, SeaweedFS, Ceph RGW, any S3 API), read through the `minio`
package, with MinIO's admin API as an extra where the endpoint is MinIO.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from checks.s3 import checks as s3_checks
from checks.s3.collect import ADMIN_SECTIONS, BUCKET_SECTIONS, DERIVED_SECTIONS, collect, s3_uri
from checks.s3.connect import BOOL_OPTIONS, INT_OPTIONS, OPTIONS, ambient, check_options
from checks.s3.contract import CONTRACT
from scanner.errors import ConfigError
from scanner.httpkit import as_bool, parse_server_url
from scanner.interface import CheckSpec, Secret, Target, TargetPlugin
from scanner.model import Evidence

SECTION_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "buckets": ("s3:GetBucketLocation",),
    "bucket_policy": ("s3:GetBucketPolicy",),
    "bucket_encryption": ("s3:GetEncryptionConfiguration",),
    "bucket_versioning": ("s3:GetBucketVersioning",),
    "bucket_object_lock": ("s3:GetBucketObjectLockConfiguration",),
    "bucket_lifecycle": ("s3:GetLifecycleConfiguration",),
    "bucket_replication": ("s3:GetReplicationConfiguration",),
    "bucket_notification": ("s3:GetBucketNotification",),
    "bucket_tags": ("s3:GetBucketTagging",),
    "bucket_acl": ("s3:GetBucketPolicy",),  # MinIO serves GetBucketAcl under s3:GetBucketPolicy
    "bucket_public_access_block": (),  # MinIO does not implement it: NOT_APPLICABLE there, no grant
    "admin_info": ("admin:ServerInfo",),
    "users": ("admin:ListUsers",),
    "groups": ("admin:ListGroups", "admin:GetGroup"),
    "policies": ("admin:ListUserPolicies",),
    "policy_entities": ("admin:ListUsers", "admin:ListGroups", "admin:ListUserPolicies"),
    "access_keys": ("admin:ListUsers", "admin:ListServiceAccounts"),
    "root_identity": ("admin:ListUsers", "admin:ListServiceAccounts"),
    "config": ("admin:ConfigUpdate",),
    "root_access": ("admin:ServerInfo",),  # the environment; the configuration needs "config" too
    "identity_providers": ("admin:ServerInfo",),
}
"""The MinIO policy actions each evidence section needs (`server`, probes: none)."""


def _query_value(key: str, value: str) -> Any:
    if key in BOOL_OPTIONS:
        return as_bool(value, f"option {key}")
    if key in INT_OPTIONS:
        if not value.isdigit():
            raise ConfigError(f"option {key} must be an integer, got '{value}'")
        return int(value)
    return value


class S3Plugin(TargetPlugin):
    """S3-compatible object storage: buckets (policy, encryption, versioning, lock, lifecycle) and MinIO admin."""

    kind = "s3"
    description = "S3-compatible object storage (MinIO, SeaweedFS, Ceph RGW): bucket exposure, encryption, MinIO IAM"

    def checks(self) -> Sequence[CheckSpec]:
        """All S3 checks."""
        return s3_checks.CHECKS

    def baselines(self) -> Sequence[Traversable]:
        """The built-in `s3` baseline."""
        return (files("baselines").joinpath("s3.yaml"),)

    def target_uri(self, target: Target) -> str:
        """`s3://host:port`, the base URI of every resource of this target."""
        return s3_uri(target.url)

    def validate_target(self, target: Target) -> None:
        """Reject unknown or malformed options of an inventory entry."""
        check_options(target.options)

    def parse_target(self, value: str) -> Target:
        """`https://host:port` (scheme defaults to https, port to 443/80); options may ride in the query string."""
        url = parse_server_url(
            value,
            kind="an s3",
            example="https://s3.example:9000",
            known_options=OPTIONS,
            credential_options=("access_key", "secret_key", "secret"),
            credentials_hint="use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or inventory credentials",
            convert=_query_value,
        )
        if url.path.strip("/"):
            raise ConfigError(
                f"an s3 target URL has no path (got '{url.path}'); give the endpoint only (path-style buckets)"
            )
        check_options(url.options)
        port = url.port or (443 if url.scheme == "https" else 80)
        return Target(
            id=f"{url.host}:{port}", kind=self.kind, url=f"{url.scheme}://{url.host}:{port}", options=url.options
        )

    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """Read the store (read-only); see `checks.s3.collect`."""
        return collect(target, secrets, timeout)

    def evidence_contract(self) -> Mapping[str, Mapping[str, Any]]:
        """Section name -> JSON Schema of that section's data (checks.s3.contract)."""
        return CONTRACT

    def ambient_credentials(self, target: Target) -> Mapping[str, Secret]:
        """Secret values this kind would pick up from the environment (AWS_/MINIO_ secret variables)."""
        return ambient()

    def least_privilege(self, target: Target, sections: Collection[str]) -> str | None:
        """The MinIO policy JSON that lets sovscan read exactly `sections` (None when none needs a grant)."""
        s3_actions: list[str] = []
        admin_actions: list[str] = []
        for section in sections:
            for action in SECTION_ACTIONS.get(section, ()):
                bucket = admin_actions if action.startswith("admin:") else s3_actions
                if action not in bucket:
                    bucket.append(action)
        statements: list[dict[str, Any]] = []
        if s3_actions:
            statements.append(
                {
                    "Sid": "SovscanReadBucketSettings",
                    "Effect": "Allow",
                    "Action": s3_actions,
                    "Resource": ["arn:aws:s3:::*"],
                }
            )
        if admin_actions:
            statements.append({"Sid": "SovscanReadMinioAdmin", "Effect": "Allow", "Action": admin_actions})
        if not statements:
            return None
        return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2) + "\n"


ALL_SECTIONS = (
    "server",
    "buckets",
    *BUCKET_SECTIONS,
    "anonymous_probe",
    *ADMIN_SECTIONS,
    *DERIVED_SECTIONS,
    "metrics_probe",
    "root_identity",
)
"""Every section the collector can produce."""

PLUGIN = S3Plugin()
"""The entry point object (`sovscan.checks: s3`)."""
