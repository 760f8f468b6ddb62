"""How sovscan reaches an S3-compatible store: endpoint, credentials, TLS, region, by the ecosystem's conventions.

Credentials (the first complete pair wins; a pair never mixes conventions):

* inventory credentials `access_key` and `secret_key` (`env:`, `file:`, `bao:` references);
* `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`);
* `MINIO_ACCESS_KEY` / `MINIO_SECRET_KEY` (the `mc` and older MinIO names);
* `MINIO_ROOT_USER` / `MINIO_ROOT_PASSWORD` (a root credential: the scan says so).

TLS: verified by default; option `ca_cert` (file or directory), else `AWS_CA_BUNDLE`, else
`SSL_CERT_FILE`; `tls_skip_verify: true` disables verification and is recorded in
`Evidence.metadata["insecure_transport"]`. Region: option `region`, else `AWS_REGION`, else
`AWS_DEFAULT_REGION`, else asked from the server per bucket (needs `s3:GetBucketLocation`).
The secret key lives in a `Secret` and is only revealed to the `minio` client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scanner.errors import CollectionError, ConfigError
from scanner.httpkit import TlsSettings, as_bool, env_first, tls_settings
from scanner.interface import Secret

FLAVOURS = ("auto", "minio", "seaweedfs", "ceph-rgw", "generic")
"""Values of option `flavour` (`auto`: detected from the server's answers)."""

OPTIONS = frozenset(
    {
        "flavour",
        "region",
        "ca_cert",
        "tls_skip_verify",
        "read_config",
        "anonymous_probe",
        "default_credential_probe",
        "concurrency",
        "max_buckets",
    }
)
"""Target options of the s3 kind (inventory `options:` or the URL's query string)."""

BOOL_OPTIONS = ("tls_skip_verify", "read_config", "anonymous_probe", "default_credential_probe")
INT_OPTIONS = {"concurrency": (1, 64), "max_buckets": (1, 1_000_000)}

CREDENTIAL_PAIRS = (
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    ("MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"),
    ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"),
)
"""Environment variable pairs, in the order they are tried."""
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MINIO_SECRET_KEY", "MINIO_ROOT_PASSWORD")
"""Environment variables whose values are secret."""


def check_options(options: Mapping[str, Any]) -> None:
    """Reject unknown or malformed target options (ConfigError)."""
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise ConfigError(f"unknown s3 option(s) {', '.join(unknown)} (known: {', '.join(sorted(OPTIONS))})")
    for key in BOOL_OPTIONS:
        if key in options:
            as_bool(options[key], f"option {key}")
    for key, (low, high) in INT_OPTIONS.items():
        if key in options:
            value = options[key]
            if isinstance(value, bool) or not str(value).isdigit() or not low <= int(value) <= high:
                raise ConfigError(f"option {key} must be an integer from {low} to {high}, got {value!r}")
    if "flavour" in options and str(options["flavour"]) not in FLAVOURS:
        raise ConfigError(f"option flavour must be one of {', '.join(FLAVOURS)}, got {options['flavour']!r}")


def option_bool(options: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean option with its default."""
    return as_bool(options[key], f"option {key}") if key in options else default


@dataclass(frozen=True)
class Credentials:
    """The scanner's key pair and where it came from (a description, never the value)."""

    access_key: str
    """The access key id (an identity, not a secret)."""
    secret_key: Secret
    """The secret key."""
    session_token: Secret | None
    """An STS session token, when one is used."""
    source: str
    """Where the pair came from, e.g. `AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`."""


def credentials(secrets: Mapping[str, Secret]) -> Credentials:
    """The scanner's credentials by the conventions above; CollectionError (credentials) when none."""
    access = secrets.get("access_key")
    secret = secrets.get("secret_key")
    if access is not None or secret is not None:
        if access is None or secret is None or not access.reveal() or not secret.reveal():
            raise CollectionError(
                CollectionError.CREDENTIALS, "the inventory gives only one of the credentials access_key and secret_key"
            )
        token = secrets.get("session_token")
        return Credentials(access.reveal(), secret, token, "inventory credentials access_key/secret_key")
    for key_name, secret_name in CREDENTIAL_PAIRS:
        key_value = os.environ.get(key_name)
        secret_value = os.environ.get(secret_name)
        if key_value and secret_value:
            session = os.environ.get("AWS_SESSION_TOKEN") if key_name.startswith("AWS_") else None
            return Credentials(
                key_value, Secret(secret_value), Secret(session) if session else None, f"{key_name}/{secret_name}"
            )
    raise CollectionError(
        CollectionError.CREDENTIALS,
        "no S3 credentials: give inventory credentials access_key and secret_key, or AWS_ACCESS_KEY_ID/"
        "AWS_SECRET_ACCESS_KEY, MINIO_ACCESS_KEY/MINIO_SECRET_KEY or MINIO_ROOT_USER/MINIO_ROOT_PASSWORD",
    )


def ambient(secrets_env: Mapping[str, str] | None = None) -> dict[str, Secret]:
    """Every secret value this kind would pick up from the environment (for redaction)."""
    env = os.environ if secrets_env is None else secrets_env
    return {name: Secret(env[name]) for name in SECRET_ENV if env.get(name)}


def s3_tls_settings(options: Mapping[str, Any]) -> TlsSettings:
    """TLS settings: option `ca_cert`, else AWS_CA_BUNDLE / SSL_CERT_FILE; `tls_skip_verify` only as an option."""
    return tls_settings(options, ca_env=("AWS_CA_BUNDLE", "SSL_CERT_FILE"))


def region_setting(options: Mapping[str, Any]) -> str | None:
    """The region to sign with: option `region`, else AWS_REGION / AWS_DEFAULT_REGION; None to ask the server."""
    if options.get("region"):
        return str(options["region"])
    found = env_first("AWS_REGION", "AWS_DEFAULT_REGION")
    return found[1] if found else None
