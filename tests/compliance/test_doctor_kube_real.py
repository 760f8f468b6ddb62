"""`sovscan doctor` for Kubernetes against the real control plane of tests/services/kubeapi_real.py.

A ServiceAccount with no RBAC binding gets the ClusterRole (and binding) doctor prints; the next
doctor run and scan must have no ERROR from a forbidden read.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from checks.kubernetes.plugin import PLUGIN
from scanner import doctor, engine
from scanner.baseline import BaselineLibrary
from scanner.model import Status
from scanner.plugins import discover
from tests.services.kubeapi_real import KubeCluster, kube_cluster

__all__ = ["kube_cluster"]  # the session fixture (one control plane per test directory that imports it)


def test_printed_clusterrole_on_a_real_apiserver(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    namespace, account = "doctor-check", "nobody"
    kube_cluster.create_all(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account, "namespace": namespace}},
        ]
    )
    kubeconfig = kube_cluster.service_account_kubeconfig(tmp_path / "kubeconfig", namespace, account)
    target = replace(PLUGIN.parse_target("real"), options={"kubeconfig": str(kubeconfig)})  # context "real"
    registry = discover()
    library = BaselineLibrary(registry)
    (before,) = doctor.diagnose([target], registry, library)
    assert not before.complete and before.unreadable
    documents = [d for d in yaml.safe_load_all(before.grants or "") if d]
    for document in documents:
        if document["kind"] == "ClusterRole":
            document["metadata"]["name"] = "doctor-check-reader"
        else:
            document["metadata"]["name"] = "doctor-check-reader"
            document["roleRef"]["name"] = "doctor-check-reader"
            document["subjects"] = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    kube_cluster.create_all(documents)
    (after,) = doctor.diagnose([target], registry, library)
    result = engine.run_scan([target], registry, library)
    assert not set(after.unreadable) & set(after.needed), after.unreadable
    errors = [(f.control_id, f.message) for f in result.findings if f.status is Status.ERROR]
    assert errors == [], errors
    assert after.error_controls == {} and after.complete
    assert before.error_controls and any("forbidden" in m for m in before.error_controls.values())
