"""The live collector through the real `kubernetes` client against an HTTP-served API server."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.collect import list_method_name
from checks.kubernetes.kinds import KINDS
from checks.kubernetes.plugin import PLUGIN
from scanner.errors import CollectionError
from scanner.interface import Target
from scanner.model import Evidence, Status
from tests.kubernetes.k8s_objects import (
    GOOD_APISERVER_FLAGS,
    evaluate,
    sample_cluster,
    static_pod,
)
from tests.services.kubeapi import KubeAPIServer, self_signed_certificate, write_kubeconfig

TOKEN = "test-token-0123456789"
WORKLOAD_CONTROLS = ["K8S-11", "K8S-13", "K8S-14", "K8S-15", "K8S-16", "K8S-17", "K8S-18", "K8S-19", "K8S-21", "K8S-22"]
FLAG_CONTROLS = ["K8S-01", "K8S-02", "K8S-03", "K8S-04", "K8S-05"]

ServerFactory = Callable[..., KubeAPIServer]


@pytest.fixture
def kubeapi() -> Iterator[ServerFactory]:
    """Start test API servers on free ports; stop them afterwards."""
    started: list[KubeAPIServer] = []

    def start(objects: Any = None, **kwargs: Any) -> KubeAPIServer:
        kwargs.setdefault("token", TOKEN)
        server = KubeAPIServer(sample_cluster() if objects is None else objects, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def collect(server: KubeAPIServer, tmp_path: Path, page_size: int = 2, token: str = TOKEN) -> Evidence:
    """Collect through a kubeconfig context pointing at the server."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, token=token, context="test")
    target = PLUGIN.parse_target("test")
    target = Target(
        id=target.id, kind=target.kind, url=target.url, options={"kubeconfig": str(kubeconfig), "page_size": page_size}
    )
    return PLUGIN.collect(target, {}, 30.0)


def test_every_list_is_paginated_with_limit_and_continue(kubeapi: ServerFactory, tmp_path: Path) -> None:
    server = kubeapi()
    evidence = collect(server, tmp_path, page_size=2)
    assert not evidence.errors
    for info in KINDS:
        served = server.objects[info.resource]
        requests = server.list_requests(info.resource)
        assert len(requests) == max(1, math.ceil(len(served) / 2)), info.resource
        assert all(r.query.get("limit") == "2" for r in requests)
        assert "continue" not in requests[0].query
        assert all("continue" in r.query for r in requests[1:])
        assert len(evidence.sections[info.section]) == len(served)
    names = [p["metadata"]["name"] for p in evidence.sections["pods"]]
    assert len(names) == len(set(names)) == 10


def test_collector_only_reads_and_never_touches_secrets(kubeapi: ServerFactory, tmp_path: Path) -> None:
    server = kubeapi()
    evidence = collect(server, tmp_path, page_size=500)
    assert {r.method for r in server.requests} == {"GET"}
    assert all(r.authorized for r in server.requests)
    assert not [r for r in server.requests if "secrets" in r.path]
    configmap_reads = [r.path for r in server.requests if "configmaps" in r.path]
    assert configmap_reads == ["/api/v1/namespaces/kube-system/configmaps/kubelet-config"]
    dumped = json.dumps(dict(evidence.sections))
    assert "c3VwZXJzZWNyZXQtdmFsdWU" not in dumped  # the Secret's data
    assert "managedFields" not in dumped and "last-applied-configuration" not in dumped
    assert '"production"' not in dumped  # plain env values are not kept
    assert TOKEN not in dumped and TOKEN not in json.dumps(dict(evidence.metadata))
    assert evidence.sections["kubeletconfig"]["config"]["readOnlyPort"] == 0
    pods = {p["metadata"]["name"]: p for p in evidence.sections["pods"]}
    assert pods["api-5d4f8-a1"]["owned"] is True and "spec" not in pods["api-5d4f8-a1"]  # its Deployment is checked
    assert "spec" in pods["debug"] and "spec" in pods["kube-apiserver-cp-1"]  # no owner / a Node owns it
    [replicaset] = [r for r in evidence.sections["replicasets"] if r["metadata"]["name"] == "api-5d4f8"]
    assert replicaset["owned"] is True
    assert evidence.sections["version"]["gitVersion"] == "v1.35.1"
    assert evidence.uri == "k8s://test"


def test_list_methods_exist_in_the_client() -> None:
    from kubernetes import client

    for info in KINDS:
        class_name, method = list_method_name(info)
        assert hasattr(getattr(client, class_name), method), (class_name, method)


def test_forbidden_kind_makes_the_controls_that_need_it_error(kubeapi: ServerFactory, tmp_path: Path) -> None:
    server = kubeapi(forbidden=["deployments"])
    evidence = collect(server, tmp_path)
    reason = "permission denied: list deployments.apps (cluster-wide) is forbidden for the scanner's account"
    assert evidence.errors == {"deployments": reason}
    assert "deployments" not in evidence.sections
    findings = evaluate(evidence)
    for control_id in WORKLOAD_CONTROLS:
        statuses = {f.status for f in findings[control_id]}
        assert statuses == {Status.ERROR}, control_id
        assert reason in findings[control_id][0].message
    # controls that do not need Deployments are still evaluated
    assert {f.status for f in findings["K8S-20"]} == {Status.PASS, Status.FAIL, Status.NOT_APPLICABLE}
    assert Status.PASS in {f.status for f in findings["K8S-01"]}


def test_forbidden_rbac_and_pods(kubeapi: ServerFactory, tmp_path: Path) -> None:
    server = kubeapi(forbidden=["clusterroles", "pods"])
    evidence = collect(server, tmp_path)
    findings = evaluate(evidence)
    for control_id in ["K8S-08", "K8S-09", *FLAG_CONTROLS, "K8S-13"]:
        assert [f.status for f in findings[control_id]] == [Status.ERROR], control_id
    assert "list clusterroles.rbac.authorization.k8s.io (cluster-wide)" in findings["K8S-08"][0].message
    assert "list pods (cluster-wide)" in findings["K8S-01"][0].message  # control-plane flags come from pods
    assert {f.status for f in findings["K8S-07"]} == {Status.PASS, Status.FAIL}


def test_managed_control_plane_is_not_applicable(kubeapi: ServerFactory, tmp_path: Path) -> None:
    objects = [o for o in sample_cluster() if o["metadata"].get("namespace") != "kube-system" or o["kind"] != "Pod"]
    objects = [o for o in objects if o["kind"] != "ConfigMap"]
    evidence = collect(kubeapi(objects), tmp_path)
    findings = evaluate(evidence)
    for control_id in FLAG_CONTROLS:
        [finding] = findings[control_id]
        assert finding.status is Status.NOT_APPLICABLE
        assert "managed control plane" in finding.message
    [kubelet] = findings["K8S-06"]
    assert kubelet.status is Status.NOT_APPLICABLE and "kubelet-config" in kubelet.message


def test_bad_control_plane_flags_fail(kubeapi: ServerFactory, tmp_path: Path) -> None:
    flags = ["--anonymous-auth=true", "--authorization-mode=AlwaysAllow", "--audit-log-maxage=7"]
    objects = [o for o in sample_cluster() if not o["metadata"]["name"].startswith("kube-apiserver")]
    objects.append(static_pod("kube-apiserver", flags, node="cp-2"))
    objects.append(static_pod("kube-apiserver", GOOD_APISERVER_FLAGS, node="cp-3"))
    findings = evaluate(collect(kubeapi(objects), tmp_path))
    for control_id in FLAG_CONTROLS:
        by_pod = {f.resource.name: f.status for f in findings[control_id]}
        assert by_pod == {
            "kube-system/kube-apiserver-cp-2": Status.FAIL,
            "kube-system/kube-apiserver-cp-3": Status.PASS,
        }
    bad = next(f for f in findings["K8S-03"] if f.status is Status.FAIL)
    assert "--audit-policy-file unset" in bad.message


def test_kubelet_configmap_forbidden_is_error(kubeapi: ServerFactory, tmp_path: Path) -> None:
    evidence = collect(kubeapi(forbidden=["configmaps"]), tmp_path)
    [finding] = evaluate(evidence)["K8S-06"]
    assert finding.status is Status.ERROR
    assert "get configmaps kube-system/kubelet-config is forbidden" in finding.message


def test_version_forbidden_is_error(kubeapi: ServerFactory, tmp_path: Path) -> None:
    evidence = collect(kubeapi(forbidden=["version"]), tmp_path)
    [finding] = evaluate(evidence)["K8S-24"]
    assert finding.status is Status.ERROR and "get /version is forbidden" in finding.message


def test_old_version_fails(kubeapi: ServerFactory, tmp_path: Path) -> None:
    version = {"major": "1", "minor": "29", "gitVersion": "v1.29.6-eks-db838b0"}
    [finding] = evaluate(collect(kubeapi(version=version), tmp_path))["K8S-24"]
    assert finding.status is Status.FAIL and "v1.29.6-eks-db838b0" in finding.message


def test_expired_continue_token_restarts_the_list(kubeapi: ServerFactory, tmp_path: Path) -> None:
    server = kubeapi(expire_continue_once=["pods"])
    evidence = collect(server, tmp_path, page_size=3)
    requests = server.list_requests("pods")
    assert "continue" not in requests[0].query and "continue" in requests[1].query
    assert "continue" not in requests[2].query  # started again after 410 Gone
    names = [p["metadata"]["name"] for p in evidence.sections["pods"]]
    assert len(names) == len(set(names)) == 10
    assert len(evidence.sections["controlplane"]["apiserver"]) == 1


@pytest.mark.parametrize("plural", ["pods", "clusterrolebindings", "namespaces"])
def test_a_list_that_fails_after_its_first_page_is_an_error_not_a_shorter_list(
    kubeapi: ServerFactory, tmp_path: Path, plural: str
) -> None:
    server = kubeapi(fail_continue={plural: 500})
    evidence = collect(server, tmp_path, page_size=1)
    info = next(k for k in KINDS if k.resource == plural)
    assert len(server.objects[plural]) > 1  # so the failing page is not the first
    assert len(server.list_requests(plural)) == 2  # page 1 read, page 2 failed: no retry loop
    assert info.section not in evidence.sections  # the page read is not kept as if it were everything
    assert "HTTP 500" in evidence.errors[info.section] and "etcdserver" in evidence.errors[info.section]
    findings = evaluate(evidence)
    dependent = {
        "pods": ["K8S-01", "K8S-13"],
        "clusterrolebindings": ["K8S-07", "K8S-10"],
        "namespaces": ["K8S-12", "K8S-20"],
    }
    for control_id in dependent[plural]:
        assert {f.status for f in findings[control_id]} == {Status.ERROR}, control_id
        assert "HTTP 500" in findings[control_id][0].message


def test_complete_live_lists_without_rbac_objects_pass(kubeapi: ServerFactory, tmp_path: Path) -> None:
    objects = [o for o in sample_cluster() if o["kind"] not in ("ClusterRoleBinding", "RoleBinding", "Ingress")]
    evidence = collect(kubeapi(objects), tmp_path)
    assert not evidence.errors
    findings = evaluate(evidence)
    for control_id in ["K8S-07", "K8S-10", "K8S-23"]:  # every binding / Ingress was listed: none exists
        assert [f.status for f in findings[control_id]] == [Status.PASS], control_id
    # the same objects as a dump: the absence is the input's, not the cluster's
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": objects}), encoding="utf-8")
    target = PLUGIN.parse_target(f"dump:{dump}")
    offline = evaluate(PLUGIN.collect(Target(id="d", kind=target.kind, url=target.url), {}, 30.0))
    for control_id in ["K8S-07", "K8S-10", "K8S-23"]:
        assert [f.status for f in offline[control_id]] == [Status.NOT_APPLICABLE], control_id


def test_ephemeral_debug_container_in_a_deployments_pod_is_evaluated(kubeapi: ServerFactory, tmp_path: Path) -> None:
    objects = sample_cluster()
    owned = next(
        o
        for o in objects
        if o["kind"] == "Pod" and (o["metadata"].get("ownerReferences") or [{}])[0].get("kind") == "ReplicaSet"
    )
    debug = {"name": "debugger", "image": "busybox:1.36", "securityContext": {"privileged": True}}
    owned["spec"]["ephemeralContainers"] = [debug]
    evidence = collect(kubeapi(objects), tmp_path)
    [entry] = [p for p in evidence.sections["pods"] if p["metadata"]["name"] == owned["metadata"]["name"]]
    assert entry["owned"] is True and [c["name"] for c in entry["spec"]["ephemeralContainers"]] == ["debugger"]
    assert "containers" not in entry["spec"]  # the template's containers are judged on the Deployment
    findings = evaluate(evidence)
    [flagged] = [f for f in findings["K8S-13"] if f.resource.name.endswith("/" + owned["metadata"]["name"])]
    assert flagged.status is Status.FAIL and "ephemeralContainer 'debugger' is privileged" in flagged.message


def test_wrong_token_is_an_authentication_error(kubeapi: ServerFactory, tmp_path: Path) -> None:
    server = kubeapi()
    with pytest.raises(CollectionError) as raised:
        collect(server, tmp_path, token="wrong-token-value")
    assert raised.value.reason == CollectionError.AUTHENTICATION
    assert "wrong-token-value" not in str(raised.value)


def test_unreachable_server(kubeapi: ServerFactory, tmp_path: Path) -> None:
    server = kubeapi()
    url = server.url
    server.stop()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, token=TOKEN)
    target = Target(id="gone", kind="kubernetes", url="context:test", options={"kubeconfig": str(kubeconfig)})
    with pytest.raises(CollectionError) as raised:
        PLUGIN.collect(target, {}, 5.0)
    assert raised.value.reason == CollectionError.UNREACHABLE


def test_unknown_context_names_the_known_ones(kubeapi: ServerFactory, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kubeapi().url, token=TOKEN, context="prod")
    target = Target(id="x", kind="kubernetes", url="context:staging", options={"kubeconfig": str(kubeconfig)})
    with pytest.raises(CollectionError) as raised:
        PLUGIN.collect(target, {}, 5.0)
    assert raised.value.reason == CollectionError.CREDENTIALS
    assert "staging" in str(raised.value) and "prod" in str(raised.value)


def test_kubeconfig_from_environment_and_current_context(
    kubeapi: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kubeapi().url, token=TOKEN, context="envctx")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    target = PLUGIN.parse_target("context:")
    evidence = PLUGIN.collect(target, {}, 10.0)
    assert evidence.metadata["context"] == "envctx"
    assert len(evidence.sections["namespaces"]) == 3


def test_tls_kubeconfig_and_in_cluster_service_account(
    kubeapi: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server = kubeapi(tls=(cert, key))
    assert server.url.startswith("https://")
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, token=TOKEN, ca_file=cert)
    target = Target(id="tls", kind="kubernetes", url="context:test", options={"kubeconfig": str(kubeconfig)})
    assert not PLUGIN.collect(target, {}, 10.0).errors

    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN)
    (account / "ca.crt").write_bytes(cert.read_bytes())
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
    target = PLUGIN.parse_target("in-cluster")
    target = Target(id=target.id, kind=target.kind, url=target.url, options={"service_account_dir": str(account)})
    evidence = PLUGIN.collect(target, {}, 10.0)
    assert not evidence.errors and evidence.metadata["mode"] == "in-cluster"
    assert len(evidence.sections["pods"]) == 10


def test_tls_with_unknown_ca_is_a_tls_error(kubeapi: ServerFactory, tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server = kubeapi(tls=(cert, key))
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, token=TOKEN)
    target = Target(id="tls", kind="kubernetes", url="context:test", options={"kubeconfig": str(kubeconfig)})
    with pytest.raises(CollectionError) as raised:
        PLUGIN.collect(target, {}, 10.0)
    assert raised.value.reason == CollectionError.TLS


def test_cli_scan_of_a_live_cluster(kubeapi: ServerFactory, tmp_path: Path) -> None:
    server = kubeapi(forbidden=["cronjobs"])
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, token=TOKEN, context="prod")
    out = tmp_path / "result.json"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "sovscan"),
            "scan",
            "--target",
            "kubernetes=prod",
            "-f",
            f"json={out}",
            "--fail-on",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr  # some controls ERROR: cronjobs are forbidden
    result = json.loads(out.read_text())
    statuses = {(f["control_id"], f["resource"]["uri"]): f["status"] for f in result["findings"]}
    assert statuses[("K8S-13", "k8s://prod")] == "ERROR"
    assert statuses[("K8S-07", "k8s://prod/ClusterRoleBinding/ci-admin")] == "FAIL"
    assert statuses[("K8S-01", "k8s://prod/ns/kube-system/Pod/kube-apiserver-cp-1")] == "PASS"
