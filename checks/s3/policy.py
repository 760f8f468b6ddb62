"""S3 bucket and IAM policies: parsing and evaluation, as MinIO (or AWS-style stores) enforce them.

This module is pure. It answers two kinds of questions:

* `evaluate(policy, request)`: the decision for one concrete request (explicit deny wins over
  allow, allow over the implicit deny);
* `exposure(policy, ...)` / `tls_forced(policy, ...)`: "is there *any* request of this caller
  that is allowed?" (anonymous list, read, write, delete, policy change) and "is every plain-HTTP
  request denied?", by evaluating the policy over a finite set of representative request
  contexts built from the values the policy itself mentions (each CIDR's first and last address,
  an address outside all of them, each string value and an instance of each pattern, the key
  being absent, ...).

Two dialects:

* `minio` follows MinIO's policy package (github.com/minio/pkg/v3/policy) exactly: action names
  match case-sensitively (`s3:getobject` matches nothing), `s3:GetObjectVersion` also grants
  `s3:GetObject`, a bucket policy's Principal is matched against the caller's access key with
  MinIO's simple wildcard (anonymous callers have the empty name, so `*` matches them), MinIO
  consults bucket policies for anonymous callers only, an IAM policy sees a bucket-level request
  as the resource `bucket/` (so `arn:aws:s3:::bucket/*` also grants `s3:ListBucket`), `Bool`
  compares the policy's value as written (`"TRUE"` never matches), an IP address without a prefix
  length means `/32` (IPv6 too), and only MinIO's condition operators exist (no `...IfExists`
  except `NumericGreaterThanIfExists`, no `Arn*`);
* `aws` follows the AWS reference (case-insensitive action names and condition keys, `NotPrincipal`,
  `...IfExists`, `Arn*` operators, `/128` for a bare IPv6 address);
* `conservative` is `aws` where a store's own matching rules are unknown (SeaweedFS, Ceph RGW, other
  S3 stores), except that each statement's actions are read the way that allows more: an Allow's
  Action case-insensitively, a Deny's only exactly (SeaweedFS, for one, matches case-sensitively).

An operator or value the evaluator does not understand never makes a policy look safer: inside an
Allow it is assumed to hold, inside a Deny it is assumed not to apply, and the result says so
(`Evaluation.uncertain`).
"""

from __future__ import annotations

import enum
import ipaddress
import itertools
import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Dialect = Literal["minio", "aws", "conservative"]
"""Which server's semantics to apply."""

ARN_PREFIX = "arn:aws:s3:::"
"""The prefix of S3 resource ARNs."""

S3_ACTIONS = [
    "s3:AbortMultipartUpload",
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ForceDeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucketCors",
    "s3:DeleteObject",
    "s3:GetBucketLocation",
    "s3:GetBucketNotification",
    "s3:GetBucketPolicy",
    "s3:GetBucketCors",
    "s3:GetObject",
    "s3:GetObjectAttributes",
    "s3:HeadBucket",
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "s3:GetBucketPolicyStatus",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:ListenNotification",
    "s3:ListenBucketNotification",
    "s3:ListMultipartUploadParts",
    "s3:PutLifecycleConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:PutBucketNotification",
    "s3:PutBucketPolicy",
    "s3:PutBucketCors",
    "s3:PutObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteObjectVersionTagging",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAttributes",
    "s3:GetObjectVersionTagging",
    "s3:PutObjectVersionTagging",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:GetObjectRetention",
    "s3:GetObjectLegalHold",
    "s3:PutObjectLegalHold",
    "s3:GetBucketObjectLockConfiguration",
    "s3:PutBucketObjectLockConfiguration",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
    "s3:GetObjectTagging",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:PutEncryptionConfiguration",
    "s3:GetEncryptionConfiguration",
    "s3:PutBucketVersioning",
    "s3:GetBucketVersioning",
    "s3:GetReplicationConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "s3:GetObjectVersionForReplication",
    "s3:RestoreObject",
    "s3:ResetBucketReplicationState",
    "s3:PutObjectFanOut",
]
"""Every S3 action MinIO knows (github.com/minio/pkg/v3 policy/action.go)."""

OBJECT_ACTIONS = frozenset(
    [
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:ListMultipartUploadParts",
        "s3:PutObject",
        "s3:BypassGovernanceRetention",
        "s3:PutObjectRetention",
        "s3:GetObjectRetention",
        "s3:PutObjectLegalHold",
        "s3:GetObjectLegalHold",
        "s3:GetObjectTagging",
        "s3:PutObjectTagging",
        "s3:DeleteObjectTagging",
        "s3:GetObjectVersion",
        "s3:GetObjectVersionTagging",
        "s3:DeleteObjectVersion",
        "s3:DeleteObjectVersionTagging",
        "s3:PutObjectVersionTagging",
        "s3:ReplicateObject",
        "s3:ReplicateDelete",
        "s3:ReplicateTags",
        "s3:GetObjectVersionForReplication",
        "s3:RestoreObject",
        "s3:ResetBucketReplicationState",
        "s3:PutObjectFanOut",
        "s3:GetObjectAttributes",
        "s3:GetObjectVersionAttributes",
    ]
)
"""Actions on objects (their resource is `bucket/key`); the others act on a bucket."""

_STRING_OPS = {
    "StringEquals": (False, False),
    "StringNotEquals": (False, True),
    "StringEqualsIgnoreCase": (True, False),
    "StringNotEqualsIgnoreCase": (True, True),
}
_LIKE_OPS = {"StringLike": False, "StringNotLike": True}
_ARN_OPS = {"ArnEquals": False, "ArnLike": False, "ArnNotEquals": True, "ArnNotLike": True}
_NUMERIC_OPS = {
    "NumericEquals": "eq",
    "NumericNotEquals": "ne",
    "NumericLessThan": "lt",
    "NumericLessThanEquals": "le",
    "NumericGreaterThan": "gt",
    "NumericGreaterThanEquals": "ge",
}
_DATE_OPS = {
    "DateEquals": "eq",
    "DateNotEquals": "ne",
    "DateLessThan": "lt",
    "DateLessThanEquals": "le",
    "DateGreaterThan": "gt",
    "DateGreaterThanEquals": "ge",
}
_MINIO_OPERATORS = frozenset(
    {*_STRING_OPS, *_LIKE_OPS, *_NUMERIC_OPS, *_DATE_OPS, "BinaryEquals", "IpAddress", "NotIpAddress", "Null"}
    | {"Bool", "NumericGreaterThanIfExists"}
)
"""The operators MinIO's policy package implements (condition/func.go)."""
_QUALIFIERS = ("ForAnyValue", "ForAllValues")
_TRIMMED_PREFIXES = ("aws", "jwt", "ldap", "sts", "svc", "s3")
_VARIABLE_KEYS = [
    "s3:signatureversion",
    "s3:authType",
    "s3:signatureAge",
    "s3:x-amz-content-sha256",
    "s3:LocationConstraint",
    "aws:Referer",
    "aws:SourceIp",
    "aws:UserAgent",
    "aws:SecureTransport",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:principaltype",
    "aws:userid",
    "aws:username",
    "aws:groups",
    "ldap:user",
    "ldap:username",
    "ldap:groups",
]
"""Keys usable as `${...}` policy variables in resources and string values (MinIO's CommonKeys)."""
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class PolicyParseError(ValueError):
    """The text is not JSON or not shaped like an S3 policy."""


class Decision(enum.Enum):
    """The outcome of evaluating one request."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Condition:
    """One `Operator: {key: values}` entry of a statement's Condition block."""

    operator: str
    """The operator as written, qualifier included (`ForAnyValue:StringLike`)."""
    key: str
    """The condition key as written (`aws:SourceIp`)."""
    values: tuple[str, ...]
    """The values, as strings (JSON booleans become `true`/`false`)."""

    def describe(self) -> str:
        """`Operator key [values]` for messages."""
        return f"{self.operator} {self.key} {list(self.values)}"


@dataclass(frozen=True)
class Statement:
    """One statement of a policy."""

    effect: str
    """`Allow` or `Deny`."""
    sid: str = ""
    """The statement id, if any."""
    principals: tuple[str, ...] | None = None
    """Principal entries (`*` for everyone); None when the statement has no Principal (IAM policies)."""
    not_principals: tuple[str, ...] | None = None
    """NotPrincipal entries (AWS only)."""
    actions: tuple[str, ...] = ()
    """Action patterns."""
    not_actions: tuple[str, ...] = ()
    """NotAction patterns."""
    resources: tuple[str, ...] = ()
    """Resource ARN patterns."""
    not_resources: tuple[str, ...] = ()
    """NotResource ARN patterns."""
    conditions: tuple[Condition, ...] = ()
    """Condition entries, all of which must hold."""

    @property
    def label(self) -> str:
        """The Sid, or a description of the statement, for messages."""
        return self.sid or f"{self.effect} {list(self.actions or self.not_actions)}"


@dataclass(frozen=True)
class Policy:
    """A parsed policy document."""

    statements: tuple[Statement, ...]
    """The statements, in document order."""
    kind: Literal["bucket", "iam"] = "bucket"
    """A bucket policy (has principals) or an IAM policy (attached to users, groups, access keys)."""


@dataclass(frozen=True)
class Request:
    """One concrete request: who asks to do what on which bucket or object, in which context."""

    action: str
    """The S3 action, e.g. `s3:GetObject`."""
    bucket: str
    """The bucket name."""
    key: str = ""
    """The object key (empty for bucket-level actions)."""
    principal: str | None = None
    """The caller's access key or user name; None for an anonymous caller."""
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Condition values by key as MinIO names them (`SourceIp`, `SecureTransport`, `prefix`, ...).

    A key that is absent is absent for `Null` and `...IfExists`.
    """


@dataclass(frozen=True)
class Evaluation:
    """The decision for one request and why."""

    decision: Decision
    """Allow, explicit deny or implicit deny."""
    statements: tuple[str, ...] = ()
    """The statements that decided it (the denying ones, or the allowing ones)."""
    uncertain: tuple[str, ...] = ()
    """Conditions the evaluator could not decide and resolved against the defender."""

    @property
    def allowed(self) -> bool:
        """True when the request is allowed."""
        return self.decision is Decision.ALLOW


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise PolicyParseError(f"{what} must be a string or a list of strings")


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    raise PolicyParseError(f"condition value {value!r} is not a string, number or boolean")


def _principal(value: Any, what: str) -> tuple[str, ...]:
    if value == "*":
        return ("*",)
    if isinstance(value, dict):
        entries: list[str] = []
        for provider, names in value.items():
            if not isinstance(provider, str):
                raise PolicyParseError(f"{what} keys must be strings")
            for name in _strings(names, f"{what}.{provider}"):
                entries.append(name if provider == "AWS" else f"{provider}:{name}")
        return tuple(entries)
    raise PolicyParseError(f"{what} must be '*' or an object such as {{\"AWS\": [...]}}")


def parse_policy(document: str | Mapping[str, Any], kind: Literal["bucket", "iam"] = "bucket") -> Policy:
    """Parse a policy document (JSON text or an already-decoded mapping); raise PolicyParseError."""
    if isinstance(document, str):
        try:
            data: Any = json.loads(document)
        except json.JSONDecodeError as exc:
            raise PolicyParseError(f"policy is not JSON: {exc.msg} at line {exc.lineno}") from None
    else:
        data = document
    if not isinstance(data, dict):
        raise PolicyParseError("policy must be a JSON object")
    raw = data.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise PolicyParseError("policy has no Statement list")
    statements: list[Statement] = []
    for index, item in enumerate(raw):
        what = f"Statement[{index}]"
        if not isinstance(item, dict):
            raise PolicyParseError(f"{what} must be an object")
        effect = item.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyParseError(f"{what}.Effect must be Allow or Deny")
        conditions: list[Condition] = []
        block = item.get("Condition", {})
        if not isinstance(block, dict):
            raise PolicyParseError(f"{what}.Condition must be an object")
        for operator, entries in block.items():
            if not isinstance(entries, dict):
                raise PolicyParseError(f"{what}.Condition.{operator} must be an object")
            for key, values in entries.items():
                listed = values if isinstance(values, list) else [values]
                conditions.append(Condition(str(operator), str(key), tuple(_value_text(v) for v in listed)))
        statements.append(
            Statement(
                effect=effect,
                sid=str(item.get("Sid") or ""),
                principals=_principal(item["Principal"], f"{what}.Principal") if "Principal" in item else None,
                not_principals=(
                    _principal(item["NotPrincipal"], f"{what}.NotPrincipal") if "NotPrincipal" in item else None
                ),
                actions=_strings(item.get("Action", []), f"{what}.Action"),
                not_actions=_strings(item.get("NotAction", []), f"{what}.NotAction"),
                resources=_strings(item.get("Resource", []), f"{what}.Resource"),
                not_resources=_strings(item.get("NotResource", []), f"{what}.NotResource"),
                conditions=tuple(conditions),
            )
        )
        if not statements[-1].actions and not statements[-1].not_actions:
            raise PolicyParseError(f"{what} has neither Action nor NotAction")
    return Policy(statements=tuple(statements), kind=kind)


# --- matching primitives ---------------------------------------------------------------------


def glob_match(pattern: str, text: str, *, simple: bool = False, fold: bool = False) -> bool:
    """MinIO's wildcard match: `*` any run, `?` one character (with `simple`, `?` also matches the end)."""
    if fold:
        pattern, text = pattern.lower(), text.lower()
    if pattern == "":
        return text == ""
    if pattern == "*":
        return True
    # iterative backtracking over '*' (same answers as minio/pkg wildcard.deepMatchRune)
    p = t = 0
    star_p, star_t = -1, 0
    while True:
        if p < len(pattern) and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
            continue
        if p < len(pattern) and t < len(text) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
            continue
        if simple and p < len(pattern) and pattern[p] == "?" and t == len(text):
            return True
        if p == len(pattern) and t == len(text):
            return True
        if star_p >= 0 and star_t < len(text):
            star_t += 1
            p, t = star_p + 1, star_t
            continue
        return False


def key_name(key: str) -> str:
    """A condition key as MinIO stores request values under it: `aws:SourceIp` -> `SourceIp`."""
    prefix, sep, rest = key.partition(":")
    return rest if sep and prefix in _TRIMMED_PREFIXES else key


def _lookup(context: Mapping[str, tuple[str, ...]], key: str, dialect: Dialect) -> tuple[str, ...] | None:
    name = key_name(key)
    if dialect != "minio":
        lowered = name.lower()
        for candidate, values in context.items():
            if candidate.lower() == lowered:
                return values
        return None
    canonical = "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))
    if canonical in context:
        return context[canonical]
    return context.get(name)


def _substitute(text: str, context: Mapping[str, tuple[str, ...]], dialect: Dialect) -> str:
    def repl(match: re.Match[str]) -> str:
        variable = match.group(1)
        if any(
            variable == known or (dialect != "minio" and variable.lower() == known.lower()) for known in _VARIABLE_KEYS
        ):
            values = _lookup(context, variable, dialect)
            if values and values[0] != "":
                return values[0]
        return match.group(0)

    return _VARIABLE.sub(repl, text)


def action_matches(
    patterns: Iterable[str], action: str, dialect: Dialect, *, fold: bool | None = None, implied: bool | None = None
) -> bool:
    """Whether an Action list matches `action` (MinIO: case-sensitive; GetObjectVersion implies GetObject).

    `fold` (case-insensitive) and `implied` (the GetObjectVersion rule) default to the dialect's own.
    """
    fold = dialect == "aws" if fold is None else fold
    implied = dialect == "minio" if implied is None else implied
    for pattern in patterns:
        if glob_match(pattern, action, fold=fold):
            return True
        if implied and action == "s3:GetObject" and pattern == "s3:GetObjectVersion":
            return True  # MinIO's ActionSet.Match: GetObjectVersion implies GetObject (AWS has no such rule)
    return False


def _clean(path: str) -> str:
    cleaned = posixpath.normpath(path) if path else "."
    return cleaned[1:] if cleaned.startswith("//") else cleaned


def resource_pattern(arn: str, dialect: Dialect) -> str | None:
    """The S3 resource pattern of an ARN (`arn:aws:s3:::b/*` -> `b/*`); None when it names no S3 resource.

    MinIO also accepts a bare `*` (which it stores and returns as `**`): its pattern is what follows
    the leading `*`, and `*` for `*` itself.
    """
    if arn.startswith(ARN_PREFIX):
        return arn[len(ARN_PREFIX) :]
    if arn == "*":
        return "*"
    if dialect == "minio" and arn.startswith("*"):
        return arn[1:]
    return None


def resource_matches(
    patterns: Iterable[str], resource: str, context: Mapping[str, tuple[str, ...]], dialect: Dialect
) -> bool:
    """Whether a Resource list matches `resource` (`bucket` or `bucket/key`, without the ARN prefix)."""
    for arn in patterns:
        pattern = resource_pattern(arn, dialect)
        if pattern is None:
            continue
        if "$" in pattern:
            pattern = _substitute(pattern, context, dialect)
        cleaned = _clean(resource)
        if cleaned != "." and cleaned == pattern:
            return True
        if glob_match(pattern, resource):
            return True
    return False


def principal_matches(
    entries: Iterable[str], principal: str | None, dialect: Dialect, *, widen: bool | None = None
) -> bool:
    """Whether Principal entries name the caller (None: anonymous).

    `widen` (the conservative dialect's reading for an Allow) also lets wildcard patterns such as
    `?` match the anonymous caller's empty name, as MinIO (and SeaweedFS) do.
    """
    if dialect == "minio" or (dialect == "conservative" and widen):
        name = principal or ""
        if any(glob_match(entry, name, simple=True) for entry in entries):
            return True
        if dialect == "minio":
            return False
    for entry in entries:
        if entry == "*":
            return True
        if principal is None:
            continue
        if entry == principal or entry.endswith(f":user/{principal}") or entry.endswith(f":root/{principal}"):
            return True
        if glob_match(entry, principal):
            return True
    return False


# --- conditions -------------------------------------------------------------------------------

_T, _F, _U = True, False, None
Truth = bool | None
"""Three-valued truth: True, False, or None (cannot be decided)."""


def _network(value: str, dialect: Dialect) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    text = value.strip()
    if "/" not in text:
        text += "/32" if dialect == "minio" or ":" not in text else "/128"
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _ip_eval(condition: Condition, values: tuple[str, ...], dialect: Dialect) -> Truth:
    networks = [_network(v, dialect) for v in condition.values]
    if any(n is None for n in networks):
        return _U
    addresses = []
    for value in values:
        try:
            addresses.append(ipaddress.ip_address(value))
        except ValueError:
            return _F
    return any(address in network for address in addresses for network in networks if network is not None)


def _compare(op: str, left: Any, right: Any) -> bool:
    return bool(
        {
            "eq": left == right,
            "ne": left != right,
            "lt": left < right,
            "le": left <= right,
            "gt": left > right,
            "ge": left >= right,
        }[op]
    )


def _date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def condition_holds(condition: Condition, context: Mapping[str, tuple[str, ...]], dialect: Dialect) -> Truth:
    """Three-valued: does one condition hold for the request context? None when it cannot be decided."""
    operator = condition.operator
    qualifier = ""
    if ":" in operator:
        qualifier, _, operator = operator.partition(":")
        if qualifier not in _QUALIFIERS:
            return _U
    if_exists = False
    if dialect == "minio":
        if operator not in _MINIO_OPERATORS:
            return _U
        if operator == "NumericGreaterThanIfExists":
            operator, if_exists = "NumericGreaterThan", True
    elif operator.endswith("IfExists") and operator != "NullIfExists":
        operator, if_exists = operator[: -len("IfExists")], True
    found = _lookup(context, condition.key, dialect)
    values: tuple[str, ...] = found if found is not None else ()
    if if_exists and found is None:
        return _T
    policy_values = tuple(_substitute(v, context, dialect) for v in condition.values)
    result: Truth
    if operator in _STRING_OPS or operator == "BinaryEquals":
        fold, negate = _STRING_OPS.get(operator, (False, False))
        have = {v.lower() if fold else v for v in values}
        want = {v.lower() if fold else v for v in policy_values}
        hit = have & want
        result = (not have or have == hit) if qualifier == "ForAllValues" else bool(hit)
        return (not result) if negate else result
    if operator in _LIKE_OPS or operator in _ARN_OPS:
        negate = _LIKE_OPS.get(operator, _ARN_OPS.get(operator, False))
        if operator in _ARN_OPS and dialect == "minio":
            return _U
        matched = [any(glob_match(p, v) for p in policy_values) for v in values]
        result = all(matched) if qualifier == "ForAllValues" else any(matched)
        return (not result) if negate else result
    if operator in ("IpAddress", "NotIpAddress"):
        ip = _ip_eval(condition, values, dialect)
        if ip is None:
            return _U
        return (not ip) if operator == "NotIpAddress" else ip
    if operator == "Null":
        if len(policy_values) != 1 or policy_values[0].lower() not in ("true", "false"):
            return _U
        absent = found is None or len(values) == 0
        return absent if policy_values[0].lower() == "true" else not absent
    if operator == "Bool":
        if not values:
            return _F
        if dialect == "minio":
            return policy_values[0] == values[0] if len(policy_values) == 1 else _U
        return any(p.lower() == values[0].lower() for p in policy_values)
    if operator in _NUMERIC_OPS:
        if not values:
            return _F
        try:
            have_n = float(values[0])
            wants = [float(p) for p in policy_values]
        except ValueError:
            return _U
        return any(_compare(_NUMERIC_OPS[operator], have_n, w) for w in wants)
    if operator in _DATE_OPS:
        if not values:
            return _F
        have_d = _date(values[0])
        wants_d = [_date(p) for p in policy_values]
        if have_d is None or any(w is None for w in wants_d):
            return _U
        return any(_compare(_DATE_OPS[operator], have_d, w) for w in wants_d if w is not None)
    return _U


# --- evaluation -------------------------------------------------------------------------------


def _statement_truth(
    statement: Statement, policy: Policy, request: Request, dialect: Dialect
) -> tuple[Truth, list[str]]:
    notes: list[str] = []
    # the conservative dialect (stores whose matching rules are unknown) takes, per statement, the
    # reading that allows more: an Allow's Principal and Action match loosely, a Deny's only exactly
    widen = statement.effect == "Allow"
    if policy.kind == "bucket":
        if statement.principals is not None:
            if not principal_matches(statement.principals, request.principal, dialect, widen=widen):
                return _F, notes
        elif statement.not_principals is None:
            return _F, notes
        if statement.not_principals is not None and principal_matches(
            statement.not_principals, request.principal, dialect, widen=not widen
        ):
            return _F, notes
    loose: dict[str, bool] = {"fold": widen, "implied": widen} if dialect == "conservative" else {}
    strict: dict[str, bool] = {"fold": not widen, "implied": not widen} if dialect == "conservative" else {}
    if statement.actions and not action_matches(statement.actions, request.action, dialect, **loose):
        return _F, notes
    if statement.not_actions and action_matches(statement.not_actions, request.action, dialect, **strict):
        return _F, notes
    if request.key:
        resource = request.bucket + ("" if request.key.startswith("/") else "/") + request.key
    else:
        resource = request.bucket + ("/" if policy.kind == "iam" and dialect == "minio" else "")
    is_admin = any(a.startswith(("admin:", "sts:")) for a in statement.actions)
    if not is_admin:
        if statement.resources and not resource_matches(statement.resources, resource, request.context, dialect):
            return _F, notes
        if statement.not_resources and resource_matches(statement.not_resources, resource, request.context, dialect):
            return _F, notes
    truth: Truth = _T
    for condition in statement.conditions:
        holds = condition_holds(condition, request.context, dialect)
        if holds is _F:
            return _F, notes
        if holds is None:
            notes.append(f"{statement.label}: cannot evaluate {condition.describe()}")
            truth = _U
    return truth, notes


def evaluate(policy: Policy, request: Request, dialect: Dialect = "minio") -> Evaluation:
    """The decision for one request: an explicit Deny wins, then any Allow, else the implicit deny.

    Conditions that cannot be decided count as holding in an Allow and as not holding in a Deny.
    """
    uncertain: list[str] = []
    denying: list[str] = []
    for statement in policy.statements:
        if statement.effect != "Deny":
            continue
        truth, notes = _statement_truth(statement, policy, request, dialect)
        uncertain.extend(notes)
        if truth is _T:
            denying.append(statement.label)
    if denying:
        return Evaluation(Decision.EXPLICIT_DENY, tuple(denying), tuple(uncertain))
    allowing: list[str] = []
    for statement in policy.statements:
        if statement.effect != "Allow":
            continue
        truth, notes = _statement_truth(statement, policy, request, dialect)
        uncertain.extend(notes)
        if truth is not _F:
            allowing.append(statement.label)
    if allowing:
        return Evaluation(Decision.ALLOW, tuple(allowing), tuple(uncertain))
    return Evaluation(Decision.IMPLICIT_DENY, (), tuple(uncertain))


# --- "is there any request ...?" --------------------------------------------------------------

MAX_CONTEXTS = 4096
"""Representative contexts evaluated at most per question; beyond it conditions count as undecidable."""
_ALWAYS_PRESENT = frozenset(
    k.lower()
    for k in (
        *("SourceIp", "SecureTransport", "UserAgent", "Referer", "CurrentTime", "EpochTime", "principaltype"),
        *("userid", "username", "versionid", "signatureversion", "authType"),
    )
)
"""Keys MinIO puts into every request's condition values (possibly empty): never absent."""
_OUTSIDE_ADDRESSES = ("203.0.113.7", "198.51.100.7", "192.0.2.7", "8.8.8.8", "100.64.0.7", "2001:db8::7", "fd00::7")


def _ip_candidates(values: Iterable[str], dialect: Dialect) -> list[str]:
    networks = [n for n in (_network(v, dialect) for v in values) if n is not None]
    out: list[str] = []
    for network in networks:
        out += [str(network.network_address), str(network.broadcast_address)]
    for family in (4, 6):
        for text in _OUTSIDE_ADDRESSES:
            address = ipaddress.ip_address(text)
            if address.version == family and not any(address in n for n in networks):
                out.append(text)
                break
    return out


def _string_candidates(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.append(value)
        if "*" in value or "?" in value:
            out.append(value.replace("*", "").replace("?", "x"))
            out.append(value.replace("*", "zz/").replace("?", "y"))
    out += ["", "sovscan-other-value"]
    return out


def _free_keys(
    policy: Policy, fixed: Mapping[str, tuple[str, ...]], dialect: Dialect = "minio"
) -> dict[str, list[tuple[str, ...] | None]]:
    """Candidate values of every condition key the caller influences (None: the key is absent)."""
    by_key: dict[str, list[Condition]] = {}
    for statement in policy.statements:
        for condition in statement.conditions:
            by_key.setdefault(key_name(condition.key), []).append(condition)
    fixed_lower = {k.lower() for k in fixed}
    result: dict[str, list[tuple[str, ...] | None]] = {}
    for name, conditions in sorted(by_key.items()):
        if name.lower() in fixed_lower:
            continue
        values = [v for c in conditions for v in c.values]
        operators = {c.operator.rpartition(":")[2] for c in conditions}
        raw: list[str]
        if operators & {"IpAddress", "NotIpAddress", "IpAddressIfExists", "NotIpAddressIfExists"}:
            raw = _ip_candidates(values, "aws") + _ip_candidates(values, "minio")
        elif operators & {"Bool", "BoolIfExists"}:
            raw = ["true", "false"]
        elif operators & set(_NUMERIC_OPS) or "NumericGreaterThanIfExists" in operators:
            raw = []
            for value in values:
                try:
                    number = int(float(value))
                except ValueError:
                    continue
                raw += [str(number - 1), str(number), str(number + 1)]
            raw = raw or ["0"]
        else:
            raw = _string_candidates(values)
        options: list[tuple[str, ...] | None] = [(v,) for v in dict.fromkeys(raw)]
        if dialect != "minio" or name.lower() not in _ALWAYS_PRESENT:
            options.append(None)
        result[name] = options
    return result


def _object_keys(policy: Policy, bucket: str) -> list[str]:
    keys = ["sovscan-probe/object"]
    for statement in policy.statements:
        for arn in (*statement.resources, *statement.not_resources):
            pattern = resource_pattern(arn, "minio")
            if pattern is None:
                continue
            head, sep, rest = pattern.partition("/")
            if not sep or not glob_match(head, bucket):
                continue
            keys += [rest.replace("*", "").replace("?", "x") or "x", rest.replace("*", "a/b").replace("?", "y")]
    return list(dict.fromkeys(k for k in keys if k))


@dataclass(frozen=True)
class Exposure:
    """Whether some request of a caller is allowed, with one witness."""

    allowed: bool
    """True when at least one representative request is allowed."""
    always: bool = False
    """True when every representative request (every context) is allowed: no condition restricts it."""
    witness: Request | None = None
    """One allowed request (its key and condition values), when allowed."""
    statements: tuple[str, ...] = ()
    """The statements that allow the witness."""
    uncertain: tuple[str, ...] = ()
    """Conditions that could not be evaluated and were resolved against the defender."""

    def describe(self) -> str:
        """One phrase: `unconditionally` or `when aws:SourceIp=...` for messages."""
        if not self.allowed or self.witness is None:
            return "no"
        if self.always:
            return "unconditionally"
        parts = [f"{k}={next(iter(v), '')}" for k, v in sorted(self.witness.context.items())]
        return "under conditions (e.g. " + ", ".join(parts) + ")" if parts else "under conditions"


def _contexts(
    free: Mapping[str, list[tuple[str, ...] | None]], fixed: Mapping[str, tuple[str, ...]]
) -> Iterable[dict[str, tuple[str, ...]]] | None:
    total = 1
    for options in free.values():
        total *= len(options)
    if total > MAX_CONTEXTS:
        return None
    names = list(free)

    def gen() -> Iterable[dict[str, tuple[str, ...]]]:
        for combo in itertools.product(*(free[n] for n in names)):
            context = dict(fixed)
            for name, value in zip(names, combo, strict=True):
                if value is not None:
                    context[name] = value
            yield context

    return gen()


def identity_context(principal: str | None, dialect: Dialect = "minio") -> dict[str, tuple[str, ...]]:
    """The condition values MinIO derives from the caller's identity (anonymous: empty user name)."""
    if dialect != "minio":
        return {}  # another store's identity keys are unknown: left free, enumerated like the others
    if principal is None:
        return {"principaltype": ("Anonymous",), "userid": ("",), "username": ("",)}
    return {"principaltype": ("User",), "userid": (principal,), "username": (principal,)}


def exposure(
    policy: Policy,
    actions: Sequence[str],
    bucket: str,
    *,
    principal: str | None = None,
    fixed: Mapping[str, tuple[str, ...]] | None = None,
    dialect: Dialect = "minio",
) -> Exposure:
    """Is any request of `principal` (None: anonymous) for one of `actions` on `bucket` allowed?

    Object actions range over representative keys of the bucket. `fixed` pins condition values the
    caller cannot choose (for example `SecureTransport=("true",)` for a TLS-only endpoint).
    """
    base = {**identity_context(principal, dialect), **(fixed or {})}
    free = _free_keys(policy, base, dialect)
    contexts = _contexts(free, base)
    uncertain: list[str] = []
    if contexts is None:
        # too many combinations: every condition counts as undecidable (against the defender)
        uncertain.append("too many condition combinations to enumerate; conditions assumed to allow")
        stripped = Policy(
            tuple(
                Statement(
                    effect=s.effect,
                    sid=s.sid,
                    principals=s.principals,
                    not_principals=s.not_principals,
                    actions=s.actions,
                    not_actions=s.not_actions,
                    resources=s.resources,
                    not_resources=s.not_resources,
                    conditions=tuple(Condition("SovscanUndecidable", c.key, c.values) for c in s.conditions),
                )
                for s in policy.statements
            ),
            policy.kind,
        )
        return exposure(stripped, actions, bucket, principal=principal, fixed=fixed, dialect=dialect)
    keys = _object_keys(policy, bucket)
    witness: Evaluation | None = None
    witness_request: Request | None = None
    always = True
    any_allowed = False
    for context in contexts:
        allowed_here = False
        for action in actions:
            for key in keys if action in OBJECT_ACTIONS else [""]:
                request = Request(action, bucket, key, principal, context)
                result = evaluate(policy, request, dialect)
                uncertain.extend(result.uncertain)
                if result.allowed:
                    allowed_here = True
                    if witness is None:
                        witness, witness_request = result, request
                    break
            if allowed_here:
                break
        any_allowed = any_allowed or allowed_here
        always = always and allowed_here
    if witness is None or witness_request is None:
        return Exposure(False, uncertain=tuple(dict.fromkeys(uncertain)))
    shown = Request(
        witness_request.action,
        bucket,
        witness_request.key,
        principal,
        {k: v for k, v in witness_request.context.items() if k in free},
    )
    return Exposure(
        True,
        always=always and any_allowed,
        witness=shown,
        statements=witness.statements,
        uncertain=tuple(dict.fromkeys(uncertain)),
    )


@dataclass(frozen=True)
class TlsVerdict:
    """Whether a policy denies every request made without TLS."""

    forced: bool
    """True when every plain-HTTP request (every action, resource and caller) is explicitly denied."""
    gap: Request | None = None
    """A plain-HTTP request that is not denied, when not forced."""
    uncertain: tuple[str, ...] = ()
    """Conditions that could not be evaluated (not credited as denying)."""


def tls_forced(
    policy: Policy,
    bucket: str,
    *,
    principals: Sequence[str | None] = (None, "sovscan-user"),
    dialect: Dialect = "minio",
) -> TlsVerdict:
    """Does the policy explicitly deny every request with `aws:SecureTransport=false`?

    Checked for every S3 action, the bucket and representative objects, the given callers and every
    representative context. An undecidable Deny condition is not credited.
    """
    uncertain: list[str] = []
    keys = _object_keys(policy, bucket)
    for principal in principals:
        base = {**identity_context(principal, dialect), "SecureTransport": ("false",)}
        free = _free_keys(policy, base, dialect)
        contexts = _contexts(free, base)
        if contexts is None:
            return TlsVerdict(False, None, ("too many condition combinations to enumerate",))
        for context in contexts:
            for action in S3_ACTIONS:
                for key in keys if action in OBJECT_ACTIONS else [""]:
                    request = Request(action, bucket, key, principal, context)
                    result = evaluate(policy, request, dialect)
                    uncertain.extend(result.uncertain)
                    if result.decision is not Decision.EXPLICIT_DENY:
                        return TlsVerdict(False, request, tuple(dict.fromkeys(uncertain)))
    return TlsVerdict(True, None, tuple(dict.fromkeys(uncertain)))


def wildcard_grants(policy: Policy, dialect: Dialect = "minio") -> list[str]:
    """Allow statements granting every S3 action (`s3:*`) or every admin action (`admin:*`) on every resource.

    Decided by evaluation, not by string matching: a statement counts when it allows every S3 action
    on an arbitrary bucket and object (or every admin action), with no condition restricting it.
    """
    found: list[str] = []
    for statement in policy.statements:
        if statement.effect != "Allow" or statement.conditions:
            continue
        single = Policy((statement,), "iam")
        probes = [
            Request(a, "sovscan-any-bucket", "k" if a in OBJECT_ACTIONS else "", "sovscan-user") for a in S3_ACTIONS
        ]
        if all(evaluate(single, r, dialect).allowed for r in probes):
            found.append(f"{statement.label}: s3:* on *")
        # an admin action name no policy can list explicitly: only a wildcard covering admin:* allows it
        if evaluate(single, Request("admin:SovscanAnyAction", "", "", "sovscan-user"), dialect).allowed:
            found.append(f"{statement.label}: admin:*")
    return found
