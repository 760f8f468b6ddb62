"""The S3 checks: pure functions over collected evidence (see `checks.s3.collect` for the sections).

Bucket exposure is decided by evaluating each bucket policy (`checks.s3.policy`) the way the
flavour enforces it (MinIO's own semantics on MinIO, conservative AWS semantics elsewhere), and confirmed by
the unauthenticated probe where one was made. MinIO-only controls are NOT_APPLICABLE on other
flavours, with the reason.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from checks.s3 import policy as pol
from scanner.evidence import REDACTED
from scanner.floors import FLOOR_SCHEMA, floor_from_params, judge, stale_floor_result
from scanner.interface import CheckFunction, CheckSpec, check
from scanner.model import CheckResult, Evidence, Resource, Status

NOT_APPLICABLE_KEY = "not_applicable"
"""A MinIO-only section of a non-MinIO endpoint is `{"not_applicable": reason}`."""

READ_ACTIONS = ("s3:GetObject",)
LIST_ACTIONS = ("s3:ListBucket", "s3:ListBucketVersions")
WRITE_ACTIONS = ("s3:PutObject",)
DELETE_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:ForceDeleteBucket")
POLICY_ACTIONS = ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy")


def server(evidence: Evidence) -> Resource:
    """The target-level resource (the S3 endpoint)."""
    return evidence.resource("server", evidence.target)


def bucket_resource(evidence: Evidence, name: str) -> Resource:
    """A bucket's resource: `s3://host:port/buckets/<name>`."""
    return evidence.resource("bucket", name, f"buckets/{name}")


def flavour(evidence: Evidence) -> str:
    """The endpoint's flavour from the `server` section."""
    return str(evidence.section("server").get("flavour", "generic"))


def dialect(evidence: Evidence) -> pol.Dialect:
    """MinIO's policy semantics on MinIO; elsewhere AWS semantics read the way that allows more."""
    return "minio" if flavour(evidence) == "minio" else "conservative"


def _not_applicable(evidence: Evidence, *sections: str) -> CheckResult | None:
    for name in sections:
        data = evidence.section(name)
        if isinstance(data, Mapping) and NOT_APPLICABLE_KEY in data:
            return CheckResult(server(evidence), Status.NOT_APPLICABLE, str(data[NOT_APPLICABLE_KEY]))
    return None


def applicable_to_flavour(*sections: str) -> Callable[[CheckFunction], CheckFunction]:
    """For checks of sections only some flavours have: NOT_APPLICABLE, with the collector's reason, where absent.

    The collector marks such a section (`NOT_APPLICABLE_KEY`) only when the flavour was proven
    (`checks.s3.flavour`); an undetermined flavour makes the section an error, so the control is ERROR.
    """

    def decorate(function: CheckFunction) -> CheckFunction:
        @functools.wraps(function)
        def checked(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
            skipped = _not_applicable(evidence, *sections)
            return [skipped] if skipped else function(evidence, params)

        return checked

    return decorate


def _bucket_names(evidence: Evidence) -> list[str]:
    return [str(item["name"]) for item in evidence.section("buckets")["items"]]


def _entry(evidence: Evidence, section: str, name: str) -> tuple[Any, CheckResult | None]:
    """A bucket's value in a per-bucket section, or an ERROR result saying why it is missing."""
    data = evidence.section(section).get(name)
    resource = bucket_resource(evidence, name)
    if not isinstance(data, Mapping):
        return None, CheckResult(resource, Status.ERROR, f"{section} of bucket {name} was not read")
    if "error" in data:
        return None, CheckResult(resource, Status.ERROR, str(data["error"]))
    if "value" not in data:
        return None, CheckResult(resource, Status.ERROR, f"{section} of bucket {name}: malformed evidence")
    return data["value"], None


def _none_pass(evidence: Evidence, what: str) -> CheckResult:
    return CheckResult(server(evidence), Status.PASS, f"no buckets: {what}")


def _allow_listed(entries: Iterable[Any], name: str, created: str | None) -> bool:
    for entry in entries:
        if isinstance(entry, str) and entry == name:
            return True
        if isinstance(entry, Mapping) and entry.get("name") == name:
            pinned = entry.get("created")
            if pinned is None or (created is not None and str(created).startswith(str(pinned))):
                return True
    return False


def _created(evidence: Evidence, name: str) -> str | None:
    for item in evidence.section("buckets")["items"]:
        if item.get("name") == name:
            value = item.get("created")
            return str(value) if value else None
    return None


_ALLOW_LIST = {
    "type": "array",
    "items": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "created": {"type": "string"}},
                "additionalProperties": False,
            },
        ]
    },
    "description": "Buckets allowed to be public: a name, or {name, created} to pin the bucket's creation time.",
}


def _policy_of(evidence: Evidence, name: str) -> tuple[pol.Policy | None, CheckResult | None]:
    value, error = _entry(evidence, "bucket_policy", name)
    if error:
        return None, error
    if value is None:
        return pol.Policy(()), None
    try:
        return pol.parse_policy(value, "bucket"), None
    except pol.PolicyParseError as exc:
        return None, CheckResult(
            bucket_resource(evidence, name), Status.ERROR, f"bucket policy of {name} not understood: {exc}"
        )


def _fixed_context(evidence: Evidence) -> dict[str, tuple[str, ...]]:
    """Condition values a caller cannot choose: a TLS-only MinIO endpoint always has SecureTransport=true."""
    srv = evidence.section("server")
    if srv.get("flavour") == "minio":
        return {"SecureTransport": ("true" if srv.get("scheme") == "https" else "false",)}
    return {}


def _exposure_check(
    evidence: Evidence,
    params: Mapping[str, Any],
    questions: Mapping[str, tuple[str, ...]],
    probe_fields: Mapping[str, str],
    acl_permissions: Mapping[str, tuple[str, ...]],
) -> Iterable[CheckResult]:
    names = _bucket_names(evidence)
    if not names:
        yield _none_pass(evidence, "nothing is exposed")
        return
    probe_section = evidence.section("anonymous_probe") if "anonymous_probe" in evidence.sections else None
    probe = probe_section.get("buckets") if isinstance(probe_section, Mapping) and probe_section.get("probed") else None
    probe_reason = (
        str(probe_section.get("reason")) if isinstance(probe_section, Mapping) else "no unauthenticated probe made"
    )
    allowed = params.get("public_buckets", [])
    for name in names:
        resource = bucket_resource(evidence, name)
        policy, error = _policy_of(evidence, name)
        if error or policy is None:
            yield error or CheckResult(resource, Status.ERROR, "policy missing")
            continue
        found: dict[str, str] = {}
        notes: list[str] = []
        for label, actions in questions.items():
            result = pol.exposure(policy, actions, name, fixed=_fixed_context(evidence), dialect=dialect(evidence))
            notes.extend(result.uncertain)
            if result.allowed:
                found[label] = f"by policy {result.describe()} ({', '.join(result.statements)})"
        acl_found, acl_error = _public_acl(evidence, name, acl_permissions)
        if acl_error is not None:
            yield acl_error
            continue
        for label, how in acl_found.items():
            found.setdefault(label, how)
        confirmed: list[str] = []
        if isinstance(probe, Mapping) and isinstance(probe.get(name), Mapping):
            for label, field in probe_fields.items():
                if probe[name].get(field):
                    confirmed.append(label)
                    found.setdefault(label, "by the server (the unauthenticated request was let through)")
        observed = {"exposed": found, "probe_confirmed": confirmed, "uncertain": notes[:5]}
        if found and _allow_listed(allowed, name, _created(evidence, name)):
            yield CheckResult(
                resource, Status.PASS, f"bucket {name} is public by allow-list ({', '.join(found)})", observed
            )
        elif found:
            parts = [f"anonymous {label} allowed {how}" for label, how in found.items()]
            suffix = f"; confirmed by an unauthenticated request ({', '.join(confirmed)})" if confirmed else ""
            yield CheckResult(
                resource, Status.FAIL, f"bucket {name}: " + "; ".join(parts) + suffix, observed, "no anonymous access"
            )
        else:
            tail = "" if isinstance(probe, Mapping) else f" (policy only: {probe_reason})"
            note = f"; undecidable conditions resolved against the defender: {notes[0]}" if notes else ""
            yield CheckResult(
                resource, Status.PASS, f"bucket {name}: no anonymous {', '.join(questions)}{tail}{note}", observed
            )


PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "every authenticated account",
}
"""ACL grantee groups that make a grant public (any holder of any credential counts as public)."""


def _public_acl(
    evidence: Evidence, name: str, permissions: Mapping[str, tuple[str, ...]]
) -> tuple[dict[str, str], CheckResult | None]:
    """Labels granted to everyone by the bucket ACL (unless the store's PublicAccessBlock ignores public ACLs)."""
    value, error = _entry(evidence, "bucket_acl", name)
    if error:
        return {}, error
    block, block_error = _entry(evidence, "bucket_public_access_block", name)
    if block_error:
        return {}, block_error
    if isinstance(block, Mapping) and block.get("IgnorePublicAcls"):
        return {}, None
    found: dict[str, str] = {}
    for grant in (value or {}).get("grants", []):
        who = PUBLIC_GRANTEES.get(str(grant.get("grantee")))
        if who is None:
            continue
        for label, wanted in permissions.items():
            if grant.get("permission") in wanted:
                found.setdefault(label, f"by the bucket ACL ({grant.get('permission')} to {who})")
    return found, None


@check(
    "s3.anonymous_read",
    needs=("server", "buckets", "bucket_policy", "bucket_acl", "bucket_public_access_block", "anonymous_probe"),
    params={"public_buckets": _ALLOW_LIST},
)
def anonymous_read(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No bucket lets an anonymous caller list it or read an object (policy evaluation and probe)."""
    yield from _exposure_check(
        evidence,
        params,
        {"list": LIST_ACTIONS, "read": READ_ACTIONS},
        {"list": "list_allowed", "read": "read_allowed"},
        {"list": ("READ", "FULL_CONTROL")},
    )


@check(
    "s3.anonymous_write",
    needs=("server", "buckets", "bucket_policy", "bucket_acl", "bucket_public_access_block"),
    params={"public_buckets": _ALLOW_LIST},
)
def anonymous_write(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No bucket lets an anonymous caller write or delete objects or change the bucket policy."""
    yield from _exposure_check(
        evidence,
        params,
        {"write": WRITE_ACTIONS, "delete": DELETE_ACTIONS, "policy change": POLICY_ACTIONS},
        {},
        {
            "write": ("WRITE", "FULL_CONTROL"),
            "delete": ("WRITE", "FULL_CONTROL"),
            "policy change": ("WRITE_ACP", "FULL_CONTROL"),
        },
    )


@check("s3.tls_endpoint", needs=("server",))
def tls_endpoint(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The endpoint speaks HTTPS."""
    srv = evidence.section("server")
    if srv.get("scheme") == "https" and isinstance(srv.get("tls"), Mapping):
        yield CheckResult(
            server(evidence), Status.PASS, f"the endpoint uses TLS ({srv['tls'].get('version')})", "https"
        )
    else:
        yield CheckResult(server(evidence), Status.FAIL, "the endpoint is plain HTTP", srv.get("scheme"), "https")


_TLS_RANK = {"SSLv3": 0, "TLSv1": 10, "TLSv1.1": 11, "TLSv1.2": 12, "TLSv1.3": 13}


@check(
    "s3.tls_version",
    needs=("server",),
    params={"minimum": {"type": "string", "enum": ["TLSv1.2", "TLSv1.3"]}},
)
def tls_version(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The listener negotiates at least TLS 1.2 and refuses TLS 1.1 and older."""
    srv = evidence.section("server")
    minimum = str(params.get("minimum", "TLSv1.2"))
    tls = srv.get("tls")
    if srv.get("scheme") != "https" or not isinstance(tls, Mapping):
        yield CheckResult(server(evidence), Status.FAIL, "the endpoint does not use TLS at all", None, f">= {minimum}")
        return
    version = str(tls.get("version"))
    legacy = tls.get("legacy_tls_accepted")
    observed = {"negotiated": version, "legacy_tls_accepted": legacy}
    if _TLS_RANK.get(version, -1) < _TLS_RANK[minimum]:
        yield CheckResult(
            server(evidence), Status.FAIL, f"the listener negotiated {version}", observed, f">= {minimum}"
        )
    elif legacy is True:
        yield CheckResult(
            server(evidence), Status.FAIL, "the listener accepts TLS 1.1 or older", observed, f">= {minimum}"
        )
    elif legacy is None:
        yield CheckResult(
            server(evidence),
            Status.ERROR,
            f"negotiated {version}, but " + str(tls.get("legacy_tls_unverified") or "TLS 1.1 refusal was not verified"),
            observed,
            f">= {minimum}",
        )
    else:
        yield CheckResult(server(evidence), Status.PASS, f"negotiated {version}; TLS 1.1 refused", observed)


@check("s3.tls_only_policy", needs=("server", "buckets", "bucket_policy"))
def tls_only_policy(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every request without TLS is denied: by a bucket policy, or because the endpoint only speaks TLS."""
    srv = evidence.section("server")
    names = _bucket_names(evidence)
    if srv.get("flavour") == "minio" and srv.get("scheme") == "https":
        yield CheckResult(
            server(evidence),
            Status.PASS,
            "MinIO serves this endpoint only over TLS: no request can be made without it",
            "https only",
        )
        return
    if not names:
        yield _none_pass(evidence, "no bucket to protect")
        return
    for name in names:
        resource = bucket_resource(evidence, name)
        policy, error = _policy_of(evidence, name)
        if error or policy is None:
            yield error or CheckResult(resource, Status.ERROR, "policy missing")
            continue
        principals: tuple[str | None, ...] = (None,) if srv.get("flavour") == "minio" else (None, "sovscan-user")
        verdict = pol.tls_forced(policy, name, principals=principals, dialect=dialect(evidence))
        if verdict.forced and srv.get("flavour") == "minio":
            yield CheckResult(
                resource,
                Status.FAIL,
                f"bucket {name} denies plain-HTTP anonymous requests, but MinIO applies bucket policies to anonymous "
                "callers only: signed requests still work without TLS; serve the endpoint over TLS",
                "deny aws:SecureTransport=false (anonymous only)",
                "TLS-only endpoint",
            )
        elif verdict.forced:
            yield CheckResult(resource, Status.PASS, f"bucket {name} denies every request without TLS")
        else:
            gap = verdict.gap
            shown = f"{gap.action} by {'anonymous' if gap.principal is None else gap.principal}" if gap else "a request"
            note = f" ({verdict.uncertain[0]}; not credited)" if verdict.uncertain else ""
            yield CheckResult(
                resource,
                Status.FAIL,
                f"bucket {name} does not deny plain-HTTP requests: e.g. {shown}{note}",
                None,
                "Deny with Bool aws:SecureTransport=false on every action and resource",
            )


@check(
    "s3.default_encryption",
    needs=("buckets", "bucket_encryption"),
    params={"require_kms": {"type": "boolean", "description": "Only aws:kms counts (SSE-S3 fails)."}},
)
def default_encryption(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every bucket has default server-side encryption (aws:kms when `require_kms`)."""
    names = _bucket_names(evidence)
    if not names:
        yield _none_pass(evidence, "nothing to encrypt")
        return
    require_kms = bool(params.get("require_kms", False))
    for name in names:
        value, error = _entry(evidence, "bucket_encryption", name)
        if error:
            yield error
            continue
        resource = bucket_resource(evidence, name)
        expected = "aws:kms" if require_kms else "AES256 or aws:kms"
        if not value or not value.get("algorithm"):
            yield CheckResult(resource, Status.FAIL, f"bucket {name} has no default encryption", None, expected)
        elif require_kms and value.get("algorithm") != "aws:kms":
            yield CheckResult(
                resource, Status.FAIL, f"bucket {name} uses {value['algorithm']}, not aws:kms", value, expected
            )
        else:
            yield CheckResult(resource, Status.PASS, f"bucket {name} encrypts by default ({value['algorithm']})", value)


@check("s3.kms", needs=("admin_info",), params={"allow_static_key": {"type": "boolean"}})
@applicable_to_flavour("admin_info")
def kms(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """MinIO encrypts with an external KMS (KES / MinIO KMS), online; a static MINIO_KMS_SECRET_KEY is weaker."""
    info = evidence.section("admin_info")
    env = info.get("env_vars") or {}
    states = [k.get("status") for k in info.get("kms") or []]
    resource = evidence.resource("kms", "KMS", "kms")
    observed = {"kms": info.get("kms"), "configured_by": sorted(k for k in env if k.startswith("MINIO_KMS"))}
    if not states:
        yield CheckResult(
            resource,
            Status.FAIL,
            "no KMS is configured: objects cannot be encrypted with SSE-KMS",
            observed,
            "external KMS",
        )
    elif any(s != "online" for s in states):
        yield CheckResult(resource, Status.FAIL, f"the KMS is not online ({states})", observed, "online")
    elif "MINIO_KMS_SECRET_KEY" in env or "MINIO_KMS_SECRET_KEY_FILE" in env:
        status = Status.PASS if params.get("allow_static_key", False) else Status.FAIL
        yield CheckResult(
            resource,
            status,
            "the KMS is a static key (MINIO_KMS_SECRET_KEY): one key in the server's environment, no rotation, no "
            "separation from the data; use KES or MinIO KMS with an HSM or a secrets manager",
            observed,
            "external KMS",
        )
    else:
        yield CheckResult(resource, Status.PASS, "an external KMS is configured and online", observed)


@check("s3.versioning", needs=("buckets", "bucket_versioning"))
def versioning(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every bucket has versioning Enabled."""
    names = _bucket_names(evidence)
    if not names:
        yield _none_pass(evidence, "nothing to version")
        return
    for name in names:
        value, error = _entry(evidence, "bucket_versioning", name)
        if error:
            yield error
            continue
        status = (value or {}).get("status") or "Off"
        result = Status.PASS if status == "Enabled" else Status.FAIL
        yield CheckResult(
            bucket_resource(evidence, name), result, f"bucket {name} versioning: {status}", value, "Enabled"
        )


_BACKUP_PARAMS = {
    "name_patterns": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Glob patterns of backup bucket names.",
    },
    "tags": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "Tags marking backup buckets.",
    },
    "min_retention_days": {"type": "integer", "minimum": 0},
}


def _is_backup(evidence: Evidence, name: str, params: Mapping[str, Any]) -> tuple[bool | None, str]:
    if any(fnmatch.fnmatchcase(name, p) for p in params.get("name_patterns", ["*backup*"])):
        return True, "by name"
    wanted = params.get("tags", {"purpose": "backup"})
    tags_value, error = _entry(evidence, "bucket_tags", name)
    if error:
        return None, error.message
    tags = tags_value or {}
    if any(tags.get(k) == v for k, v in wanted.items()):
        return True, "by tag"
    return False, ""


@check("s3.object_lock", needs=("buckets", "bucket_object_lock", "bucket_tags"), params=_BACKUP_PARAMS)
def object_lock(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Backup buckets (by name pattern or tag) have object lock with a default retention."""
    names = _bucket_names(evidence)
    minimum = int(params.get("min_retention_days", 7))
    seen = False
    for name in names:
        backup, why = _is_backup(evidence, name, params)
        resource = bucket_resource(evidence, name)
        if backup is None:
            seen = True
            yield CheckResult(resource, Status.ERROR, f"cannot tell whether {name} is a backup bucket: {why}")
            continue
        if not backup:
            continue
        seen = True
        value, error = _entry(evidence, "bucket_object_lock", name)
        if error:
            yield error
            continue
        expected = f"object lock with >= {minimum} days default retention"
        if not value or not value.get("mode"):
            yield CheckResult(
                resource, Status.FAIL, f"backup bucket {name} ({why}) has no object lock retention", value, expected
            )
            continue
        amount, unit = (value.get("duration") or [0, "DAYS"])[:2]
        days = int(amount) * (365 if str(unit).upper().startswith("YEAR") else 1)
        if days < minimum:
            yield CheckResult(resource, Status.FAIL, f"backup bucket {name} retains only {days} days", value, expected)
        else:
            yield CheckResult(resource, Status.PASS, f"backup bucket {name}: {value['mode']} for {days} days", value)
    if not seen:
        yield CheckResult(server(evidence), Status.NOT_APPLICABLE, "no bucket is a backup bucket by name or tag")


@check("s3.noncurrent_lifecycle", needs=("buckets", "bucket_versioning", "bucket_lifecycle"))
def noncurrent_lifecycle(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Versioned buckets have an enabled lifecycle rule expiring noncurrent versions."""
    seen = False
    for name in _bucket_names(evidence):
        version, error = _entry(evidence, "bucket_versioning", name)
        if error:
            seen = True
            yield error
            continue
        if (version or {}).get("status") not in ("Enabled", "Suspended"):
            continue
        seen = True
        value, error = _entry(evidence, "bucket_lifecycle", name)
        if error:
            yield error
            continue
        rules = [r for r in (value or {}).get("rules", []) if r.get("status") == "Enabled" and r.get("noncurrent_days")]
        resource = bucket_resource(evidence, name)
        if rules:
            yield CheckResult(
                resource,
                Status.PASS,
                f"bucket {name} expires noncurrent versions after {rules[0]['noncurrent_days']} days",
                rules,
            )
        else:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"versioned bucket {name} keeps noncurrent versions forever",
                value,
                "NoncurrentVersionExpiration rule",
            )
    if not seen:
        yield CheckResult(server(evidence), Status.NOT_APPLICABLE, "no bucket is versioned")


@check("s3.default_root", needs=("root_identity",))
@applicable_to_flavour("root_identity")
def default_root(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The root credential is not MinIO's default minioadmin/minioadmin."""
    root = evidence.section("root_identity")
    resource = evidence.resource("user", "root", "users/root")
    if root.get("caller_uses_default_root") or root.get("default_login_probe") == "accepted":
        yield CheckResult(
            resource, Status.FAIL, "the root credential is the default minioadmin/minioadmin", root, "changed"
        )
    elif root.get("default_login_probe") == "refused":
        yield CheckResult(resource, Status.PASS, "a login with minioadmin/minioadmin was refused", root)
    elif root.get("root_user") and root["root_user"] not in ("minioadmin", REDACTED):
        yield CheckResult(
            resource, Status.PASS, "the root user is not named minioadmin, so the default pair cannot work", root
        )
    else:
        yield CheckResult(
            resource,
            Status.ERROR,
            "cannot tell whether the root credential is the default: set option default_credential_probe: true",
            root,
        )


@check("s3.root_access", needs=("root_access",))
@applicable_to_flavour("root_access")
def root_access(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """MinIO's root API access is switched off (`api root_access=off` or MINIO_API_ROOT_ACCESS=off)."""
    setting = evidence.section("root_access")
    resource = evidence.resource("config", "api root_access", "config/api/root_access")
    if setting.get("value") == "off":
        yield CheckResult(resource, Status.PASS, f"root API access is off ({setting.get('source')})", setting)
    else:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"root API access is {setting.get('value')} ({setting.get('source')})",
            setting,
            "off",
        )


def _wildcard_policies(evidence: Evidence) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name, document in evidence.section("policies").items():
        try:
            found = pol.wildcard_grants(pol.parse_policy(document, "iam"), "minio")
        except pol.PolicyParseError:
            found = ["policy not understood (counted as wildcard)"]
        if found:
            result[str(name)] = found
    return result


@check(
    "s3.wildcard_policies",
    needs=("users", "groups", "policies", "access_keys", "root_identity"),
    params={
        "admins": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Users (access keys) allowed s3:*/admin:*.",
        }
    },
)
@applicable_to_flavour("users")
def wildcard_policies(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No user, group or access key holds s3:* or admin:* on * outside the `admins` allow-list."""
    wild = _wildcard_policies(evidence)
    admins = set(params.get("admins", []))
    groups = evidence.section("groups")
    wild_groups: dict[str, list[str]] = {}
    for name, group in groups.items():
        attached = [p for p in str(group.get("policy") or "").split(",") if p]
        hits = [f"{p}: {', '.join(wild[p])}" for p in attached if p in wild]
        if hits:
            wild_groups[name] = hits
    wild_users: set[str] = set()
    exempted = 0
    results: list[CheckResult] = []
    for name, user in evidence.section("users").items():
        attached = [p for p in str(user.get("policy") or "").split(",") if p]
        hits = [f"{p}: {', '.join(wild[p])}" for p in attached if p in wild]
        hits += [f"group {g} ({'; '.join(wild_groups[g])})" for g in user.get("member_of") or [] if g in wild_groups]
        if not hits:
            continue
        wild_users.add(name)
        if name in admins:
            exempted += 1
            continue
        results.append(
            CheckResult(
                evidence.resource("user", name, f"users/{name}"),
                Status.FAIL,
                f"user {name} has {'; '.join(hits)}",
                attached,
                "no wildcard grants",
            )
        )
    for name, hits in wild_groups.items():
        results.append(
            CheckResult(
                evidence.resource("group", name, f"groups/{name}"),
                Status.FAIL,
                f"group {name} ({len(groups[name].get('members') or [])} members) has {'; '.join(hits)}",
                None,
                "no wildcard grants",
            )
        )
    root = evidence.section("root_identity").get("root_user")
    for key, info in evidence.section("access_keys").get("service_accounts", {}).items():
        # MinIO gives an access key its parent's rights, narrowed by the key's own policy when it has one:
        # it holds a wildcard grant only when its parent does (a wildcard user, or the root)
        parent = str(info.get("parent") or "")
        if parent not in wild_users and (not root or parent != root):
            continue
        narrowed = info.get("implied_policy") is False and isinstance(info.get("policy"), Mapping)
        if narrowed:
            try:
                if not pol.wildcard_grants(pol.parse_policy(info["policy"], "iam"), "minio"):
                    continue
            except pol.PolicyParseError:
                pass  # not understood: counted as not narrowing anything
        if parent in admins:
            exempted += 1
            continue
        owner = "the root credential" if parent == root else f"user {parent}"
        results.append(
            CheckResult(
                evidence.resource("access_key", key, f"access-keys/{key}"),
                Status.FAIL,
                f"access key {key} carries the wildcard grants of {owner}"
                + (" (its own policy does not narrow them)" if narrowed else ""),
                None,
                "no wildcard grants",
            )
        )
    yield from results
    if not results:
        yield CheckResult(
            server(evidence),
            Status.PASS,
            f"no user, group or access key has a wildcard grant outside the allow-list "
            f"({len(wild)} wildcard policies exist; {exempted} identities exempted by `admins`)",
            sorted(wild),
        )


def _expiry(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.year >= 9999 or when.year <= 1970:
        return None  # MinIO's "never expires" sentinels
    return when


def _scan_time(evidence: Evidence) -> datetime:
    try:
        return datetime.fromisoformat(evidence.collected_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


@check(
    "s3.access_key_expiry",
    needs=("access_keys",),
    params={"max_days": {"type": "integer", "minimum": 1, "description": "Longest allowed remaining lifetime."}},
)
@applicable_to_flavour("access_keys")
def access_key_expiry(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every access key (service account) expires, within `max_days`."""
    keys = evidence.section("access_keys").get("service_accounts", {})
    max_days = int(params.get("max_days", 365))
    now = _scan_time(evidence)
    if not keys:
        yield CheckResult(server(evidence), Status.PASS, "no access keys exist")
        return
    for key, info in sorted(keys.items()):
        resource = evidence.resource("access_key", key, f"access-keys/{key}")
        when = _expiry(info.get("expiration"))
        if when is None:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"access key {key} of {info.get('parent')} never expires",
                info.get("expiration"),
                f"expires within {max_days} days",
            )
        elif (when - now).days > max_days:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"access key {key} expires only in {(when - now).days} days",
                info.get("expiration"),
                f"<= {max_days} days",
            )
        else:
            yield CheckResult(
                resource, Status.PASS, f"access key {key} expires {when.date().isoformat()}", info.get("expiration")
            )


@check("s3.stale_identities", needs=("users", "access_keys"))
@applicable_to_flavour("users")
def stale_identities(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No disabled users, and no expired or disabled access keys, are left behind."""
    now = _scan_time(evidence)
    found = False
    for name, user in evidence.section("users").items():
        if user.get("status") != "enabled":
            found = True
            yield CheckResult(
                evidence.resource("user", name, f"users/{name}"),
                Status.FAIL,
                f"user {name} is {user.get('status')}: remove it",
                user.get("status"),
                "enabled or removed",
            )
    for key, info in evidence.section("access_keys").get("service_accounts", {}).items():
        when = _expiry(info.get("expiration"))
        if (when is not None and when < now) or info.get("status") not in (None, "on", "enabled"):
            found = True
            yield CheckResult(
                evidence.resource("access_key", key, f"access-keys/{key}"),
                Status.FAIL,
                f"access key {key} is expired or disabled: remove it",
                {"status": info.get("status"), "expiration": info.get("expiration")},
                "removed",
            )
    if not found:
        yield CheckResult(server(evidence), Status.PASS, "no disabled users and no expired or disabled access keys")


@check("s3.root_keys", needs=("access_keys", "root_identity"))
@applicable_to_flavour("access_keys", "root_identity")
def root_keys(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The root credential owns no access keys (applications use their own users)."""
    root = evidence.section("root_identity").get("root_user")
    if root == REDACTED:
        yield CheckResult(
            server(evidence),
            Status.ERROR,
            "the root user's name is redacted in the evidence: it equals a credential value "
            "(e.g. minioadmin/minioadmin)",
        )
        return
    if not root:
        yield CheckResult(
            server(evidence), Status.ERROR, "the root user could not be identified from the access key listing"
        )
        return
    owned = [
        e
        for e in evidence.section("access_keys").get("by_user", {}).get(root, [])
        if e.get("type") == "service_account"
    ]
    resource = evidence.resource("user", "root", "users/root")
    if owned:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"the root credential owns {len(owned)} access key(s): {', '.join(str(e['access_key']) for e in owned)}",
            [e["access_key"] for e in owned],
            "none",
        )
    else:
        yield CheckResult(resource, Status.PASS, "the root credential owns no access keys")


@check("s3.scanner_not_root", needs=("root_identity",))
@applicable_to_flavour("root_identity")
def scanner_not_root(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The scan itself does not run with the root credential (least privilege)."""
    root = evidence.section("root_identity")
    resource = evidence.resource("user", "scanner", "users/scanner")
    if root.get("caller_is_root") is True:
        yield CheckResult(
            resource,
            Status.FAIL,
            "the scan ran with the root credential; use examples/s3/scanner-policy.json",
            None,
            "a read-only user",
        )
    elif root.get("caller_is_root") is False:
        yield CheckResult(resource, Status.PASS, "the scan ran with a non-root user")
    else:
        yield CheckResult(resource, Status.ERROR, "cannot tell whether the scan ran as root")


@check("s3.audit_logging", needs=("admin_info",), params={"require_https": {"type": "boolean"}})
@applicable_to_flavour("admin_info")
def audit_logging(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """An audit log target (webhook or Kafka) is configured, online, and reached over TLS."""
    info = evidence.section("admin_info")
    targets = {k: v for entry in info.get("audit") or [] for k, v in entry.items()}
    env = info.get("env_vars") or {}
    endpoints = {
        k: v
        for k, v in env.items()
        if k.startswith("MINIO_AUDIT_WEBHOOK_ENDPOINT") or k.startswith("MINIO_AUDIT_KAFKA_BROKERS")
    }
    resource = evidence.resource("audit", "audit targets", "audit")
    observed = {"targets": targets, "endpoints": endpoints}
    if not targets:
        yield CheckResult(
            resource, Status.FAIL, "no audit log target is configured", observed, "an online audit target"
        )
        return
    offline = [k for k, v in targets.items() if v != "online"]
    plain = [k for k, v in endpoints.items() if str(v).startswith("http://")]
    if offline:
        yield CheckResult(
            resource, Status.FAIL, f"audit target(s) not online: {', '.join(offline)}", observed, "online"
        )
    elif params.get("require_https", True) and plain:
        yield CheckResult(
            resource, Status.FAIL, f"audit target(s) over plain HTTP: {', '.join(plain)}", observed, "https"
        )
    else:
        yield CheckResult(resource, Status.PASS, f"{len(targets)} audit target(s) online", observed)


@check("s3.identity_provider", needs=("identity_providers",))
@applicable_to_flavour("identity_providers")
def identity_provider(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """An external identity provider (OpenID Connect or LDAP) is configured."""
    found = evidence.section("identity_providers")
    resource = evidence.resource("identity", "identity providers", "identity")
    providers = list(found.get("providers") or [])
    if providers:
        yield CheckResult(resource, Status.PASS, f"external identity provider: {', '.join(providers)}", providers)
    else:
        yield CheckResult(
            resource,
            Status.FAIL,
            "no external identity provider (environment, server info and configuration read): every identity is a "
            "local MinIO user",
            found,
            "OpenID Connect or LDAP",
        )


@check("s3.metrics_auth", needs=("metrics_probe",))
@applicable_to_flavour("metrics_probe")
def metrics_auth(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Prometheus metrics are not served without authentication."""
    probe = evidence.section("metrics_probe")
    resource = evidence.resource("endpoint", "metrics", "minio/v2/metrics/cluster")
    if probe.get("public"):
        yield CheckResult(
            resource,
            Status.FAIL,
            "cluster metrics are served without authentication (MINIO_PROMETHEUS_AUTH_TYPE=public)",
            probe,
            "401/403",
        )
    elif probe.get("status") in (401, 403):
        yield CheckResult(resource, Status.PASS, f"metrics need authentication (HTTP {probe.get('status')})", probe)
    else:  # a 404 or 502 (from a proxy in front of the store, say) shows nothing about MinIO's own setting
        yield CheckResult(
            resource,
            Status.ERROR,
            f"the metrics endpoint answered HTTP {probe.get('status')}, neither served nor refused: "
            "whether it needs authentication is not verified",
            probe,
            "401/403",
        )


@check("s3.drives", needs=("admin_info",))
@applicable_to_flavour("admin_info")
def drives(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every server is online and every drive is ok."""
    servers = evidence.section("admin_info").get("servers") or []
    if not servers:
        yield CheckResult(server(evidence), Status.ERROR, "server info lists no servers")
        return
    bad = []
    for srv in servers:
        if srv.get("state") != "online":
            bad.append(f"server {srv.get('endpoint')} is {srv.get('state')}")
        for drive in srv.get("drives") or []:
            if drive.get("state") != "ok":
                bad.append(f"drive {drive.get('endpoint')} is {drive.get('state')}")
    resource = evidence.resource("servers", "servers and drives", "servers")
    if bad:
        yield CheckResult(resource, Status.FAIL, "; ".join(bad), bad, "all online / ok")
    else:
        count = sum(len(s.get("drives") or []) for s in servers)
        yield CheckResult(resource, Status.PASS, f"{len(servers)} server(s), {count} drive(s), all healthy")


_DATE_IN_VERSION = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def release_date_version(text: Any) -> tuple[int, ...] | None:
    """MinIO's version (`2025-10-15T17:29:55Z`, `RELEASE.2025-10-15T17-29-55Z`) as (year, month, day)."""
    match = _DATE_IN_VERSION.search(str(text or ""))
    return tuple(int(g) for g in match.groups()) if match else None


@check("s3.server_version", needs=("admin_info",), params={"version_floor": FLOOR_SCHEMA})
@applicable_to_flavour("admin_info")
def server_version(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every MinIO server runs a release at or above the dated floor (versions are release dates)."""
    floor = floor_from_params(params["version_floor"])
    stale = stale_floor_result(
        floor, evidence.collected_at, evidence.resource("floor", "version floor", "servers/version-floor")
    )
    if stale is not None:
        yield stale
    for srv in evidence.section("admin_info").get("servers") or []:
        endpoint = str(srv.get("endpoint"))
        resource = evidence.resource("server", endpoint, f"servers/{endpoint}")
        version = release_date_version(srv.get("version"))
        if version is None:
            yield CheckResult(
                resource,
                Status.ERROR,
                f"server {endpoint} reports no dated version ({srv.get('version')!r}): a build without release stamp",
                srv.get("version"),
            )
            continue
        verdict = judge(version, floor)
        shown = "-".join(f"{part:02d}" for part in version)
        if verdict.passes:
            message = (
                f"server {endpoint} runs a MinIO build of {shown}, at or above the floor; note that upstream MinIO "
                "community edition is no longer maintained"
            )
        else:
            wanted = "-".join(f"{part:02d}" for part in verdict.floor) if verdict.floor else "?"
            message = f"server {endpoint} runs a MinIO build of {shown}, older than the floor {wanted}: update"
        yield CheckResult(
            resource, Status.PASS if verdict.passes else Status.FAIL, message, srv.get("version"), floor.describe()
        )


CHECKS: tuple[CheckSpec, ...] = (
    anonymous_read,
    anonymous_write,
    tls_endpoint,
    tls_version,
    tls_only_policy,
    default_encryption,
    kms,
    versioning,
    object_lock,
    noncurrent_lifecycle,
    default_root,
    root_access,
    wildcard_policies,
    access_key_expiry,
    stale_identities,
    root_keys,
    scanner_not_root,
    audit_logging,
    identity_provider,
    metrics_auth,
    drives,
    server_version,
)
"""Every S3 check."""
