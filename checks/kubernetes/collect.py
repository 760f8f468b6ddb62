"""The live Kubernetes collector: paginated, read-only LISTs through the official client.

Credentials come from a kubeconfig (a context, `KUBECONFIG`, or an explicit path) or from the
in-cluster service account. Every kind of `kinds.KINDS` is listed cluster-wide with `limit`
and `continue`, each page parsed as plain JSON (orjson, no model deserialisation) and slimmed
at once, so memory stays bounded by the slim evidence. The collector never lists Secrets and
reads one ConfigMap (kube-system/kubelet-config) by name.

Requests go through the client's `ApiClient` (its configuration, authentication, TLS settings
and connection pool) but not through its generated API classes: those import hundreds of
pydantic models and validate every call, which costs more than reading a small cluster, and
the collector uses none of it (it asks for raw JSON).

The pages are pipelined: one reader thread requests the pages of every kind in order, parses
each and, as soon as a page's continue token is known, asks for the next, while this thread
slims the page before. The reader is at most `READ_AHEAD` pages ahead (memory stays bounded),
runs under the same deadline, never writes, and is a daemon thread that stops at the next
page when the collection ends early; results and their order are those of reading the pages
one after the other.

A kind the account may not list becomes a section error naming the permission; a 401 or an
unreachable server is a CollectionError for the whole target.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from checks.kubernetes.kinds import KINDS, KUBELET_CONFIGMAP, NON_RESOURCE_URLS, KindInfo
from checks.kubernetes.slim import EvidenceBuilder
from scanner.errors import CollectionError
from scanner.interface import Secret
from scanner.yamlfile import load_bounded

DEFAULT_PAGE_SIZE = 500
"""Objects per LIST page (kubectl's default chunk size)."""

READ_AHEAD = 1
"""LIST pages the reader thread may hold parsed, waiting to be slimmed (besides the one it is reading)."""

_AUTH = ["BearerToken"]
"""The client's name for its authentication settings (a bearer token; client certificates are in the pool)."""

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
"""Where a pod's service-account token and CA certificate are mounted."""

MANAGED_CONTROL_PLANE = (
    "no kube-apiserver static pod in kube-system (a managed control plane, or one that does not run "
    "as pods): the API server's flags are not visible to the scanner"
)

_API_CLASSES = {
    "": "CoreV1Api",
    "apps": "AppsV1Api",
    "batch": "BatchV1Api",
    "networking.k8s.io": "NetworkingV1Api",
    "rbac.authorization.k8s.io": "RbacAuthorizationV1Api",
    "admissionregistration.k8s.io": "AdmissionregistrationV1Api",
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def list_method_name(info: KindInfo) -> tuple[str, str]:
    """The client API class and method that LIST a kind cluster-wide.

    E.g. (`AppsV1Api`, `list_deployment_for_all_namespaces`).
    """
    suffix = "_for_all_namespaces" if info.namespaced else ""
    return _API_CLASSES[info.group], f"list_{_snake(info.kind)}{suffix}"


class _Forbidden(Exception):
    pass


class _Gone(Exception):
    pass


class _SectionFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class LiveStats:
    """What a live collection did (for the evidence metadata and the benchmark)."""

    requests: int = 0
    """HTTP requests made."""
    pages: dict[str, int] = field(default_factory=dict)
    """Section -> LIST pages read."""
    bytes: int = 0
    """Response bytes read."""


def make_api_client(mode: str, context: str, options: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Build a `kubernetes.client.ApiClient` from a kubeconfig context or the in-cluster account.

    Returns the client and metadata about it (server, context, user name); never credentials.
    """
    from kubernetes import client
    from kubernetes.config.config_exception import ConfigException

    config: Any = importlib.import_module("kubernetes.config")

    configuration = client.Configuration()
    meta: dict[str, Any] = {}
    try:
        if mode == "in-cluster":
            loader_class: Any = importlib.import_module("kubernetes.config.incluster_config").InClusterConfigLoader
            directory = str(options.get("service_account_dir", SERVICE_ACCOUNT_DIR))
            loader_class(
                token_filename=os.path.join(directory, "token"), cert_filename=os.path.join(directory, "ca.crt")
            ).load_and_set(configuration)
            meta["account"] = "in-cluster service account"
        else:
            kubeconfig = str(options.get("kubeconfig") or os.environ.get("KUBECONFIG") or "~/.kube/config")
            paths = [os.path.expanduser(p) for p in kubeconfig.split(os.pathsep) if p]
            if not any(os.path.exists(p) for p in paths):
                raise CollectionError(CollectionError.CREDENTIALS, f"no kubeconfig file at {kubeconfig}")
            contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
            chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
            if chosen is None:
                known = ", ".join(sorted(str(c.get("name")) for c in contexts)) or "none"
                raise CollectionError(
                    CollectionError.CREDENTIALS, f"kubeconfig has no context '{context}' (contexts: {known})"
                )
            config.load_kube_config(
                config_file=kubeconfig,
                context=chosen.get("name"),
                client_configuration=configuration,
                persist_config=False,
            )
            meta["context"] = chosen.get("name")
            meta["account"] = (chosen.get("context") or {}).get("user")
    except ConfigException as exc:
        raise CollectionError(CollectionError.CREDENTIALS, f"kubernetes client configuration: {exc}") from None
    except OSError as exc:
        raise CollectionError(CollectionError.CREDENTIALS, f"cannot read client configuration: {exc}") from None
    configuration.retries = 1
    meta["server"] = configuration.host
    insecure = []
    if not configuration.verify_ssl:
        where = f"context {meta.get('context')}" if mode != "in-cluster" else "the in-cluster configuration"
        insecure.append(f"TLS verification disabled by kubeconfig insecure-skip-tls-verify ({where})")
    if str(configuration.host or "").startswith("http://"):
        insecure.append(f"plain HTTP to the API server ({configuration.host}): credentials and evidence unencrypted")
    if insecure:
        meta["insecure_transport"] = insecure
    return client.ApiClient(configuration), meta


class LiveCollector:
    """Reads one cluster into an EvidenceBuilder, page by page, under a deadline."""

    def __init__(self, api_client: Any, timeout: float, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self._api = api_client
        self._deadline = time.monotonic() + max(timeout, 0.1)
        self._page_size = max(1, int(page_size))
        self.stats = LiveStats()
        """Counters of what was read."""
        self.errors: dict[str, str] = {}
        """Section -> reason it could not be read."""

    def _timeout(self, what: str) -> tuple[float, float]:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise _SectionFailed(f"{CollectionError.TIMEOUT}: the collection deadline passed before {what}")
        return (min(remaining, 10.0), remaining)

    def _call(
        self,
        what: str,
        path: str,
        query: list[tuple[str, Any]] | None = None,
        path_params: dict[str, str] | None = None,
    ) -> Any:
        """GET `path` through the client's ApiClient; return the parsed JSON body.

        The same request the generated API method would make (URL, query order, Accept header,
        authentication), without its argument validation and model classes.
        """
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError, MaxRetryError, ProtocolError, SSLError, TimeoutError

        timeout = self._timeout(what)
        self.stats.requests += 1
        try:
            method, url, headers, _, _ = self._api.param_serialize(
                method="GET",
                resource_path=path,
                path_params=path_params,
                query_params=list(query or ()),
                header_params={"Accept": "application/json"},
                auth_settings=_AUTH,
            )
            answer = self._api.call_api(method, url, header_params=headers, _request_timeout=timeout)
            response = answer.response
            try:
                data = response.data
                status = answer.status
            finally:
                response.release_conn()
        except ApiException as exc:  # the client turns a bare SSLError into ApiException(status=0)
            raise self._status_error(what, exc.status, exc.body) from None
        except MaxRetryError as exc:
            raise _network_error(exc.reason, what) from None
        except (SSLError, TimeoutError, ProtocolError, HTTPError) as exc:
            raise _network_error(exc, what) from None
        if not 200 <= status <= 299:
            raise self._status_error(what, status, data)
        self.stats.bytes += len(data)
        try:
            return _parse_json(data)
        except ValueError:
            raise _SectionFailed(f"{CollectionError.PROTOCOL}: {what} did not return JSON") from None

    @staticmethod
    def _status_error(what: str, status: Any, body: Any) -> Exception:
        """The exception for a non-2xx answer."""
        if status == 401:
            return CollectionError(
                CollectionError.AUTHENTICATION, f"the API server rejected the scanner's credentials ({what})"
            )
        if status == 403:
            return _Forbidden()
        if status == 410:
            return _Gone()
        detail = _status_message(body)
        return _SectionFailed(
            f"{CollectionError.PROTOCOL}: {what} returned HTTP {status}{': ' + detail if detail else ''}"
        )

    def version(self) -> dict[str, Any] | None:
        """GET /version; None (and a section error) when it cannot be read."""
        try:
            body = self._call("GET /version", NON_RESOURCE_URLS[0])
        except _Forbidden:
            self.errors["version"] = (
                f"{CollectionError.PERMISSION}: get /version is forbidden for the scanner's account"
            )
            return None
        except _SectionFailed as exc:
            self.errors["version"] = exc.reason
            return None
        if not isinstance(body, dict):
            self.errors["version"] = f"{CollectionError.PROTOCOL}: /version did not return an object"
            return None
        return {k: body.get(k) for k in ("gitVersion", "major", "minor", "platform", "goVersion") if k in body}

    def _read_kind(self, info: KindInfo, put: Callable[[tuple[Any, ...]], bool]) -> bool:
        """LIST one kind page by page, handing each event to `put`; False when the reader must stop.

        Events: ("page", items), ("restart",) after a 410 Gone (the list starts again), and last
        ("done", pages) or ("failed", exception, pages).
        """
        what = f"list {info.qualified} (cluster-wide)"
        restarted = False
        token: str | None = None
        pages = 0
        try:
            while True:
                query: list[tuple[str, Any]] = [("continue", token)] if token else []
                query.append(("limit", self._page_size))
                try:
                    body = self._call(what, info.list_path, query)
                except _Gone:
                    if restarted or not token:
                        raise _SectionFailed(
                            f"{CollectionError.PROTOCOL}: {what}: the continue token expired twice"
                        ) from None
                    restarted, token = True, None  # a consistent list must start again
                    if not put(("restart",)):
                        return False
                    continue
                pages += 1
                items, token = _list_page(body, what)
                if not put(("page", items)):
                    return False
                if not token:
                    break
        except (_Forbidden, _SectionFailed, CollectionError) as exc:
            authentication = isinstance(exc, CollectionError) and exc.reason == CollectionError.AUTHENTICATION
            return put(("failed", exc, pages)) and not authentication
        return put(("done", pages))

    def _reader(self, events: queue.Queue[tuple[Any, ...]], stop: threading.Event) -> None:
        """The reader thread: every kind in order into `events`, until done or `stop` is set."""

        def put(event: tuple[Any, ...]) -> bool:
            while not stop.is_set():
                try:
                    events.put(event, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for info in KINDS:
                if stop.is_set() or not self._read_kind(info, put):
                    return
        except BaseException as exc:  # a bug: hand it to the collecting thread, which raises it
            put(("crashed", exc))

    def list_kinds(self, builder: EvidenceBuilder) -> None:
        """LIST every kind cluster-wide into the builder, the pages read ahead by a reader thread."""
        events: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=READ_AHEAD)
        stop = threading.Event()
        reader = threading.Thread(target=self._reader, args=(events, stop), name="sovscan-k8s-pages", daemon=True)
        reader.start()
        try:
            for info in KINDS:
                self._consume_kind(info, builder, events, reader)
        finally:
            stop.set()  # the reader stops at its next page (or finishes a request under the deadline)

    def _consume_kind(
        self, info: KindInfo, builder: EvidenceBuilder, events: queue.Queue[tuple[Any, ...]], reader: threading.Thread
    ) -> bool:
        """Slim the pages of one kind as the reader hands them over; False when the kind failed."""
        section = builder.sections[info.section]
        mark = len(section), {k: len(v) for k, v in builder.controlplane.items()}
        what = f"list {info.qualified} (cluster-wide)"
        add = builder.add
        kind = info.kind
        while True:
            event = _next_event(events, reader)
            tag = event[0]
            if tag == "page":
                for item in event[1]:
                    add(item, kind)
                continue
            if tag == "restart":
                del section[mark[0] :]
                for key, length in mark[1].items():
                    del builder.controlplane[key][length:]
                continue
            if tag == "crashed":
                raise event[1]
            break
        self.stats.pages[info.section] = event[-1]
        if tag == "done":
            return True
        exc = event[1]
        if isinstance(exc, _Forbidden):
            self.errors[info.section] = f"{CollectionError.PERMISSION}: {what} is forbidden for the scanner's account"
        elif isinstance(exc, _SectionFailed):
            self.errors[info.section] = exc.reason
        elif exc.reason == CollectionError.AUTHENTICATION:
            raise exc
        else:
            self.errors[info.section] = str(exc)  # the server went away after /version answered
        del section[mark[0] :]
        return False

    def kubelet_config(self, builder: EvidenceBuilder) -> dict[str, Any] | None:
        """GET the kube-system/kubelet-config ConfigMap and keep only the kubelet settings."""
        namespace, name = KUBELET_CONFIGMAP
        what = f"get configmaps {namespace}/{name}"
        try:
            path = "/api/v1/namespaces/{namespace}/configmaps/{name}"
            body = self._call(what, path, path_params={"namespace": namespace, "name": name})
        except _Forbidden:
            self.errors["kubeletconfig"] = (
                f"{CollectionError.PERMISSION}: {what} is forbidden for the scanner's account"
            )
            return None
        except _SectionFailed as exc:
            if "HTTP 404" in exc.reason:
                return {
                    "found": False,
                    "reason": f"no ConfigMap {namespace}/{name} (not a kubeadm cluster, or a managed one): "
                    "the kubelet configuration is not visible through the API",
                }
            self.errors["kubeletconfig"] = exc.reason
            return None
        builder.set_kubelet_config(body if isinstance(body, dict) else {})
        return builder.kubelet

    def collect(self, builder: EvidenceBuilder) -> dict[str, Any]:
        """Read everything: /version first (it proves the server is reachable), then every kind."""
        sections: dict[str, Any] = {}
        version = self.version()
        if version is not None:
            sections["version"] = version
        self.list_kinds(builder)
        builder.finish()
        kubelet = self.kubelet_config(builder)
        if kubelet is not None:
            sections["kubeletconfig"] = kubelet
        for info in KINDS:
            if info.section not in self.errors:
                sections[info.section] = builder.sections[info.section]
        if "pods" in self.errors:
            self.errors["controlplane"] = self.errors["pods"]
        else:
            sections["controlplane"] = builder.controlplane_section(MANAGED_CONTROL_PLANE)
        sections["inputs"] = {"invalid": [], "unevaluated_kinds": {}}  # a LIST returns only its kind
        return sections


def _next_event(events: queue.Queue[tuple[Any, ...]], reader: threading.Thread) -> tuple[Any, ...]:
    """The reader's next event; waits as long as the reader lives (its requests run under the deadline)."""
    while True:
        try:
            return events.get(timeout=0.5)
        except queue.Empty:
            if not reader.is_alive() and events.empty():
                raise RuntimeError("the LIST reader thread ended without a result") from None


def _list_page(body: Any, what: str) -> tuple[list[dict[str, Any]], str | None]:
    """The items and continue token of one LIST page; `_SectionFailed` for anything else.

    A List always carries `items` (an empty list when there are none) and `metadata`; an answer
    without them, with items that are not objects with metadata, or that says more items remain
    (`remainingItemCount`) without a `continue` token to fetch them, is not a (complete) list:
    reading it as "no objects" would make privileged pods vanish.
    """
    if not isinstance(body, dict):
        raise _SectionFailed(f"{CollectionError.PROTOCOL}: {what} did not return a List object")
    items = body.get("items")
    if not isinstance(items, list):
        shown = "no 'items'" if items is None else f"'items' of type {type(items).__name__}"
        raise _SectionFailed(f"{CollectionError.PROTOCOL}: {what} returned a List with {shown}")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
            raise _SectionFailed(f"{CollectionError.PROTOCOL}: {what}: item {index} is not an object with metadata")
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise _SectionFailed(f"{CollectionError.PROTOCOL}: {what} returned List metadata that is not an object")
    token = metadata.get("continue")
    if token is not None and not isinstance(token, str):
        raise _SectionFailed(f"{CollectionError.PROTOCOL}: {what} returned a continue token that is not a string")
    remaining = metadata.get("remainingItemCount")
    if not token and isinstance(remaining, int) and not isinstance(remaining, bool) and remaining > 0:
        raise _SectionFailed(
            f"{CollectionError.PROTOCOL}: {what} is truncated: the server says {remaining} more items remain "
            "but gave no continue token"
        )
    return items, token or None


def _parse_json(data: bytes | str) -> Any:
    """A response body parsed at C speed (orjson); what orjson refuses (NaN, lone surrogates) by the json module."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # the standard library is more lenient: the same result or the same error
        return json.loads(data)


def _status_message(body: Any) -> str:
    """The `message` of a Kubernetes Status body, shortened; '' when there is none."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return ""
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return str(message)[:200] if message else ""


def _network_error(exc: Any, what: str) -> CollectionError:
    from urllib3.exceptions import NewConnectionError, SSLError, TimeoutError

    if isinstance(exc, SSLError):
        return CollectionError(CollectionError.TLS, f"{what}: TLS handshake with the API server failed: {exc}")
    if isinstance(exc, NewConnectionError):  # before TimeoutError: urllib3 derives it from ConnectTimeoutError
        return CollectionError(CollectionError.UNREACHABLE, f"{what}: cannot connect to the API server")
    if isinstance(exc, TimeoutError):
        return CollectionError(CollectionError.TIMEOUT, f"{what}: the API server did not answer in time")
    return CollectionError(CollectionError.UNREACHABLE, f"{what}: {type(exc).__name__}: {exc}")


_USER_SECRETS = ("token", "password", "client-key-data")
_USER_SECRET_FILES = ("tokenFile", "client-key")
_PROVIDER_SECRETS = ("id-token", "refresh-token", "client-secret", "access-token")


def _read_secret_file(path: str, base: str) -> str | None:
    full = path if os.path.isabs(path) else os.path.join(base, path)
    try:
        with open(os.path.expanduser(full), encoding="utf-8", errors="replace") as handle:
            text = handle.read(1 << 20).strip()
    except OSError:
        return None
    return text or None


def ambient_credentials(mode: str, options: Mapping[str, Any]) -> dict[str, Secret]:
    """The credentials a live Kubernetes target would use, for redaction; never raises.

    In-cluster: the mounted service-account token. A kubeconfig context: every `token`,
    `password`, `client-key-data` (its base64 text and the decoded key), `tokenFile` and
    `client-key` file content, and auth-provider tokens of every user of every kubeconfig file
    (a server that echoes a credential must never put any of them into a report).
    """
    found: dict[str, Secret] = {}

    def add(name: str, value: Any) -> None:
        if isinstance(value, str) and len(value.strip()) >= 4:
            found[name] = Secret(value.strip())

    if mode == "in-cluster":
        directory = str(options.get("service_account_dir", SERVICE_ACCOUNT_DIR))
        token = _read_secret_file(os.path.join(directory, "token"), directory)
        add("in-cluster service-account token", token)
        return found
    kubeconfig = str(options.get("kubeconfig") or os.environ.get("KUBECONFIG") or "~/.kube/config")
    for path in (os.path.expanduser(p) for p in kubeconfig.split(os.pathsep) if p):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                data = load_bounded(handle.read(4 << 20))
        except (OSError, ValueError):
            continue
        users = data.get("users") if isinstance(data, dict) else None
        base = os.path.dirname(path)
        for entry in users if isinstance(users, list) else ():
            user = entry.get("user") if isinstance(entry, dict) else None
            if not isinstance(user, dict):
                continue
            label = f"kubeconfig {path} user {entry.get('name')}"
            for key in _USER_SECRETS:
                add(f"{label} {key}", user.get(key))
            key_data = user.get("client-key-data")
            if isinstance(key_data, str):
                with contextlib.suppress(ValueError):
                    pem = base64.b64decode(key_data, validate=False).decode("utf-8", "replace")
                    add(f"{label} client key", pem)
                    for number, line in enumerate(pem.splitlines()):
                        if len(line) >= 16 and not line.startswith("-----"):
                            add(f"{label} client key line {number}", line)
            for key in _USER_SECRET_FILES:
                if isinstance(user.get(key), str):
                    add(f"{label} {key} content", _read_secret_file(user[key], base))
            provider = user.get("auth-provider")
            config = provider.get("config") if isinstance(provider, dict) else None
            for key in _PROVIDER_SECRETS:
                if isinstance(config, dict):
                    add(f"{label} auth-provider {key}", config.get(key))
    return found


def client_credentials(api_client: Any) -> list[str]:
    """The credential values a configured client actually sends (bearer token, basic-auth password).

    These include tokens that exist only at run time (an exec credential plugin's output), which
    `ambient_credentials` cannot know beforehand; the collector scrubs them from its messages.
    """
    configuration = getattr(api_client, "configuration", None)
    found: list[str] = []
    keys = getattr(configuration, "api_key", None) or {}
    for value in keys.values() if isinstance(keys, dict) else ():
        if isinstance(value, str) and value.strip():
            text = value.strip()
            found.append(text)
            scheme, _, token = text.partition(" ")
            if token and scheme.lower() in ("bearer", "basic"):
                found.append(token.strip())
    password = getattr(configuration, "password", None)
    if isinstance(password, str) and len(password) >= 4:
        found.append(password)
    return found
