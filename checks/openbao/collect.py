"""The OpenBao collector: the only code of this target kind that talks to the network.

It reads, and only reads:

* unauthenticated: `sys/health`, `sys/seal-status`;
* with the scanner's token: `auth/token/lookup-self`, `sys/auth` and each auth mount's tune
  (`sys/mounts/auth/<path>/tune`, falling back to `sys/auth/<path>/tune`), `sys/mounts`,
  `sys/policies/acl` (LIST) and each `sys/policies/acl/<name>`, `sys/audit`,
  `sys/config/state/sanitized`, `sys/config/cors`, `sys/quotas/rate-limit` (LIST + each),
  `auth/token/accessors` (LIST) and `auth/token/lookup-accessor` for each accessor, and
  `sys/storage/raft/configuration` when the storage is integrated storage (raft);
* with `probes: true` only, unauthenticated active probes: `sys/generate-root/attempt`,
  `sys/rekey/init`, `sys/metrics`, `sys/pprof/`.

Every request is a GET (LIST is sent as `GET ?list=true`) except one: OpenBao's API only
offers token-accessor lookups as `POST auth/token/lookup-accessor` (the accessor travels in
the body so it stays out of URLs and logs). It is a read: it returns the token's properties
and changes nothing. Secret values are never requested; the token id that lookups return
is dropped, and accessors are kept only as a short SHA-256 digest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import hvac
import requests

from checks.openbao import contract
from checks.openbao.connect import (
    TlsSettings,
    ambient_credentials,
    as_bool,
    check_options,
    make_client,
    namespace_setting,
    tls_settings,
    token_from_conventions,
)
from scanner import __version__, httpkit
from scanner import evidence as evidence_io
from scanner.errors import CollectionError
from scanner.interface import Secret, Target
from scanner.model import Evidence

DEFAULT_MAX_ACCESSORS = 2000
"""Token accessors looked up at most (option `max_accessors`); beyond it BAO-08 reports ERROR."""
REQUEST_TIMEOUT = httpkit.REQUEST_TIMEOUT
"""Upper bound of one HTTP request, in seconds (the target's deadline may shorten it)."""

# Sections that need a token (not read while sealed) and what a token needs to read them.
NEEDS: dict[str, str] = {
    "auth_methods": "read on sys/auth and read on sys/mounts/auth/* (auth mount tuning)",
    "secrets_engines": "read on sys/mounts",
    "policies": "list on sys/policies/acl and read on sys/policies/acl/*",
    "audit_devices": "read and sudo on sys/audit",
    "sanitized_config": "read on sys/config/state/sanitized",
    "cors": "read and sudo on sys/config/cors",
    "rate_limit_quotas": "list on sys/quotas/rate-limit and read on sys/quotas/rate-limit/*",
    "token_accessors": "list and sudo on auth/token/accessors, and update on auth/token/lookup-accessor",
    "raft": "read on sys/storage/raft/configuration",
}
ROOT_ONLY = frozenset({"audit_devices", "sanitized_config", "cors", "rate_limit_quotas", "raft", "token_accessors"})
"""Sections read in the root namespace (without the namespace header): endpoints that exist only
there, and the token store, because root tokens can exist only in the root namespace."""

_SECRETISH_KEY = re.compile(
    r"(^|_)(token|secret|password|passwd|credentials?|api_key|access_key|secret_key|private_key|headers)$", re.I
)
"""Keys whose values are dropped from evidence (e.g. telemetry `circonus_api_token`, audit `headers`)."""
REDACTED = "[redacted]"


class _Denied(Exception):
    """A request was refused (403)."""


class _Sealed(Exception):
    """The server answered 503: sealed, or standby without an active node."""


_Failed = httpkit.RequestFailed
"""A request failed for another reason; the message says which (no secrets), `reason` what it means."""
_Deadline = httpkit.Deadline
"""The collection deadline: every request gets at most what is left of it."""
_target_parts = httpkit.target_parts
_short = httpkit.short_error


def _redact(value: Any) -> Any:
    """Replace values under secret-looking keys (telemetry API tokens, audit HTTP headers)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if _SECRETISH_KEY.search(str(key)) and item not in (None, "", [], {}, False, 0):
                out[str(key)] = REDACTED
            else:
                out[str(key)] = _redact(item)
        return out
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def _accessor_digest(accessor: str) -> str:
    """A short stable digest of an accessor: enough to name a token, useless to act on it."""
    return hashlib.sha256(accessor.encode()).hexdigest()[:16]


def _error_texts(response: requests.Response) -> list[str]:
    """The `errors` strings of an OpenBao error response (empty when there are none)."""
    try:
        body = response.json()
    except ValueError:
        return []
    return httpkit.error_texts(body) if isinstance(body, dict) and isinstance(body.get("errors"), list) else []


def _response_error(response: requests.Response) -> str:
    """The server's error text (OpenBao error strings name no secrets), shortened."""
    return httpkit.response_error_text(response).replace("1 error occurred: * ", "")


def _checked(answer: str | None, body: Any, path: str) -> Any:
    """`body` when it matches the contract's schema of `answer`; else a failure naming the mismatch."""
    if answer is not None:
        issue = contract.answer_problem(answer, body)
        if issue:
            raise _Failed(f"{path} answered in an unexpected shape ({issue}): nothing from it is trusted")
    return body


class _Api:
    """GET/LIST access to one server, with the namespace header for namespaced paths only."""

    def __init__(self, scoped: hvac.Client, root: hvac.Client, anonymous: hvac.Client, deadline: _Deadline) -> None:
        self.scoped = scoped
        self.root = root
        self.anonymous = anonymous
        self.deadline = deadline

    def _send(
        self,
        client: hvac.Client,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        kwargs: dict[str, Any] = {"timeout": self.deadline.request_timeout()}
        if params:
            kwargs["params"] = dict(params)
        if json_body is not None:
            kwargs["json"] = dict(json_body)
        try:
            response: requests.Response = client.adapter.request(method, f"/v1/{path}", raise_exception=False, **kwargs)
        except (requests.exceptions.SSLError, requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            failure = httpkit.request_failure(exc, f"reading {path}")
            if failure.reason == CollectionError.TLS:
                raise CollectionError(CollectionError.TLS, f"TLS error talking to OpenBao: {_short(exc)}") from None
            raise failure from None
        return response

    def _json(self, response: requests.Response, path: str) -> Any:
        status = response.status_code
        if status == 200:
            try:
                return response.json()
            except ValueError:
                raise _Failed(f"{path} did not return JSON (is this an OpenBao API?)") from None
        if status == 204:
            return {}
        if status in (401, 403):
            raise _Denied(_response_error(response))
        if status == 503:
            raise _Sealed(_response_error(response))
        raise _Failed(f"{path} returned HTTP {status}: {_response_error(response)}")

    def get(
        self,
        path: str,
        *,
        root: bool = False,
        params: Mapping[str, str] | None = None,
        answer: str | None = None,
    ) -> Any:
        """GET a path and return its JSON body, checked against the contract's `answer` schema when given."""
        client = self.root if root else self.scoped
        body = self._json(self._send(client, "GET", path, params=params), path)
        return _checked(answer, body, path)

    def data(self, path: str, *, root: bool = False, answer: str | None = None) -> Any:
        """GET a path and return its `data` member (or the body, for endpoints without one)."""
        body = self.get(path, root=root, answer=answer)
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            return body["data"]
        return body

    def list(self, path: str, *, root: bool = False) -> list[str]:
        """LIST a path (as GET ?list=true).

        OpenBao answers an empty list with 404 and no error text (`{"errors": []}`); a 404 that
        carries an error ("unsupported path", "no handler for route") is a failure, not an empty list.
        """
        client = self.root if root else self.scoped
        response = self._send(client, "GET", path, params={"list": "true"})
        if response.status_code == 404:
            if _error_texts(response):
                raise _Failed(f"{path} returned HTTP 404: {_response_error(response)}")
            return []
        body = _checked("list", self._json(response, path), path)  # a 200 without keys is not "none"
        return [str(k) for k in body["data"]["keys"]]

    def status(self, path: str) -> int:
        """Unauthenticated GET without reading the body: only the status code (active probes)."""
        kwargs: dict[str, Any] = {"timeout": self.deadline.request_timeout(), "stream": True}
        try:
            response: requests.Response = self.anonymous.adapter.request(
                "GET", f"/v1/{path}", raise_exception=False, **kwargs
            )
        except requests.exceptions.RequestException as exc:
            raise _Failed(f"probe of {path} failed: {_short(exc)}") from None
        code = response.status_code
        response.close()
        return code

    def lookup_accessor(self, accessor: str, *, root: bool = False) -> Any:
        """POST auth/token/lookup-accessor: the API's only form of this read (see the module docstring)."""
        path = "auth/token/lookup-accessor"
        client = self.root if root else self.scoped
        response = self._send(client, "POST", path, json_body={"accessor": accessor})
        if response.status_code == 400 and any("invalid accessor" in e for e in _error_texts(response)):
            return None  # the token expired or was revoked between LIST and lookup
        return _checked(path, self._json(response, path), path)


def _tls_handshake(host: str, port: int, tls: TlsSettings, deadline: _Deadline) -> dict[str, Any]:
    """Handshake with the listener to record the negotiated protocol and certificate expiry."""
    return httpkit.tls_handshake(host, port, tls, deadline, ca_hint="give option ca_cert or BAO_CACERT")


class Collector:
    """Collects one OpenBao target. Build one per collection; it holds the token only while collecting."""

    def __init__(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> None:
        self.target = target
        self.secrets = secrets
        self.deadline = _Deadline(timeout)
        self.sections: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.metadata: dict[str, Any] = {}
        self._namespace: str | None = None

    # -- helpers -------------------------------------------------------------------------

    def _need(self, name: str) -> str:
        need = NEEDS[name]
        if name == "token_accessors" and self.namespace:
            return f"{need} in the root namespace (root tokens exist only there, not in '{self.namespace}')"
        if name in ROOT_ONLY and self.namespace:
            return f"{need} in the root namespace (it is not available inside namespace '{self.namespace}')"
        return need

    def _endpoint(self, name: str) -> str:
        return {
            "auth_methods": "sys/auth",
            "secrets_engines": "sys/mounts",
            "policies": "sys/policies/acl",
            "audit_devices": "sys/audit",
            "sanitized_config": "sys/config/state/sanitized",
            "cors": "sys/config/cors",
            "rate_limit_quotas": "sys/quotas/rate-limit",
            "token_accessors": "auth/token/accessors",
            "raft": "sys/storage/raft/configuration",
        }[name]

    def _read(self, name: str, reader: Callable[[], Any]) -> None:
        """Run one section reader; record its data or the reason it could not be read."""
        try:
            self.sections[name] = reader()
        except _Denied:
            self.errors[name] = f"permission denied: {self._endpoint(name)} needs a token with {self._need(name)}"
        except _Sealed as exc:
            self.errors[name] = f"{self._endpoint(name)} unavailable (HTTP 503: {exc}); the server may be sealed"
        except _Failed as exc:
            self.errors[name] = str(exc)

    @property
    def namespace(self) -> str | None:
        """The namespace being scanned (None for the root namespace)."""
        return self._namespace

    def _uri_path(self, path: str) -> str:
        """URI path of a namespaced resource: prefixed with the namespace when one is scanned."""
        path = path.strip("/")
        return f"{self._namespace}/{path}" if self._namespace else path

    # -- the collection ------------------------------------------------------------------

    def collect(self) -> Evidence:
        """Read the target; raise CollectionError when it cannot be read at all."""
        target = self.target
        options = target.options
        check_options(options)
        scheme, host, port = _target_parts(target.url)
        if scheme not in ("http", "https") or not host:
            raise CollectionError(CollectionError.PROTOCOL, f"not an http(s) URL: {target.url}")
        self._namespace = namespace_setting(options)
        tls = tls_settings(options)
        probes = as_bool(options.get("probes", False), "option probes")
        shown = f"[{host}]" if ":" in host else host  # IPv6 literals keep their brackets in URLs
        base = f"{scheme}://{shown}:{port}"
        uri = f"openbao://{shown}:{port}"
        self.metadata.update(
            {
                "address": base,
                "namespace": self._namespace,
                "tls_verify": tls.verify is not False if scheme == "https" else None,
                "probes": probes,
            }
        )
        if tls.skip_verify_source and scheme == "https":
            self.metadata["tls_skip_verify"] = (
                f"TLS certificate verification was DISABLED by {tls.skip_verify_source}: "
                "the server's identity was not verified"
            )
        insecure = httpkit.insecure_transport(scheme, tls, "the OpenBao server")
        if insecure:
            self.metadata["insecure_transport"] = insecure
        if tls.ca_source:
            self.metadata["ca_source"] = tls.ca_source

        connection: dict[str, Any] = {"scheme": scheme, "address": f"{shown}:{port}", "namespace": self._namespace}
        connection["tls"] = _tls_handshake(host, port, tls, self.deadline) if scheme == "https" else None
        self.sections["connection"] = connection

        token, token_source = token_from_conventions(self.secrets, options)
        self.metadata["token_source"] = token_source
        # What the server may echo back: the token in use and every credential this target could pick up.
        hidden = [token.reveal(), *(s.reveal() for s in ambient_credentials(options).values())]
        request_timeout = self.deadline.soft_timeout()
        clients = [
            make_client(base, token, tls, self._namespace, request_timeout),
            make_client(base, token, tls, None, request_timeout),
            make_client(base, None, tls, None, request_timeout),
        ]
        api = _Api(clients[0], clients[1], clients[2], self.deadline)
        try:
            self._collect_all(api, probes)
        except CollectionError as exc:
            raise CollectionError(exc.reason, evidence_io.redact(exc.message, hidden)) from None
        finally:
            for client in clients:
                client.adapter.close()
        for name, problem in contract.section_problems(self.sections).items():
            del self.sections[name]
            self.errors[name] = problem
        return Evidence(
            target=target.id,
            kind="openbao",
            uri=uri,
            sections=evidence_io.redact(self.sections, hidden),
            errors=evidence_io.redact(self.errors, hidden),
            tool_version=__version__,
            metadata=evidence_io.redact(self.metadata, hidden),
        )

    def _fatal(self, exc: Exception, what: str) -> CollectionError:
        """The whole-target error for a failure of one of the first, indispensable requests."""
        if isinstance(exc, _Failed):
            return exc.as_collection_error(what)
        return CollectionError(CollectionError.PROTOCOL, f"{what}: {exc}")

    def _collect_all(self, api: _Api, probes: bool) -> None:
        health_params = {
            "standbyok": "true",
            "perfstandbyok": "true",
            "sealedcode": "200",
            "uninitcode": "200",
            "drsecondarycode": "200",
            "performancestandbycode": "200",
        }
        try:
            health = api.get("sys/health", root=True, params=health_params, answer="sys/health")
            seal = api.get("sys/seal-status", root=True, answer="sys/seal-status")
        except (_Failed, _Denied, _Sealed) as exc:
            raise self._fatal(exc, "reading sys/health") from None
        if not isinstance(health, dict) or "initialized" not in health:
            raise CollectionError(CollectionError.PROTOCOL, "sys/health did not answer like an OpenBao server")
        self.sections["health"] = {
            key: health.get(key)
            for key in ("initialized", "sealed", "standby", "performance_standby", "version", "cluster_name")
            if key in health
        }
        self.sections["seal_status"] = {
            key: seal.get(key)
            for key in (
                "type",
                "initialized",
                "sealed",
                "t",
                "n",
                "progress",
                "recovery_seal",
                "storage_type",
                "version",
            )
            if isinstance(seal, dict) and key in seal
        }
        self.metadata["server_version"] = health.get("version")
        if probes:
            self._read("probes", lambda: self._probes(api))
        else:
            self.sections["probes"] = {"enabled": False}

        if not health.get("initialized") or health.get("sealed"):
            state = "not initialized" if not health.get("initialized") else "sealed"
            for name in NEEDS:
                self.errors[name] = (
                    f"OpenBao is {state}: {self._endpoint(name)} cannot be read until it is "
                    f"{'initialized and ' if state == 'not initialized' else ''}unsealed"
                )
            # BAO-01 judges the seal state from sys/health and says the voter count could not be read
            self.sections["raft"] = {"present": None, "unreadable": self.errors.pop("raft")}
            return

        try:
            body = api.get("auth/token/lookup-self", answer="auth/token/lookup-self")
        except _Denied as exc:
            raise CollectionError(
                CollectionError.AUTHENTICATION,
                f"the token was refused ({exc}): it is invalid, expired or revoked, "
                "or lacks read on auth/token/lookup-self (granted by the default policy)",
            ) from None
        except (_Failed, _Sealed) as exc:
            raise self._fatal(exc, "reading auth/token/lookup-self") from None
        me = body.get("data", {}) if isinstance(body, dict) else {}
        self.metadata["account"] = {
            key: me.get(key)
            for key in ("display_name", "policies", "type", "orphan", "ttl", "expire_time", "path")
            if key in me
        }

        self._read("auth_methods", lambda: self._auth_methods(api))
        self._read("secrets_engines", lambda: self._secrets_engines(api))
        self._read("policies", lambda: self._policies(api))
        self._read("audit_devices", lambda: self._audit_devices(api))
        self._read(
            "sanitized_config",
            lambda: _redact(api.data("sys/config/state/sanitized", root=True, answer="sys/config/state/sanitized")),
        )
        self._read("cors", lambda: self._cors(api))
        self._read("rate_limit_quotas", lambda: self._quotas(api))
        self._read("token_accessors", lambda: self._token_accessors(api))
        self._read("raft", lambda: self._raft(api))

    # -- section readers -----------------------------------------------------------------

    def _auth_methods(self, api: _Api) -> list[dict[str, Any]]:
        mounts = api.data("sys/auth", answer="sys/auth")
        items: list[dict[str, Any]] = []
        for path, mount in sorted(mounts.items()):
            if not isinstance(mount, dict):
                continue
            item: dict[str, Any] = {
                "path": path,
                "type": mount.get("type"),
                "description": mount.get("description", ""),
                "local": mount.get("local", False),
                "config": _redact(mount.get("config") or {}),
                "uri_path": self._uri_path(f"sys/auth/{path}"),
            }
            item["tune"], error = self._tune(api, path)
            if error:
                item["tune_error"] = error
            items.append(item)
        return items

    def _tune(self, api: _Api, mount_path: str) -> tuple[dict[str, Any] | None, str | None]:
        """Tune values of an auth mount (effective TTLs in seconds, lockout settings)."""
        clean = mount_path.strip("/")
        denied = False
        for path in (f"sys/mounts/auth/{clean}/tune", f"sys/auth/{clean}/tune"):
            try:
                data = api.data(path)
            except _Denied:
                denied = True
                continue
            except (_Failed, _Sealed) as exc:
                return None, str(exc)
            keep = {k: v for k, v in data.items() if k in _TUNE_KEYS} if isinstance(data, dict) else {}
            return keep, None
        reason = (
            f"permission denied: tuning of auth/{clean} needs read on sys/mounts/auth/{clean}/tune "
            f"(or read and sudo on sys/auth/{clean}/tune)"
            if denied
            else f"tuning of auth/{clean} could not be read"
        )
        return None, reason

    def _secrets_engines(self, api: _Api) -> list[dict[str, Any]]:
        mounts = api.data("sys/mounts", answer="sys/mounts")
        return [
            {
                "path": path,
                "type": mount.get("type"),
                "description": mount.get("description", ""),
                "local": mount.get("local", False),
                "seal_wrap": mount.get("seal_wrap", False),
                "options": _redact(mount.get("options") or {}),
                "config": _redact(mount.get("config") or {}),
                "uri_path": self._uri_path(f"sys/mounts/{path}"),
            }
            for path, mount in sorted(mounts.items())
            if isinstance(mount, dict)
        ]

    def _policies(self, api: _Api) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for name in sorted(api.list("sys/policies/acl")):
            item: dict[str, Any] = {"name": name, "uri_path": self._uri_path(f"sys/policies/acl/{name}")}
            try:
                data = api.data(f"sys/policies/acl/{quote(name, safe='')}", answer="sys/policies/acl/<name>")
                text = data.get("policy") if isinstance(data, dict) else None
                if isinstance(text, str):
                    item["policy"] = text
                else:
                    item["error"] = f"reading policy '{name}' returned no policy text"
            except _Denied:
                item["error"] = f"permission denied: reading policy '{name}' needs read on sys/policies/acl/{name}"
            except (_Failed, _Sealed) as exc:
                item["error"] = str(exc)
            items.append(item)
        return items

    def _audit_devices(self, api: _Api) -> list[dict[str, Any]]:
        devices = api.data("sys/audit", root=True, answer="sys/audit")
        return [
            {
                "path": path,
                "type": device.get("type"),
                "description": device.get("description", ""),
                "local": device.get("local", False),
                "options": _redact(device.get("options") or {}),
                "uri_path": f"sys/audit/{path.strip('/')}",
            }
            for path, device in sorted(devices.items())
            if isinstance(device, dict)
        ]

    def _cors(self, api: _Api) -> dict[str, Any]:
        data = api.data("sys/config/cors", root=True, answer="sys/config/cors")
        return {
            "enabled": bool(data.get("enabled", False)),
            "allowed_origins": list(data.get("allowed_origins") or []),
            "allow_credentials": data.get("allow_credentials"),
        }

    def _quotas(self, api: _Api) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for name in sorted(api.list("sys/quotas/rate-limit", root=True)):
            data = api.data(
                f"sys/quotas/rate-limit/{quote(name, safe='')}", root=True, answer="sys/quotas/rate-limit/<name>"
            )
            items.append(
                {
                    key: data.get(key)
                    for key in ("name", "path", "role", "rate", "interval", "block_interval", "inheritable")
                }
            )
        return items

    def _token_accessors(self, api: _Api) -> dict[str, Any]:
        # Root tokens exist only in the root namespace: a namespaced token store would show none of them.
        accessors = api.list("auth/token/accessors", root=True)
        limit = int(self.target.options.get("max_accessors", DEFAULT_MAX_ACCESSORS))
        tokens: list[dict[str, Any]] = []
        vanished = 0
        stopped: str | None = None
        for index, accessor in enumerate(accessors):
            if index >= limit:
                stopped = f"only the first {limit} of {len(accessors)} tokens were looked up (option max_accessors)"
                break
            if self.deadline.left() < 1.0:
                stopped = f"the collection deadline passed after {index} of {len(accessors)} token lookups"
                break
            try:
                body = api.lookup_accessor(accessor, root=True)
            except _Denied:
                raise _Denied("lookup-accessor") from None
            if body is None:
                vanished += 1
                continue
            data = body.get("data", {}) if isinstance(body, dict) else {}
            tokens.append(
                {
                    "accessor_sha256": _accessor_digest(accessor),
                    "display_name": data.get("display_name"),
                    "policies": sorted(data.get("policies") or []),
                    "type": data.get("type"),
                    "path": data.get("path"),
                    "orphan": data.get("orphan"),
                    "ttl": data.get("ttl"),
                    "period": data.get("period") or 0,
                    "explicit_max_ttl": data.get("explicit_max_ttl") or 0,
                    "renewable": data.get("renewable"),
                    "entity_id": data.get("entity_id") or "",
                    "expire_time": data.get("expire_time"),
                    "creation_time": data.get("creation_time"),
                    "uri_path": f"auth/token/accessors/{_accessor_digest(accessor)}",
                }
            )
        return {
            "total": len(accessors),
            "looked_up": len(tokens),
            "vanished": vanished,
            "incomplete": stopped,
            "tokens": tokens,
        }

    def _raft(self, api: _Api) -> dict[str, Any]:
        storage = self.sections.get("seal_status", {}).get("storage_type")
        if storage != "raft":
            return {"present": False, "storage_type": storage}
        data = api.data("sys/storage/raft/configuration", root=True, answer="sys/storage/raft/configuration")
        servers = (data.get("config") or {}).get("servers") or []
        return {
            "present": True,
            "storage_type": storage,
            "servers": [
                {key: server.get(key) for key in ("node_id", "address", "leader", "voter")}
                for server in servers
                if isinstance(server, dict)
            ],
        }

    def _probes(self, api: _Api) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for path in PROBE_PATHS:
            try:
                results[path] = {"status": api.status(path)}
            except _Failed as exc:
                results[path] = {"error": str(exc)}
        return {"enabled": True, "results": results}


PROBE_PATHS = ("sys/generate-root/attempt", "sys/rekey/init", "sys/metrics", "sys/pprof/")
"""Unauthenticated GETs sent only with `probes: true`."""

_TUNE_KEYS = frozenset(
    {
        "default_lease_ttl",
        "max_lease_ttl",
        "token_type",
        "user_lockout_threshold",
        "user_lockout_duration",
        "user_lockout_counter_reset_duration",
        "user_lockout_disable",
        "listing_visibility",
    }
)


def collect(target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
    """Collect one OpenBao target (read-only); see the module docstring for what is read."""
    return Collector(target, secrets, timeout).collect()
