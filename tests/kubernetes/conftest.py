"""Fixtures of the Kubernetes tests: the real control plane (tests/services/kubeapi_real.py)."""

from tests.services.kubeapi_real import kube_cluster, kube_cluster_weak

__all__ = ["kube_cluster", "kube_cluster_weak"]
