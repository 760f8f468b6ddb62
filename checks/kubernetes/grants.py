"""Least-privilege RBAC for sovscan's Kubernetes account (for `sovscan doctor`, HELPERS interface 4).

The ClusterRole grants `list` (the collector only LISTs) on exactly the kinds whose evidence
sections are asked for (checks/kubernetes/kinds.py), `get` on the one ConfigMap the collector
reads by name, and the version URL; never Secrets, never a write verb, never `watch`. With every section it equals the
ClusterRole of examples/kubernetes/rbac.yaml.
"""

from __future__ import annotations

from collections.abc import Collection

from checks.kubernetes.kinds import KINDS, NAMED_GETS, NON_RESOURCE_URLS

ROLE = "sovscan-reader"
"""Name of the generated ClusterRole and ClusterRoleBinding."""

SERVICE_ACCOUNT = ("sovscan", "sovscan")
"""(namespace, name) of the ServiceAccount the binding names."""

_DERIVED = {"controlplane": "pods"}
"""Sections built from another kind's LIST (the control-plane flags come from kube-system Pods)."""


def least_privilege_yaml(sections: Collection[str]) -> str:
    """ClusterRole and ClusterRoleBinding YAML that let sovscan read exactly `sections`."""
    wanted = {_DERIVED.get(s, s) for s in sections}
    by_group: dict[str, list[str]] = {}
    for info in KINDS:
        if info.section in wanted:
            by_group.setdefault(info.group, []).append(info.resource)
    lines = [
        f"# sovscan: read-only access for the sections {', '.join(sorted(sections)) or '(none)'}",
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRole",
        "metadata:",
        f"  name: {ROLE}",
        "  labels:",
        "    app.kubernetes.io/name: sovscan",
        "rules:",
    ]
    for group, resources in by_group.items():
        lines.append(f'  - apiGroups: ["{group}"]')
        lines.append(f"    resources: [{', '.join(resources)}]")
        lines.append("    verbs: [list]")
    if "kubeletconfig" in sections:
        lines.append("  # the kubelet configuration kubeadm keeps in kube-system (no other ConfigMap)")
        for group, resource, name in NAMED_GETS:
            lines.append(f'  - apiGroups: ["{group}"]')
            lines.append(f"    resources: [{resource}]")
            lines.append(f"    resourceNames: [{name}]")
            lines.append("    verbs: [get]")
    lines.append(f"  - nonResourceURLs: [{', '.join(NON_RESOURCE_URLS)}]")
    lines.append("    verbs: [get]")
    namespace, name = SERVICE_ACCOUNT
    lines += [
        "---",
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRoleBinding",
        "metadata:",
        f"  name: {ROLE}",
        "roleRef:",
        "  apiGroup: rbac.authorization.k8s.io",
        "  kind: ClusterRole",
        f"  name: {ROLE}",
        "subjects:",
        "  - kind: ServiceAccount",
        f"    name: {name}",
        f"    namespace: {namespace}",
    ]
    return "\n".join(lines) + "\n"
