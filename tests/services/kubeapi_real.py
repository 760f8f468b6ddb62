"""A real Kubernetes control plane for the tests: etcd, kube-apiserver and kube-controller-manager.

The binaries are built from the Go module proxy by `scripts/build-kube-binaries` (which
`scripts/test` runs) and cached under `~/.cache/sovscan-test/{kube,etcd}/<version>/`; the pinned
versions are the `require` lines of `scripts/kube/*/go.mod`. A missing binary fails the tests
that need it with the command to run, never skips them.

What the session fixture `kube_cluster` starts, all on free ports of 127.0.0.1, in a temporary
directory deleted afterwards:

- etcd (one member, `--unsafe-no-fsync`), serving clients and peers over TLS with client
  certificates (the API server presents its own);
- kube-apiserver with certificates from a CA the fixture makes (`openssl`), a ServiceAccount
  signing key pair, `--authorization-mode=Node,RBAC`, `--anonymous-auth=false`, an audit policy
  (every request at `Metadata` level) and an audit log file, an encryption configuration
  (`aescbc` first: Secrets are encrypted in etcd), TLS 1.2+ with AEAD cipher suites, and
  `--etcd-compaction-interval=1h` so that within a test session only a test compacts etcd (0
  would also stop the API server from watching for compactions, and its watch cache would then
  answer continue tokens forever);
- kube-controller-manager with only the `serviceaccount` controller (default ServiceAccounts of
  every namespace) and the `clusterrole-aggregation` controller (aggregated ClusterRoles, as in
  a real cluster). No scheduler, no kubelet: pods are stored, never run.

The flag controls (K8S-01..05, 28..36) read the components' flags from their static (mirror)
Pods in kube-system, which a real control plane has because a kubelet runs them from manifests.
Here no kubelet runs them, so the fixture publishes what the kubelet would: a Node object and
the mirror Pods `kube-system/kube-apiserver-<node>`, `kube-system/etcd-<node>` and
`kube-system/kube-controller-manager-<node>` (labels `component`, `tier=control-plane`,
annotation `kubernetes.io/config.mirror`, owner the Node) whose command is the exact argv the
fixture started the process with. The flags sovscan judges are therefore the flags the running
processes really have.

`kube_cluster_weak` (session scope, started only by tests that ask for it) is a second
kube-apiserver on the same etcd (its own `--etcd-prefix`) in a deliberately weak configuration:
anonymous authentication on, no audit policy, an encryption configuration whose first provider
is `identity` (Secrets stored in plain text), RBAC without the Node authorizer, TLS 1.0
allowed. It publishes its own mirror Pod the same way; it runs no controller manager.

The fixtures write to the servers they start (objects, RBAC, tokens); the collector under test
only reads.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import urllib3

ROOT = Path(__file__).resolve().parents[2]
KUBE_GOMOD = ROOT / "scripts" / "kube" / "kubernetes" / "go.mod"
ETCD_GOMOD = ROOT / "scripts" / "kube" / "etcd" / "go.mod"
NODE_NAME = "sovscan-cp-1"
"""The Node the fixture's mirror pods claim to run on."""
ADMIN_USER = "sovscan-test-admin"
"""The fixture's own identity (client certificate, group system:masters)."""
START_TIMEOUT = 180.0
"""Seconds the control plane may take to become ready on a busy 2-core machine."""

TLS_CIPHER_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
)

AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
"""
"""Every request at Metadata level: user, verb, object reference, response code."""


def pinned_version(gomod: Path, module: str) -> str:
    """The version our go.mod requires of `module` (the same rule as scripts/build-kube-binaries)."""
    for line in gomod.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts[:2] == ["require", module] and len(parts) > 2:
            return parts[2]
        if parts and parts[0] == module and len(parts) > 1 and re.match(r"v\d", parts[1]):
            return parts[1]
    raise RuntimeError(f"{gomod} does not require {module}")


KUBE_VERSION = pinned_version(KUBE_GOMOD, "k8s.io/kubernetes")
"""The Kubernetes release the test control plane runs (e.g. v1.36.3)."""
ETCD_VERSION = pinned_version(ETCD_GOMOD, "go.etcd.io/etcd/server/v3")
"""The etcd release the test control plane runs."""


def cache_dir() -> Path:
    """`$SOVSCAN_TEST_CACHE` or `~/.cache/sovscan-test`."""
    return Path(os.environ.get("SOVSCAN_TEST_CACHE") or Path.home() / ".cache" / "sovscan-test")


def binary(name: str) -> Path:
    """Path of a built control-plane binary; fails the test loudly when it was not built."""
    path = (
        cache_dir() / "etcd" / ETCD_VERSION / "etcd" if name == "etcd" else cache_dir() / "kube" / KUBE_VERSION / name
    )
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} is missing: run scripts/build-kube-binaries (scripts/test does)", pytrace=False)
    return path


def free_port() -> int:
    """A free TCP port of 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class Pki:
    """The fixture's certificates and keys."""

    directory: Path
    ca: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    sa_key: Path
    sa_pub: Path

    @property
    def etcd_cert(self) -> tuple[Path, Path]:
        """etcd's serving and peer certificate and key."""
        return self.directory / "etcd.crt", self.directory / "etcd.key"

    def etcd_client(self) -> tuple[Path, Path]:
        """The client certificate the API server (and the fixture) present to etcd."""
        return self.client_cert("etcd-client", "kube-apiserver-etcd-client")

    def etcd_pool(self) -> Any:
        """A urllib3 pool for etcd's HTTPS gateway, with the client certificate."""
        cert, key = self.etcd_client()
        return urllib3.PoolManager(
            ca_certs=str(self.ca), cert_file=str(cert), key_file=str(key), cert_reqs="CERT_REQUIRED", retries=False
        )

    def client_cert(self, name: str, user: str, groups: Sequence[str] = ()) -> tuple[Path, Path]:
        """A client certificate (CN=user, O=each group) signed by the CA: (cert, key)."""
        cert, key, csr = (self.directory / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
        if cert.exists():
            return cert, key
        subject = "".join(f"/O={g}" for g in groups) + f"/CN={user}"
        ext = self.directory / f"{name}.ext"
        ext.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
        )
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
                 "-out", cert, "-days", "2", "-extfile", ext)  # fmt: skip
        return cert, key


def make_pki(directory: Path) -> Pki:
    """A CA, serving certificates for 127.0.0.1 (API server; etcd, also its peer certificate) and the
    ServiceAccount signing key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.crt", directory / "ca.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
             "-subj", "/CN=sovscan test cluster CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    server_cert, server_key, csr = directory / "apiserver.crt", directory / "apiserver.key", directory / "apiserver.csr"
    ext = directory / "apiserver.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
        "DNS:kubernetes.default.svc,IP:10.96.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", server_key, "-out", csr, "-subj", "/CN=kube-apiserver")
    _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", server_cert,
             "-days", "2", "-extfile", ext)  # fmt: skip
    etcd_cert, etcd_key, csr = directory / "etcd.crt", directory / "etcd.key", directory / "etcd.csr"
    ext = directory / "etcd.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", etcd_key, "-out", csr, "-subj", "/CN=etcd")
    _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", etcd_cert,
             "-days", "2", "-extfile", ext)  # fmt: skip
    sa_key, sa_pub = directory / "sa.key", directory / "sa.pub"
    _openssl("genrsa", "-out", sa_key, "2048")
    _openssl("rsa", "-in", sa_key, "-pubout", "-out", sa_pub)
    return Pki(directory, ca, ca_key, server_cert, server_key, sa_key, sa_pub)


def encryption_config(path: Path, weak: bool) -> Path:
    """An EncryptionConfiguration for Secrets: aescbc first (good) or identity first (weak: plain text)."""
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    aescbc = f"      - aescbc:\n          keys:\n            - name: key1\n              secret: {key}\n"
    identity = "      - identity: {}\n"
    providers = identity + aescbc if weak else aescbc + identity
    path.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
        "  - resources: [secrets]\n    providers:\n" + providers,
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


class Process:
    """A started server process with its log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: Sequence[str], log: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self._log_handle = log.open("wb")
        self.popen = subprocess.Popen(
            self.argv, stdout=self._log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def tail(self, lines: int = 30) -> str:
        """The last lines of the process's log."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def check_alive(self) -> None:
        """Raise with the log's tail when the process has exited."""
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM, wait up to 15 s, then SIGKILL."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._log_handle.close()


@dataclass
class ApiResponse:
    """One answer of the API server."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        """2xx."""
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        """The Status message, if any."""
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else str(self.body)


RESOURCES: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Node": ("/api/v1", "nodes", False),
    "Pod": ("/api/v1", "pods", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Service": ("/api/v1", "services", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Secret": ("/api/v1", "secrets", True),
    "LimitRange": ("/api/v1", "limitranges", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "CronJob": ("/apis/batch/v1", "cronjobs", True),
    "Ingress": ("/apis/networking.k8s.io/v1", "ingresses", True),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "ValidatingWebhookConfiguration": (
        "/apis/admissionregistration.k8s.io/v1",
        "validatingwebhookconfigurations",
        False,
    ),
    "MutatingWebhookConfiguration": ("/apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", False),
}
"""Kind -> (API prefix, plural, namespaced) of what the fixture creates."""


@dataclass
class KubeCluster:
    """A running test control plane and the fixture's admin access to it."""

    directory: Path
    pki: Pki
    url: str
    etcd_url: str
    audit_log: Path | None
    apiserver_argv: list[str]
    etcd_argv: list[str]
    admin_cert: tuple[Path, Path]
    processes: list[Process] = field(default_factory=list)
    controllers: bool = False
    """Whether a kube-controller-manager runs (default ServiceAccounts, aggregated ClusterRoles)."""
    _http: Any = None

    @property
    def http(self) -> Any:
        """A urllib3 pool with the admin client certificate, verifying the server against the CA."""
        if self._http is None:
            self._http = urllib3.PoolManager(
                ca_certs=str(self.pki.ca),
                cert_file=str(self.admin_cert[0]),
                key_file=str(self.admin_cert[1]),
                cert_reqs="CERT_REQUIRED",
                retries=False,
                timeout=urllib3.Timeout(connect=5, read=60),
            )
        return self._http

    def request(self, method: str, path: str, body: Any = None, query: Mapping[str, str] | None = None) -> ApiResponse:
        """One API request as the fixture's admin (system:masters)."""
        url = self.url + path + ("?" + urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        response = self.http.request(method, url, body=data, headers=headers)
        try:
            parsed = json.loads(response.data) if response.data else None
        except ValueError:
            parsed = response.data.decode(errors="replace")
        return ApiResponse(response.status, parsed)

    def path_of(self, kind: str, namespace: str | None, name: str | None = None) -> str:
        """The collection (or object) path of a kind."""
        prefix, plural, namespaced = RESOURCES[kind]
        path = f"{prefix}/namespaces/{quote(namespace or 'default')}/{plural}" if namespaced else f"{prefix}/{plural}"
        return f"{path}/{quote(name)}" if name else path

    def create(self, obj: Mapping[str, Any], dry_run: bool = False) -> ApiResponse:
        """POST one object (raise unless created, or when dry-running, return the answer)."""
        kind = str(obj["kind"])
        namespace = (obj.get("metadata") or {}).get("namespace")
        query = {"dryRun": "All"} if dry_run else None
        answer = self.request("POST", self.path_of(kind, namespace), obj, query)
        if not dry_run and not answer.ok and answer.status != 409:
            raise RuntimeError(
                f"creating {kind} {namespace}/{obj['metadata'].get('name')}: {answer.status} {answer.message}"
            )
        return answer

    def create_all(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """Create objects in order, namespaces first (409 Conflict = already there is accepted)."""
        ordered = sorted(objects, key=lambda o: 0 if o["kind"] == "Namespace" else 1)
        for obj in ordered:
            self.create(obj)

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        """DELETE one object (absent is fine)."""
        answer = self.request("DELETE", self.path_of(kind, namespace, name))
        if not answer.ok and answer.status != 404:
            raise RuntimeError(f"deleting {kind} {namespace}/{name}: {answer.status} {answer.message}")

    def wait_for(self, kind: str, name: str, namespace: str | None = None, timeout: float = 60.0) -> dict[str, Any]:
        """GET an object until it exists (e.g. a default ServiceAccount the controller creates)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.request("GET", self.path_of(kind, namespace, name))
            if answer.ok:
                return dict(answer.body)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} {namespace}/{name} did not appear: {answer.status} {answer.message}")
            time.sleep(0.2)

    def token(self, namespace: str, account: str, seconds: int = 3600) -> str:
        """A bound token of a ServiceAccount through the TokenRequest API."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        path = f"/api/v1/namespaces/{quote(namespace)}/serviceaccounts/{quote(account)}/token"
        answer = self.request("POST", path, body)
        if not answer.ok:
            raise RuntimeError(f"TokenRequest for {namespace}/{account}: {answer.status} {answer.message}")
        return str(answer.body["status"]["token"])

    def service_account_kubeconfig(self, path: Path, namespace: str, account: str, context: str = "real") -> Path:
        """A kubeconfig (context `context`) with a fresh token of a ServiceAccount and the cluster CA."""
        return write_token_kubeconfig(path, self.url, self.pki.ca, self.token(namespace, account), context)

    def admin_kubeconfig(self, path: Path, context: str = "admin") -> Path:
        """A kubeconfig with the admin client certificate (for kubectl)."""
        cert, key = self.admin_cert
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": self.url, "certificate-authority": str(self.pki.ca)}}],
            "users": [{"name": "u", "user": {"client-certificate": str(cert), "client-key": str(key)}}],
            "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
            "current-context": context,
        }
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    def subject_access_review(
        self,
        user: str,
        groups: Sequence[str],
        verb: str,
        *,
        group: str = "",
        resource: str = "",
        subresource: str = "",
        name: str = "",
        namespace: str = "",
        path: str | None = None,
    ) -> bool:
        """The API server's own answer: may `user` (in `groups`) do this? (SubjectAccessReview)."""
        spec: dict[str, Any] = {"user": user, "groups": list(groups)}
        if path is not None:
            spec["nonResourceAttributes"] = {"path": path, "verb": verb}
        else:
            spec["resourceAttributes"] = {
                "verb": verb,
                "group": group,
                "resource": resource,
                "subresource": subresource,
                "name": name,
                "namespace": namespace,
            }
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        answer = self.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
        if not answer.ok:
            raise RuntimeError(f"SubjectAccessReview: {answer.status} {answer.message}")
        return bool(answer.body["status"].get("allowed"))

    def etcd(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A call to etcd's v3 JSON gateway (e.g. `kv/range`, `kv/compaction`)."""
        response = self.pki.etcd_pool().request(
            "POST", f"{self.etcd_url}/v3/{endpoint}", body=json.dumps(body).encode(), timeout=30
        )
        if response.status != 200:
            raise RuntimeError(f"etcd {endpoint}: {response.status} {response.data[:200]!r}")
        return dict(json.loads(response.data))

    def compact(self) -> int:
        """Compact etcd as kube-apiserver's own compactor does; return the compacted revision.

        The compactor records the revision under `compact_rev_key` and then compacts; every API
        server watches that key and drops its watch-cache snapshots below it (polled every 15 s),
        after which a continue token of an earlier LIST is answered 410 Gone. (The fixture's API
        server runs with `--etcd-compaction-interval=1h`: within a session only tests compact.)
        """
        revision = int(self.etcd("kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"])
        key = base64.b64encode(b"compact_rev_key").decode()
        self.etcd("kv/put", {"key": key, "value": base64.b64encode(str(revision).encode()).decode()})
        self.etcd("kv/compaction", {"revision": revision, "physical": True})
        return revision

    def etcd_value(self, key: str) -> bytes | None:
        """The raw bytes etcd stores under a key (to see whether Secrets are encrypted)."""
        found = self.etcd("kv/range", {"key": base64.b64encode(key.encode()).decode()})
        kvs = found.get("kvs") or []
        return base64.b64decode(kvs[0]["value"]) if kvs else None

    def audit_events(self) -> list[dict[str, Any]]:
        """Every audit event written so far."""
        if self.audit_log is None or not self.audit_log.exists():
            return []
        events = []
        for line in self.audit_log.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
        return events

    def stop(self) -> None:
        """Stop every process of this control plane (last started first)."""
        for process in reversed(self.processes):
            process.stop()
        if self._http is not None:
            self._http.clear()


def write_token_kubeconfig(path: Path, server: str, ca: Path, token: str, context: str = "real") -> Path:
    """A kubeconfig whose context `context` reaches `server` with a bearer token, verifying against `ca`."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
        "current-context": context,
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    path.chmod(0o600)
    return path


def _wait_ready(check: Any, processes: Sequence[Process], what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        for process in processes:
            process.check_alive()
        try:
            if check():
                return
        except Exception as exc:  # not listening yet
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}:\n{p.tail()}" for p in processes)
    raise RuntimeError(f"{what} not ready after {timeout:.0f}s ({last})\n{tails}")


def start_etcd(pki: Pki, directory: Path) -> tuple[Process, str]:
    """Start a one-member etcd on loopback, TLS with client certificates for clients and peers."""
    client, peer = free_port(), free_port()
    url = f"https://127.0.0.1:{client}"
    cert, key = pki.etcd_cert
    argv = [
        str(binary("etcd")),
        "--name=sovscan-test",
        f"--data-dir={directory / 'etcd-data'}",
        f"--listen-client-urls={url}",
        f"--advertise-client-urls={url}",
        f"--listen-peer-urls=https://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=https://127.0.0.1:{peer}",
        f"--initial-cluster=sovscan-test=https://127.0.0.1:{peer}",
        f"--cert-file={cert}",
        f"--key-file={key}",
        "--client-cert-auth=true",
        f"--trusted-ca-file={pki.ca}",
        f"--peer-cert-file={cert}",
        f"--peer-key-file={key}",
        "--peer-client-cert-auth=true",
        f"--peer-trusted-ca-file={pki.ca}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]
    process = Process("etcd", argv, directory / "etcd.log")
    pool = pki.etcd_pool()

    def healthy() -> bool:
        return bool(pool.request("GET", f"{url}/health", timeout=2).status == 200)

    _wait_ready(healthy, [process], "etcd")
    return process, url


def apiserver_argv(pki: Pki, directory: Path, etcd_url: str, port: int, weak: bool) -> list[str]:
    """The kube-apiserver command line of the good (or deliberately weak) configuration."""
    argv = [
        str(binary("kube-apiserver")),
        f"--etcd-servers={etcd_url}",
        f"--etcd-cafile={pki.ca}",
        f"--etcd-certfile={pki.etcd_client()[0]}",
        f"--etcd-keyfile={pki.etcd_client()[1]}",
        f"--etcd-prefix=/{'weak' if weak else 'registry'}",
        "--etcd-compaction-interval=1h",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={directory / 'certs'}",
        f"--tls-cert-file={pki.server_cert}",
        f"--tls-private-key-file={pki.server_key}",
        f"--client-ca-file={pki.ca}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--service-cluster-ip-range=10.96.0.0/16",
        "--allow-privileged=true",
        "--enable-admission-plugins=NodeRestriction",
        "--profiling=false",
        "--endpoint-reconciler-type=none",
        f"--encryption-provider-config={encryption_config(directory / 'encryption.yaml', weak)}",
    ]
    if weak:
        argv += ["--anonymous-auth=true", "--authorization-mode=RBAC", "--tls-min-version=VersionTLS10"]
    else:
        policy = directory / "audit-policy.yaml"
        policy.write_text(AUDIT_POLICY, encoding="utf-8")
        argv += [
            "--anonymous-auth=false",
            "--authorization-mode=Node,RBAC",
            f"--audit-policy-file={policy}",
            f"--audit-log-path={directory / 'audit.log'}",
            "--audit-log-maxage=30",
            "--audit-log-format=json",
            "--tls-min-version=VersionTLS12",
            f"--tls-cipher-suites={TLS_CIPHER_SUITES}",
        ]
    return argv


def start_apiserver(pki: Pki, directory: Path, etcd_url: str, etcd: Process | None, *, weak: bool) -> KubeCluster:
    """Start kube-apiserver, wait for /readyz and publish its mirror Pod."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = apiserver_argv(pki, directory, etcd_url, port, weak)
    process = Process("kube-apiserver", argv, directory / "kube-apiserver.log")
    cluster = KubeCluster(
        directory=directory,
        pki=pki,
        url=f"https://127.0.0.1:{port}",
        etcd_url=etcd_url,
        audit_log=None if weak else directory / "audit.log",
        apiserver_argv=argv,
        etcd_argv=etcd.argv if etcd else [],
        admin_cert=pki.client_cert("admin", ADMIN_USER, ["system:masters"]),
        processes=[process],
    )
    watched = [process, *([etcd] if etcd else [])]
    _wait_ready(lambda: cluster.request("GET", "/readyz").status == 200, watched, "kube-apiserver")
    publish_mirror_pods(cluster, with_etcd=etcd is not None)
    return cluster


def _mirror_pod(component: str, argv: Sequence[str], version: str, node_uid: str) -> dict[str, Any]:
    command = [component, *argv[1:]]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{component}-{NODE_NAME}",
            "namespace": "kube-system",
            "labels": {"component": component, "tier": "control-plane"},
            "annotations": {
                "kubernetes.io/config.mirror": secrets.token_hex(16),
                "kubernetes.io/config.source": "file",
            },
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME, "uid": node_uid, "controller": True}
            ],
        },
        "spec": {
            "nodeName": NODE_NAME,
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "containers": [{"name": component, "image": f"registry.k8s.io/{component}:{version}", "command": command}],
        },
    }


def publish_mirror_pods(cluster: KubeCluster, with_etcd: bool) -> None:
    """What a kubelet would publish: the Node and the mirror Pods of the static control-plane pods."""
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE_NAME, "labels": {
        "node-role.kubernetes.io/control-plane": ""}}}  # fmt: skip
    cluster.create(node)
    node_uid = str(cluster.wait_for("Node", NODE_NAME)["metadata"]["uid"])
    cluster.create(_mirror_pod("kube-apiserver", cluster.apiserver_argv, KUBE_VERSION, node_uid))
    if with_etcd:
        cluster.create(_mirror_pod("etcd", cluster.etcd_argv, ETCD_VERSION, node_uid))


def start_controller_manager(cluster: KubeCluster) -> Process:
    """kube-controller-manager with the serviceaccount and clusterrole-aggregation controllers only."""
    cert, key = cluster.pki.client_cert("controller-manager", "system:kube-controller-manager")
    kubeconfig = cluster.directory / "controller-manager.kubeconfig"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": cluster.url, "certificate-authority": str(cluster.pki.ca)}}],
        "users": [{"name": "u", "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    kubeconfig.write_text(json.dumps(document), encoding="utf-8")
    argv = [
        str(binary("kube-controller-manager")),
        f"--kubeconfig={kubeconfig}",
        "--controllers=serviceaccount,clusterrole-aggregation",
        "--leader-elect=false",
        "--use-service-account-credentials=true",  # as kubeadm: each controller as its own ServiceAccount
        "--secure-port=0",
        "--bind-address=127.0.0.1",
        "--profiling=false",
        f"--service-account-private-key-file={cluster.pki.sa_key}",
        f"--root-ca-file={cluster.pki.ca}",
        "--terminated-pod-gc-threshold=100",
    ]
    return Process("kube-controller-manager", argv, cluster.directory / "kube-controller-manager.log")


@contextlib.contextmanager
def control_plane() -> Iterator[KubeCluster]:
    """etcd + kube-apiserver + kube-controller-manager in a temporary directory, stopped afterwards."""
    for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
        binary(name)
    directory = Path(tempfile.mkdtemp(prefix="sovscan-kube-"))
    processes: list[Process] = []
    cluster: KubeCluster | None = None
    try:
        pki = make_pki(directory / "pki")
        etcd, etcd_url = start_etcd(pki, directory)
        processes.append(etcd)
        cluster = start_apiserver(pki, directory / "apiserver", etcd_url, etcd, weak=False)
        processes.extend(cluster.processes)
        manager = start_controller_manager(cluster)
        processes.append(manager)
        node_uid = str(cluster.wait_for("Node", NODE_NAME)["metadata"]["uid"])
        cluster.create(_mirror_pod("kube-controller-manager", manager.argv, KUBE_VERSION, node_uid))
        cluster.processes = processes
        cluster.controllers = True
        # the serviceaccount controller creates `default` in every namespace
        _wait_ready(
            lambda: (
                cluster is not None
                and cluster.request("GET", cluster.path_of("ServiceAccount", "default", "default")).ok
            ),
            processes,
            "kube-controller-manager (default ServiceAccount)",
        )
        yield cluster
    finally:
        for process in reversed(processes):
            process.stop()
        if cluster is not None and cluster._http is not None:
            cluster._http.clear()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[KubeCluster]:
    """The session's real control plane (see the module docstring)."""
    try:
        with control_plane() as cluster:
            yield cluster
    except RuntimeError as exc:
        pytest.fail(f"the test control plane did not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def kube_cluster_weak(kube_cluster: KubeCluster) -> Iterator[KubeCluster]:
    """A second kube-apiserver in a deliberately weak configuration, on the same etcd."""
    weak = start_apiserver(kube_cluster.pki, kube_cluster.directory / "weak", kube_cluster.etcd_url, None, weak=True)
    try:
        yield weak
    finally:
        weak.stop()
