"""Every control of baselines/kubernetes.yaml passing and failing on small manifests written for it."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.plugin import PLUGIN
from checks.kubernetes.pods import parse_image
from scanner.engine import evaluate_control
from scanner.interface import Target
from scanner.model import Finding, Status
from tests.kubernetes.k8s_objects import (
    DENY_ALL,
    GOOD_APISERVER_FLAGS,
    GOOD_KUBELET,
    baseline_controls,
    binding,
    container,
    deployment_family,
    good_spec,
    kubelet_configmap,
    meta,
    namespace,
    network_policy,
    owner,
    pod,
    registry,
    role,
    scanned,
    service_account,
    static_pod,
    workload,
    write_manifests,
)

PASS, FAIL, ERROR, NA = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_APPLICABLE
_counter = itertools.count()


def findings(tmp_path: Path, control_id: str, objects: Sequence[Mapping[str, Any]], **params: Any) -> list[Finding]:
    """Write the objects as manifests, collect them offline, evaluate one control (params overridden)."""
    path = write_manifests(tmp_path / f"case{next(_counter)}.yaml", objects)
    target = PLUGIN.parse_target(f"manifests:{path}")
    evidence = scanned(PLUGIN.collect(Target(id="t", kind=target.kind, url=target.url), {}, 30.0))
    control = baseline_controls()[control_id]
    if params:
        control = replace(control, params={**control.params, **params})
    return evaluate_control(control, evidence, registry())


def statuses(tmp_path: Path, control_id: str, objects: Sequence[Mapping[str, Any]], **params: Any) -> dict[str, Status]:
    """`Kind ns/name` -> status of one control on the objects."""
    return {f"{f.resource.kind} {f.resource.name}": f.status for f in findings(tmp_path, control_id, objects, **params)}


def test_baseline_covers_every_control_with_references() -> None:
    controls = baseline_controls()
    # 25-44: non-RBAC controls of issue 11; 45-59: RBAC
    numbered = [f"K8S-{n:02d}" for n in range(1, 43)] + [f"K8S-{n}" for n in range(45, 49)]
    assert set(numbered) <= set(controls) and all(c.startswith("K8S-") for c in controls)
    for control in controls.values():
        assert control.target == "kubernetes" and control.check.startswith("kubernetes.")
        assert control.tags and control.rationale and control.remediation
        assert "nis2" in control.references and "iso27001-2022" in control.references, control.id
        assert {"cis-kubernetes-1.12", "kubescape", "bsi"} & set(control.references), control.id


# -- control plane -------------------------------------------------------------------------------


def test_k8s_01_to_05_flags(tmp_path: Path) -> None:
    good = [static_pod("kube-apiserver", GOOD_APISERVER_FLAGS)]
    for control_id in ["K8S-01", "K8S-02", "K8S-03", "K8S-04", "K8S-05"]:
        assert statuses(tmp_path, control_id, good) == {"Pod kube-system/kube-apiserver-cp-1": PASS}
        assert statuses(tmp_path, control_id, [static_pod("kube-apiserver", ["--etcd-servers=x"])]) == {
            "Pod kube-system/kube-apiserver-cp-1": FAIL
        }
    webhook_only = ["--audit-policy-file=/p.yaml", "--audit-webhook-config-file=/w.yaml"]
    assert set(statuses(tmp_path, "K8S-03", [static_pod("kube-apiserver", webhook_only)]).values()) == {PASS}
    short = ["--audit-policy-file=/p.yaml", "--audit-log-path=/a.log", "--audit-log-maxage=7"]
    [finding] = findings(tmp_path, "K8S-03", [static_pod("kube-apiserver", short)])
    assert finding.status is FAIL and "--audit-log-maxage=7" in finding.message
    cbc = ["--tls-min-version=VersionTLS12", "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]
    assert set(statuses(tmp_path, "K8S-05", [static_pod("kube-apiserver", cbc)]).values()) == {FAIL}
    always = ["--authorization-mode", "Node,RBAC,AlwaysAllow"]  # the "--flag value" form
    assert set(statuses(tmp_path, "K8S-02", [static_pod("kube-apiserver", always)]).values()) == {FAIL}
    [unset] = findings(tmp_path, "K8S-01", [static_pod("kube-apiserver", [])])
    assert "--anonymous-auth unset (default true)" in unset.message


def test_k8s_06_kubelet(tmp_path: Path) -> None:
    assert set(statuses(tmp_path, "K8S-06", [kubelet_configmap(GOOD_KUBELET)]).values()) == {PASS}
    defaults_only = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
    assert set(statuses(tmp_path, "K8S-06", [kubelet_configmap(defaults_only)]).values()) == {PASS}
    bad = GOOD_KUBELET.replace("enabled: false", "enabled: true").replace("readOnlyPort: 0", "readOnlyPort: 10255")
    [finding] = findings(tmp_path, "K8S-06", [kubelet_configmap(bad)])
    assert finding.status is FAIL and "readOnlyPort is 10255" in finding.message
    assert "authentication.anonymous.enabled is True" in finding.message
    [broken] = findings(tmp_path, "K8S-06", [kubelet_configmap("a: [")])
    assert broken.status is ERROR
    [absent] = findings(tmp_path, "K8S-06", [namespace("x")])
    assert absent.status is NA


# -- RBAC ----------------------------------------------------------------------------------------


def test_k8s_07_cluster_admin(tmp_path: Path) -> None:
    objects = [
        binding(
            "ClusterRoleBinding",
            "cluster-admin",
            "ClusterRole",
            "cluster-admin",
            [{"kind": "Group", "name": "system:masters"}],
        ),
        binding(
            "ClusterRoleBinding",
            "alice",
            "ClusterRole",
            "cluster-admin",
            [{"kind": "User", "name": "alice@example.org"}],
        ),
        binding(
            "ClusterRoleBinding",
            "anon",
            "ClusterRole",
            "cluster-admin",
            [{"kind": "Group", "name": "system:unauthenticated"}],
        ),
        binding(
            "RoleBinding",
            "ns-admin",
            "ClusterRole",
            "cluster-admin",
            [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
            "ci",
        ),
        binding("ClusterRoleBinding", "view", "ClusterRole", "view", [{"kind": "User", "name": "bob"}]),
    ]
    assert statuses(tmp_path, "K8S-07", objects) == {
        "ClusterRoleBinding cluster-admin": PASS,
        "ClusterRoleBinding alice": FAIL,
        "ClusterRoleBinding anon": FAIL,
        "RoleBinding ci/ns-admin": FAIL,
    }
    allowed = statuses(tmp_path, "K8S-07", objects, allowed_subjects=["User:*@example.org", "ServiceAccount:ci/*"])
    assert allowed["ClusterRoleBinding alice"] is PASS and allowed["RoleBinding ci/ns-admin"] is PASS
    # manifests without any binding say nothing about the cluster's bindings
    assert set(statuses(tmp_path, "K8S-07", [namespace("x")]).values()) == {NA}


def test_k8s_07_broad_system_groups_are_not_system_subjects(tmp_path: Path) -> None:
    def admin(name: str, kind: str, subject: str) -> dict[str, Any]:
        return binding("ClusterRoleBinding", name, "ClusterRole", "cluster-admin", [{"kind": kind, "name": subject}])

    objects = [
        admin("masters", "Group", "system:masters"),
        admin("kcm", "User", "system:kube-controller-manager"),
        admin("all-sa", "Group", "system:serviceaccounts"),
        admin("ns-sa", "Group", "system:serviceaccounts:team-a"),
        admin("nodes", "Group", "system:nodes"),
        admin("bootstrap", "Group", "system:bootstrappers:kubeadm:default-node-token"),
    ]
    assert statuses(tmp_path, "K8S-07", objects) == {
        "ClusterRoleBinding masters": PASS,
        "ClusterRoleBinding kcm": PASS,
        "ClusterRoleBinding all-sa": FAIL,
        "ClusterRoleBinding ns-sa": FAIL,
        "ClusterRoleBinding nodes": FAIL,
        "ClusterRoleBinding bootstrap": FAIL,
    }


@pytest.mark.parametrize("control_id", ["K8S-08", "K8S-09"])
def test_the_default_roles_label_alone_does_not_exempt_a_role(tmp_path: Path, control_id: str) -> None:
    defaults = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    everything = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    objects = [
        role("ClusterRole", "cluster-admin", everything, labels=defaults),  # the real default role
        role("ClusterRole", "backdoor", everything, labels=defaults),  # anyone can copy the label
        role("Role", "ops", everything, "team-a", labels=defaults),
    ]
    assert statuses(tmp_path, control_id, objects) == {
        "ClusterRole cluster-admin": NA,  # exempt, and reported as such
        "ClusterRole backdoor": FAIL,
        "Role team-a/ops": FAIL,
    }


@pytest.mark.parametrize("control_id", ["K8S-07", "K8S-08", "K8S-09", "K8S-10", "K8S-23"])
def test_offline_input_without_the_kind_is_not_applicable(tmp_path: Path, control_id: str) -> None:
    objects = [namespace("team-a"), workload("Deployment", "web", good_spec())]
    [finding] = findings(tmp_path, control_id, objects)
    assert finding.status is NA, finding.message
    assert "offline input" in finding.message and "not visible" in finding.message


def test_k8s_08_wildcards(tmp_path: Path) -> None:
    objects = [
        role(
            "ClusterRole",
            "cluster-admin",
            [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            labels={"kubernetes.io/bootstrapping": "rbac-defaults"},
        ),
        role("ClusterRole", "system:controller:x", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
        role("Role", "deployer", [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}], "team-a"),
        role("Role", "reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], "team-a"),
    ]
    assert statuses(tmp_path, "K8S-08", objects) == {
        "ClusterRole cluster-admin": NA,
        "ClusterRole system:controller:x": FAIL,  # a system: name is no exemption
        "Role team-a/deployer": FAIL,
        "Role team-a/reader": PASS,
    }


def test_k8s_09_dangerous(tmp_path: Path) -> None:
    objects = [
        role("ClusterRole", "secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
        role(
            "ClusterRole",
            "one-secret",
            [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["tls"]}],
        ),
        role("ClusterRole", "node-proxy", [{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}]),
        role(
            "ClusterRole",
            "impersonator",
            [{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}],
        ),
        role(
            "Role",
            "escalator",
            [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]}],
            "a",
        ),
        role("Role", "runner", [{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["*"]}], "a"),
        role("Role", "tokens", [{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}], "a"),
        role(
            "Role",
            "harmless",
            [{"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list"]}],
            "a",
        ),
        role("ClusterRole", "argocd-controller", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
    ]
    found = statuses(tmp_path, "K8S-09", objects, allowed_roles=["argocd-controller"])
    assert found == {
        "ClusterRole secret-reader": FAIL,
        "ClusterRole one-secret": PASS,
        "ClusterRole node-proxy": FAIL,
        "ClusterRole impersonator": FAIL,
        "Role a/escalator": FAIL,
        "Role a/runner": FAIL,
        "Role a/tokens": FAIL,
        "Role a/harmless": PASS,
        "ClusterRole argocd-controller": NA,  # allow-listed, and reported as such
    }
    runner = next(f for f in findings(tmp_path, "K8S-09", objects) if f.resource.name == "a/runner")
    assert "create pods" in runner.message


def test_k8s_10_anonymous(tmp_path: Path) -> None:
    objects = [
        binding(
            "ClusterRoleBinding",
            "system:public-info-viewer",
            "ClusterRole",
            "system:public-info-viewer",
            [{"kind": "Group", "name": "system:unauthenticated"}],
        ),
        binding(
            "RoleBinding",
            "open-edit",
            "ClusterRole",
            "edit",
            [{"kind": "Group", "name": "system:authenticated"}],
            "team-a",
        ),
        binding(
            "ClusterRoleBinding", "anon-view", "ClusterRole", "view", [{"kind": "User", "name": "system:anonymous"}]
        ),
        binding("ClusterRoleBinding", "ops", "ClusterRole", "view", [{"kind": "Group", "name": "ops"}]),
        # a namespaced Role that only borrows the name of a discovery ClusterRole
        role("Role", "system:discovery", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}], "team-a"),
        binding(
            "RoleBinding",
            "fake-discovery",
            "Role",
            "system:discovery",
            [{"kind": "Group", "name": "system:unauthenticated"}],
            "team-a",
        ),
    ]
    assert statuses(tmp_path, "K8S-10", objects) == {
        "ClusterRoleBinding system:public-info-viewer": PASS,
        "RoleBinding team-a/open-edit": FAIL,
        "ClusterRoleBinding anon-view": FAIL,
        "RoleBinding team-a/fake-discovery": FAIL,
    }


# -- namespaces, service accounts ----------------------------------------------------------------


def test_k8s_11_token_automount(tmp_path: Path) -> None:
    objects = [
        service_account("default", "a", automount=False),
        service_account("default", "b", automount=True),
        service_account("default", "kube-system"),
        workload(
            "Deployment", "uses-default", good_spec(serviceAccountName=None, automountServiceAccountToken=None), "b"
        ),
        workload(
            "Deployment", "default-off", good_spec(serviceAccountName="default", automountServiceAccountToken=None), "a"
        ),
        workload("Deployment", "pod-off", good_spec(serviceAccountName=None, automountServiceAccountToken=False), "b"),
        workload("Deployment", "dedicated", good_spec(automountServiceAccountToken=True), "b"),
    ]
    assert statuses(tmp_path, "K8S-11", objects) == {
        "ServiceAccount a/default": PASS,
        "ServiceAccount b/default": FAIL,
        "ServiceAccount kube-system/default": FAIL,  # no namespace is exempt (CIS 5.1.5 covers all)
        "Deployment b/uses-default": FAIL,
        "Deployment a/default-off": PASS,
        "Deployment b/pod-off": PASS,
        "Deployment b/dedicated": PASS,
    }


def test_k8s_12_pod_security_admission(tmp_path: Path) -> None:
    objects = [
        namespace("kube-system"),
        namespace("strict", {"pod-security.kubernetes.io/enforce": "restricted"}),
        namespace("base", {"pod-security.kubernetes.io/enforce": "baseline"}),
        namespace("open", {"pod-security.kubernetes.io/enforce": "privileged"}),
        namespace("warn-only", {"pod-security.kubernetes.io/warn": "restricted"}),
    ]
    assert statuses(tmp_path, "K8S-12", objects) == {
        "Namespace kube-system": NA,  # excluded by name (the API server's own namespace), and reported
        "Namespace strict": PASS,
        "Namespace base": PASS,
        "Namespace open": FAIL,
        "Namespace warn-only": FAIL,
    }
    assert statuses(tmp_path, "K8S-12", objects, min_level="restricted")["Namespace base"] is FAIL
    with_engine = statuses(tmp_path, "K8S-12", [*objects, kyverno_webhook()])
    assert with_engine["Namespace warn-only"] is PASS and with_engine["Namespace open"] is FAIL


def kyverno_webhook(name: str = "kyverno-resource-validating-webhook-cfg", **hook: Any) -> dict[str, Any]:
    """Kyverno's validating webhook configuration as Kyverno installs it with a pod policy."""
    webhook = {
        "name": "validate.kyverno.svc-fail",
        "failurePolicy": "Fail",
        "clientConfig": {"service": {"namespace": "kyverno", "name": "kyverno-svc", "path": "/validate/fail"}},
        "rules": [
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}
        ],
        "namespaceSelector": {
            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kyverno"]}]
        },
        "sideEffects": "NoneOnDryRun",
        "admissionReviewVersions": ["v1"],
    }
    webhook.update(hook)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": meta(name, None),
        "webhooks": [webhook],
    }


def test_k8s_12_only_a_recognised_fail_closed_engine_counts(tmp_path: Path) -> None:
    """Sidestep: any webhook, of any name, used to count as Pod Security enforcement."""
    objects = [namespace("app"), namespace("kyverno")]
    assert statuses(tmp_path, "K8S-12", [*objects, kyverno_webhook()]) == {
        "Namespace app": PASS,
        "Namespace kyverno": FAIL,
    }
    forged = [
        kyverno_webhook(name="system:backdoor"),  # not Kyverno's configuration
        kyverno_webhook(clientConfig={"service": {"namespace": "default", "name": "kyverno-svc"}}),  # not its service
        kyverno_webhook(failurePolicy="Ignore"),  # fails open
        kyverno_webhook(
            rules=[
                {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}
            ]
        ),
        kyverno_webhook(objectSelector={"matchLabels": {"checked": "yes"}}),  # pods opt out by a label
        kyverno_webhook(namespaceSelector={"matchLabels": {"policed": "yes"}}),  # does not select 'app'
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": meta("gatekeeper-validating-webhook-configuration", None),
            "webhooks": [],
        },
    ]
    for webhook in forged:
        found = {f.resource.name: f for f in findings(tmp_path, "K8S-12", [*objects, webhook])}
        assert found["app"].status is FAIL, webhook
    [ignored] = [f for f in findings(tmp_path, "K8S-12", [*objects, forged[2]]) if f.resource.name == "app"]
    assert "failurePolicy Ignore, not Fail" in ignored.message


def test_k8s_20_default_deny(tmp_path: Path) -> None:
    objects = [
        namespace("kube-system"),
        namespace("full"),
        network_policy("deny", "full", DENY_ALL),
        namespace("ingress-only"),
        network_policy("deny-in", "ingress-only", {"podSelector": {}}),
        namespace("selective"),
        network_policy(
            "web", "selective", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"]}
        ),
        namespace("allow-all"),
        network_policy(
            "all",
            "allow-all",
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}], "egress": [{}]},
        ),
        namespace("split"),
        network_policy("deny-in", "split", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        network_policy("deny-out", "split", {"podSelector": {}, "policyTypes": ["Egress"]}),
        network_policy(
            "allow-dns", "split", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53}]}]}
        ),
    ]
    assert statuses(tmp_path, "K8S-20", objects) == {
        "Namespace kube-system": NA,
        "Namespace full": PASS,
        "Namespace ingress-only": FAIL,
        "Namespace selective": FAIL,
        "Namespace allow-all": FAIL,
        "Namespace split": PASS,
    }
    assert statuses(tmp_path, "K8S-20", objects, policy_types=["Ingress"])["Namespace ingress-only"] is PASS


def test_k8s_23_ingress_tls(tmp_path: Path) -> None:
    def ingress(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta(name, "web"),
            "spec": dict(spec),
        }

    objects = [
        ingress(
            "wild",
            {"rules": [{"host": "a.example.org"}, {"host": "b.example.org"}], "tls": [{"hosts": ["*.example.org"]}]},
        ),
        ingress(
            "partial",
            {"rules": [{"host": "a.example.org"}, {"host": "x.other.org"}], "tls": [{"hosts": ["a.example.org"]}]},
        ),
        ingress("plain", {"rules": [{"host": "a.example.org"}]}),
        ingress("deep", {"rules": [{"host": "a.b.example.org"}], "tls": [{"hosts": ["*.example.org"]}]}),
        ingress("catch-all", {"rules": [{}], "tls": [{"secretName": "default-cert"}]}),
    ]
    assert statuses(tmp_path, "K8S-23", objects) == {
        "Ingress web/wild": PASS,
        "Ingress web/partial": FAIL,
        "Ingress web/plain": FAIL,
        "Ingress web/deep": FAIL,
        "Ingress web/catch-all": PASS,
    }


# -- workloads -----------------------------------------------------------------------------------


def bad_container_cases() -> list[tuple[str, dict[str, Any], str]]:
    """(control id, a bad regular container, expected message part)."""
    return [
        ("K8S-13", container(securityContext={"privileged": True}), "is privileged"),
        ("K8S-15", container(ports=[{"containerPort": 80, "hostPort": 80}]), "binds hostPort 80"),
        ("K8S-16", container(securityContext={"runAsNonRoot": False}), "runAsNonRoot is false"),
        ("K8S-16", container(securityContext={"runAsUser": 0}), "runAsUser is 0"),
        ("K8S-16", container(securityContext={"allowPrivilegeEscalation": True}), "allowPrivilegeEscalation is true"),
        ("K8S-17", container(securityContext={"capabilities": {"drop": ["NET_RAW"]}}), "does not drop ALL"),
        (
            "K8S-17",
            container(securityContext={"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}),
            "adds SYS_ADMIN",
        ),
        (
            "K8S-17",
            container(securityContext={"seccompProfile": {"type": "Unconfined"}}),
            "seccompProfile is Unconfined",
        ),
        ("K8S-18", container(securityContext={"readOnlyRootFilesystem": False}), "readOnlyRootFilesystem is false"),
        ("K8S-19", container(resources={"limits": {"cpu": "1"}}), "has no memory limit"),
        ("K8S-21", container(envFrom=[{"secretRef": {"name": "db"}}]), "envFrom secret db"),
        (
            "K8S-21",
            container(env=[{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "p"}}}]),
            "env P from secret db",
        ),
        ("K8S-22", container(image="registry.example/app:1.0"), "is not pinned by digest"),
        ("K8S-22", container(image="registry.example/app"), "floats on 'latest'"),
    ]


@pytest.mark.parametrize("case", bad_container_cases(), ids=lambda c: f"{c[0]}-{c[2]}")
@pytest.mark.parametrize("ctype", ["containers", "initContainers"])
def test_container_level_settings(tmp_path: Path, case: tuple[str, dict[str, Any], str], ctype: str) -> None:
    control_id, bad, message = case
    spec = good_spec()
    spec[ctype] = [bad]
    objects = [
        workload("Deployment", "good", good_spec(), "team-a"),
        workload("CronJob", "bad", spec, "team-a"),
    ]
    found = {f.resource.name: f for f in findings(tmp_path, control_id, objects)}
    assert set(found) == {"team-a/good", "team-a/bad"}
    assert found["team-a/good"].status is PASS
    assert found["team-a/bad"].status is FAIL
    assert message in found["team-a/bad"].message
    label = "container 'app'" if ctype == "containers" else "initContainer 'app'"
    if control_id not in ("K8S-14",):
        assert label in found["team-a/bad"].message


@pytest.mark.parametrize(
    ("control_id", "spec_change", "message"),
    [
        ("K8S-14", {"hostNetwork": True}, "hostNetwork: true"),
        ("K8S-14", {"hostPID": True, "hostIPC": True}, "hostPID: true; hostIPC: true"),
        (
            "K8S-15",
            {"volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]},
            "mounts /var/run/docker.sock",
        ),
        ("K8S-16", {"securityContext": {"runAsUser": 0}}, "pod runAsUser is 0"),
        (
            "K8S-16",
            {
                "securityContext": {},
                "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": False}}],
            },
            "container 'c' runAsNonRoot is unset",
        ),
        ("K8S-17", {"securityContext": {"runAsNonRoot": True}}, "seccompProfile is unset"),
    ],
)
def test_pod_level_settings(tmp_path: Path, control_id: str, spec_change: dict[str, Any], message: str) -> None:
    objects = [
        workload("StatefulSet", "db", good_spec(**spec_change), "team-a"),
        workload("DaemonSet", "ok", good_spec(), "team-a"),
    ]
    found = {f.resource.name: f for f in findings(tmp_path, control_id, objects)}
    assert found["team-a/db"].status is FAIL and message in found["team-a/db"].message
    assert found["team-a/ok"].status is PASS


def test_pod_level_values_are_inherited_and_overridden(tmp_path: Path) -> None:
    inherits = good_spec(
        containers=[
            {
                "name": "c",
                "image": "r.example/x@sha256:" + "b" * 64,
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ]
    )
    overrides = good_spec(
        containers=[container(securityContext={"runAsNonRoot": False, "seccompProfile": {"type": "Unconfined"}})]
    )
    objects = [workload("Deployment", "inherits", inherits), workload("Deployment", "overrides", overrides)]
    assert statuses(tmp_path, "K8S-16", objects) == {
        "Deployment team-a/inherits": PASS,
        "Deployment team-a/overrides": FAIL,
    }
    assert statuses(tmp_path, "K8S-17", objects) == {
        "Deployment team-a/inherits": PASS,
        "Deployment team-a/overrides": FAIL,
    }


def test_ephemeral_containers_are_checked(tmp_path: Path) -> None:
    debug = {"name": "debugger", "image": "busybox:1.36", "securityContext": {"privileged": True}}
    objects = [pod("web-1", good_spec(ephemeralContainers=[debug]), "team-a")]
    for control_id in ["K8S-13", "K8S-16", "K8S-17", "K8S-18", "K8S-22"]:
        [finding] = findings(tmp_path, control_id, objects)
        assert finding.status is FAIL and "ephemeralContainer 'debugger'" in finding.message, control_id
    assert statuses(tmp_path, "K8S-19", objects) == {"Pod team-a/web-1": PASS}  # ephemeral containers have no resources


def test_ephemeral_containers_of_a_controllers_pod_are_checked(tmp_path: Path) -> None:
    debug = {"name": "debugger", "image": "busybox:1.36", "securityContext": {"privileged": True}}
    family = deployment_family("web", good_spec())
    family[2]["spec"]["ephemeralContainers"] = [debug]  # kubectl debug on one running pod
    for objects in (family, list(reversed(family))):  # owner read before or after the pod
        assert statuses(tmp_path, "K8S-13", objects) == {
            "Deployment team-a/web": PASS,
            "Pod team-a/web-5d4f8-a1": FAIL,
        }
        # the pod inherits the template's pod-level securityContext (runAsNonRoot, seccomp)
        [pod_finding] = [f for f in findings(tmp_path, "K8S-16", objects) if f.resource.kind == "Pod"]
        assert "runAsNonRoot" not in pod_finding.message and "allowPrivilegeEscalation is unset" in pod_finding.message
        # the token mount is the template's business: no second finding for the pod
        assert statuses(tmp_path, "K8S-11", objects) == {"Deployment team-a/web": PASS}


@pytest.mark.parametrize("control_id", ["K8S-11", "K8S-13", "K8S-16", "K8S-19", "K8S-22"])
def test_workload_without_containers_is_an_error(tmp_path: Path, control_id: str) -> None:
    patch = {  # a kustomize strategic-merge patch: a Deployment without its template
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {"replicas": 3},
    }
    [finding] = findings(tmp_path, control_id, [patch])
    assert finding.status is ERROR and "no pod spec with containers" in finding.message


def test_allow_lists_and_parameters(tmp_path: Path) -> None:
    spec = good_spec(
        volumes=[{"name": "logs", "hostPath": {"path": "/var/log/pods"}}],
        containers=[
            container(
                image="ghcr.io/other/app@sha256:" + "c" * 64,
                securityContext={"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
            )
        ],
    )
    objects = [
        workload("Deployment", "agent", spec, "team-a"),
        workload("Deployment", "sys", good_spec(hostNetwork=True), "kube-system"),
    ]
    sys_ok = {"Deployment kube-system/sys": PASS}
    assert statuses(tmp_path, "K8S-15", objects) == {"Deployment team-a/agent": FAIL, **sys_ok}
    assert statuses(tmp_path, "K8S-15", objects, allowed_host_paths=["/var/log/*"]) == {
        "Deployment team-a/agent": PASS,
        **sys_ok,
    }
    assert statuses(tmp_path, "K8S-17", objects) == {"Deployment team-a/agent": PASS, **sys_ok}
    assert statuses(tmp_path, "K8S-22", objects)["Deployment team-a/agent"] is PASS
    assert (
        statuses(tmp_path, "K8S-22", objects, trusted_registries=["registry.example"])["Deployment team-a/agent"]
        is FAIL
    )
    assert (
        statuses(tmp_path, "K8S-22", objects, trusted_registries=["ghcr.io/other"])["Deployment team-a/agent"] is PASS
    )
    # kube-system is not exempt: a workload there that is no built-in component is evaluated
    assert statuses(tmp_path, "K8S-14", objects) == {
        "Deployment team-a/agent": PASS,
        "Deployment kube-system/sys": FAIL,
    }
    excluded = findings(tmp_path, "K8S-14", objects, exclude_namespaces=["*"])
    assert [f.status for f in excluded] == [NA, NA] and all("exclude_namespaces" in f.message for f in excluded)


def test_limitrange_defaults_count_as_limits(tmp_path: Path) -> None:
    bare = good_spec(containers=[container(resources={})])
    limit_range = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": meta("defaults", "b"),
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"}}]},
    }
    objects = [workload("Deployment", "x", bare, "a"), workload("Deployment", "y", bare, "b"), limit_range]
    assert statuses(tmp_path, "K8S-19", objects) == {"Deployment a/x": FAIL, "Deployment b/y": PASS}
    assert statuses(tmp_path, "K8S-19", objects, accept_limitrange_defaults=False)["Deployment b/y"] is FAIL
    assert (
        statuses(tmp_path, "K8S-19", objects, required=["memory"], accept_limitrange_defaults=False)["Deployment a/x"]
        is FAIL
    )


def test_owners_in_the_evidence_hide_their_children(tmp_path: Path) -> None:
    bad = good_spec(hostNetwork=True)
    objects = [
        workload("Deployment", "web", bad),
        workload("ReplicaSet", "web-1", bad, owners=owner("Deployment", "web")),
        pod("web-1-a", bad, owners=owner("ReplicaSet", "web-1")),
        workload("ReplicaSet", "orphan-rs", bad),
        pod("orphan-rs-a", bad, owners=owner("ReplicaSet", "orphan-rs")),
        pod(
            "rollout-a",
            bad,
            owners=[{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "r", "controller": True}],
        ),
        workload("CronJob", "cj", bad),
        workload("Job", "cj-1", bad, owners=owner("CronJob", "cj")),
        pod("cj-1-a", bad, owners=owner("Job", "cj-1")),
        pod("bare", bad),
    ]
    assert statuses(tmp_path, "K8S-14", objects) == {
        "Deployment team-a/web": FAIL,
        "ReplicaSet team-a/orphan-rs": FAIL,
        "Pod team-a/rollout-a": FAIL,
        "CronJob team-a/cj": FAIL,
        "Pod team-a/bare": FAIL,
    }


def test_k8s_24_version_is_not_applicable_offline(tmp_path: Path) -> None:
    [finding] = findings(tmp_path, "K8S-24", [namespace("a")])
    assert finding.status is NA and "offline" in finding.message


@pytest.mark.parametrize(
    ("image", "parsed"),
    [
        ("nginx", ("docker.io", "library/nginx", None, None)),
        ("nginx:1.27", ("docker.io", "library/nginx", "1.27", None)),
        ("team/app:2", ("docker.io", "team/app", "2", None)),
        ("localhost:5000/app", ("localhost:5000", "app", None, None)),
        ("registry.example/a/b:1@sha256:abc", ("registry.example", "a/b", "1", "sha256:abc")),
        ("ghcr.io/o/app@sha256:def", ("ghcr.io", "o/app", None, "sha256:def")),
    ],
)
def test_parse_image(image: str, parsed: tuple[str, str, str | None, str | None]) -> None:
    assert parse_image(image) == parsed
