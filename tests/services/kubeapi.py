"""A small Kubernetes API server over real HTTP(S), for the collector's tests and the benchmark.

It serves what sovscan's collector reads: cluster-wide LISTs of the kinds it knows (with
`limit` / `continue` pagination like the real API server, items without kind/apiVersion),
one ConfigMap by name, and `/version`. It answers 401 without the expected bearer token, 403
(a Kubernetes `Status` body) for resources marked forbidden, 410 once for a continue token
marked to expire, a chosen error for later pages of a LIST marked to fail, and 404 for
anything else. Every request is recorded so tests can assert what the collector asked for (and
that it never asked for Secrets).

No Kubernetes API server can be installed on these machines (see test-services.md); the
real `kubernetes` client talks to this one over a socket, nothing is mocked.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

GROUPS = {
    "namespaces": ("", "Namespace"),
    "pods": ("", "Pod"),
    "serviceaccounts": ("", "ServiceAccount"),
    "services": ("", "Service"),
    "limitranges": ("", "LimitRange"),
    "configmaps": ("", "ConfigMap"),
    "secrets": ("", "Secret"),
    "deployments": ("apps", "Deployment"),
    "statefulsets": ("apps", "StatefulSet"),
    "daemonsets": ("apps", "DaemonSet"),
    "replicasets": ("apps", "ReplicaSet"),
    "jobs": ("batch", "Job"),
    "cronjobs": ("batch", "CronJob"),
    "ingresses": ("networking.k8s.io", "Ingress"),
    "networkpolicies": ("networking.k8s.io", "NetworkPolicy"),
    "roles": ("rbac.authorization.k8s.io", "Role"),
    "rolebindings": ("rbac.authorization.k8s.io", "RoleBinding"),
    "clusterroles": ("rbac.authorization.k8s.io", "ClusterRole"),
    "clusterrolebindings": ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    "validatingwebhookconfigurations": ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    "mutatingwebhookconfigurations": ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
}
"""Resource plural -> (API group, kind) of everything the server can list."""

PLURALS = {kind: plural for plural, (_, kind) in GROUPS.items()}
"""Kind -> resource plural."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: Mapping[str, str]
    authorized: bool


def status_body(code: int, reason: str, message: str) -> bytes:
    """A Kubernetes `Status` object as the API server sends it for errors."""
    return json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
    ).encode()


class KubeAPIServer:
    """Serve objects like a Kubernetes API server; use as a context manager or start()/stop()."""

    def __init__(
        self,
        objects: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]] = (),
        *,
        forbidden: Sequence[str] = (),
        version: Mapping[str, Any] | None = None,
        token: str | None = None,
        expire_continue_once: Sequence[str] = (),
        fail_continue: Mapping[str, int] | None = None,
        tls: tuple[Path, Path] | None = None,
        user: str = "system:serviceaccount:sovscan:sovscan",
        rules: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """`objects` is a list of full objects (with kind) or a mapping plural -> objects.

        In the mapping form an object may also be a string: its JSON, served as it is (the
        benchmark keeps 100,000 objects that way).

        `forbidden` names resource plurals (or "version", or "configmaps") answered with 403;
        `expire_continue_once` names plurals whose first continue token gets a 410 Gone;
        `fail_continue` maps plurals to an HTTP status (e.g. 500) answered to every request that
        carries a continue token, so the first page succeeds and a later one fails.
        `rules` (RBAC PolicyRules) makes the server authorize like RBAC: what they do not grant is 403.
        """
        self.objects: dict[str, list[Any]] = {plural: [] for plural in GROUPS}
        if isinstance(objects, Mapping):
            for plural, items in objects.items():
                self.objects[plural].extend(items)
        else:
            for obj in objects:
                self.objects[PLURALS[str(obj["kind"])]].append(obj)
        self.forbidden = set(forbidden)
        self.version = (
            dict(version)
            if version is not None
            else {"major": "1", "minor": "35", "gitVersion": "v1.35.1", "platform": "linux/amd64"}
        )
        self.token = token
        self.expire = set(expire_continue_once)
        self.fail_continue = dict(fail_continue or {})
        self.user = user
        self.rules = list(rules) if rules is not None else None
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._tls = tls
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host!s}:{port}"

    @property
    def port(self) -> int:
        """TCP port of the running server."""
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    def start(self) -> KubeAPIServer:
        """Listen on a free port of 127.0.0.1 and serve in a background thread."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                code, body = api.handle("GET", self.path, self.headers.get("Authorization"))
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _refuse(self) -> None:
                api.handle(self.command, self.path, self.headers.get("Authorization"))
                body = status_body(405, "MethodNotAllowed", "this test server is read-only")
                self.send_response(405)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="kubeapi", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> KubeAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def list_requests(self, plural: str) -> list[RecordedRequest]:
        """The recorded LIST requests of one resource plural, in order."""
        return [r for r in self.requests if r.path.rstrip("/").endswith("/" + plural)]

    def handle(self, method: str, raw_path: str, authorization: str | None) -> tuple[int, bytes]:
        """Answer one request: (HTTP status, body)."""
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        scheme, _, presented = (authorization or "").partition(" ")
        authorized = self.token is None or (scheme.lower() == "bearer" and presented.strip() == self.token)
        with self._lock:
            self.requests.append(RecordedRequest(method, parts.path, query, authorized))
        if not authorized:
            return 401, status_body(401, "Unauthorized", "Unauthorized")
        if method != "GET":
            return 405, b""
        path = parts.path.rstrip("/")
        if path == "/version":
            # RBAC matches non-resource URLs literally: /version and /version/ are different URLs
            if "version" in self.forbidden or not self.allows("get", "", "", None, parts.path):
                return 403, self._forbidden("get", "", "", "/version")
            return 200, json.dumps(self.version).encode()
        segments = path.strip("/").split("/")
        if segments[:2] == ["api", "v1"]:
            rest, group = segments[2:], ""
        elif len(segments) >= 3 and segments[0] == "apis":
            rest, group = segments[3:], segments[1]
        else:
            return 404, status_body(404, "NotFound", "the server could not find the requested resource")
        if len(rest) == 1 and rest[0] in GROUPS and GROUPS[rest[0]][0] == group:
            if not self.allows("list", group, rest[0], None, None):
                return 403, self._forbidden("list", rest[0], group)
            return self._list(rest[0], query)
        if len(rest) == 4 and rest[0] == "namespaces" and rest[2] in GROUPS and GROUPS[rest[2]][0] == group:
            if not self.allows("get", group, rest[2], rest[3], None):
                return 403, self._forbidden("get", rest[2], group)
            return self._get(rest[2], rest[1], rest[3])
        return 404, status_body(404, "NotFound", "the server could not find the requested resource")

    def allows(self, verb: str, group: str, resource: str, name: str | None, url: str | None) -> bool:
        """RBAC semantics of `rules` (everything is allowed when the server has no rules)."""
        if self.rules is None:
            return True
        for rule in self.rules:
            if verb not in rule.get("verbs", ()) and "*" not in rule.get("verbs", ()):
                continue
            if url is not None:
                if url in rule.get("nonResourceURLs", ()) or "*" in rule.get("nonResourceURLs", ()):
                    return True
                continue
            groups, resources = rule.get("apiGroups", ()), rule.get("resources", ())
            if (group in groups or "*" in groups) and (resource in resources or "*" in resources):
                names = rule.get("resourceNames")
                if not names or (name is not None and name in names):
                    return True
        return False

    def _forbidden(self, verb: str, plural: str, group: str, what: str = "") -> bytes:
        scope = "at the cluster scope"
        target = what or f'resource "{plural}" in API group "{group}"'
        return status_body(
            403, "Forbidden", f'{plural or what} is forbidden: User "{self.user}" cannot {verb} {target} {scope}'
        )

    def _list(self, plural: str, query: Mapping[str, str]) -> tuple[int, bytes]:
        group, kind = GROUPS[plural]
        if plural in self.forbidden:
            return 403, self._forbidden("list", plural, group)
        items = self.objects[plural]
        offset = 0
        token = query.get("continue")
        if token and plural in self.fail_continue:
            code = self.fail_continue[plural]
            return code, status_body(code, "InternalError", "etcdserver: request timed out")
        if token:
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
            except (ValueError, KeyError):
                return 400, status_body(400, "BadRequest", "invalid continue token")
            with self._lock:
                expire = plural in self.expire
                self.expire.discard(plural)
            if expire:
                return 410, status_body(410, "Expired", "The provided continue parameter is too old")
        limit = int(query["limit"]) if query.get("limit", "").isdigit() and int(query["limit"]) > 0 else len(items)
        page = items[offset : offset + limit]
        metadata: dict[str, Any] = {"resourceVersion": "4242"}
        following = offset + len(page)
        if following < len(items):
            metadata["continue"] = base64.urlsafe_b64encode(json.dumps({"offset": following}).encode()).decode()
            metadata["remainingItemCount"] = len(items) - following
        head = {"kind": f"{kind}List", "apiVersion": f"{group}/v1" if group else "v1", "metadata": metadata}
        items = [
            obj
            if isinstance(obj, str)
            else json.dumps({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
            for obj in page
        ]
        return 200, (json.dumps(head)[:-1] + ', "items": [' + ",".join(items) + "]}").encode()

    def _get(self, plural: str, namespace: str, name: str) -> tuple[int, bytes]:
        group, _ = GROUPS[plural]
        if plural in self.forbidden:
            return 403, self._forbidden("get", plural, group)
        for obj in self.objects[plural]:
            if isinstance(obj, str):
                obj = json.loads(obj)
            meta = obj.get("metadata") or {}
            if meta.get("namespace") == namespace and meta.get("name") == name:
                return 200, json.dumps(obj).encode()
        return 404, status_body(404, "NotFound", f'{plural} "{name}" not found')


def write_kubeconfig(
    path: Path, server: str, *, token: str, context: str = "test", ca_file: Path | None = None
) -> Path:
    """Write a kubeconfig whose context `context` points at `server` with a bearer token."""
    cluster: dict[str, Any] = {"server": server}
    if ca_file is not None:
        cluster["certificate-authority"] = str(ca_file)
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"{context}-cluster", "cluster": cluster}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": f"{context}-cluster", "user": f"{context}-user"}}],
        "current-context": context,
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Make a self-signed certificate for 127.0.0.1 with openssl; return (cert, key)."""
    cert, key = directory / "server.crt", directory / "server.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
