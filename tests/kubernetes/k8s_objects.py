"""Builders of realistic Kubernetes objects for the tests (full objects, as the API returns them)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scanner.baseline import BaselineLibrary
from scanner.engine import evaluate_control
from scanner.model import Control, Evidence, Finding
from scanner.plugins import Registry, discover

GOOD_IMAGE = "registry.example/app@sha256:" + "a" * 64

GOOD_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": GOOD_IMAGE,
    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    },
    "env": [{"name": "MODE", "value": "production"}],
}

GOOD_POD_SPEC: dict[str, Any] = {
    "serviceAccountName": "app",
    "automountServiceAccountToken": False,
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [GOOD_CONTAINER],
    "volumes": [{"name": "tmp", "emptyDir": {}}],
}


def good_spec(**changes: Any) -> dict[str, Any]:
    """A copy of the compliant pod spec with top-level keys changed."""
    spec = copy.deepcopy(GOOD_POD_SPEC)
    spec.update(changes)
    return spec


def container(**changes: Any) -> dict[str, Any]:
    """A copy of the compliant container with keys changed (securityContext keys merged)."""
    c = copy.deepcopy(GOOD_CONTAINER)
    sc = changes.pop("securityContext", None)
    c.update(changes)
    if sc is not None:
        c["securityContext"] = {**c["securityContext"], **sc}
    return c


def meta(name: str, namespace: str | None = "team-a", **extra: Any) -> dict[str, Any]:
    """Metadata with the noise real objects carry (uid, managedFields, annotations)."""
    m: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{namespace}-{name}",
        "resourceVersion": "1",
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}],
    }
    if namespace is not None:
        m["namespace"] = namespace
    m.update(extra)
    return m


def owner(kind: str, name: str, ns: str | None = "team-a") -> list[dict[str, Any]]:
    """ownerReferences naming a controller, with the UID `meta` gives it (`ns` None for a Node)."""
    api = {"ReplicaSet": "apps/v1", "Deployment": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "v1")
    uid = f"uid-{None if kind == 'Node' else ns}-{name}"
    return [{"apiVersion": api, "kind": kind, "name": name, "uid": uid, "controller": True}]


def namespace(name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Namespace."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, None, labels=dict(labels or {}))}


def pod(
    name: str,
    spec: Mapping[str, Any],
    ns: str = "team-a",
    owners: Sequence[Mapping[str, Any]] = (),
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Pod with status."""
    m = meta(name, ns, labels=dict(labels or {}))
    if owners:
        m["ownerReferences"] = list(owners)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": dict(spec), "status": {"phase": "Running"}}


def workload(
    kind: str, name: str, spec: Mapping[str, Any], ns: str = "team-a", owners: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """A Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob with the given pod spec."""
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    template = {"metadata": {"labels": {"app": name}}, "spec": dict(spec)}
    body: dict[str, Any]
    if kind == "CronJob":
        body = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "Job":
        body = {"template": template, "backoffLimit": 1}
    else:
        body = {"selector": {"matchLabels": {"app": name}}, "template": template}
    m = meta(name, ns)
    if owners:
        m["ownerReferences"] = list(owners)
    return {"apiVersion": api, "kind": kind, "metadata": m, "spec": body, "status": {"replicas": 1}}


def deployment_family(name: str, spec: Mapping[str, Any], ns: str = "team-a") -> list[dict[str, Any]]:
    """A Deployment, its ReplicaSet and two pods (owned all the way down)."""
    rs_name = f"{name}-5d4f8"
    return [
        workload("Deployment", name, spec, ns),
        workload("ReplicaSet", rs_name, spec, ns, owner("Deployment", name, ns)),
        pod(f"{rs_name}-a1", spec, ns, owner("ReplicaSet", rs_name, ns)),
        pod(f"{rs_name}-b2", spec, ns, owner("ReplicaSet", rs_name, ns)),
    ]


def static_pod(component: str, flags: Sequence[str], node: str = "cp-1") -> dict[str, Any]:
    """A control-plane static (mirror) pod in kube-system."""
    spec = {
        "hostNetwork": True,
        "containers": [
            {"name": component, "image": f"registry.k8s.io/{component}:v1.35.1", "command": [component, *flags]}
        ],
    }
    return pod(
        f"{component}-{node}",
        spec,
        "kube-system",
        owner("Node", node),
        labels={"component": component, "tier": "control-plane"},
    )


GOOD_APISERVER_FLAGS = [
    "--anonymous-auth=false",
    "--authorization-mode=Node,RBAC",
    "--audit-policy-file=/etc/kubernetes/audit.yaml",
    "--audit-log-path=/var/log/kubernetes/audit.log",
    "--audit-log-maxage=30",
    "--encryption-provider-config=/etc/kubernetes/enc.yaml",
    "--tls-min-version=VersionTLS12",
    "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "--etcd-servers=https://127.0.0.1:2379",
]


def kubelet_configmap(text: str) -> dict[str, Any]:
    """The kubeadm kubelet-config ConfigMap."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("kubelet-config", "kube-system"),
        "data": {"kubelet": text},
    }


GOOD_KUBELET = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
authorization:
  mode: Webhook
readOnlyPort: 0
"""


def role(
    kind: str,
    name: str,
    rules: Sequence[Mapping[str, Any]],
    ns: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Role or ClusterRole."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta(name, ns, labels=dict(labels or {})),
        "rules": list(rules),
    }


def aggregated_role(
    name: str, match_labels: Mapping[str, str], rules: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """An aggregated ClusterRole selecting ClusterRoles by labels (stored rules as given)."""
    obj = role("ClusterRole", name, rules)
    obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": dict(match_labels)}]}
    return obj


def binding(
    kind: str, name: str, role_kind: str, role_name: str, subjects: Sequence[Mapping[str, Any]], ns: str | None = None
) -> dict[str, Any]:
    """A RoleBinding or ClusterRoleBinding."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta(name, ns),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": list(subjects),
    }


def network_policy(name: str, ns: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A NetworkPolicy."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name, ns),
        "spec": dict(spec),
    }


def service_account(name: str, ns: str, automount: bool | None = None) -> dict[str, Any]:
    """A ServiceAccount."""
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, ns)}
    if automount is not None:
        obj["automountServiceAccountToken"] = automount
    return obj


def secret(name: str, ns: str) -> dict[str, Any]:
    """A Secret with data that must never reach the evidence."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta(name, ns),
        "type": "Opaque",
        "data": {"password": "c3VwZXJzZWNyZXQtdmFsdWU="},
    }


DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def sample_cluster() -> list[dict[str, Any]]:
    """A small cluster with good and bad objects of every kind the collector reads."""
    bad_spec = good_spec(
        hostNetwork=True,
        serviceAccountName=None,
        automountServiceAccountToken=None,
        containers=[container(name="web", image="nginx:latest", securityContext={"privileged": True})],
    )
    cron_bad = good_spec(initContainers=[container(name="init", securityContext={"runAsNonRoot": False})])
    return [
        namespace("kube-system"),
        namespace("team-a", {"pod-security.kubernetes.io/enforce": "restricted"}),
        namespace("team-b"),
        static_pod("kube-apiserver", GOOD_APISERVER_FLAGS),
        static_pod("kube-controller-manager", ["--profiling=false"]),
        kubelet_configmap(GOOD_KUBELET),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("app-config", "team-a"), "data": {"k": "v"}},
        secret("db-password", "team-a"),
        *deployment_family("api", good_spec()),
        *deployment_family("legacy", bad_spec, "team-b"),
        workload("StatefulSet", "db", good_spec(), "team-a"),
        pod("db-0", good_spec(), "team-a", owner("StatefulSet", "db")),
        workload("DaemonSet", "agent", good_spec(hostPID=True), "team-b"),
        pod("agent-x1", good_spec(hostPID=True), "team-b", owner("DaemonSet", "agent", "team-b")),
        workload("CronJob", "nightly", cron_bad, "team-a"),
        workload("Job", "nightly-290000", cron_bad, "team-a", owner("CronJob", "nightly")),
        pod("nightly-290000-q", cron_bad, "team-a", owner("Job", "nightly-290000")),
        pod(
            "debug",
            good_spec(
                ephemeralContainers=[{"name": "dbg", "image": "busybox", "securityContext": {"privileged": True}}]
            ),
            "team-a",
        ),
        service_account("default", "team-a", automount=False),
        service_account("default", "team-b"),
        service_account("app", "team-a"),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("api", "team-a"),
            "spec": {"type": "ClusterIP", "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("limits", "team-b"),
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"}}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta("api", "team-a"),
            "spec": {
                "rules": [{"host": "api.example.org"}],
                "tls": [{"hosts": ["api.example.org"], "secretName": "api-tls"}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta("legacy", "team-b"),
            "spec": {"rules": [{"host": "old.example.org"}]},
        },
        network_policy("deny-all", "team-a", DENY_ALL),
        role(
            "ClusterRole",
            "cluster-admin",
            [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            labels={"kubernetes.io/bootstrapping": "rbac-defaults"},
        ),
        role("ClusterRole", "ops-everything", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}]),
        role("Role", "reader", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}], "team-a"),
        aggregated_role("monitoring", {"example.org/aggregate-to-monitoring": "true"}),
        role(
            "ClusterRole",
            "monitoring-endpoints",
            [{"apiGroups": [""], "resources": ["endpoints", "services"], "verbs": ["get", "list", "watch"]}],
            labels={"example.org/aggregate-to-monitoring": "true"},
        ),
        binding(
            "ClusterRoleBinding",
            "cluster-admin",
            "ClusterRole",
            "cluster-admin",
            [{"kind": "Group", "name": "system:masters", "apiGroup": "rbac.authorization.k8s.io"}],
        ),
        binding(
            "ClusterRoleBinding",
            "ci-admin",
            "ClusterRole",
            "cluster-admin",
            [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
        ),
        binding(
            "ClusterRoleBinding",
            "system:discovery",
            "ClusterRole",
            "system:discovery",
            [{"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}],
        ),
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": meta("cert-manager-webhook", None),
            "webhooks": [
                {"name": "webhook.cert-manager.io", "failurePolicy": "Fail", "clientConfig": {"caBundle": "LS0t"}}
            ],
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": meta("istio-sidecar-injector", None),
            "webhooks": [{"name": "sidecar-injector.istio.io", "failurePolicy": "Fail"}],
        },
    ]


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The plugin registry (discovered once per test session)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = discover()
    return _REGISTRY


def baseline_controls() -> dict[str, Control]:
    """The controls of the built-in kubernetes baseline, by id."""
    loaded = BaselineLibrary(registry()).load("kubernetes")
    return {c.id: c for c in loaded.controls}


def evaluate(evidence: Evidence, controls: Mapping[str, Control] | None = None) -> dict[str, list[Finding]]:
    """Evaluate every (given) control on the evidence through the real engine; findings by control id."""
    chosen = controls if controls is not None else baseline_controls()
    evidence = scanned(evidence)
    return {cid: evaluate_control(control, evidence, registry()) for cid, control in chosen.items()}


SCAN_TIME = "2026-12-01T12:00:00+00:00"
"""The scan time the tests give evidence collected without the engine (dated floors are judged against it)."""


def scanned(evidence: Evidence, at: str = SCAN_TIME) -> Evidence:
    """The evidence with a collection time, as the engine stamps it (never the test machine's clock)."""
    return evidence if evidence.collected_at else dataclasses.replace(evidence, collected_at=at)


def write_manifests(path: Path, objects: Sequence[Mapping[str, Any]]) -> Path:
    """Write objects as one multi-document YAML file."""
    import yaml

    path.write_text(yaml.safe_dump_all(list(objects), sort_keys=False), encoding="utf-8")
    return path


def offline_findings(
    path: Path, control_id: str, objects: Sequence[Any], dump: bool = False, **params: Any
) -> list[Finding]:
    """Write `objects` to `path` (multi-document YAML, or a JSON List dump), collect it offline with
    the plugin, evaluate one control of the built-in baseline (params overridden) through the engine."""
    import json

    from checks.kubernetes.plugin import PLUGIN
    from scanner.interface import Target

    if dump:
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}), encoding="utf-8")
    else:
        write_manifests(path, objects)
    target = PLUGIN.parse_target(f"{'dump' if dump else 'manifests'}:{path}")
    evidence = scanned(PLUGIN.collect(Target(id="t", kind=target.kind, url=target.url), {}, 30.0))
    control = baseline_controls()[control_id]
    if params:
        control = dataclasses.replace(control, params={**control.params, **params})
    return evaluate_control(control, evidence, registry())


def by_resource(found: Sequence[Finding]) -> dict[str, Any]:
    """`Kind ns/name` -> status."""
    return {f"{f.resource.kind} {f.resource.name}": f.status for f in found}
