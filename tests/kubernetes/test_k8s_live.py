"""The live collector through the real `kubernetes` client against the HTTP-served stand-in.

Only what a real API server cannot be made to do stays here (each test says which): a managed
control plane hiding its static pods, a later LIST page that fails, a reported old version, a
cluster without bindings, a /version the scanner may not read. Everything a real server can
answer (every kind collected, pagination, an expired continue token, RBAC 403s, 401, TLS, the
in-cluster mode, the CLI, the dump comparison) is in test_k8s_apiserver_live.py against a real
kube-apiserver (tests/services/kubeapi_real.py).
"""

from __future__ import annotations

import json
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
from tests.services.kubeapi import KubeAPIServer, write_kubeconfig

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


def test_list_methods_exist_in_the_client() -> None:
    """No server: every kind's LIST method exists in the installed client."""
    from kubernetes import client

    for info in KINDS:
        class_name, method = list_method_name(info)
        assert hasattr(getattr(client, class_name), method), (class_name, method)


def test_managed_control_plane_is_not_applicable(kubeapi: ServerFactory, tmp_path: Path) -> None:
    """Stand-in: a managed control plane that shows no static pods and no kubelet-config (a real
    control plane here always has the fixture's mirror pod)."""
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
    """Stand-in: two control-plane nodes with different API server flags (the test control plane has
    one node; its weak variant is judged in test_k8s_apiserver_live.py)."""
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


def test_version_forbidden_is_error(kubeapi: ServerFactory, tmp_path: Path) -> None:
    """Stand-in: a real server lets every authenticated user GET /version/ (system:public-info-viewer)."""
    evidence = collect(kubeapi(forbidden=["version"]), tmp_path)
    [finding] = evaluate(evidence)["K8S-24"]
    assert finding.status is Status.ERROR and "get /version is forbidden" in finding.message


def test_old_version_fails(kubeapi: ServerFactory, tmp_path: Path) -> None:
    """Stand-in: an API server that reports an old, vendor-suffixed release."""
    version = {"major": "1", "minor": "29", "gitVersion": "v1.29.6-eks-db838b0"}
    [finding] = evaluate(collect(kubeapi(version=version), tmp_path))["K8S-24"]
    assert finding.status is Status.FAIL and "v1.29.6-eks-db838b0" in finding.message


@pytest.mark.parametrize("plural", ["pods", "clusterrolebindings", "namespaces"])
def test_a_list_that_fails_after_its_first_page_is_an_error_not_a_shorter_list(
    kubeapi: ServerFactory, tmp_path: Path, plural: str
) -> None:
    """Stand-in: a later page of a LIST answered HTTP 500 (a real server cannot be made to do it)."""
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
    """Stand-in: a cluster without any binding (a real server always has its bootstrap bindings)."""
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


def test_unreachable_server(kubeapi: ServerFactory, tmp_path: Path) -> None:
    """Stand-in, stopped: nothing listens on the port."""
    server = kubeapi()
    url = server.url
    server.stop()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, token=TOKEN)
    target = Target(id="gone", kind="kubernetes", url="context:test", options={"kubeconfig": str(kubeconfig)})
    with pytest.raises(CollectionError) as raised:
        PLUGIN.collect(target, {}, 5.0)
    assert raised.value.reason == CollectionError.UNREACHABLE


def test_unknown_context_names_the_known_ones(kubeapi: ServerFactory, tmp_path: Path) -> None:
    """Stand-in: kubeconfig context selection (the answer comes before any request)."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kubeapi().url, token=TOKEN, context="prod")
    target = Target(id="x", kind="kubernetes", url="context:staging", options={"kubeconfig": str(kubeconfig)})
    with pytest.raises(CollectionError) as raised:
        PLUGIN.collect(target, {}, 5.0)
    assert raised.value.reason == CollectionError.CREDENTIALS
    assert "staging" in str(raised.value) and "prod" in str(raised.value)


def test_kubeconfig_from_environment_and_current_context(
    kubeapi: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stand-in: KUBECONFIG and the current context are honoured."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kubeapi().url, token=TOKEN, context="envctx")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    target = PLUGIN.parse_target("context:")
    evidence = PLUGIN.collect(target, {}, 10.0)
    assert evidence.metadata["context"] == "envctx"
    assert len(evidence.sections["namespaces"]) == 3
