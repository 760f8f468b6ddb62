"""The Kubernetes kinds sovscan reads, and what the scanner's account must be allowed to do.

`READS` is the single source of truth for the live collector (it LISTs exactly these) and for
the example read-only ClusterRole (a test compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindInfo:
    """One Kubernetes kind the collector lists."""

    kind: str
    """The object kind, e.g. `Deployment`."""
    section: str
    """Evidence section holding the slimmed objects, e.g. `deployments`."""
    group: str
    """API group (`""` for the core group)."""
    version: str
    """API version within the group."""
    resource: str
    """Plural resource name used in the URL and in RBAC rules."""
    namespaced: bool
    """Whether objects of the kind live in a namespace."""

    @property
    def list_path(self) -> str:
        """The cluster-wide LIST path (all namespaces for namespaced kinds)."""
        if self.group:
            return f"/apis/{self.group}/{self.version}/{self.resource}"
        return f"/api/{self.version}/{self.resource}"

    @property
    def qualified(self) -> str:
        """`resource.group` as RBAC error messages spell it (`deployments.apps`, `pods`)."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


KINDS: tuple[KindInfo, ...] = (
    KindInfo("Namespace", "namespaces", "", "v1", "namespaces", False),
    KindInfo("ServiceAccount", "serviceaccounts", "", "v1", "serviceaccounts", True),
    KindInfo("Service", "services", "", "v1", "services", True),
    KindInfo("LimitRange", "limitranges", "", "v1", "limitranges", True),
    KindInfo("Deployment", "deployments", "apps", "v1", "deployments", True),
    KindInfo("StatefulSet", "statefulsets", "apps", "v1", "statefulsets", True),
    KindInfo("DaemonSet", "daemonsets", "apps", "v1", "daemonsets", True),
    KindInfo("ReplicaSet", "replicasets", "apps", "v1", "replicasets", True),
    KindInfo("Job", "jobs", "batch", "v1", "jobs", True),
    KindInfo("CronJob", "cronjobs", "batch", "v1", "cronjobs", True),
    KindInfo("Pod", "pods", "", "v1", "pods", True),
    KindInfo("Ingress", "ingresses", "networking.k8s.io", "v1", "ingresses", True),
    KindInfo("NetworkPolicy", "networkpolicies", "networking.k8s.io", "v1", "networkpolicies", True),
    KindInfo("Role", "roles", "rbac.authorization.k8s.io", "v1", "roles", True),
    KindInfo("RoleBinding", "rolebindings", "rbac.authorization.k8s.io", "v1", "rolebindings", True),
    KindInfo("ClusterRole", "clusterroles", "rbac.authorization.k8s.io", "v1", "clusterroles", False),
    KindInfo(
        "ClusterRoleBinding", "clusterrolebindings", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", False
    ),
    KindInfo(
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        False,
    ),
    KindInfo(
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        False,
    ),
)
"""Every kind the collector lists, in collection order (controllers before the pods they own)."""

BY_KIND: dict[str, KindInfo] = {k.kind: k for k in KINDS}
"""Kind name -> info."""

READS: tuple[tuple[str, str, bool], ...] = tuple((k.group, k.resource, k.namespaced) for k in KINDS)
"""(apiGroup, resource, namespaced) of every kind the collector LISTs (verb list; it never GETs them)."""

KUBELET_CONFIGMAP = ("kube-system", "kubelet-config")
"""The one ConfigMap the collector GETs (namespace, name): kubeadm's kubelet configuration."""

NAMED_GETS: tuple[tuple[str, str, str], ...] = (("", "configmaps", KUBELET_CONFIGMAP[1]),)
"""(apiGroup, resource, resourceName) of single objects the collector GETs by name."""

NON_RESOURCE_URLS: tuple[str, ...] = ("/version/",)
"""Non-resource URLs the collector GETs, as the official client spells them (`VersionApi` asks for
`/version/`; RBAC matches non-resource URLs literally, so `/version` would not cover it)."""

WORKLOAD_KINDS: tuple[str, ...] = ("CronJob", "Job", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Pod")
"""Kinds that carry a pod template (or are pods), owners first."""

OWNED_KINDS: frozenset[str] = frozenset({"Pod", "ReplicaSet", "Job"})
"""Kinds whose objects are usually created by a controller."""

WORKLOAD_SECTIONS: tuple[str, ...] = tuple(BY_KIND[k].section for k in WORKLOAD_KINDS)
"""Evidence sections of the workload kinds."""

POD_SPEC_PATH: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each workload kind keeps its pod spec."""

CONTROL_PLANE_COMPONENTS: dict[str, str] = {
    "kube-apiserver": "apiserver",
    "kube-controller-manager": "controller-manager",
    "kube-scheduler": "scheduler",
    "etcd": "etcd",
}
"""Static-pod `component` label -> key in the `controlplane` evidence section."""
