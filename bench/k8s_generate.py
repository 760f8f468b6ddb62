"""Deterministic generator of a realistic Kubernetes cluster, for sovscan's benchmark.

Writes either a `kubectl get ... -o json` List dump (one file, 4-space indented like kubectl,
with the noise real objects carry: managedFields, last-applied annotations, status) or
multi-document YAML manifests (one file per namespace, no status or managedFields).

The cluster: control-plane static pods on 3 nodes, DaemonSets with a pod per node, and
namespaces each holding Deployments (a current and an old ReplicaSet, pods), a StatefulSet, a
CronJob with Jobs and pods, a Job, sometimes a bare pod, Services, Ingresses, ServiceAccounts,
Roles and RoleBindings, ConfigMaps and Secrets, a LimitRange in some, default-deny
NetworkPolicies in about half. Pod specs mix good and bad settings (privileged, host
namespaces, hostPath, missing securityContext, `latest` tags, secret env vars, missing limits,
init and ephemeral containers). ClusterRoles include wildcards and cluster-admin bindings.

    python bench/k8s_generate.py --objects 100000 --format json --out /tmp/k8s-100k.json
    python bench/k8s_generate.py --objects 10000 --format yaml --out /tmp/k8s-10k/
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

NODES = 100
REGISTRIES = ["registry.example", "ghcr.io/acme", "docker.io/library", "quay.io/acme", ""]
APPS = ["api", "web", "worker", "cache", "gateway", "billing", "search", "auth", "cart", "report", "events", "media"]


class Cluster:
    """Builds objects from a seeded random generator; the same seed gives the same cluster."""

    def __init__(self, seed: int, noisy: bool) -> None:
        self.rng = random.Random(seed)
        self.noisy = noisy
        self.uid = 0
        self.uids: dict[tuple[str, str | None, str], str] = {}

    def _uid(self) -> str:
        self.uid += 1
        return f"{self.uid:08x}-5f2c-4b7a-9c1d-{self.uid:012x}"

    def meta(
        self,
        name: str,
        namespace: str | None,
        labels: dict[str, str] | None = None,
        owner: tuple[str, str, str] | None = None,
        kind: str = "",
    ) -> dict[str, Any]:
        uid = self._uid()
        if kind:
            self.uids[(kind, namespace, name)] = uid
        m: dict[str, Any] = {
            "name": name,
            "uid": uid,
            "resourceVersion": str(self.rng.randint(1000, 9_999_999)),
            "creationTimestamp": "2026-10-01T08:15:00Z",
            "labels": labels or {},
        }
        if namespace is not None:
            m["namespace"] = namespace
        if owner is not None:
            api, kind, owner_name = owner
            m["ownerReferences"] = [
                {
                    "apiVersion": api,
                    "kind": kind,
                    "name": owner_name,
                    # the owner's real UID (as the API server has it); a random one for a Node
                    "uid": self.uids.get((kind, namespace, owner_name)) or self._uid(),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
        if self.noisy:
            m["annotations"] = {"deployment.kubernetes.io/revision": "3", "meta.helm.sh/release-name": name}
            m["managedFields"] = [
                {
                    "apiVersion": "apps/v1",
                    "fieldsType": "FieldsV1",
                    "manager": "helm",
                    "operation": "Update",
                    "time": "2026-10-01T08:15:00Z",
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                        "f:spec": {
                            "f:replicas": {},
                            "f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:image": {}}}}},
                        },
                    },
                },
            ]
        return m

    def image(self) -> str:
        rng = self.rng
        registry = rng.choice(REGISTRIES)
        name = rng.choice(APPS)
        base = f"{registry}/{name}" if registry else name
        roll = rng.random()
        if roll < 0.4:
            return f"{base}@sha256:{rng.getrandbits(256):064x}"
        if roll < 0.5:
            return f"{base}:latest"
        if roll < 0.55:
            return base
        return f"{base}:{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"

    def container(self, name: str, bad: bool) -> dict[str, Any]:
        rng = self.rng
        c: dict[str, Any] = {
            "name": name,
            "image": self.image(),
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
            "env": [
                {"name": "LOG_LEVEL", "value": "info"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
            "terminationMessagePath": "/dev/termination-log",
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        if rng.random() < 0.8:
            c["resources"] = {
                "limits": {"cpu": "500m", "memory": "512Mi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            }
        if rng.random() < 0.2:
            c["env"].append({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}})
        if rng.random() < 0.05:
            c["envFrom"] = [{"secretRef": {"name": "app-secrets"}}]
        if not bad and rng.random() < 0.7:
            c["securityContext"] = {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": rng.random() < 0.8,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
            }
        elif bad:
            choice = rng.random()
            if choice < 0.3:
                c["securityContext"] = {"privileged": True}
            elif choice < 0.6:
                c["securityContext"] = {"capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}, "runAsUser": 0}
            elif choice < 0.8:
                c["ports"][0]["hostPort"] = 8080
        return c

    def pod_spec(self, service_account: str) -> dict[str, Any]:
        rng = self.rng
        bad = rng.random() < 0.15
        spec: dict[str, Any] = {
            "containers": [self.container("app", bad)],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30,
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        }
        if rng.random() < 0.7:
            spec["serviceAccountName"] = service_account
        if rng.random() < 0.6:
            spec["securityContext"] = {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        if rng.random() < 0.3:
            spec["automountServiceAccountToken"] = False
        if rng.random() < 0.2:
            spec["containers"].append(self.container("sidecar", rng.random() < 0.1))
        if rng.random() < 0.3:
            spec["initContainers"] = [self.container("init", rng.random() < 0.1)]
        if bad and rng.random() < 0.3:
            spec["hostNetwork"] = True
        if bad and rng.random() < 0.3:
            spec["volumes"].append({"name": "host", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}})
        return spec

    def pod(
        self,
        name: str,
        namespace: str,
        spec: dict[str, Any],
        owner: tuple[str, str, str] | None,
        node: int | None = None,
    ) -> dict[str, Any]:
        spec = json.loads(json.dumps(spec))
        spec["nodeName"] = f"node-{node if node is not None else self.rng.randrange(NODES):03d}"
        if self.noisy:
            spec.setdefault("volumes", []).append(
                {
                    "name": f"kube-api-access-{self.uid % 0xFFFFF:05x}",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        ],
                    },
                }
            )
            spec["tolerations"] = [
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                }
            ]
        if self.rng.random() < 0.01:
            spec["ephemeralContainers"] = [{"name": "debugger", "image": "busybox:1.36", "stdin": True, "tty": True}]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": self.meta(name, namespace, {"app": name.split("-")[0]}, owner),
            "spec": spec,
        }
        if self.noisy:
            pod["status"] = {
                "phase": "Running",
                "podIP": f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(256)}",
                "conditions": [
                    {"type": t, "status": "True", "lastTransitionTime": "2026-10-01T08:16:00Z"}
                    for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
                ],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "ready": True,
                        "restartCount": 0,
                        "image": c["image"],
                        "imageID": "sha256:" + "ab" * 32,
                        "started": True,
                        "state": {"running": {"startedAt": "2026-10-01T08:16:00Z"}},
                    }
                    for c in spec["containers"]
                ],
            }
        return pod

    def controller(
        self, kind: str, name: str, namespace: str, spec: dict[str, Any], owner: tuple[str, str, str] | None = None
    ) -> dict[str, Any]:
        api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
        template: dict[str, Any] = {"metadata": {"labels": {"app": name}}, "spec": spec}
        body: dict[str, Any]
        if kind == "CronJob":
            body = {
                "schedule": "*/30 * * * *",
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": {"template": template}},
            }
            template["spec"] = dict(spec, restartPolicy="OnFailure")
        elif kind == "Job":
            body = {"backoffLimit": 3, "template": template}
            template["spec"] = dict(spec, restartPolicy="Never")
        else:
            body = {"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": template}
        obj = {
            "apiVersion": api,
            "kind": kind,
            "metadata": self.meta(name, namespace, {"app": name}, owner, kind),
            "spec": body,
        }
        if self.noisy:
            obj["status"] = {"observedGeneration": 3, "replicas": 2, "readyReplicas": 2}
        return obj

    def simple(self, api: str, kind: str, name: str, namespace: str | None, **fields: Any) -> dict[str, Any]:
        return {"apiVersion": api, "kind": kind, "metadata": self.meta(name, namespace), **fields}

    def cluster_scoped(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        yield self.simple("v1", "Namespace", "kube-system", None)
        for node in range(3):
            for component, flags in (
                (
                    "kube-apiserver",
                    [
                        "--authorization-mode=Node,RBAC",
                        "--anonymous-auth=false",
                        "--audit-log-maxage=7",
                        "--etcd-servers=https://127.0.0.1:2379",
                        "--tls-min-version=VersionTLS12",
                    ],
                ),
                ("kube-controller-manager", ["--profiling=false", "--use-service-account-credentials=true"]),
                ("kube-scheduler", ["--profiling=false"]),
                ("etcd", ["--client-cert-auth=true"]),
            ):
                spec: dict[str, Any] = {
                    "hostNetwork": True,
                    "containers": [
                        {
                            "name": component,
                            "image": f"registry.k8s.io/{component}:v1.35.1",
                            "command": [component, *flags],
                        }
                    ],
                }
                pod = self.pod(f"{component}-cp-{node}", "kube-system", spec, ("v1", "Node", f"cp-{node}"), node)
                pod["metadata"]["labels"] = {"component": component, "tier": "control-plane"}
                yield pod
        yield self.simple(
            "v1",
            "ConfigMap",
            "kubelet-config",
            "kube-system",
            data={
                "kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                "authentication:\n  anonymous:\n    enabled: false\nauthorization:\n  mode: Webhook\n"
            },
        )
        for name in ("node-exporter", "fluent-bit", "cilium", "csi-node", "kube-proxy"):
            spec = self.pod_spec("default")
            if name in ("cilium", "csi-node"):
                spec["containers"][0]["securityContext"] = {"privileged": True}
                spec["hostNetwork"] = True
            yield self.controller("DaemonSet", name, "kube-system", spec)
            for node in range(NODES):
                yield self.pod(f"{name}-{node:03d}x", "kube-system", spec, ("apps/v1", "DaemonSet", name), node)
        verbs_all = ["get", "list", "watch", "create", "update", "patch", "delete"]
        for index in range(120):
            rules = [
                {"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": ["get", "list", "watch"]}
            ]
            if index % 10 == 0:
                rules.append({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})
            elif index % 7 == 0:
                rules.append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]})
            elif index % 5 == 0:
                rules.append({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": verbs_all})
            name = f"system:controller:c{index}" if index < 40 else f"team-role-{index}"
            yield self.simple("rbac.authorization.k8s.io/v1", "ClusterRole", name, None, rules=rules)
        yield self.simple(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "cluster-admin",
            None,
            rules=[
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        )
        subjects = [{"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"}]
        yield self.simple(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "cluster-admin",
            None,
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            subjects=subjects,
        )
        for index in range(80):
            role = "cluster-admin" if index % 20 == 0 else f"team-role-{40 + index % 80}"
            subject = rng.choice(
                [
                    {"kind": "User", "name": f"user{index}@example.org"},
                    {"kind": "ServiceAccount", "name": "ci", "namespace": "ci"},
                    {"kind": "Group", "name": "system:authenticated"},
                ]
            )
            yield self.simple(
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                f"binding-{index}",
                None,
                roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                subjects=[subject],
            )
        yield self.simple(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "cert-manager-webhook",
            None,
            webhooks=[
                {
                    "name": "webhook.cert-manager.io",
                    "failurePolicy": "Fail",
                    "clientConfig": {"caBundle": "LS0tLS1CRUdJTi" * 40},
                }
            ],
        )
        yield self.simple(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "istio-sidecar-injector",
            None,
            webhooks=[
                {
                    "name": "sidecar-injector.istio.io",
                    "failurePolicy": "Fail",
                    "clientConfig": {"caBundle": "LS0tLS1CRUdJTi" * 40},
                }
            ],
        )

    def namespace(self, index: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        ns = f"team-{index:05d}"
        labels = (
            {"pod-security.kubernetes.io/enforce": rng.choice(["restricted", "baseline", "privileged"])}
            if rng.random() < 0.6
            else {}
        )
        yield {"apiVersion": "v1", "kind": "Namespace", "metadata": self.meta(ns, None, labels)}
        yield self.simple(
            "v1",
            "ServiceAccount",
            "default",
            ns,
            **({"automountServiceAccountToken": False} if rng.random() < 0.3 else {}),
        )
        yield self.simple("v1", "ServiceAccount", "app", ns)
        yield self.simple("v1", "ServiceAccount", "ci", ns)
        yield self.simple("v1", "ConfigMap", "app-config", ns, data={"config.yaml": "feature: on\n" * 20})
        yield self.simple("v1", "Secret", "db", ns, type="Opaque", data={"password": "c2VjcmV0LXZhbHVlLTEyMzQ="})
        if rng.random() < 0.3:
            yield self.simple(
                "v1",
                "LimitRange",
                "defaults",
                ns,
                spec={"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"}}]},
            )
        if rng.random() < 0.5:
            yield self.simple(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "default-deny",
                ns,
                spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            )
            yield self.simple(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "allow-web",
                ns,
                spec={
                    "podSelector": {"matchLabels": {"app": "web"}},
                    "ingress": [{"from": [{"namespaceSelector": {}}]}],
                },
            )
        yield self.simple(
            "rbac.authorization.k8s.io/v1",
            "Role",
            "deployer",
            ns,
            rules=[
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*" if rng.random() < 0.2 else "patch"]}
            ],
        )
        yield self.simple(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "deployer",
            ns,
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
            subjects=[{"kind": "ServiceAccount", "name": "ci", "namespace": ns}],
        )
        for d in range(6):
            name = f"{APPS[(index + d) % len(APPS)]}-{d}"
            spec = self.pod_spec("app")
            yield self.controller("Deployment", name, ns, spec)
            old, current = f"{name}-6d4b9c7f", f"{name}-7f8c9d5b"
            yield self.controller("ReplicaSet", old, ns, spec, ("apps/v1", "Deployment", name))
            yield self.controller("ReplicaSet", current, ns, spec, ("apps/v1", "Deployment", name))
            for p in range(2):
                yield self.pod(f"{current}-{p}x{index}", ns, spec, ("apps/v1", "ReplicaSet", current))
            yield self.simple(
                "v1",
                "Service",
                name,
                ns,
                spec={
                    "type": "LoadBalancer" if d == 0 and rng.random() < 0.1 else "ClusterIP",
                    "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
                    "selector": {"app": name},
                },
            )
        spec = self.pod_spec("app")
        yield self.controller("StatefulSet", "db", ns, spec)
        for p in range(2):
            yield self.pod(f"db-{p}", ns, spec, ("apps/v1", "StatefulSet", "db"))
        spec = self.pod_spec("default")
        yield self.controller("CronJob", "cleanup", ns, spec)
        for j in range(2):
            job = f"cleanup-2900{j}"
            yield self.controller("Job", job, ns, spec, ("batch/v1", "CronJob", "cleanup"))
            yield self.pod(f"{job}-q{j}", ns, spec, ("batch/v1", "Job", job))
        spec = self.pod_spec("app")
        yield self.controller("Job", "migrate", ns, spec)
        yield self.pod("migrate-z", ns, spec, ("batch/v1", "Job", "migrate"))
        if rng.random() < 0.2:
            yield self.pod("debug-shell", ns, self.pod_spec("default"), None)
        host = f"{ns}.apps.example.org"
        tls = [{"hosts": [host], "secretName": "tls"}] if rng.random() < 0.7 else []
        yield self.simple(
            "networking.k8s.io/v1",
            "Ingress",
            "web",
            ns,
            spec={
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web-1", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
                "tls": tls,
            },
        )


def generate(objects: int, seed: int = 42, noisy: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (group, object) until about `objects` objects: group is a namespace or 'cluster'."""
    cluster = Cluster(seed, noisy)
    count = 0
    for obj in cluster.cluster_scoped():
        count += 1
        yield "cluster", obj
    index = 0
    while count < objects:
        for obj in cluster.namespace(index):
            count += 1
            yield f"team-{index:05d}", obj
        index += 1


def last_applied(obj: dict[str, Any]) -> None:
    """Add kubectl's last-applied-configuration annotation (a JSON copy of the object, as kubectl does)."""
    if obj["kind"] in ("Pod", "ReplicaSet", "Job"):
        return
    copy = {k: v for k, v in obj.items() if k != "status"}
    copy["metadata"] = {k: v for k, v in obj["metadata"].items() if k in ("name", "namespace", "labels")}
    obj["metadata"].setdefault("annotations", {})["kubectl.kubernetes.io/last-applied-configuration"] = (
        json.dumps(copy) + "\n"
    )


def write_json(objects: int, out: Path, seed: int) -> int:
    """Write a List dump; return the number of objects."""
    count = 0
    with out.open("w", encoding="utf-8") as fh:
        fh.write('{\n    "apiVersion": "v1",\n    "items": [\n')
        for _, obj in generate(objects, seed, noisy=True):
            last_applied(obj)
            text = json.dumps(obj, indent=4)
            fh.write(("" if count == 0 else ",\n") + "\n".join("        " + line for line in text.splitlines()))
            count += 1
        fh.write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    return count


def write_yaml(objects: int, out: Path, seed: int) -> int:
    """Write one multi-document YAML file per namespace (plus cluster.yaml); return the object count."""
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    current: str | None = None
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if current is not None and batch:
            with (out / f"{current}.yaml").open("w", encoding="utf-8") as fh:
                yaml.dump_all(batch, fh, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False)

    for group, obj in generate(objects, seed, noisy=False):
        if group != current:
            flush()
            current, batch = group, []
        batch.append(obj)
        count += 1
    flush()
    return count


def main() -> None:
    """Command line: --objects N --format json|yaml --out PATH [--seed S]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--format", choices=["json", "yaml"], default="json")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    writer = write_json if args.format == "json" else write_yaml
    count = writer(args.objects, args.out, args.seed)
    print(json.dumps({"objects": count, "out": str(args.out)}), file=sys.stdout)


if __name__ == "__main__":
    main()
