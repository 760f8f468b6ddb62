"""Attacker-style tests: every way the workload controls could be walked around by choosing names.

Each test builds what an attacker who may create objects (or write a manifest in a repository the
CI scans) would write, and asserts that the object is still evaluated; and that the legitimate
built-in objects Kubernetes itself creates are exempt only by their exact identity, reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from scanner.model import Finding, Status
from tests.kubernetes.k8s_objects import (
    DENY_ALL,
    by_resource,
    container,
    good_spec,
    namespace,
    network_policy,
    offline_findings,
    owner,
    pod,
    static_pod,
    workload,
)

PASS, FAIL, ERROR, NA = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_APPLICABLE
_counter = itertools.count()

PRIVILEGED = good_spec(containers=[container(name="miner", securityContext={"privileged": True})])


def run(tmp_path: Path, control_id: str, objects: Sequence[Any], dump: bool = False, **params: Any) -> list[Finding]:
    """One control of the built-in baseline on the objects, collected offline."""
    suffix = "json" if dump else "yaml"
    return offline_findings(tmp_path / f"case{next(_counter)}.{suffix}", control_id, objects, dump=dump, **params)


@pytest.mark.parametrize("dump", [False, True], ids=["manifests", "dump"])
def test_a_forged_owner_reference_does_not_hide_a_pod(tmp_path: Path, dump: bool) -> None:
    web = workload("Deployment", "web", good_spec(), "team-a")
    by_name = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "controller": True}]  # no UID
    wrong_uid = [{**by_name[0], "uid": "uid-guessed"}]
    real_uid = owner("Deployment", "web")  # the Deployment's real UID, but the pod runs another spec
    objects = [
        web,
        pod("by-name", PRIVILEGED, owners=by_name),
        pod("wrong-uid", PRIVILEGED, owners=wrong_uid),
        pod("real-uid", PRIVILEGED, owners=real_uid),
    ]
    found = {f.resource.name: f for f in run(tmp_path, "K8S-13", objects, dump=dump)}
    assert {k: f.status for k, f in found.items()} == {
        "team-a/web": PASS,
        "team-a/by-name": FAIL,
        "team-a/wrong-uid": FAIL,
        "team-a/real-uid": FAIL,
    }
    assert "carries no UID" in found["team-a/by-name"].message
    assert "is not in the evidence (matched by UID)" in found["team-a/wrong-uid"].message
    assert "differs from the template of its controller Deployment team-a/web" in found["team-a/real-uid"].message


def test_an_owner_uid_of_another_namespace_or_kind_does_not_count(tmp_path: Path) -> None:
    other = workload("Deployment", "web", PRIVILEGED, "team-b")
    borrowed = [{**owner("Deployment", "web", "team-b")[0]}]  # team-b's UID, used in team-a
    as_replicaset = [{**owner("Deployment", "web", "team-b")[0], "kind": "ReplicaSet"}]
    objects = [other, pod("p1", PRIVILEGED, "team-a", borrowed), pod("p2", PRIVILEGED, "team-b", as_replicaset)]
    statuses = by_resource(run(tmp_path, "K8S-13", objects))
    assert statuses == {"Deployment team-b/web": FAIL, "Pod team-a/p1": FAIL, "Pod team-b/p2": FAIL}


def test_the_controller_chain_is_followed_by_uid(tmp_path: Path) -> None:
    """Pod -> ReplicaSet -> Deployment: each link by UID and template; a link that breaks is evaluated."""
    good, bad = good_spec(), PRIVILEGED
    objects = [
        workload("Deployment", "web", good, "team-a"),
        # an old ReplicaSet (a previous template): its owner is real, its spec differs
        workload("ReplicaSet", "web-old", bad, "team-a", owner("Deployment", "web")),
        pod("web-old-a", bad, "team-a", owner("ReplicaSet", "web-old")),  # exactly its ReplicaSet's template
        workload("ReplicaSet", "web-new", good, "team-a", owner("Deployment", "web")),
        pod("web-new-a", good, "team-a", owner("ReplicaSet", "web-new")),
    ]
    statuses = by_resource(run(tmp_path, "K8S-13", objects))
    # the old ReplicaSet carries the privileged template and is reported; its pod is its template
    assert statuses == {"Deployment team-a/web": PASS, "ReplicaSet team-a/web-old": FAIL}


def test_what_admission_adds_to_a_pod_does_not_make_it_a_stranger(tmp_path: Path) -> None:
    """The ServiceAccount token volume, the default account, LimitRanger limits and StatefulSet claims
    are what the API server adds: such pods stay their controller's, and are not reported twice."""
    template = good_spec(serviceAccountName=None, containers=[container(resources={})])
    running = good_spec(
        serviceAccountName="default",
        containers=[container(resources={"limits": {"cpu": "1", "memory": "1Gi"}})],
        volumes=[
            {"name": "tmp", "emptyDir": {}},
            {"name": "kube-api-access-x7k2q", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}},
        ],
    )
    objects = [
        workload("StatefulSet", "db", template, "team-a"),
        pod("db-0", running, "team-a", owner("StatefulSet", "db")),
    ]
    assert by_resource(run(tmp_path, "K8S-13", objects)) == {"StatefulSet team-a/db": PASS}
    # but a sidecar an injector added is a container the template does not have: evaluated
    injected = good_spec(
        containers=[*running["containers"], container(name="proxy", securityContext={"privileged": True})]
    )
    objects[1] = pod("db-0", injected, "team-a", owner("StatefulSet", "db"))
    assert by_resource(run(tmp_path, "K8S-13", objects)) == {"StatefulSet team-a/db": PASS, "Pod team-a/db-0": FAIL}


def kube_proxy(name: str = "kube-proxy", labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """kube-proxy's DaemonSet as kubeadm creates it (privileged, hostNetwork, hostPath)."""
    spec = {
        "hostNetwork": True,
        "serviceAccountName": "kube-proxy",
        "containers": [
            {
                "name": "kube-proxy",
                "image": "registry.k8s.io/kube-proxy:v1.35.1",
                "securityContext": {"privileged": True},
            }
        ],
        "volumes": [{"name": "xtables-lock", "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}}],
    }
    obj = workload("DaemonSet", name, spec, "kube-system")
    obj["metadata"]["labels"] = dict({"k8s-app": "kube-proxy"} if labels is None else labels)
    return obj


def test_kube_system_is_not_exempt_only_built_in_identities_are(tmp_path: Path) -> None:
    objects = [
        kube_proxy(),  # the real one: exempt for K8S-13 with the reason written in the baseline
        kube_proxy("kube-proxy-helper"),  # same labels, another name
        kube_proxy(labels={"app": "kube-proxy"}),  # the name, not the labels
        workload("DaemonSet", "backdoor", PRIVILEGED, "kube-system"),
        kube_proxy() | {"metadata": {**kube_proxy()["metadata"], "namespace": "team-a"}},  # another namespace
    ]
    found = run(tmp_path, "K8S-13", objects)
    statuses = [(f.resource.name, f.status.value) for f in found]
    assert sorted(statuses) == sorted(
        [
            ("kube-system/kube-proxy", "NOT_APPLICABLE"),
            ("kube-system/kube-proxy-helper", "FAIL"),
            ("kube-system/kube-proxy", "FAIL"),  # the mislabelled one (same name in another document)
            ("kube-system/backdoor", "FAIL"),
            ("team-a/kube-proxy", "FAIL"),
        ]
    )
    [exempt] = [f for f in found if f.status is NA]
    assert "built-in DaemonSet kube-system/kube-proxy with labels k8s-app=kube-proxy" in exempt.message
    assert "programs the node's packet filter" in exempt.message  # the baseline's written reason


def test_static_pods_are_exempt_only_as_mirror_pods_of_their_node(tmp_path: Path) -> None:
    real = static_pod("kube-apiserver", ["--anonymous-auth=false"])
    no_owner = static_pod("kube-apiserver", [], node="cp-2")
    no_owner["metadata"].pop("ownerReferences")
    wrong_node = static_pod("kube-apiserver", [], node="cp-3")
    wrong_node["metadata"]["name"] = "kube-apiserver-evil"  # its Node owner is cp-3
    statuses = by_resource(run(tmp_path, "K8S-14", [real, no_owner, wrong_node]))
    assert statuses == {
        "Pod kube-system/kube-apiserver-cp-1": NA,
        "Pod kube-system/kube-apiserver-cp-2": FAIL,
        "Pod kube-system/kube-apiserver-evil": FAIL,
    }


def test_users_allow_list_by_uid_and_every_skip_is_reported(tmp_path: Path) -> None:
    agent = workload("DaemonSet", "agent", good_spec(hostPID=True), "monitoring")
    impostor = workload("DaemonSet", "agent", good_spec(hostPID=True), "team-a")  # same name, other UID
    exempt = [{"uid": agent["metadata"]["uid"], "reason": "node exporter reviewed in SEC-123"}]
    found = run(tmp_path, "K8S-14", [agent, impostor], exempt_uids=exempt)
    assert by_resource(found) == {"DaemonSet monitoring/agent": NA, "DaemonSet team-a/agent": FAIL}
    [skipped] = [f for f in found if f.status is NA]
    assert "exempted by UID uid-monitoring-agent: node exporter reviewed in SEC-123" in skipped.message


@pytest.mark.parametrize("dump", [False, True], ids=["manifests", "dump"])
def test_a_string_where_kubernetes_wants_a_boolean_is_invalid_input(tmp_path: Path, dump: bool) -> None:
    quoted = good_spec(containers=[container(securityContext={"privileged": "true"})])
    host = good_spec(hostNetwork="yes")
    objects = [workload("Deployment", "quoted", quoted), workload("Deployment", "host", host)]
    for control_id in ("K8S-13", "K8S-14", "K8S-25"):
        found = {f.resource.name: f for f in run(tmp_path, control_id, objects, dump=dump)}
        assert {k: f.status for k, f in found.items()} == {"team-a/quoted": ERROR, "team-a/host": ERROR}
        assert "spec.template.spec.containers[0].securityContext.privileged is 'true', not a boolean" in (
            found["team-a/quoted"].message
        )
        assert "spec.template.spec.hostNetwork is 'yes', not a boolean" in found["team-a/host"].message


def test_a_network_policy_of_the_wrong_shape_is_an_error_for_itself_only(tmp_path: Path) -> None:
    objects = [
        namespace("a"),
        network_policy("deny", "a", DENY_ALL),
        network_policy("broken", "a", {"podSelector": "app=web", "policyTypes": ["Ingress"]}),
        namespace("b"),
        network_policy("broken", "b", {"podSelector": ["x"], "policyTypes": ["Ingress", "Egress"]}),
        namespace("c"),
        network_policy("deny", "c", DENY_ALL),
    ]
    found = {f"{f.resource.kind} {f.resource.name}": f for f in run(tmp_path, "K8S-20", objects)}
    assert {k: f.status for k, f in found.items()} == {
        "NetworkPolicy a/broken": ERROR,
        "NetworkPolicy b/broken": ERROR,
        "Namespace a": PASS,  # its valid default deny decides
        "Namespace b": ERROR,  # only the invalid policy could have decided
        "Namespace c": PASS,
    }
    assert "spec.podSelector is 'app=web', not an object" in found["NetworkPolicy a/broken"].message


def test_an_allow_all_policy_cancels_the_default_deny(tmp_path: Path) -> None:
    def case(extra: Mapping[str, Any]) -> Status:
        objects = [namespace("a"), network_policy("deny", "a", DENY_ALL), network_policy("extra", "a", extra)]
        [finding] = run(tmp_path, "K8S-20", objects)
        return finding.status

    assert case({"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}) is FAIL
    assert (
        case({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})
        is FAIL
    )
    assert case({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}) is FAIL  # those pods are open
    # narrow allow rules are what a default deny is for
    assert (
        case({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]})
        is PASS
    )
    assert case({"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "lb"}}}]}]}) is PASS
    ex = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}],
    }
    assert case(ex) is PASS


def test_objects_with_a_kind_that_is_not_a_string_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "weird.yaml"
    path.write_text(
        "apiVersion: v1\nkind: [Pod]\nmetadata: {name: hidden}\nspec: {containers: [{name: a, image: x}]}\n"
        "---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web}\n"
    )
    from checks.kubernetes.plugin import PLUGIN
    from scanner.engine import evaluate_control
    from scanner.interface import Target
    from tests.kubernetes.k8s_objects import baseline_controls, registry, scanned

    evidence = scanned(PLUGIN.collect(Target(id="t", kind="kubernetes", url=f"manifests:{path}"), {}, 30.0))
    found = evaluate_control(baseline_controls()["K8S-42"], evidence, registry())
    assert sorted(f.status.value for f in found) == ["ERROR", "NOT_APPLICABLE"]
    [error] = [f for f in found if f.status is ERROR]
    assert f"{path.as_posix()}:1" in error.message and "kind is list, not a string" in error.message
    assert error.resource.location is not None and error.resource.location.line == 1
    [listed] = [f for f in found if f.status is NA]
    assert "Certificate (1)" in listed.message


def test_an_old_revision_scaled_to_zero_is_reported_and_its_pods_evaluated(tmp_path: Path) -> None:
    def replicaset(name: str, spec: Mapping[str, Any], owners: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        obj = workload("ReplicaSet", name, spec, "team-a", owners)
        obj["spec"]["replicas"] = 0
        return obj

    forged = [{**owner("Deployment", "web")[0], "uid": "uid-nobody"}]
    objects = [
        workload("Deployment", "web", good_spec(), "team-a"),
        replicaset("web-old", PRIVILEGED, owner("Deployment", "web")),
        pod("web-old-x", PRIVILEGED, owners=owner("ReplicaSet", "web-old")),  # still terminating
        replicaset("stray", PRIVILEGED, forged),  # claims the Deployment with a UID that is not there
    ]
    found = {f"{f.resource.kind} {f.resource.name}": f for f in run(tmp_path, "K8S-13", objects)}
    assert {k: f.status for k, f in found.items()} == {
        "Deployment team-a/web": PASS,
        "ReplicaSet team-a/web-old": NA,
        "Pod team-a/web-old-x": FAIL,
        "ReplicaSet team-a/stray": FAIL,
    }
    assert "old revision of Deployment team-a/web, scaled to zero" in found["ReplicaSet team-a/web-old"].message
    assert "is scaled to zero" in found["Pod team-a/web-old-x"].message


def test_a_pod_named_like_the_api_server_is_not_read_as_the_control_plane(tmp_path: Path) -> None:
    """Live (and in a dump of a live cluster) static pods are mirror pods of their Node; a pod anyone
    created with the name and labels does not make the API server's flags pass."""
    fake = static_pod("kube-apiserver", ["--anonymous-auth=false"])
    fake["metadata"].pop("ownerReferences")
    [dumped] = run(tmp_path, "K8S-01", [fake], dump=True)
    assert dumped.status is NA and "no kube-apiserver static pod" in dumped.message
    owned = static_pod("kube-apiserver", ["--anonymous-auth=false"])
    owned["metadata"]["ownerReferences"] = owner("DaemonSet", "x", "kube-system")
    [other] = run(tmp_path, "K8S-01", [owned])
    assert other.status is NA
    # the manifest files of /etc/kubernetes/manifests carry no owner: read offline as they are
    [manifest] = run(tmp_path, "K8S-01", [fake])
    assert manifest.status is PASS
    # and the fake is a workload like any other
    assert by_resource(run(tmp_path, "K8S-14", [fake], dump=True)) == {"Pod kube-system/kube-apiserver-cp-1": FAIL}


def test_apparmor_fields_copied_to_annotations_by_the_api_server_keep_a_pod_its_controllers(
    tmp_path: Path,
) -> None:
    confined = good_spec(containers=[container(securityContext={"appArmorProfile": {"type": "RuntimeDefault"}})])
    running = pod("web-a", confined, owners=owner("Deployment", "web"))
    running["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/app"] = "runtime/default"
    objects = [workload("Deployment", "web", confined), running]
    assert by_resource(run(tmp_path, "K8S-25", objects)) == {"Deployment team-a/web": PASS}
    # a pod that swaps the profile for an unconfined annotation is not its controller's
    swapped = pod("web-b", good_spec(), owners=owner("Deployment", "web"))
    swapped["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/app"] = "unconfined"
    assert by_resource(run(tmp_path, "K8S-25", [*objects, swapped])) == {
        "Deployment team-a/web": PASS,
        "Pod team-a/web-b": FAIL,
    }


def test_a_built_in_component_is_exempt_for_hostpath_only_with_its_own_paths(tmp_path: Path) -> None:
    real = kube_proxy()
    rooted = kube_proxy()
    rooted["spec"]["template"]["spec"]["volumes"].append({"name": "root", "hostPath": {"path": "/"}})
    assert by_resource(run(tmp_path, "K8S-15", [real])) == {"DaemonSet kube-system/kube-proxy": NA}
    [finding] = run(tmp_path, "K8S-15", [rooted])
    assert finding.status is FAIL and "mounts /" in finding.message
    assert by_resource(run(tmp_path, "K8S-25", [rooted])) == {"DaemonSet kube-system/kube-proxy": FAIL}
    # the exemption for privileged (K8S-13) names no paths: it still applies
    assert by_resource(run(tmp_path, "K8S-13", [rooted])) == {"DaemonSet kube-system/kube-proxy": NA}
