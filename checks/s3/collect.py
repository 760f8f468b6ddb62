"""The S3 collector: the only code of this target kind that talks to the network.

It reads, and only reads, through the `minio` package's `Minio` and `MinioAdmin` clients:

* unauthenticated: `GET /` (the `Server` header is recorded, but decides nothing: a proxy may rewrite it);
  with `flavour: auto` (the default) `GET /minio/admin/v3/info` and, when that is not MinIO's admin API,
  `GET /healthz` and `GET /status`, whose answers decide the flavour (`checks.s3.flavour`); with
  `anonymous_probe` (on by default) for each bucket `GET /<bucket>?list-type=2&max-keys=1` and
  `HEAD /<bucket>/<random key>` (a 404 means an anonymous read was let through, a 403 that it was
  refused; no object is read);
  on MinIO `GET /minio/v2/metrics/cluster` (are metrics served without authentication?); on a TLS
  endpoint one handshake (protocol, certificate) and one handshake limited to TLS 1.1;
* signed, S3: ListBuckets, and per bucket GetBucketPolicy, GetBucketEncryption, GetBucketVersioning,
  GetObjectLockConfiguration, GetBucketLifecycleConfiguration, GetBucketReplication,
  GetBucketNotificationConfiguration, GetBucketTagging, GetBucketAcl and GetPublicAccessBlock (the
  last two where the store implements them; buckets in parallel, `concurrency` at a time);
* signed, MinIO admin API (GET only): server info, users, groups and each group, canned policies,
  policy attachments, access keys of every user (`list-access-keys-bulk`) and each key's details,
  and -- only with `read_config: true` -- the config subsystems `api`,
  `audit_webhook`, `audit_kafka`, `identity_openid`, `identity_ldap`. MinIO guards get-config-kv
  with `admin:ConfigUpdate`, a *write* action; without the opt-in those sections are ERROR saying so.
* with `default_credential_probe: true` only: one ListBuckets signed with MinIO's default root
  credential `minioadmin`/`minioadmin` (a login attempt; it changes nothing).

Three calls have no public method in minio-py 7.2 and use the client's own request machinery
(signing, retries off, our pool): `Minio._get_region` (GetBucketLocation, to name that action when
it is refused), `Minio._execute` (`?acl`, `?publicAccessBlock`) and `MinioAdmin._url_open`
(`list-access-keys-bulk`); the live tests exercise each against the real servers.

A refused call makes its section (or the bucket's entry) an error naming the action it needs
("permission denied: needs s3:GetBucketPolicy"). Secret keys are only handed to the clients; the
admin answers that carry secrets (`secretKey` of access keys) are dropped key by key.
"""

from __future__ import annotations

import json
import re
import secrets as secrets_module
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import urllib3

if TYPE_CHECKING:  # minio is loaded when an S3 target is collected, not at every scan's start (0.25 s)
    from minio import Minio
    from minio.minioadmin import MinioAdmin

from checks.s3 import flavour as flavours
from checks.s3 import policy
from checks.s3.connect import (
    Credentials,
    check_options,
    credentials,
    option_bool,
    region_setting,
    s3_tls_settings,
)
from scanner import __version__
from scanner.errors import CollectionError
from scanner.httpkit import (
    TRANSPORT_ERRORS,
    Deadline,
    RequestFailed,
    TlsSettings,
    insecure_transport,
    request_failure,
    target_parts,
    tls_handshake,
    url_host,
)
from scanner.interface import Secret, Target
from scanner.model import Evidence

DEFAULT_CONCURRENCY = 8
"""Buckets read at the same time (option `concurrency`)."""
DEFAULT_MAX_BUCKETS = 10_000
"""Buckets read at most (option `max_buckets`); beyond it the bucket sections are ERROR."""

BUCKET_SECTIONS: dict[str, str] = {
    "bucket_policy": "s3:GetBucketPolicy",
    "bucket_encryption": "s3:GetEncryptionConfiguration",
    "bucket_versioning": "s3:GetBucketVersioning",
    "bucket_object_lock": "s3:GetBucketObjectLockConfiguration",
    "bucket_lifecycle": "s3:GetLifecycleConfiguration",
    "bucket_replication": "s3:GetReplicationConfiguration",
    "bucket_notification": "s3:GetBucketNotification",
    "bucket_tags": "s3:GetBucketTagging",
    "bucket_acl": "s3:GetBucketAcl (on MinIO: s3:GetBucketPolicy)",
    "bucket_public_access_block": "s3:GetBucketPublicAccessBlock",
}
"""Per-bucket sections and the action each getter needs."""
ADMIN_SECTIONS: dict[str, str] = {
    "admin_info": "admin:ServerInfo",
    "users": "admin:ListUsers",
    "groups": "admin:ListGroups and admin:GetGroup",
    "policies": "admin:ListUserPolicies",
    "policy_entities": "admin:ListUsers, admin:ListGroups and admin:ListUserPolicies",
    "access_keys": "admin:ListUsers and admin:ListServiceAccounts",
    "config": "admin:ConfigUpdate (a write action MinIO requires for reading configuration)",
}
"""MinIO admin sections and the actions they need."""
CONFIG_SUBSYSTEMS = ("api", "audit_webhook", "audit_kafka", "identity_openid", "identity_ldap")
"""Config subsystems read with `read_config: true`."""
S3_ACTION_OF_CALL = {"buckets": "s3:ListAllMyBuckets", "location": "s3:GetBucketLocation"}
_SECRET_CONFIG_KEYS = (
    "auth_token",
    "client_secret",
    "lookup_bind_password",
    "password",
    "secret",
    "token",
    "client_key",
    "sasl_password",
    "tls_client_key",
)
REDACTED = "[redacted]"
NOT_APPLICABLE_KEY = "not_applicable"
"""A MinIO-only section of another flavour is `{"not_applicable": reason}`."""
_SHOWN_ENV = re.compile(
    r"^MINIO_(API_ROOT_ACCESS|PROMETHEUS_AUTH_TYPE|KMS_KES_ENDPOINT|KMS_SERVER|AUDIT_WEBHOOK_ENDPOINT\w*"
    r"|AUDIT_WEBHOOK_ENABLE\w*|AUDIT_KAFKA_BROKERS\w*|AUDIT_KAFKA_ENABLE\w*|IDENTITY_OPENID_CONFIG_URL\w*"
    r"|IDENTITY_LDAP_SERVER_ADDR\w*|IDENTITY_PLUGIN_URL\w*)$"
)
"""MinIO environment settings whose values are shown (others: the name only, the value dropped)."""
DEFAULT_ROOT = ("minioadmin", "minioadmin")
"""MinIO's built-in default root credential (access key, secret key)."""


class _Denied(Exception):
    """A signed call was refused (403)."""


class _Unsupported(Exception):
    """The server does not implement the call (NotImplemented, 501, or the admin API is absent)."""


class _Cmd:
    """A MinioAdmin command path (the client's own enum lacks list-access-keys-bulk)."""

    def __init__(self, value: str) -> None:
        self.value = value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def endpoint_parts(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an S3 target URL (https defaults to 443, http to 80)."""
    return target_parts(url)


def _redact_config(text: str) -> dict[str, dict[str, str]]:
    """Parse `subsys[:target] key=value ...` lines; secret-looking values are replaced."""
    result: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition(" ")
        values: dict[str, str] = {}
        for token in _split_kv(rest):
            key, _, value = token.partition("=")
            value = value.strip('"')
            if any(part in key.lower() for part in _SECRET_CONFIG_KEYS) and value:
                value = REDACTED
            values[key] = value
        result[head] = values
    return result


def _split_kv(text: str) -> list[str]:
    tokens: list[str] = []
    current = ""
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == " " and not quoted:
            if current:
                tokens.append(current)
            current = ""
            continue
        current += char
    if current:
        tokens.append(current)
    return tokens


class _Collector:
    """One collection of one target."""

    def __init__(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> None:
        check_options(target.options)
        self.target = target
        self.options = target.options
        self.deadline = Deadline(timeout)
        self.scheme, self.host, self.port = endpoint_parts(target.url)
        self.tls: TlsSettings = s3_tls_settings(self.options)
        self.creds: Credentials = credentials(secrets)
        self.region = region_setting(self.options)
        self.concurrency = int(self.options.get("concurrency", DEFAULT_CONCURRENCY))
        self.max_buckets = int(self.options.get("max_buckets", DEFAULT_MAX_BUCKETS))
        self.sections: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.metadata: dict[str, Any] = {
            "credentials_source": self.creds.source,
            "access_key": self.creds.access_key,
        }
        notes = insecure_transport(self.scheme, self.tls, "the S3 endpoint")
        if notes:
            self.metadata["insecure_transport"] = notes
        self.http = self._pool()

    # -- plumbing -----------------------------------------------------------------------------

    def _pool(self) -> urllib3.PoolManager:
        timeout = urllib3.Timeout(connect=min(5.0, self.deadline.soft_timeout()), read=self.deadline.soft_timeout())
        kwargs: dict[str, Any] = {"timeout": timeout, "retries": False, "maxsize": max(self.concurrency, 2)}
        if self.scheme == "https":
            kwargs["ssl_context"] = self.tls.ssl_context()
            if self.tls.verify is False:
                kwargs["cert_reqs"] = "CERT_NONE"
                kwargs["assert_hostname"] = False
        return urllib3.PoolManager(**kwargs)

    @property
    def endpoint(self) -> str:
        return f"{url_host(self.host)}:{self.port}"

    def s3(self, access_key: str | None = None, secret_key: str | None = None) -> Minio:
        from minio import Minio

        return Minio(
            self.endpoint,
            access_key=access_key if access_key is not None else self.creds.access_key,
            secret_key=secret_key if secret_key is not None else self.creds.secret_key.reveal(),
            session_token=self.creds.session_token.reveal()
            if self.creds.session_token and access_key is None
            else None,
            secure=self.scheme == "https",
            region=self.region,
            http_client=self.http,
        )

    def admin(self) -> MinioAdmin:
        from minio.credentials.providers import StaticProvider
        from minio.minioadmin import MinioAdmin

        return MinioAdmin(
            endpoint=self.endpoint,
            credentials=StaticProvider(
                self.creds.access_key,
                self.creds.secret_key.reveal(),
                self.creds.session_token.reveal() if self.creds.session_token else None,
            ),
            region=self.region or "",
            secure=self.scheme == "https",
            http_client=self.http,
        )

    def _call(self, what: str, action: str, function: Callable[[], Any]) -> Any:
        """Run one client call; map its failure to _Denied / _Unsupported / RequestFailed."""
        from minio.error import MinioAdminException, S3Error

        self.deadline.request_timeout()
        try:
            try:
                return function()
            except UnboundLocalError as exc:
                # minio-py's config_get masks the admin error with an UnboundLocalError in its `finally`
                if isinstance(exc.__context__, MinioAdminException):
                    raise exc.__context__ from None
                raise
        except S3Error as exc:
            status = exc.response.status if exc.response is not None else 0
            if exc.code in ("AccessDenied", "AllAccessDisabled") or (status == 403 and exc.code not in _AUTH_CODES):
                raise _Denied(f"permission denied: {what} needs {action}") from None
            if exc.code in _AUTH_CODES:
                raise RequestFailed(
                    f"{what} was refused ({exc.code}): the access key or secret key is wrong or expired",
                    CollectionError.AUTHENTICATION,
                    status,
                ) from None
            if exc.code in ("NotImplemented", "MethodNotAllowed") or status in (405, 501):
                raise _Unsupported(f"{what}: the server does not implement it ({exc.code})") from None
            raise RequestFailed(f"{what} failed: {exc.code}: {(exc.message or '')[:200]}", status=status) from None
        except MinioAdminException as exc:
            status = int(exc._code) if str(exc._code).isdigit() else 0
            code, message = _admin_error(exc._body)
            if code in _AUTH_CODES:
                raise RequestFailed(
                    f"{what} was refused ({code}): the access key or secret key is wrong or expired",
                    CollectionError.AUTHENTICATION,
                    status,
                ) from None
            if status == 403 or code == "AccessDenied":
                raise _Denied(f"permission denied: {what} needs {action}") from None
            if status in (400, 404, 405, 501) and code in (
                "",
                "NotImplemented",
                "InvalidRequest",
                "XMinioAdminNotImplemented",
                "NoSuchBucket",
            ):
                raise _Unsupported(f"{what}: the server has no MinIO admin API here (HTTP {status})") from None
            raise RequestFailed(
                f"{what} failed (HTTP {status}): {code} {message[:200]}".strip(), status=status
            ) from None
        except TRANSPORT_ERRORS as exc:
            raise request_failure(exc, what) from None
        except ValueError as exc:  # minio-py parsing an unexpected body
            raise RequestFailed(f"{what}: unexpected answer ({str(exc)[:200]})") from None

    def _record(self, section: str, function: Callable[[], Any]) -> None:
        try:
            self.sections[section] = function()
        except (_Denied, _Unsupported, RequestFailed) as exc:
            self.errors[section] = str(exc)
        except Exception as exc:
            self.errors[section] = f"unexpected answer reading {section} ({type(exc).__name__})"

    # -- the collection ------------------------------------------------------------------------

    def run(self) -> Evidence:
        started = time.monotonic()
        collected_at = _now()
        try:
            server = self._server()
            self.sections["server"] = server
            names = self._buckets()
        except RequestFailed as exc:
            raise exc.as_collection_error("listing buckets") from None
        except _Denied as exc:
            raise CollectionError(CollectionError.PERMISSION, str(exc)) from None
        except _Unsupported as exc:
            raise CollectionError(CollectionError.PROTOCOL, str(exc)) from None
        except CollectionError:
            raise
        except Exception as exc:  # e.g. a bucket list that is not XML: fail closed, no secrets
            raise CollectionError(
                CollectionError.PROTOCOL, f"unexpected answer listing buckets ({type(exc).__name__})"
            ) from None
        if server["flavour"] == "minio":
            self._check_bucket_visibility()
        self._bucket_sections(names)
        if option_bool(self.options, "anonymous_probe", True):
            self._record("anonymous_probe", lambda: {"probed": True, "buckets": self._anonymous_probe(names)})
        else:
            self.sections["anonymous_probe"] = {"probed": False, "reason": "option anonymous_probe is false"}
        flavour = server["flavour"]
        undetermined = server.get("flavour_undetermined")
        if flavour == "minio":
            self._admin_sections()
        elif undetermined:
            reason = (
                f"could not determine the S3 server flavour: {undetermined}; set flavour: explicitly "
                "(minio, seaweedfs, ceph-rgw or generic)"
            )
            for section in MINIO_ONLY_SECTIONS:
                self.errors[section] = reason
            self.metadata["flavour_undetermined"] = reason
            self.metadata["bucket_visibility"] = (
                "not verified: the flavour is undetermined (on MinIO the bucket list shows only the buckets the "
                "scanner may read unless it has s3:ListAllMyBuckets)"
            )
        else:
            reason = f"MinIO-only control: the endpoint is {flavour}, not MinIO ({server['flavour_source']})"
            for section in MINIO_ONLY_SECTIONS:
                self.sections[section] = {NOT_APPLICABLE_KEY: reason}
        self.metadata["flavour"] = flavour
        return Evidence(
            target=self.target.id,
            kind="s3",
            uri=s3_uri(self.target.url),
            sections=self.sections,
            errors=self.errors,
            collected_at=collected_at,
            duration=round(time.monotonic() - started, 3),
            tool_version=__version__,
            metadata=self.metadata,
        )

    def _raw(self, method: str, path: str) -> urllib3.BaseHTTPResponse:
        """One unauthenticated request to the endpoint."""
        url = f"{self.scheme}://{self.endpoint}{path}"
        self.deadline.request_timeout()
        try:
            return self.http.request(method, url, preload_content=True, redirect=False)
        except TRANSPORT_ERRORS as exc:
            raise request_failure(exc, f"{method} {path}") from None

    def _server(self) -> dict[str, Any]:
        answer = self._raw("GET", "/")
        header = answer.headers.get("Server", "")
        configured = str(self.options.get("flavour", "auto"))
        server: dict[str, Any] = {
            "flavour": configured,
            "flavour_source": "option flavour",
            "server_header": header[:120],
            "scheme": self.scheme,
            "tls": None,
        }
        if configured == "auto":
            decision = self._detect_flavour()
            server["flavour"] = decision.flavour or "generic"
            server["flavour_source"] = decision.evidence
            if decision.flavour is None:
                server["flavour_undetermined"] = decision.evidence
        if self.scheme == "https":
            try:
                server["tls"] = tls_handshake(self.host, self.port, self.tls, self.deadline)
            except CollectionError as exc:
                raise RequestFailed(exc.message, exc.reason) from None
            accepted, unverified = self._legacy_tls()
            server["tls"]["legacy_tls_accepted"] = accepted
            if unverified:
                server["tls"]["legacy_tls_unverified"] = unverified
        return server

    def _probe_answer(self, path: str) -> flavours.Answer:
        answer = self._raw("GET", path)
        return flavours.Answer(answer.status, answer.headers.get("Content-Type", ""), bytes(answer.data[:4096]))

    def _detect_flavour(self) -> flavours.Decision:
        """The flavour from the server's answers to unauthenticated GETs (`checks.s3.flavour`), not its header."""
        try:
            admin = self._probe_answer(flavours.ADMIN_PROBE_PATH)
            decision = flavours.decide(admin, None)
            if decision.flavour != "generic":
                return decision
            # not MinIO: is it SeaweedFS?
            health = [self._probe_answer(path) for path in flavours.SEAWEEDFS_PROBE_PATHS]
        except RequestFailed as exc:
            return flavours.Decision(None, f"the flavour probe failed: {exc}")
        return flavours.decide(admin, health)

    def _legacy_tls(self) -> tuple[bool | None, str | None]:
        """Does the listener accept TLS 1.1 or older? (None, why) when that was not learned.

        Only a TLS answer decides: the server's handshake alert means refused. A connection that
        fails, resets or times out proves nothing (a refusal must not be read into it), nor does a
        machine whose OpenSSL cannot offer TLS 1.1.
        """
        no_offer = "this machine's OpenSSL could not offer TLS 1.1 to test whether it is refused"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.TLSv1
                context.maximum_version = ssl.TLSVersion.TLSv1_1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            return None, no_offer
        try:
            with (
                socket.create_connection((self.host, self.port), timeout=self.deadline.soft_timeout()) as raw,
                context.wrap_socket(raw, server_hostname=self.host) as tls_sock,
            ):
                return tls_sock.version() in ("TLSv1", "TLSv1.1", "SSLv3"), None
        except (ssl.SSLEOFError, ssl.SSLSyscallError, ssl.SSLZeroReturnError) as exc:
            return (
                None,
                f"the TLS 1.1 probe's connection ended without a TLS alert ({type(exc).__name__}): "
                "whether it is refused is unknown",
            )
        except ssl.SSLError as exc:
            if "no protocols available" in str(exc).lower():
                return None, no_offer  # nothing learned about the server
            return False, None  # the server answered the TLS 1.1 hello with an alert: refused
        except OSError as exc:
            return None, f"the TLS 1.1 probe got no TLS answer ({type(exc).__name__}): whether it is refused is unknown"

    def _buckets(self) -> list[str]:
        client = self.s3()
        listed = self._call(
            "ListBuckets", "s3:ListAllMyBuckets (on MinIO: s3:GetBucketLocation on arn:aws:s3:::*)", client.list_buckets
        )
        names = sorted(b.name for b in listed)
        entries = [
            {"name": b.name, "created": b.creation_date.isoformat() if b.creation_date else None}
            for b in sorted(listed, key=lambda b: b.name)
        ]
        self.sections["buckets"] = {"count": len(entries), "items": entries[: self.max_buckets]}
        if len(names) > self.max_buckets:
            self.sections["buckets"]["truncated"] = True
        return names[: self.max_buckets]

    # -- per-bucket ------------------------------------------------------------------------------

    def _bucket_sections(self, names: list[str]) -> None:
        results: dict[str, dict[str, Any]] = {section: {} for section in BUCKET_SECTIONS}
        if "buckets" not in self.sections:
            for section in BUCKET_SECTIONS:
                self.errors[section] = self.errors["buckets"]
            return
        if len(names) < int(self.sections["buckets"]["count"]):
            for section in BUCKET_SECTIONS:
                self.errors[section] = (
                    f"the store has {self.sections['buckets']['count']} buckets, more than max_buckets="
                    f"{self.max_buckets}: raise the option to read them all"
                )
            return
        client = self.s3()

        def one(name: str) -> tuple[str, dict[str, Any]]:
            return name, self._one_bucket(client, name)

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for name, answers in pool.map(one, names):
                for section, value in answers.items():
                    results[section][name] = value
        for section, per_bucket in results.items():
            denied = [v for v in per_bucket.values() if isinstance(v, dict) and v.get("denied")]
            if per_bucket and len(denied) == len(per_bucket):
                self.errors[section] = f"permission denied: needs {BUCKET_SECTIONS[section]} (refused on every bucket)"
            else:
                self.sections[section] = per_bucket

    def _one_bucket(self, client: Minio, name: str) -> dict[str, Any]:
        getters: dict[str, Callable[[], Any]] = {
            "bucket_policy": lambda: _policy(client, name),
            "bucket_encryption": lambda: _encryption(client.get_bucket_encryption(name)),
            "bucket_versioning": lambda: _versioning(client.get_bucket_versioning(name)),
            "bucket_object_lock": lambda: _object_lock(client, name),
            "bucket_lifecycle": lambda: _lifecycle(client.get_bucket_lifecycle(name)),
            "bucket_replication": lambda: _replication(client.get_bucket_replication(name)),
            "bucket_notification": lambda: _notification(client.get_bucket_notification(name)),
            "bucket_tags": lambda: dict(client.get_bucket_tags(name) or {}),
            "bucket_acl": lambda: _acl(client, name),
            "bucket_public_access_block": lambda: _public_access_block(client, name),
        }
        answers: dict[str, Any] = {}
        if self.region is None:
            # minio-py asks each bucket's region first (GetBucketLocation): without it every getter fails
            try:
                self._call(
                    f"GetBucketLocation on bucket {name}", "s3:GetBucketLocation", lambda: client._get_region(name)
                )
            except (_Denied, _Unsupported, RequestFailed) as exc:
                failed: dict[str, Any] = {"error": str(exc)}
                if isinstance(exc, _Denied):
                    failed["denied"] = True
                return {section: dict(failed) for section in getters}
        for section, getter in getters.items():
            action = BUCKET_SECTIONS[section]
            try:
                answers[section] = {"value": self._call(f"{action.split(':')[1]} on bucket {name}", action, getter)}
            except _Denied as exc:
                answers[section] = {"error": str(exc), "denied": True}
            except _Unsupported as exc:
                if section == "bucket_policy":
                    answers[section] = {"error": str(exc), "unsupported": True}
                else:  # the store cannot have this setting: a fact ("none"), with the reason
                    answers[section] = {"value": None, "unsupported": str(exc)}
            except RequestFailed as exc:
                answers[section] = {"error": str(exc)}
            except Exception as exc:
                answers[section] = {
                    "error": f"{action.split(':')[1]} on bucket {name}: unexpected answer ({type(exc).__name__})"
                }
        return answers

    def _check_bucket_visibility(self) -> None:
        """MinIO's ListBuckets never refuses: without s3:ListAllMyBuckets it silently lists only the buckets
        the caller may s3:ListBucket or s3:GetBucketLocation. Read the caller's own policy (account info, which
        every user may read) and fail closed when the listing may be incomplete."""
        try:
            info = _json_object(self._call("account info", "an authenticated MinIO user", self.admin().account_info))
        except (_Denied, _Unsupported, RequestFailed) as exc:
            self.metadata["bucket_visibility"] = f"not verified: {exc}"
            return
        document = info.get("Policy")
        if not isinstance(document, dict) or not document.get("Statement"):
            # the root credential and owner accounts have no policy document: they see everything
            self.metadata["bucket_visibility"] = "complete (no policy: owner)"
            return
        try:
            parsed = policy.parse_policy(document, "iam")
        except policy.PolicyParseError as exc:
            self.metadata["bucket_visibility"] = f"not verified: {exc}"
            return
        probe = "sovscan-any-bucket-" + secrets_module.token_hex(4)
        sees_all = any(
            policy.evaluate(parsed, policy.Request(action, probe, "", self.creds.access_key), "minio").allowed
            for action in ("s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:ListBucket")
        )
        if sees_all:
            self.metadata["bucket_visibility"] = "complete"
            return
        reason = (
            "the bucket list may be incomplete: MinIO lists only buckets the scanner may s3:ListBucket or "
            "s3:GetBucketLocation unless it has s3:ListAllMyBuckets; needs s3:GetBucketLocation on arn:aws:s3:::*"
        )
        self.sections.pop("buckets", None)
        self.errors["buckets"] = reason

    def _anonymous_probe(self, names: list[str]) -> dict[str, Any]:
        probe_key = "sovscan-probe-" + secrets_module.token_hex(8)

        def one(name: str) -> tuple[str, dict[str, Any]]:
            listing = self._raw("GET", f"/{name}?list-type=2&max-keys=1")
            head = self._raw("HEAD", f"/{name}/{probe_key}")
            return name, {
                "list_status": listing.status,
                "list_allowed": listing.status == 200,
                "read_status": head.status,
                "read_allowed": head.status in (200, 404),
            }

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return dict(pool.map(one, names))

    # -- MinIO admin ---------------------------------------------------------------------------

    def _admin_sections(self) -> None:
        admin = self.admin()
        self._record("admin_info", lambda: _server_info(self._call("server info", "admin:ServerInfo", admin.info)))
        self._record("users", lambda: _users(self._call("list users", "admin:ListUsers", admin.user_list)))
        self._record("groups", lambda: self._groups(admin))
        self._record(
            "policies",
            lambda: _json_object(self._call("list canned policies", "admin:ListUserPolicies", admin.policy_list)),
        )
        self._record("policy_entities", lambda: self._entities(admin))
        self._record("access_keys", lambda: self._access_keys(admin))
        if option_bool(self.options, "read_config", False):
            self._record("config", lambda: self._config(admin))
        else:
            self.errors["config"] = (
                "not read: MinIO's get-config-kv needs admin:ConfigUpdate, a write action; "
                "grant it and set option read_config: true to evaluate these controls"
            )
        for section, value in derive_settings(
            self.sections.get("admin_info"), self.sections.get("config"), self.errors.get("config")
        ).items():
            if isinstance(value, str):
                self.errors[section] = value
            else:
                self.sections[section] = value
        self._record("metrics_probe", self._metrics_probe)
        self._record("root_identity", lambda: self._root_identity())

    def _groups(self, admin: MinioAdmin) -> dict[str, Any]:
        names = _json_value(self._call("list groups", "admin:ListGroups", admin.group_list)) or []
        if not isinstance(names, list):
            raise RequestFailed("list groups: unexpected answer (not a list)")
        groups: dict[str, Any] = {}
        for name in names:
            info = _json_object(
                self._call(f"group info {name}", "admin:GetGroup", partial(admin.group_info, str(name)))
            )
            groups[str(name)] = {
                "status": info.get("status"),
                "members": info.get("members") or [],
                "policy": info.get("policy") or "",
            }
        return groups

    def _entities(self, admin: MinioAdmin) -> dict[str, Any]:
        answer = _json_object(
            self._call(
                "policy entities",
                ADMIN_SECTIONS["policy_entities"],
                lambda: admin.get_policy_entities(users=[], groups=[], policies=[]),
            )
        )
        mappings = answer.get("policyMappings") or []
        return {
            "policy_mappings": [
                {"policy": m.get("policy"), "users": m.get("users") or [], "groups": m.get("groups") or []}
                for m in mappings
                if isinstance(m, dict)
            ]
        }

    def _access_keys(self, admin: MinioAdmin) -> dict[str, Any]:
        secret = self.creds.secret_key.reveal()

        def bulk() -> Any:
            response = admin._url_open(
                method="GET",
                command=_Cmd("list-access-keys-bulk"),  # type: ignore[arg-type]
                query_params={"listType": "all", "all": "true"},
                preload_content=False,
            )
            from minio.crypto import decrypt

            return decrypt(response, secret).decode()

        raw = _json_object(self._call("list access keys", ADMIN_SECTIONS["access_keys"], bulk))
        users: dict[str, Any] = {}
        keys: list[str] = []
        for parent, listing in sorted(raw.items()):
            entries = []
            for kind, field in (("service_account", "serviceAccounts"), ("sts", "stsKeys")):
                for item in (listing or {}).get(field) or []:
                    entries.append(
                        {"access_key": item.get("accessKey"), "type": kind, "expiration": item.get("expiration")}
                    )
                    if kind == "service_account":
                        keys.append(str(item.get("accessKey")))
            users[parent] = entries

        def detail(key: str) -> tuple[str, dict[str, Any]]:
            info = _json_object(
                self._call(
                    f"access key info {key}", "admin:ListServiceAccounts", lambda: admin.get_service_account(key)
                )
            )
            return key, {
                "parent": info.get("parentUser"),
                "status": info.get("accountStatus"),
                "implied_policy": info.get("impliedPolicy"),
                "policy": _json_value(info.get("policy"))
                if isinstance(info.get("policy"), str)
                else info.get("policy"),
                "expiration": info.get("expiration"),
                "name": info.get("name"),
            }

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            details = dict(pool.map(detail, keys))
        return {"by_user": users, "service_accounts": details}

    def _config(self, admin: MinioAdmin) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for subsystem in CONFIG_SUBSYSTEMS:
            text = self._call(f"get config {subsystem}", ADMIN_SECTIONS["config"], partial(admin.config_get, subsystem))
            result[subsystem] = _redact_config(text if isinstance(text, str) else str(text))
        return result

    def _metrics_probe(self) -> dict[str, Any]:
        answer = self._raw("GET", "/minio/v2/metrics/cluster")
        return {"status": answer.status, "public": answer.status == 200}

    def _root_identity(self) -> dict[str, Any]:
        users = self.sections.get("users")
        keys = self.sections.get("access_keys")
        root_user: str | None = None
        if isinstance(users, dict) and isinstance(keys, dict):
            # the bulk listing (all=true) covers every user plus the root credential
            candidates = [u for u in keys["by_user"] if u not in users]
            root_user = candidates[0] if len(candidates) == 1 else None
        caller_is_root: bool | None = None
        if root_user is not None:
            caller_is_root = self.creds.access_key == root_user
        default_pair = (self.creds.access_key, self.creds.secret_key.reveal()) == DEFAULT_ROOT
        result: dict[str, Any] = {
            "root_user": root_user,
            "caller_is_root": True if default_pair else caller_is_root,
            "caller_uses_default_root": default_pair,
            "default_login_probe": None,
        }
        if option_bool(self.options, "default_credential_probe", False):
            probe = self.s3(*DEFAULT_ROOT)
            try:
                self._call("ListBuckets as minioadmin", "s3:ListAllMyBuckets", probe.list_buckets)
                result["default_login_probe"] = "accepted"
            except (_Denied, _Unsupported):
                result["default_login_probe"] = "accepted"  # authenticated, merely not allowed to list
            except RequestFailed as exc:
                if exc.reason != CollectionError.AUTHENTICATION:
                    raise
                result["default_login_probe"] = "refused"
        return result


_AUTH_CODES = frozenset(
    {"SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken", "XMinioInvalidIAMCredentials"}
)


def _admin_error(body: str) -> tuple[str, str]:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return "", str(body)[:200]
    if isinstance(data, dict):
        return str(data.get("Code") or ""), str(data.get("Message") or "")
    return "", ""


def _json_value(text: Any) -> Any:
    if text is None or text == "":
        return None
    if not isinstance(text, str | bytes):
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise RequestFailed("unexpected answer: not JSON") from None


def _json_object(text: Any) -> dict[str, Any]:
    value = _json_value(text)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestFailed("unexpected answer: not a JSON object")
    return value


def _policy(client: Minio, name: str) -> Any:
    from minio.error import S3Error

    try:
        text = client.get_bucket_policy(name)
    except S3Error as exc:
        if exc.code == "NoSuchBucketPolicy":
            return None
        raise
    try:
        return json.loads(text)
    except ValueError:
        return {"unparsed": text[:2000]}


def _object_lock(client: Minio, name: str) -> Any:
    from minio.error import S3Error

    try:
        config = client.get_object_lock_config(name)
    except S3Error as exc:
        if exc.code in ("ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"):
            return None
        raise
    return {
        "enabled": True,
        "mode": config.mode,
        "duration": [config.duration, config.duration_unit] if config.duration else None,
    }


_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _xml(client: Minio, name: str, query: str) -> ElementTree.Element:
    """One signed GET of a bucket sub-resource the client has no method for (`?acl`, `?publicAccessBlock`)."""
    response = client._execute("GET", bucket_name=name, query_params={query: ""})
    return ElementTree.fromstring(response.data)  # noqa: S314 - the store's answer, no entities expanded


def _text(element: ElementTree.Element, tag: str) -> str | None:
    found = element.find(f"{_S3_NS}{tag}")
    if found is None:
        found = element.find(tag)
    return found.text if found is not None else None


def _acl(client: Minio, name: str) -> dict[str, Any]:
    """The bucket ACL's grants: grantee (a group URI, `id:...` or `email:...`) and permission."""
    root = _xml(client, name, "acl")
    grants = []
    for grant in root.iter(f"{_S3_NS}Grant"):
        grantee = grant.find(f"{_S3_NS}Grantee")
        if grantee is None:
            continue
        kind = grantee.get(_XSI_TYPE) or ""
        if kind == "Group":
            who = _text(grantee, "URI") or ""
        elif kind == "AmazonCustomerByEmail":
            who = "email:" + (_text(grantee, "EmailAddress") or "")
        else:
            who = "id:" + (_text(grantee, "ID") or "")
        grants.append({"grantee": who, "type": kind, "permission": _text(grant, "Permission")})
    return {"grants": grants}


def _public_access_block(client: Minio, name: str) -> Any:
    """The bucket's PublicAccessBlock flags; None when the store has none set."""
    from minio.error import S3Error

    try:
        root = _xml(client, name, "publicAccessBlock")
    except S3Error as exc:
        if exc.code in ("NoSuchPublicAccessBlockConfiguration",):
            return None
        raise
    flags = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {flag: (_text(root, flag) or "").lower() == "true" for flag in flags}


def _encryption(config: Any) -> Any:
    if config is None:
        return None
    rule = config.rule
    return {"algorithm": rule.sse_algorithm, "kms_key_id": rule.kms_master_key_id}


def _versioning(config: Any) -> dict[str, Any]:
    return {"status": config.status, "mfa_delete": config.mfa_delete}


def _lifecycle(config: Any) -> Any:
    if config is None:
        return None
    rules = []
    for rule in config.rules:
        nce = rule.noncurrent_version_expiration
        exp = rule.expiration
        rules.append(
            {
                "id": rule.rule_id,
                "status": rule.status,
                "prefix": rule.rule_filter.prefix if rule.rule_filter else None,
                "expiration_days": exp.days if exp else None,
                "noncurrent_days": nce.noncurrent_days if nce else None,
            }
        )
    return {"rules": rules}


def _replication(config: Any) -> Any:
    if config is None:
        return None
    return {"role": config.role, "rules": [{"id": r.rule_id, "status": r.status} for r in config.rules]}


def _notification(config: Any) -> dict[str, Any]:
    return {
        "queues": [c.queue for c in config.queue_config_list],
        "topics": [c.topic for c in config.topic_config_list],
        "functions": [c.cloud_func for c in config.cloud_func_config_list],
    }


def _users(text: Any) -> dict[str, Any]:
    data = _json_object(text)
    return {
        str(name): {
            "status": info.get("status"),
            "policy": info.get("policyName") or "",
            "member_of": info.get("memberOf") or [],
        }
        for name, info in sorted(data.items())
        if isinstance(info, dict)
    }


def _server_info(text: Any) -> dict[str, Any]:
    data = _json_object(text)
    servers = []
    for server in data.get("servers") or []:
        servers.append(
            {
                "endpoint": server.get("endpoint"),
                "state": server.get("state"),
                "version": server.get("version"),
                "commit": server.get("commitID"),
                "drives": [
                    {"endpoint": d.get("endpoint"), "state": d.get("state")} for d in server.get("drives") or []
                ],
            }
        )
    services = data.get("services") or {}
    env: dict[str, Any] = {}
    for server in data.get("servers") or []:
        for name, value in (server.get("minio_env_vars") or {}).items():
            env[str(name)] = _strip_userinfo(str(value)) if _SHOWN_ENV.match(str(name)) else "[set]"
    return {
        "env_vars": env,
        "mode": data.get("mode"),
        "region": data.get("region"),
        "deployment_id": data.get("deploymentID"),
        "servers": servers,
        "kms": [
            {"endpoint": k.get("endpoint"), "status": k.get("status"), "name": k.get("name")}
            for k in (services.get("kmsStatus") or [])
        ],
        "ldap": services.get("ldap") or {},
        "audit": [
            {str(k): v.get("status") if isinstance(v, dict) else v for k, v in a.items()}
            for a in services.get("audit") or []
            if isinstance(a, dict)
        ],
        "logger": [
            {str(k): v.get("status") if isinstance(v, dict) else v for k, v in a.items()}
            for a in services.get("logger") or []
            if isinstance(a, dict)
        ],
    }


DERIVED_SECTIONS = ("root_access", "identity_providers")
"""MinIO settings derived from the server's environment (server info) and, when read, its configuration."""
MINIO_ONLY_SECTIONS = (*ADMIN_SECTIONS, *DERIVED_SECTIONS, "metrics_probe", "root_identity")
"""Sections only a MinIO has: NOT_APPLICABLE on a store proven not to be MinIO, ERROR when undetermined."""


def _config_values(config: Any, subsystem: str) -> list[Mapping[str, Any]]:
    block = config.get(subsystem) if isinstance(config, Mapping) else None
    return [v for v in (block or {}).values() if isinstance(v, Mapping)]


def derive_settings(info: Any, config: Any, config_error: str | None) -> dict[str, Any]:
    """`root_access` and `identity_providers` from the environment MinIO reports, else its configuration.

    MinIO's environment wins over its stored configuration, and server info (admin:ServerInfo) names
    the settings given in the environment, so these need admin:ConfigUpdate only when the
    environment does not settle them. A value that cannot be settled is returned as the error text.
    """
    unread = config_error or "the configuration was not read"
    if not isinstance(info, Mapping):
        reason = "server info not read"
        return {"root_access": reason, "identity_providers": reason}
    env = info.get("env_vars") or {}
    result: dict[str, Any] = {}
    if env.get("MINIO_API_ROOT_ACCESS") not in (None, "[set]"):
        result["root_access"] = {"value": str(env["MINIO_API_ROOT_ACCESS"]).lower(), "source": "MINIO_API_ROOT_ACCESS"}
    elif config is not None:
        values = _config_values(config, "api")
        setting = values[0].get("root_access") if values else None
        result["root_access"] = (
            {"value": str(setting).lower(), "source": "configuration api root_access"}
            if setting is not None
            else "the api configuration has no root_access key"
        )
    else:
        result["root_access"] = unread
    providers: list[str] = []
    if info.get("ldap"):
        providers.append("LDAP (server info)")
    providers += [f"OpenID ({k})" for k in sorted(env) if k.startswith("MINIO_IDENTITY_OPENID_CONFIG_URL")]
    providers += [f"LDAP ({k})" for k in sorted(env) if k.startswith("MINIO_IDENTITY_LDAP_SERVER_ADDR")]
    if config is not None:
        for subsystem, key in (("identity_openid", "config_url"), ("identity_ldap", "server_addr")):
            providers += [f"{subsystem} (configuration)" for v in _config_values(config, subsystem) if v.get(key)]
    if providers or config is not None:
        result["identity_providers"] = {"providers": providers, "config_read": config is not None}
    else:
        result["identity_providers"] = (
            "no identity provider in the server's environment, and the configuration, which could name one, "
            f"was not read: {unread}"
        )
    return result


def _strip_userinfo(value: str) -> str:
    """An endpoint setting without `user:password@` (a URL may carry credentials)."""
    return re.sub(r"(?<=://)[^/@\s]*@", "", value)


def s3_uri(url: str) -> str:
    """`s3://host:port`, the base URI of every resource of a target."""
    split = urlsplit(url)
    host = split.hostname or ""
    port = split.port or (443 if split.scheme == "https" else 80)
    return f"s3://{url_host(host)}:{port}"


def collect(target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
    """Read one S3 target (read-only); raise CollectionError when it cannot be read at all."""
    return _Collector(target, secrets, timeout).run()
