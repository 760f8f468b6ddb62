"""The RBAC controls (K8S-07..10, K8S-45..48) on manifests written to sidestep them.

Each case is one an attacker who knows how the control decides would try: a `system:` name, a
copied label, a built-in object with one more subject or rule, a grant limited by resourceNames,
a harmless-looking role bound to the account a workload runs as, aggregation into `view`.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.plugin import PLUGIN
from checks.kubernetes.powers import builtin_policy
from scanner.engine import evaluate_control
from scanner.interface import Target
from scanner.model import Finding, Status
from tests.kubernetes.k8s_objects import (
    aggregated_role,
    baseline_controls,
    binding,
    deployment_family,
    good_spec,
    pod,
    registry,
    role,
    workload,
    write_manifests,
)

PASS, FAIL, ERROR, NA = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_APPLICABLE
RBAC = "rbac.authorization.k8s.io"
DEFAULTS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_counter = itertools.count()


def findings(tmp_path: Path, control_id: str, objects: Sequence[Mapping[str, Any]], **params: Any) -> list[Finding]:
    """Collect the objects offline and evaluate one control (params overridden)."""
    path = write_manifests(tmp_path / f"rbac{next(_counter)}.yaml", objects)
    target = PLUGIN.parse_target(f"manifests:{path}")
    evidence = PLUGIN.collect(Target(id="t", kind=target.kind, url=target.url), {}, 30.0)
    control = baseline_controls()[control_id]
    if params:
        control = replace(control, params={**control.params, **params})
    return evaluate_control(control, evidence, registry())


def findings_as_live(tmp_path: Path, control_id: str, objects: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """The same objects judged as a live cluster's complete listing (a missing role does not exist)."""
    path = write_manifests(tmp_path / f"rbac{next(_counter)}.yaml", objects)
    target = PLUGIN.parse_target(f"manifests:{path}")
    evidence = PLUGIN.collect(Target(id="t", kind=target.kind, url=target.url), {}, 30.0)
    live = replace(evidence, metadata={**evidence.metadata, "mode": "context"})
    return evaluate_control(baseline_controls()[control_id], live, registry())


def statuses(tmp_path: Path, control_id: str, objects: Sequence[Mapping[str, Any]], **params: Any) -> dict[str, Status]:
    """`Kind ns/name` -> status."""
    return {f"{f.resource.kind} {f.resource.name}": f.status for f in findings(tmp_path, control_id, objects, **params)}


def by_name(tmp_path: Path, control_id: str, objects: Sequence[Mapping[str, Any]], **params: Any) -> dict[str, Finding]:
    """`ns/name` (or name) -> finding."""
    return {f.resource.name: f for f in findings(tmp_path, control_id, objects, **params)}


def user(name: str) -> dict[str, str]:
    """A User subject."""
    return {"kind": "User", "name": name, "apiGroup": RBAC}


def group(name: str) -> dict[str, str]:
    """A Group subject."""
    return {"kind": "Group", "name": name, "apiGroup": RBAC}


def sa(name: str, ns: str) -> dict[str, str]:
    """A ServiceAccount subject."""
    return {"kind": "ServiceAccount", "name": name, "namespace": ns}


def builtin(key: str) -> dict[str, Any]:
    """The exact built-in object of the shipped bootstrap policy, as the API server creates it."""
    policy = builtin_policy()
    kind, _, rest = key.partition("/")
    namespace, _, name = rest.rpartition("/") if kind in ("Role", "RoleBinding") else (None, "", rest)
    if kind.endswith("Role"):
        entry = policy.roles[key]
        obj = role(kind, name, copy.deepcopy(entry["rules"]), namespace, labels=entry["labels"])
        if entry.get("aggregationRule"):
            obj["aggregationRule"] = copy.deepcopy(entry["aggregationRule"])
        return obj
    entry = policy.bindings[key]
    obj = binding(
        kind, name, entry["roleRef"]["kind"], entry["roleRef"]["name"], copy.deepcopy(entry["subjects"]), namespace
    )
    obj["metadata"]["labels"] = dict(entry["labels"])
    return obj


def rule(resources: Sequence[str], verbs: Sequence[str], group: str = "", names: Sequence[str] = ()) -> dict[str, Any]:
    """A PolicyRule."""
    out: dict[str, Any] = {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}
    if names:
        out["resourceNames"] = list(names)
    return out


# -- the shipped bootstrap policy ------------------------------------------------------------------


def test_the_shipped_bootstrap_policy_is_kubernetes_own() -> None:
    policy = builtin_policy()
    assert policy.version.startswith("v1.")
    assert policy.roles["ClusterRole/cluster-admin"]["rules"] == [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ]
    assert policy.bindings["ClusterRoleBinding/cluster-admin"]["subjects"] == [group("system:masters")]
    assert "Role/kube-system/extension-apiserver-authentication-reader" in policy.roles
    assert all(e["labels"].get("kubernetes.io/bootstrapping") == "rbac-defaults" for e in policy.roles.values())
    # the file is what scripts/k8s-bootstrap-policy writes: sorted keys, one JSON document
    text = (Path(__file__).parents[2] / "checks/kubernetes/data/bootstrap-policy.json").read_text(encoding="utf-8")
    assert list(json.loads(text)["roles"]) == sorted(policy.roles)


# -- K8S-07 -----------------------------------------------------------------------------------------


def test_k8s_07_exact_identities_not_system_prefixes(tmp_path: Path) -> None:
    def admin(name: str, subject: dict[str, str]) -> dict[str, Any]:
        return binding("ClusterRoleBinding", name, "ClusterRole", "cluster-admin", [subject])

    backdoored = builtin("ClusterRoleBinding/cluster-admin")
    backdoored["subjects"].append(user("mallory"))
    objects = [
        builtin("ClusterRoleBinding/cluster-admin"),
        admin("kcm", user("system:kube-controller-manager")),
        admin("sched", user("system:kube-scheduler")),
        admin("mallory", user("system:mallory")),
        admin("fake-sa", user("system:serviceaccount:default:default")),
        admin("kcm-group", group("system:kube-controller-manager")),  # right name, wrong kind
        admin("all-sa", group("system:serviceaccounts")),
        admin("everyone", group("system:authenticated")),
        admin("nodes", group("system:nodes")),
    ]
    found = by_name(tmp_path, "K8S-07", objects)
    assert (
        found["cluster-admin"].status is NA
        and "built-in ClusterRoleBinding cluster-admin" in found["cluster-admin"].message
    )
    assert "exempt" in found["cluster-admin"].message
    assert {n: f.status for n, f in found.items() if n != "cluster-admin"} == {
        "kcm": PASS,
        "sched": PASS,
        "mallory": FAIL,
        "fake-sa": FAIL,
        "kcm-group": FAIL,
        "all-sa": FAIL,
        "everyone": FAIL,
        "nodes": FAIL,
    }
    # the built-in binding with one more subject is evaluated, and says why it is not exempt
    [changed] = findings(tmp_path, "K8S-07", [backdoored])
    assert changed.status is FAIL and "User:mallory" in changed.message
    assert "subjects differ from the bootstrap policy (added: User:mallory)" in changed.message
    # the label alone on another name is no exemption
    copied = admin("cluster-admin-2", user("eve"))
    copied["metadata"]["labels"] = dict(DEFAULTS)
    [copy_finding] = findings(tmp_path, "K8S-07", [copied])
    assert (
        copy_finding.status is FAIL
        and "labelled kubernetes.io/bootstrapping=rbac-defaults but not" in copy_finding.message
    )


# -- K8S-08 -----------------------------------------------------------------------------------------


def test_k8s_08_builtin_roles_are_exempt_only_when_unchanged(tmp_path: Path) -> None:
    gc = builtin("ClusterRole/system:controller:generic-garbage-collector")  # really has apiGroups/resources *
    widened = builtin("ClusterRole/system:controller:namespace-controller")
    widened["rules"].append(rule(["secrets"], ["get"]))  # covered by its own rules: still exact
    widened["rules"].append(rule(["pods/exec"], ["create"]))  # not covered
    unlabelled = builtin("ClusterRole/system:controller:generic-garbage-collector")
    unlabelled["metadata"]["name"] = "system:controller:gc-copy"
    objects = [gc, widened, unlabelled, role("Role", "scaler", [rule(["*/scale"], ["update"], "apps")], "team-a")]
    found = by_name(tmp_path, "K8S-08", objects)
    assert found["system:controller:generic-garbage-collector"].status is NA
    assert "Kubernetes v1." in found["system:controller:generic-garbage-collector"].message
    assert found["system:controller:namespace-controller"].status is FAIL  # its rules have '*' verbs
    assert (
        "rules the bootstrap policy does not have (create pods/exec"
        in found["system:controller:namespace-controller"].message
    )
    assert found["system:controller:gc-copy"].status is FAIL
    assert found["team-a/scaler"].status is FAIL  # '*/scale' is a wildcard over resources


# -- K8S-09 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([rule(["pods/exec"], ["create"])], "create pods/exec"),
        ([rule(["pods/exec"], ["get"])], "get pods/exec"),  # the websocket form of exec
        ([rule(["pods/attach"], ["create"])], "create pods/attach"),
        ([rule(["pods/ephemeralcontainers"], ["patch"])], "patch pods/ephemeralcontainers"),
        ([rule(["*/exec"], ["create"])], "create pods/exec"),
        ([rule(["deployments"], ["patch"], "apps")], "patch deployments"),
        ([rule(["daemonsets"], ["create"], "apps")], "create daemonsets"),
        ([rule(["statefulsets"], ["update"], "apps")], "update statefulsets"),
        ([rule(["replicasets"], ["create"], "apps")], "create replicasets"),
        ([rule(["jobs", "cronjobs"], ["create"], "batch")], "create cronjobs"),
        ([rule(["replicationcontrollers"], ["create"])], "create replicationcontrollers"),
        ([rule(["pods"], ["create"])], "create pods"),
        ([rule(["pods"], ["patch"])], "patch pods"),
        ([rule(["nodes"], ["patch"])], "patch nodes"),
        ([rule(["nodes/proxy"], ["get"])], "get nodes/proxy"),
        ([rule(["persistentvolumes"], ["create"])], "create persistentvolumes"),
        (
            [rule(["validatingwebhookconfigurations"], ["delete"], "admissionregistration.k8s.io")],
            "delete validatingwebhookconfigurations",
        ),
        (
            [rule(["mutatingwebhookconfigurations"], ["create"], "admissionregistration.k8s.io")],
            "create mutatingwebhookconfigurations",
        ),
        (
            [rule(["certificatesigningrequests/approval"], ["update"], "certificates.k8s.io")],
            "update certificatesigningrequests/approval",
        ),
        (
            [rule(["signers"], ["approve"], "certificates.k8s.io", ["kubernetes.io/kube-apiserver-client"])],
            "approve signers",
        ),
        ([rule(["signers"], ["sign"], "certificates.k8s.io")], "sign signers"),
        ([rule(["users", "groups"], ["impersonate"])], "impersonate groups"),
        ([rule(["serviceaccounts"], ["impersonate"])], "impersonate serviceaccounts"),
        ([rule(["userextras/scopes"], ["impersonate"], "authentication.k8s.io")], "impersonate userextras/*"),
        ([rule(["uids"], ["impersonate"], "authentication.k8s.io")], "impersonate uids"),
        ([rule(["secrets"], ["watch"])], "watch secrets"),
        ([rule(["roles"], ["escalate"], RBAC, ["app"])], "escalate roles named app"),
        ([rule(["serviceaccounts/token"], ["create"])], "create serviceaccounts/token"),
        ([rule(["*"], ["*"], "*")], "* *"),
    ],
)
def test_k8s_09_dangerous_permissions(tmp_path: Path, rules: list[dict[str, Any]], expected: str) -> None:
    [finding] = findings(tmp_path, "K8S-09", [role("Role", "r", rules, "team-a")])
    assert finding.status is FAIL, finding.message
    assert expected in finding.message and "[" in finding.message  # severity and what it gives


@pytest.mark.parametrize(
    "rules",
    [
        [rule(["nodes/*"], ["get"])],  # 'nodes/*' matches only a subresource literally named '*'
        [rule(["pods"], ["create"], names=["web"])],  # create never carries a name
        [rule(["persistentvolumes"], ["create"], names=["pv"])],
        [rule(["secrets"], ["get"], names=["tls"])],  # which secret holds what is not in the evidence
        [rule(["pods", "pods/log"], ["get", "list", "watch"])],
        [rule(["deployments"], ["get", "list"], "apps")],
        [rule(["nodes/status"], ["patch"])],
        [rule(["pods/exec"], ["create"], "apps")],  # wrong API group
    ],
)
def test_k8s_09_harmless_permissions(tmp_path: Path, rules: list[dict[str, Any]]) -> None:
    [finding] = findings(tmp_path, "K8S-09", [role("Role", "r", rules, "team-a")])
    assert finding.status is PASS, finding.message


def test_k8s_09_resource_names_are_judged_by_what_they_name(tmp_path: Path) -> None:
    objects = [
        role("ClusterRole", "bind-admin", [rule(["clusterroles"], ["bind"], RBAC, ["cluster-admin"])]),
        role("ClusterRole", "bind-view", [rule(["clusterroles"], ["bind"], RBAC, ["view"])]),
        role("ClusterRole", "bind-edit", [rule(["clusterroles"], ["bind"], RBAC, ["edit"])]),
        role("ClusterRole", "bind-unknown", [rule(["clusterroles"], ["bind"], RBAC, ["not-here"])]),
        role("ClusterRole", "be-masters", [rule(["groups"], ["impersonate"], names=["system:masters"])]),
        role("ClusterRole", "be-readers", [rule(["groups"], ["impersonate"], names=["readers"])]),
        role("ClusterRole", "be-alice", [rule(["users"], ["impersonate"], names=["alice"])]),
        role("ClusterRole", "be-bob", [rule(["users"], ["impersonate"], names=["bob"])]),
        role("Role", "deployer-token", [rule(["serviceaccounts/token"], ["create"], names=["deployer"])], "ci"),
        role("Role", "reader-token", [rule(["serviceaccounts/token"], ["create"], names=["reader"])], "ci"),
        role("Role", "one-deployment", [rule(["deployments"], ["patch"], "apps", ["web"])], "ci"),
        binding("ClusterRoleBinding", "readers", "ClusterRole", "view", [group("readers")]),
        binding("ClusterRoleBinding", "alice", "ClusterRole", "cluster-admin", [user("alice")]),
        binding("RoleBinding", "deployer", "ClusterRole", "edit", [sa("deployer", "ci")], "ci"),
        binding("RoleBinding", "reader", "ClusterRole", "view", [sa("reader", "ci")], "ci"),
    ]
    found = by_name(tmp_path, "K8S-09", objects)
    roles = {
        n: f
        for n, f in found.items()
        if n
        in {
            "bind-admin",
            "bind-view",
            "bind-edit",
            "bind-unknown",
            "be-masters",
            "be-readers",
            "be-alice",
            "be-bob",
            "ci/deployer-token",
            "ci/reader-token",
            "ci/one-deployment",
        }
    }
    assert {n: f.status for n, f in roles.items()} == {
        "bind-admin": FAIL,  # cluster-admin is not in the input: judged on its built-in rules
        "bind-view": PASS,
        "bind-edit": FAIL,
        "bind-unknown": NA,  # offline: the named role is not in the input
        "be-masters": FAIL,
        "be-readers": PASS,
        "be-alice": FAIL,
        "be-bob": PASS,
        "ci/deployer-token": FAIL,
        "ci/reader-token": PASS,
        "ci/one-deployment": FAIL,
    }
    assert (
        "named cluster-admin" in roles["bind-admin"].message
        and "the role grants everything (cluster-admin)" in roles["bind-admin"].message
    )
    assert "system:masters is allowed everything" in roles["be-masters"].message
    assert "ServiceAccount ci/deployer: can " in roles["ci/deployer-token"].message
    assert "cannot be judged offline" in roles["bind-unknown"].message
    # live, a role that is not in the complete listing does not exist: binding it grants nothing
    live = {f.resource.name: f.status for f in findings_as_live(tmp_path, "K8S-09", objects)}
    assert live["bind-unknown"] is PASS and live["bind-admin"] is FAIL
    assert "over the named objects" in roles["ci/one-deployment"].message


def test_k8s_09_aggregated_roles_are_judged_on_what_aggregation_gives_them(tmp_path: Path) -> None:
    objects = [
        aggregated_role("platform", {"example.org/platform": "true"}),
        role("ClusterRole", "secrets", [rule(["secrets"], ["list"])], labels={"example.org/platform": "true"}),
    ]
    found = by_name(tmp_path, "K8S-09", objects)
    assert found["platform"].status is FAIL and "list secrets" in found["platform"].message
    assert found["secrets"].status is FAIL


# -- K8S-10 -----------------------------------------------------------------------------------------


def test_k8s_10_a_changed_discovery_role_is_not_the_discovery_role(tmp_path: Path) -> None:
    discovery = builtin("ClusterRole/system:discovery")
    discovery["rules"].append(rule(["secrets"], ["get"]))
    objects = [discovery, builtin("ClusterRoleBinding/system:discovery")]
    [finding] = [f for f in findings(tmp_path, "K8S-10", objects) if f.resource.kind == "ClusterRoleBinding"]
    assert finding.status is FAIL and "rules the bootstrap policy does not have" in finding.message
    unchanged = [builtin("ClusterRole/system:discovery"), builtin("ClusterRoleBinding/system:discovery")]
    assert set(statuses(tmp_path, "K8S-10", unchanged).values()) == {PASS}


# -- K8S-45 -----------------------------------------------------------------------------------------


def test_k8s_45_workloads_are_followed_to_what_their_service_account_can_do(tmp_path: Path) -> None:
    objects = [
        *deployment_family("web", good_spec(serviceAccountName="web")),
        workload("Deployment", "api", good_spec(serviceAccountName="api")),
        workload("Deployment", "plain", {k: v for k, v in good_spec().items() if k != "serviceAccountName"}, "team-b"),
        workload("DaemonSet", "agent", good_spec(serviceAccountName="agent"), "kube-system"),
        pod("debugger", good_spec(serviceAccountName="debugger"), "team-c"),
        workload("Deployment", "reader", good_spec(serviceAccountName="reader")),
        workload("Deployment", "operator", good_spec(serviceAccountName="operator"), "ops"),
        # edit in team-a (not in the input: judged on its built-in rules)
        binding("RoleBinding", "web-edit", "ClusterRole", "edit", [sa("web", "team-a")], "team-a"),
        # a User subject spelled like the default account's user name is that account
        binding(
            "ClusterRoleBinding", "oops", "ClusterRole", "cluster-admin", [user("system:serviceaccount:team-b:default")]
        ),
        binding("ClusterRoleBinding", "agent", "ClusterRole", "node-patcher", [sa("agent", "kube-system")]),
        role("ClusterRole", "node-patcher", [rule(["nodes"], ["patch"])]),
        # every service account of team-c may exec
        binding("RoleBinding", "team-c-exec", "Role", "exec", [group("system:serviceaccounts:team-c")], "team-c"),
        role("Role", "exec", [rule(["pods/exec"], ["create"])], "team-c"),
        binding("RoleBinding", "reader", "ClusterRole", "view", [sa("reader", "team-a")], "team-a"),
        # api's harmless role in team-a, and a dangerous one only in another namespace
        binding("RoleBinding", "api", "Role", "cm", [sa("api", "team-a")], "team-a"),
        role("Role", "cm", [rule(["configmaps"], ["get"])], "team-a"),
        binding("ClusterRoleBinding", "operator", "ClusterRole", "cluster-admin", [sa("operator", "ops")]),
    ]
    found = by_name(tmp_path, "K8S-45", objects)
    assert {n: f.status for n, f in found.items()} == {
        "team-a/web": FAIL,
        "team-a/api": PASS,
        "team-b/plain": FAIL,
        "kube-system/agent": FAIL,  # no namespace is exempt
        "team-c/debugger": FAIL,
        "team-a/reader": PASS,
        "ops/operator": FAIL,
    }
    web = found["team-a/web"].message
    assert "ServiceAccount team-a/web" in web and "get/list/watch secrets in namespace team-a" in web
    assert "via RoleBinding team-a/web-edit" in web and "create/get pods/exec" in web
    assert "[critical] impersonate serviceaccounts in namespace team-a" in web  # edit may impersonate accounts
    assert (
        "ClusterRoleBinding oops" in found["team-b/plain"].message and "cluster-admin" in found["team-b/plain"].message
    )
    assert "via RoleBinding team-c/team-c-exec" in found["team-c/debugger"].message
    # the ReplicaSet and pods of web are judged through web's template, not reported again
    assert not [n for n in found if n.startswith("team-a/web-")]
    allowed = by_name(tmp_path, "K8S-45", objects, allowed_service_accounts=["ops/operator"])
    assert allowed["ops/operator"].status is NA and "allow-listed" in allowed["ops/operator"].message
    assert allowed["team-a/web"].status is FAIL


def test_k8s_45_offline_input_without_bindings_is_not_applicable(tmp_path: Path) -> None:
    [finding] = findings(tmp_path, "K8S-45", [workload("Deployment", "web", good_spec())])
    assert finding.status is NA and "offline input" in finding.message


# -- K8S-46 -----------------------------------------------------------------------------------------


def test_k8s_46_broad_groups(tmp_path: Path) -> None:
    objects = [
        binding("ClusterRoleBinding", "all-sa-edit", "ClusterRole", "edit", [group("system:serviceaccounts")]),
        binding("RoleBinding", "ns-sa-pods", "Role", "pods", [group("system:serviceaccounts:team-a")], "team-a"),
        role("Role", "pods", [rule(["pods"], ["create"])], "team-a"),
        binding("ClusterRoleBinding", "all-sa-view", "ClusterRole", "view", [group("system:serviceaccounts")]),
        binding("ClusterRoleBinding", "anon-tokens", "ClusterRole", "tokens", [user("system:anonymous")]),
        role("ClusterRole", "tokens", [rule(["serviceaccounts/token"], ["create"])]),
        builtin("ClusterRoleBinding/system:discovery"),  # the role is filled in from the bootstrap policy
        binding("ClusterRoleBinding", "unknown", "ClusterRole", "made-up", [group("system:authenticated")]),
        binding("ClusterRoleBinding", "team", "ClusterRole", "edit", [group("team-a-devs")]),  # not broad
        binding("ClusterRoleBinding", "nodes", "ClusterRole", "tokens", [group("system:nodes")]),
        binding(
            "RoleBinding", "boot", "Role", "pods", [group("system:bootstrappers:kubeadm:default-node-token")], "team-a"
        ),
    ]
    assert statuses(tmp_path, "K8S-46", objects) == {
        "ClusterRoleBinding all-sa-edit": FAIL,
        "RoleBinding team-a/ns-sa-pods": FAIL,
        "ClusterRoleBinding all-sa-view": PASS,
        "ClusterRoleBinding anon-tokens": FAIL,
        "ClusterRoleBinding system:discovery": PASS,
        "ClusterRoleBinding unknown": NA,
        "ClusterRoleBinding nodes": FAIL,
        "RoleBinding team-a/boot": FAIL,
    }


# -- K8S-47 -----------------------------------------------------------------------------------------


def test_k8s_47_who_holds_dangerous_permissions(tmp_path: Path) -> None:
    extra = builtin("ClusterRoleBinding/system:controller:generic-garbage-collector")
    extra["subjects"].append(sa("default", "team-a"))
    objects = [
        builtin("ClusterRoleBinding/system:controller:generic-garbage-collector"),
        builtin("RoleBinding/kube-system/system::leader-locking-kube-scheduler"),
        extra | {"metadata": {**extra["metadata"], "name": "gc-copy"}},
        binding("RoleBinding", "ci-edit", "ClusterRole", "edit", [user("ci-robot")], "prod"),
        binding("ClusterRoleBinding", "ops", "ClusterRole", "ops-everything", [group("ops")]),
        role("ClusterRole", "ops-everything", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}]),
        binding("ClusterRoleBinding", "my-admin", "ClusterRole", "my-admin", [user("eve")]),
        role("ClusterRole", "my-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
        binding("ClusterRoleBinding", "viewers", "ClusterRole", "view", [group("viewers")]),
    ]
    found = by_name(tmp_path, "K8S-47", objects)
    assert {n: f.status for n, f in found.items()} == {
        "system:controller:generic-garbage-collector": NA,
        "kube-system/system::leader-locking-kube-scheduler": NA,
        "gc-copy": FAIL,
        "prod/ci-edit": FAIL,
        "ops": FAIL,
        "my-admin": FAIL,
        "viewers": PASS,
    }
    assert "[critical] * * in every namespace: every verb on every resource: cluster-admin" in found["my-admin"].message
    assert "get secrets in every namespace" in found["ops"].message
    allowed = by_name(tmp_path, "K8S-47", objects, allowed_subjects=["User:ci-robot"])
    assert allowed["prod/ci-edit"].status is NA


# -- K8S-48 -----------------------------------------------------------------------------------------


def test_k8s_48_aggregation(tmp_path: Path) -> None:
    objects = [
        builtin("ClusterRole/view"),
        builtin("ClusterRole/edit"),
        builtin("ClusterRole/system:aggregate-to-view"),
        role(
            "ClusterRole",
            "crd-viewer",
            [rule(["widgets"], ["get"], "example.org")],
            labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"},
        ),
        role(
            "ClusterRole",
            "crd-secrets",
            [rule(["secrets"], ["get"])],
            labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"},
        ),
        role(
            "ClusterRole",
            "edit-extra",
            [rule(["secrets"], ["get"]), rule(["nodes"], ["patch"])],
            labels={"rbac.authorization.k8s.io/aggregate-to-edit": "true"},
        ),
        aggregated_role("monitoring", {"example.org/aggregate-to-monitoring": "true"}),
        role(
            "ClusterRole",
            "monitoring-pods",
            [rule(["pods"], ["list"])],
            labels={"example.org/aggregate-to-monitoring": "true"},
        ),
        aggregated_role("greedy", {}),
    ]
    objects[-1]["aggregationRule"] = {"clusterRoleSelectors": [{}]}  # selects every ClusterRole
    found = by_name(tmp_path, "K8S-48", objects)
    assert {n: f.status for n, f in found.items()} == {"view": FAIL, "edit": FAIL, "monitoring": PASS, "greedy": FAIL}
    assert "from ClusterRole crd-secrets: [high] get secrets" in found["view"].message
    assert "crd-viewer" not in found["view"].message
    # edit already reads secrets: only the new power (nodes patch) of edit-extra counts
    assert "patch nodes" in found["edit"].message and "secrets" not in found["edit"].message
    broken = aggregated_role("broken", {"a": "b"})
    broken["aggregationRule"] = {"clusterRoleSelectors": "everything"}
    assert statuses(tmp_path, "K8S-48", [broken]) == {"ClusterRole broken": ERROR}


@pytest.mark.parametrize("control_id", ["K8S-45", "K8S-46", "K8S-47", "K8S-48"])
def test_explain_and_offline_not_applicable(tmp_path: Path, control_id: str) -> None:
    control = baseline_controls()[control_id]
    assert control.remediation and "exempt" not in control.remediation.lower()
    [finding] = findings(tmp_path, control_id, [workload("Deployment", "web", good_spec())])
    assert finding.status is NA and "offline input" in finding.message


def test_k8s_45_a_fragment_without_a_pod_spec_is_error(tmp_path: Path) -> None:
    fragment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "patch", "namespace": "team-a"}}
    objects = [fragment, binding("RoleBinding", "b", "ClusterRole", "view", [sa("default", "team-a")], "team-a")]
    [finding] = findings(tmp_path, "K8S-45", objects)
    assert finding.status is ERROR and "cannot be judged" in finding.message


def test_allow_lists_of_roles_and_accounts_take_exact_names_only() -> None:
    import jsonschema

    from checks.kubernetes import rbac

    for spec, param in ((rbac.rbac_dangerous, "allowed_roles"), (rbac.workload_rbac, "allowed_service_accounts")):
        jsonschema.validate({param: ["argocd-controller", "ops/operator"]}, spec.params_schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({param: ["argocd-*"]}, spec.params_schema)


def test_k8s_45_a_binding_to_a_role_not_in_the_input_cannot_be_judged_offline(tmp_path: Path) -> None:
    objects = [
        workload("Deployment", "web", good_spec(serviceAccountName="web")),
        binding("RoleBinding", "web", "Role", "somewhere-else", [sa("web", "team-a")], "team-a"),
    ]
    [offline] = findings(tmp_path, "K8S-45", objects)
    assert offline.status is NA and "RoleBinding team-a/web (Role team-a/somewhere-else)" in offline.message
    [live] = findings_as_live(tmp_path, "K8S-45", objects)
    assert live.status is PASS


def test_k8s_09_named_grants_across_namespaces(tmp_path: Path) -> None:
    objects = [
        # a token for `deployer` of any namespace: deployer of ci is cluster-admin through a ClusterRoleBinding
        role("ClusterRole", "any-deployer-token", [rule(["serviceaccounts/token"], ["create"], names=["deployer"])]),
        binding("ClusterRoleBinding", "deployer", "ClusterRole", "cluster-admin", [sa("deployer", "ci")]),
        # bind on Roles named `ops` in every namespace: the Role ops of team-a may exec
        role("ClusterRole", "bind-ops", [rule(["roles"], ["bind"], RBAC, ["ops"])]),
        role("Role", "ops", [rule(["pods/exec"], ["create"])], "team-a"),
        # bind on ClusterRoles named `ops`: there is none, and the Role of that name does not count
        role("ClusterRole", "bind-cluster-ops", [rule(["clusterroles"], ["bind"], RBAC, ["ops"])]),
    ]
    found = by_name(tmp_path, "K8S-09", objects)
    assert found["any-deployer-token"].status is FAIL
    assert "ServiceAccount ci/deployer: can everything (cluster-admin)" in found["any-deployer-token"].message
    assert found["bind-ops"].status is FAIL and "the role grants create pods/exec" in found["bind-ops"].message
    assert found["bind-cluster-ops"].status is NA  # offline: a ClusterRole ops may exist on the cluster
    live = {f.resource.name: f.status for f in findings_as_live(tmp_path, "K8S-09", objects)}
    assert live["bind-cluster-ops"] is PASS and live["bind-ops"] is FAIL


def test_k8s_10_kubeadm_cluster_info_reader_only_while_unchanged(tmp_path: Path) -> None:
    reader = role(
        "Role",
        "kubeadm:bootstrap-signer-clusterinfo",
        [rule(["configmaps"], ["get"], names=["cluster-info"])],
        "kube-public",
    )
    bound = binding(
        "RoleBinding",
        "kubeadm:bootstrap-signer-clusterinfo",
        "Role",
        "kubeadm:bootstrap-signer-clusterinfo",
        [user("system:anonymous")],
        "kube-public",
    )
    [ok] = findings(tmp_path, "K8S-10", [reader, bound])
    assert ok.status is PASS and "kubeadm's" in ok.message
    widened = copy.deepcopy(reader)
    widened["rules"].append(rule(["secrets"], ["get"]))
    [changed] = findings(tmp_path, "K8S-10", [widened, bound])
    assert changed.status is FAIL and "get secrets" in changed.message
    elsewhere = copy.deepcopy(bound)
    elsewhere["metadata"]["namespace"] = "team-a"  # the same names in another namespace are not kubeadm's
    other = copy.deepcopy(reader)
    other["metadata"]["namespace"] = "team-a"
    assert set(statuses(tmp_path, "K8S-10", [other, elsewhere]).values()) == {FAIL}
    [unknown] = findings(tmp_path, "K8S-10", [bound])
    assert unknown.status is NA
